import { type FileHandle, mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { CorruptRecordError } from '../../src/errors.js';
import { fsyncDirectory, isNotFound, readExactly } from './fs-utils.js';

/**
 * A log file holds one line per append: `[<index of its first entry>, "entry", "entry", …]\n`,
 * JSON, so entries with newlines stay on their line. An append is one write of one line, so it is
 * all or nothing: a line is complete only once its final `\n` is on disk. A reader ignores a last
 * line without `\n` (an append in progress, or torn by a crash), and the next append, under the
 * task lock, truncates such a torn tail before writing. The first number of each line lets an
 * append learn the log's length from the last line alone, and a reader check that no line is
 * missing or repeated.
 */

const NEWLINE = 0x0a;
const TAIL_CHUNK = 64 * 1024;
const READ_CHUNK = 1024 * 1024;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A parsed line: the index of its first entry and its entries. */
interface LogLine {
  readonly start: number;
  readonly entries: string[];
}

function parseLine(bytes: Uint8Array, onCorrupt: (reason: string) => Error): LogLine {
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(bytes));
  } catch {
    throw onCorrupt('a line is not JSON');
  }
  if (!Array.isArray(value) || !Number.isSafeInteger(value[0]) || (value[0] as number) < 0) {
    throw onCorrupt('a line does not start with its index');
  }
  const entries = value.slice(1);
  if (!entries.every((entry) => typeof entry === 'string')) {
    throw onCorrupt('a line holds something other than strings');
  }
  return { start: value[0] as number, entries: entries as string[] };
}

/** The end of the last complete line (0: none) and that line's bytes, read backwards. */
async function lastLine(
  handle: FileHandle,
  size: number,
): Promise<{ end: number; line: Uint8Array | undefined }> {
  let end = -1;
  let found = false;
  const parts: Buffer[] = [];
  for (let position = size; position > 0 && !found; ) {
    const start = Math.max(0, position - TAIL_CHUNK);
    const chunk = Buffer.allocUnsafe(position - start);
    if (!(await readExactly(handle, chunk, start))) throw new Error('the log shrank while reading');
    position = start;
    let upTo = chunk.length; // the line's bytes in this chunk end before upTo
    if (end < 0) {
      const newline = chunk.lastIndexOf(NEWLINE);
      if (newline < 0) continue;
      end = start + newline + 1;
      upTo = newline;
    }
    const previous = upTo > 0 ? chunk.lastIndexOf(NEWLINE, upTo - 1) : -1;
    found = previous >= 0;
    parts.unshift(chunk.subarray(previous + 1, upTo));
  }
  return end < 0 ? { end: 0, line: undefined } : { end, line: Buffer.concat(parts) };
}

/**
 * Appends `entries` (non-empty) as one line; the caller holds the task lock. Returns the log's
 * new length. Truncates a torn tail left by a crash first.
 */
export async function appendLogLine(
  path: string,
  entries: readonly string[],
  onCorrupt: (reason: string) => Error,
): Promise<number> {
  let handle: FileHandle;
  let created = false;
  try {
    handle = await open(path, 'r+');
  } catch (error) {
    if (!isNotFound(error)) throw error;
    await mkdir(dirname(path), { recursive: true });
    handle = await open(path, 'a+');
    created = true;
  }
  try {
    const { size } = await handle.stat();
    const tail = await lastLine(handle, size);
    if (tail.end < size) await handle.truncate(tail.end);
    let length = 0;
    if (tail.line !== undefined) {
      const last = parseLine(tail.line, onCorrupt);
      length = last.start + last.entries.length;
    }
    const line = Buffer.from(`${JSON.stringify([length, ...entries])}\n`, 'utf8');
    // Positioned at the (possibly truncated) end: the only writer is the lock holder.
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
    await handle.sync();
    if (created) await fsyncDirectory(dirname(path));
    return length + entries.length;
  } finally {
    await handle.close();
  }
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
    const tail = await lastLine(handle, (await handle.stat()).size);
    if (tail.line === undefined) return 0;
    const last = parseLine(tail.line, onCorrupt);
    return last.start + last.entries.length;
  } finally {
    await handle.close();
  }
}

/** Entries `[from, from + limit)` of the log (no lock needed); `[]` when there is no log. */
export async function readLogEntries(
  path: string,
  from: number,
  limit: number,
  onCorrupt: (reason: string) => Error,
): Promise<string[]> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if (isNotFound(error)) return [];
    throw error;
  }
  const result: string[] = [];
  const end = from + limit;
  try {
    let count = 0;
    let pending: Buffer[] = [];
    let position = 0;
    const chunk = Buffer.allocUnsafe(READ_CHUNK);
    while (result.length < limit) {
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, position);
      if (bytesRead === 0) break; // a last line without '\n' is torn or in progress: ignored
      position += bytesRead;
      let lineStart = 0;
      for (;;) {
        const newline = chunk.indexOf(NEWLINE, lineStart);
        if (newline < 0 || newline >= bytesRead) break;
        pending.push(chunk.subarray(lineStart, newline));
        const line = parseLine(Buffer.concat(pending), onCorrupt);
        pending = [];
        lineStart = newline + 1;
        if (line.start !== count) throw onCorrupt(`a line starts at ${line.start}, not ${count}`);
        const lineEnd = count + line.entries.length;
        for (let i = Math.max(0, from - count); i < line.entries.length && count + i < end; i++) {
          result.push(line.entries[i] as string);
        }
        count = lineEnd;
        if (count >= end) return result;
      }
      if (lineStart < bytesRead) pending.push(Buffer.from(chunk.subarray(lineStart, bytesRead)));
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
