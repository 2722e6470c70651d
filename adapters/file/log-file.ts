import { type FileHandle, open } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { CorruptRecordError } from '../../src/errors.js';
import type { ClaimStage } from './claim-stage.js';
import { fsyncDirectory, isNotFound, readExactly } from './fs-utils.js';
import { LogScanner } from './log-scanner.js';

/**
 * A log file holds one line per append: `[<index of its first entry>, "entry", "entry", …]\n`,
 * JSON, so entries with newlines stay on their line. An append is one write of one line, so it is
 * all or nothing: a line is complete only once its final `\n` is on disk. A reader ignores a last
 * line without `\n` (an append in progress, or torn by a crash), and the next append, under the
 * task lock, truncates such a torn tail before writing. An append is fenced by an intent in the
 * lock claim's stage ({@link appendLogLine}), so that a holder superseded while stalled never
 * writes over the line of the one that took over. Lines are read in chunks, never whole
 * (`log-scanner.ts`), so a line's size does not bound what a reader allocates; an entry's does.
 * The first number of each line lets an append learn the log's length from the last line alone,
 * and a reader check that no line is missing or repeated.
 */

const NEWLINE = 0x0a;
const TAIL_CHUNK = 64 * 1024;
const READ_CHUNK = 1024 * 1024;

/** Where the last complete line of a log ends, and the log's length (entries) up to there. */
interface Tail {
  /** The offset just past the last complete line's `\n` (0: no complete line). */
  readonly end: number;
  /** Entries in the log's complete lines. */
  readonly length: number;
}

/** The offset just past the `\n` before `position` (0: none), read backwards in chunks. */
async function afterNewlineBefore(handle: FileHandle, position: number): Promise<number> {
  const chunk = Buffer.allocUnsafe(TAIL_CHUNK);
  while (position > 0) {
    const start = Math.max(0, position - TAIL_CHUNK);
    const view = chunk.subarray(0, position - start);
    if (!(await readExactly(handle, view, start))) throw new Error('the log shrank while reading');
    const newline = view.lastIndexOf(NEWLINE);
    if (newline >= 0) return start + newline + 1;
    position = start;
  }
  return 0;
}

/**
 * The log's tail: where its last complete line ends, found backwards, and its length, from that
 * line's first index and its entries, counted forwards by a scanner that keeps none of them. So
 * a line of any size is read in chunks, never whole.
 */
async function readTail(
  handle: FileHandle,
  size: number,
  onCorrupt: (reason: string) => Error,
): Promise<Tail> {
  const end = await afterNewlineBefore(handle, size);
  if (end === 0) return { end: 0, length: 0 };
  const start = await afterNewlineBefore(handle, end - 1);
  const scanner = new LogScanner({
    corrupt: onCorrupt,
    wants: () => false,
    maxEntryBytes: 0,
    tooLarge: () => onCorrupt('an entry is too large'),
    anyStart: true,
  });
  const chunk = Buffer.allocUnsafe(Math.min(READ_CHUNK, end - start));
  for (let position = start; position < end; ) {
    const view = chunk.subarray(0, Math.min(chunk.length, end - position));
    if (!(await readExactly(handle, view, position)))
      throw new Error('the log shrank while reading');
    scanner.push(view);
    position += view.length;
  }
  if (!scanner.atLineEnd) throw onCorrupt('its last line is not JSON');
  return { end, length: scanner.count };
}

/**
 * Appends `entries` (non-empty) as one line; the caller holds the task lock, and `stage` is its
 * claim's. Returns the log's new length. Truncates a torn tail left by a crash first.
 *
 * The line is written in place, so it is fenced by an intent (see `claim-stage.ts`): the log is
 * opened (created through the stage if new), its tail read, then the intent `<end>-<file>` is
 * recorded, and only then is the file changed; ending the intent commits. A holder superseded
 * before the intent writes nothing; one superseded after it finds its intent revoked
 * (`LockLostError`), and its line, whenever it lands, is in a file the new holder replaced by a
 * copy cut back to `end` ({@link cutLog}), since the handle was opened before the intent. The
 * intent ends before the fsync: a crash between loses only an append not yet acknowledged, and on
 * a journaling file system the fsync makes the ended intent durable with the line.
 */
export async function appendLogLine(
  path: string,
  entries: readonly string[],
  onCorrupt: (reason: string) => Error,
  stage: ClaimStage,
): Promise<number> {
  let handle: FileHandle | undefined;
  let created = false;
  while (handle === undefined) {
    try {
      handle = await open(path, 'r+');
    } catch (error) {
      if (!isNotFound(error)) throw error;
      handle = await stage.createFile(path); // undefined: it exists now
      created = handle !== undefined;
    }
  }
  try {
    const { size } = await handle.stat();
    const tail = await readTail(handle, size, onCorrupt);
    const intent = await stage.beginIntent(`${tail.end}-${basename(path)}`, path);
    if (tail.end < size) await handle.truncate(tail.end);
    const { length } = tail;
    const line = Buffer.from(`${JSON.stringify([length, ...entries])}\n`, 'utf8');
    // Positioned at the (possibly truncated) end: the only writer is the lock holder.
    try {
      let offset = 0;
      while (offset < line.length) {
        const { bytesWritten } = await handle.write(
          line,
          offset,
          line.length - offset,
          tail.end + offset,
        );
        offset += bytesWritten;
      }
    } catch (error) {
      // What landed is a torn line at most: readers ignore it, and the next append cuts it.
      await stage.endIntent(intent).catch(() => undefined);
      throw error;
    }
    await stage.endIntent(intent);
    await handle.sync();
    if (created) await fsyncDirectory(dirname(path));
    return length + entries.length;
  } finally {
    await handle.close();
  }
}

/**
 * Undoes the append of a superseded holder whose intent `payload` (`<end>-<file>`) was revoked:
 * the log in `logsDir` is replaced, through `stage`, by a copy cut back to `end` (nothing past it
 * was committed). A new file, not a truncation: the superseded holder may still write to the one
 * it opened. Called by the new holder before anything appends to the log.
 */
export async function cutLog(logsDir: string, payload: string, stage: ClaimStage): Promise<void> {
  const match = /^(\d{1,16})-(.+)$/.exec(payload);
  if (match === null) return; // not an intent of this version: nothing to undo
  await stage.replaceWithCopy(join(logsDir, match[2] as string), Number(match[1]));
}

/** The log's length, from its last complete line (no lock needed). */
export async function logLength(
  path: string,
  onCorrupt: (reason: string) => Error,
): Promise<number> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if (isNotFound(error)) return 0;
    throw error;
  }
  try {
    return (await readTail(handle, (await handle.stat()).size, onCorrupt)).length;
  } finally {
    await handle.close();
  }
}

/** What {@link readLogEntries} reads. */
export interface LogRange {
  readonly from: number;
  /** Most entries (may be `Infinity`). */
  readonly limit: number;
  /** The bound on one entry read, in UTF-8 bytes. */
  readonly maxEntryBytes: number;
  /** The error for an entry over it (`bytes`: its UTF-8 size). */
  readonly tooLarge: (index: number, bytes: number) => Error;
}

/**
 * Entries `[from, from + limit)` of the log (no lock needed); `[]` when there is no log. Read in
 * chunks by a {@link LogScanner}: only the entries in the range are kept, and one over the bound
 * is refused before the rest of it is read.
 */
export async function readLogEntries(
  path: string,
  range: LogRange,
  onCorrupt: (reason: string) => Error,
): Promise<string[]> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if (isNotFound(error)) return [];
    throw error;
  }
  const { from, maxEntryBytes, tooLarge } = range;
  const end = from + range.limit;
  const scanner = new LogScanner({
    corrupt: onCorrupt,
    wants: (index) => index >= from && index < end,
    maxEntryBytes,
    tooLarge,
  });
  const result: string[] = [];
  try {
    let position = 0;
    const chunk = Buffer.allocUnsafe(READ_CHUNK);
    while (scanner.count < end) {
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, position);
      if (bytesRead === 0) break; // a last line without '\n' is torn or in progress: ignored
      position += bytesRead;
      scanner.push(chunk, bytesRead, () => scanner.count >= end);
      for (const entry of scanner.take()) result.push(entry);
    }
    return result;
  } finally {
    await handle.close();
  }
}

/** The error for a corrupt log of a task. */
export function corruptLog(taskId: string, name: string): (reason: string) => Error {
  return (reason) => new CorruptRecordError(taskId, `log ${name}`, reason);
}
