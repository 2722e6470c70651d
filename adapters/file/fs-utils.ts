import { randomBytes } from 'node:crypto';
import { type FileHandle, open, rmdir, unlink } from 'node:fs/promises';

/**
 * Small file-system helpers of the file store: exact reads and writes on a handle, directory
 * fsync, and error-code tests. Atomic replaces go through a lock claim's stage
 * (`claim-stage.ts`).
 */

/** Prefix of every temp file; record, head and lock listings skip names that start with it. */
export const TEMP_PREFIX = '.tmp-';

/** A random hex token (64 bits), for temp names and lock owners. */
export function randomToken(): string {
  return randomBytes(8).toString('hex');
}

/** The `code` of a Node.js system error, if it has one. */
export function errorCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const { code } = error as { code: unknown };
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

/** Whether `error` says the file or directory does not exist. */
export function isNotFound(error: unknown): boolean {
  return errorCode(error) === 'ENOENT';
}

/** Writes all of `data` at the handle's current position (or appends, on an `a` handle). */
export async function writeAll(handle: FileHandle, data: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < data.length) {
    const { bytesWritten } = await handle.write(data, offset, data.length - offset, null);
    offset += bytesWritten;
  }
}

/** Fills `buffer` from `position`; false when the file ended first. */
export async function readExactly(
  handle: FileHandle,
  buffer: Uint8Array,
  position: number,
): Promise<boolean> {
  let offset = 0;
  while (offset < buffer.length) {
    const { bytesRead } = await handle.read(
      buffer,
      offset,
      buffer.length - offset,
      position + offset,
    );
    if (bytesRead === 0) return false;
    offset += bytesRead;
  }
  return true;
}

/**
 * The UTF-8 text of an open file when it holds at most `maxBytes` bytes, read from its start;
 * `undefined` when it holds more (at most `maxBytes + 1` bytes are read to tell).
 */
export async function readAtMost(
  handle: FileHandle,
  maxBytes: number,
): Promise<string | undefined> {
  const buffer = Buffer.allocUnsafe(maxBytes + 1);
  let length = 0;
  while (length < buffer.length) {
    const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
    if (bytesRead === 0) break;
    length += bytesRead;
  }
  return length > maxBytes ? undefined : buffer.toString('utf8', 0, length);
}

/**
 * Flushes a directory entry change (a created, renamed or removed name) to disk. Platforms that
 * cannot open or fsync a directory (Windows) are skipped: there the rename is the best we get.
 */
export async function fsyncDirectory(directory: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(directory, 'r');
    await handle.sync();
  } catch (error) {
    const code = errorCode(error);
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'EACCES') {
      throw error;
    }
  } finally {
    await handle?.close();
  }
}

/** Writes `chunks` in order at the handle's position: one `writev`, then the rest if it fell short. */
export async function writeChunks(
  handle: FileHandle,
  chunks: readonly Uint8Array[],
): Promise<void> {
  const total = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
  let skip = (await handle.writev([...chunks])).bytesWritten;
  if (skip >= total) return;
  for (const chunk of chunks) {
    if (skip >= chunk.length) skip -= chunk.length;
    else {
      await writeAll(handle, chunk.subarray(skip));
      skip = 0;
    }
  }
}

/**
 * Reads a small text file in one `read` (falling back to a full read when it is bigger than
 * `expected` bytes); `undefined` when it does not exist.
 */
export async function readSmallFile(path: string, expected = 4096): Promise<string | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
  try {
    const buffer = Buffer.allocUnsafe(expected);
    const { bytesRead } = await handle.read(buffer, 0, expected, 0);
    if (bytesRead < expected) return buffer.toString('utf8', 0, bytesRead);
    return await handle.readFile('utf8'); // positioned reads left the file position at 0
  } finally {
    await handle.close();
  }
}

/** Whether `error` says a folder was not empty (`rmdir`, or `rename` over a folder). */
export function isNotEmpty(error: unknown): boolean {
  const code = errorCode(error);
  return code === 'ENOTEMPTY' || code === 'EEXIST';
}

/** Removes a folder if it is empty: true (also when it is gone); false if something is in it. */
export async function removeEmptyFolder(path: string): Promise<boolean> {
  try {
    await rmdir(path);
    return true;
  } catch (error) {
    if (isNotFound(error)) return true;
    if (isNotEmpty(error)) return false;
    throw error;
  }
}

/** Removes a file; true if it was there. */
export async function removeFile(path: string): Promise<boolean> {
  try {
    await unlink(path);
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}

/** Whether a process with this pid exists on this host (`EPERM`: it does, owned by another user). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errorCode(error) === 'EPERM';
  }
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
