import { RecordTooLargeError } from '../errors.js';
import { assertValidId } from '../ids.js';
import type { NewCheckpointRecord, ReadLogOptions, SaveRecordOptions } from './checkpoint-store.js';

/**
 * Checks shared by every {@link CheckpointStore} implementation, so each adapter rejects bad input
 * the same way before it builds a key.
 */

const encoder = new TextEncoder();

/** UTF-8 length of a string without allocating when it is plainly small. */
export function utf8Length(text: string): number {
  // Every UTF-16 code unit encodes to at most 3 UTF-8 bytes.
  if (text.length * 3 < 1024) return encoder.encode(text).length;
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

/** Throws {@link RecordTooLargeError} when `text` is over `limit` UTF-8 bytes. */
export function assertWithinLimit(what: string, text: string, limit: number): void {
  if (text.length <= limit / 3) return; // cannot exceed the limit
  const bytes = utf8Length(text);
  if (bytes > limit) throw new RecordTooLargeError(what, bytes, limit);
}

/** Validates everything about a record before a store writes it. */
export function assertSavable(
  record: NewCheckpointRecord,
  options: SaveRecordOptions | undefined,
  maxRecordBytes: number,
): void {
  assertValidId('taskId', record.taskId);
  assertValidId('checkpointId', record.checkpointId);
  if (!Number.isSafeInteger(record.createdAt))
    throw new TypeError('createdAt must be an integer (ms since the epoch)');
  if (record.expiresAt !== undefined && !Number.isSafeInteger(record.expiresAt)) {
    throw new TypeError('expiresAt must be an integer (ms since the epoch)');
  }
  const expected = options?.expectedSeq;
  if (expected !== undefined && !(Number.isSafeInteger(expected) && expected >= 0)) {
    throw new TypeError('expectedSeq must be an integer ≥ 0');
  }
  if (typeof record.body !== 'string') throw new TypeError('body must be a string');
  assertWithinLimit(`Checkpoint ${record.checkpointId}`, record.body, maxRecordBytes);
}

/** Validates `keepLatest` of `deleteOld`. */
export function assertKeepLatest(keepLatest: number): void {
  if (!(Number.isSafeInteger(keepLatest) && keepLatest >= 0)) {
    throw new TypeError(`keepLatest must be an integer ≥ 0, got ${keepLatest}`);
  }
}

/** Whether a record with this `expiresAt` is expired at `now`. */
export function isExpired(expiresAt: number | undefined, now: number): boolean {
  return expiresAt !== undefined && expiresAt <= now;
}

/** Validates the entries of `appendLog`: an array of strings. */
export function assertLogEntries(entries: readonly string[]): void {
  if (!Array.isArray(entries)) throw new TypeError('log entries must be an array of strings');
  for (const entry of entries) {
    if (typeof entry !== 'string') throw new TypeError('log entries must be strings');
  }
}

/** Validates the options of `readLog`: `from` and `limit` are integers ≥ 0. */
export function assertReadLogOptions(options: ReadLogOptions | undefined): void {
  for (const key of ['from', 'limit'] as const) {
    const value = options?.[key];
    if (value !== undefined && !(Number.isSafeInteger(value) && value >= 0)) {
      throw new TypeError(`${key} must be an integer ≥ 0, got ${value}`);
    }
  }
}
