import { type FileHandle, open } from 'node:fs/promises';
import type { TaskLease } from '../../src/checkpoint/checkpoint-store.js';
import { CorruptRecordError } from '../../src/errors.js';
import { isValidId } from '../../src/ids.js';
import type { ClaimStage } from './claim-stage.js';
import { fsyncDirectory, isNotFound, readAtMost } from './fs-utils.js';
import type { TaskPaths } from './task-paths.js';

/**
 * A task's lease = one small file, `lease.json` in the task's folder:
 * `{"v":1,"owner":"<id>","expiresAt":<ms since the epoch>}`.
 *
 * - **Written and removed by the task lock's holder only**, through its claim's stage (see
 *   `claim-stage.ts`), so a claim's check-and-set is atomic across processes and store
 *   instances, as `save`'s `expectedSeq` is, even when a stalled holder is taken over. Written
 *   with an atomic replace (temp file, fsync, rename, folder fsync) and removed with a folder
 *   fsync: a reader sees the old lease or the new one, and a granted or released lease survives
 *   a power cut.
 * - **Read without the lock** (the file is replaced whole), at most {@link MAX_LEASE_FILE_BYTES}
 *   bytes. A longer file, or one that is not the expected JSON, is a `CorruptRecordError` (record
 *   `lease.json`), as a damaged `head.json` is: ignoring it could hand a task that runs elsewhere
 *   to a second runtime. `deleteTask` clears it (or removing the file by hand).
 * - **A lapsed lease** (`expiresAt` at or before now, by the store's clock) is as good as none;
 *   its file stays until the next claim replaces it or the task is deleted.
 */

/** Longest lease file read: an owner id is at most 200 ASCII characters, the file ~250 bytes. */
export const MAX_LEASE_FILE_BYTES = 512;

/** The record id of the lease file in `CorruptRecordError`s. */
const LEASE_RECORD = 'lease.json';
const LEASE_VERSION = 1;

/**
 * The lease stored for the task, lapsed or not; `undefined` when there is none. Throws
 * `CorruptRecordError` when the file is over {@link MAX_LEASE_FILE_BYTES} or malformed.
 */
export async function readLeaseFile(
  paths: TaskPaths,
  taskId: string,
): Promise<TaskLease | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(paths.lease, 'r');
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
  let text: string | undefined;
  try {
    text = await readAtMost(handle, MAX_LEASE_FILE_BYTES);
  } finally {
    await handle.close();
  }
  if (text === undefined) throw corrupt(taskId, `it is over ${MAX_LEASE_FILE_BYTES} bytes`);
  return parseLease(taskId, text);
}

function parseLease(taskId: string, text: string): TaskLease {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw corrupt(taskId, 'it is not JSON', error);
  }
  const lease = value as { v?: unknown; owner?: unknown; expiresAt?: unknown };
  if (
    typeof value !== 'object' ||
    value === null ||
    lease.v !== LEASE_VERSION ||
    !isValidId(lease.owner) ||
    typeof lease.expiresAt !== 'number' ||
    !Number.isFinite(lease.expiresAt)
  ) {
    throw corrupt(taskId, 'it does not have the expected shape');
  }
  return { owner: lease.owner, expiresAt: lease.expiresAt };
}

function corrupt(taskId: string, reason: string, cause?: unknown): CorruptRecordError {
  return new CorruptRecordError(taskId, LEASE_RECORD, reason, { cause });
}

/**
 * Replaces the task's lease file; the caller holds the task lock, and writes through its claim's
 * stage, so that a holder superseded since it read the lease grants nothing (`LockLostError`).
 */
export async function writeLeaseFile(
  paths: TaskPaths,
  lease: TaskLease,
  stage: ClaimStage,
): Promise<void> {
  const text = JSON.stringify({ v: LEASE_VERSION, owner: lease.owner, expiresAt: lease.expiresAt });
  await stage.writeFile(paths.lease, [Buffer.from(text, 'utf8')]);
}

/** Removes the task's lease file; the caller holds the task lock (see {@link writeLeaseFile}). */
export async function removeLeaseFile(paths: TaskPaths, stage: ClaimStage): Promise<void> {
  if (await stage.removeFile(paths.lease)) await fsyncDirectory(paths.dir);
}
