import type { RecordTooLargeError } from '../errors.js';
import { assertValidId } from '../ids.js';
import { assertWithinLimit } from '../utf8.js';
import {
  DEFAULT_LIST_TASKS_LIMIT,
  DEFAULT_MAX_RECORD_BYTES,
  type ListTasksOptions,
  MAX_LEASE_TTL_MS,
  MAX_LIST_TASKS_LIMIT,
  type NewCheckpointRecord,
  type ReadLogOptions,
  type SaveRecordOptions,
  type TaskLease,
} from './checkpoint-store.js';

/**
 * Checks shared by every {@link CheckpointStore} implementation, so each adapter rejects bad input
 * the same way before it builds a key.
 */

export { assertWithinLimit, utf8Length } from '../utf8.js';

/**
 * A store factory's `maxRecordBytes` option: {@link DEFAULT_MAX_RECORD_BYTES} when absent, else
 * an integer > 0 (`TypeError` otherwise: `NaN` would lift the bound, 0 or 1.5 fail every save).
 */
export function maxRecordBytesOption(value: number | undefined): number {
  if (value === undefined) return DEFAULT_MAX_RECORD_BYTES;
  if (!(Number.isSafeInteger(value) && value > 0)) {
    throw new TypeError(`maxRecordBytes must be an integer > 0, got ${value}`);
  }
  return value;
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
  const expectedId = options?.expectedId;
  if (expectedId !== undefined) {
    if (expected === undefined) throw new TypeError('expectedId needs expectedSeq');
    assertValidId('expectedId', expectedId);
  }
  if (typeof record.body !== 'string') throw new TypeError('body must be a string');
  assertWithinLimit(`Checkpoint ${record.checkpointId}`, record.body, maxRecordBytes);
  const append = options?.appendLog;
  if (append !== undefined) {
    assertValidId('log name', append.name);
    assertLogEntries(append.entries, maxRecordBytes, append.name);
  }
}

/**
 * Refuses `appendLog` in the options of a save, for a store without `appendsOnSave`: entries it
 * would not write are an error, not a silent loss.
 */
export function assertNoAppendOnSave(store: string, options: SaveRecordOptions | undefined): void {
  if (options?.appendLog !== undefined) {
    throw new TypeError(`the ${store} store does not append log entries on save (appendsOnSave)`);
  }
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

/** `lease` if it is still live at `now` (`expiresAt > now`), else `undefined`. */
export function liveAt(lease: TaskLease | undefined, now: number): TaskLease | undefined {
  return lease === undefined || isExpired(lease.expiresAt, now) ? undefined : lease;
}

/**
 * Validates the entries of `appendLog`: an array of strings, each within `maxEntryBytes` UTF-8
 * bytes (else {@link RecordTooLargeError}; stores pass their `maxRecordBytes`).
 */
export function assertLogEntries(
  entries: readonly string[],
  maxEntryBytes = Number.POSITIVE_INFINITY,
  name = 'log',
): void {
  if (!Array.isArray(entries)) throw new TypeError('log entries must be an array of strings');
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i];
    if (typeof entry !== 'string') throw new TypeError('log entries must be strings');
    assertWithinLimit(`Log ${name} entry ${i} of the append`, entry, maxEntryBytes);
  }
}

/**
 * Checks log entries read back (`from`: the log index of the first one): each one within
 * `maxEntryBytes` UTF-8 bytes, else {@link RecordTooLargeError} naming its index, so a store
 * never hands out an entry larger than it would have written.
 */
export function assertLogEntriesRead(
  entries: readonly string[],
  from: number,
  maxEntryBytes: number,
  name: string,
): void {
  for (let i = 0; i < entries.length; i++) {
    assertWithinLimit(`Log ${name} entry ${from + i}`, entries[i] as string, maxEntryBytes);
  }
}

/** Validates the `at` of `appendLogAt`: an integer ≥ 0. */
export function assertLogAt(at: number): void {
  if (!(Number.isSafeInteger(at) && at >= 0)) {
    throw new TypeError(`at must be an integer ≥ 0, got ${at}`);
  }
}

/**
 * Validates the arguments of `appendLogAt` (its ids, `at`, and each entry within the bound),
 * before a store reads or writes anything.
 */
export function assertAppendLogAtArgs(
  taskId: string,
  name: string,
  at: number,
  entries: readonly string[],
  maxRecordBytes: number,
): void {
  assertValidId('taskId', taskId);
  assertValidId('log name', name);
  assertLogAt(at);
  assertLogEntries(entries, maxRecordBytes, name);
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

/**
 * Validates the options of `listTasks` and fills in the default limit: `after` a valid id,
 * `limit` an integer from 1 to {@link MAX_LIST_TASKS_LIMIT}.
 */
export function listTasksOptions(options: ListTasksOptions | undefined): {
  readonly after: string | undefined;
  readonly limit: number;
} {
  const after = options?.after;
  if (after !== undefined) assertValidId('after', after);
  const limit = options?.limit ?? DEFAULT_LIST_TASKS_LIMIT;
  if (!(Number.isSafeInteger(limit) && limit >= 1 && limit <= MAX_LIST_TASKS_LIMIT)) {
    throw new TypeError(`limit must be an integer from 1 to ${MAX_LIST_TASKS_LIMIT}, got ${limit}`);
  }
  return { after, limit };
}

/** Validates the arguments of `claimLease` (and, without `ttlMs`, of `releaseLease`). */
export function assertLeaseArgs(taskId: string, owner: string, ttlMs?: number): void {
  assertValidId('taskId', taskId);
  assertValidId('lease owner', owner);
  if (ttlMs === undefined) return;
  if (!(Number.isSafeInteger(ttlMs) && ttlMs >= 1 && ttlMs <= MAX_LEASE_TTL_MS)) {
    throw new TypeError(`ttlMs must be an integer from 1 to ${MAX_LEASE_TTL_MS}, got ${ttlMs}`);
  }
}

/** The first `limit` ids of `ids` (sorted here) after `after`: a page of `listTasks`. */
export function pageOfTaskIds(
  ids: Iterable<string>,
  after: string | undefined,
  limit: number,
): string[] {
  const sorted = [...ids].filter((id) => after === undefined || id > after).sort(compareIds);
  return sorted.slice(0, limit);
}

/** Orders ids as `listTasks` does: by UTF-16 code units. */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
