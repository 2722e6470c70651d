import { join } from 'node:path';
import type {
  CheckpointRecord,
  CheckpointRecordMeta,
  NewCheckpointRecord,
  SavedRecord,
  SaveRecordOptions,
} from '../../src/checkpoint/checkpoint-store.js';
import {
  CheckpointConflictError,
  CheckpointExistsError,
  CorruptRecordError,
} from '../../src/errors.js';
import { ignoreLockLost } from './claim-stage.js';
import { fsyncDirectory } from './fs-utils.js';
import {
  encodeRecordFile,
  entryMeta,
  type RecordEntry,
  readRecordFile,
  recordFileName,
} from './record-file.js';
import type { RecordsMemo } from './records-memo.js';
import { type FileStoreContext, lockTask, viewTask } from './store-context.js';
import { type TaskPaths, taskPaths } from './task-paths.js';
import { removeBareFolder, sweepExpired } from './task-sweep.js';
import {
  headAfterDelete,
  headIsStored,
  removeRecords,
  type TaskView,
  writeHead,
} from './task-view.js';

/**
 * The file store's checkpoint-record operations (`save`, `load`, `latest`, `list`, `delete`,
 * `deleteOld`, `head`), on arguments already validated. Reads take no lock and sweep expired
 * files on the way (taking the lock only for those a reader may not remove: `task-sweep.ts`);
 * writes re-read the task under its lock before changing anything, and change it through the
 * claim's stage (`claim-stage.ts`): a step that throws `LockLostError` did nothing, and the task
 * lock runs the operation again; after an operation's commit, such cleanup as removing expired
 * files is skipped instead.
 */

/**
 * `save`: writes the record as the task's next seq, checking `expectedSeq` (and `expectedId`
 * against the id of the live record at the head, if any) under the lock. The
 * task is read from its files, or from the memo this instance kept of them when nobody else held
 * the lock since its last claim (`records-memo.ts`): then a save costs the same at any number of
 * records. A head whose successor is not a safe integer (damage) is a `CorruptRecordError`.
 */
export async function saveRecord(
  ctx: FileStoreContext,
  record: NewCheckpointRecord,
  saveOptions: SaveRecordOptions | undefined,
): Promise<SavedRecord> {
  const { taskId, checkpointId } = record;
  const paths = taskPaths(ctx.root, taskId);
  return lockTask(ctx, paths, taskId, async (lock, memo) => {
    // The task as this instance remembers it, or as its files say (then `current`).
    let current: TaskView | undefined;
    let known = memo;
    if (known === undefined) {
      current = await viewTask(ctx, paths, taskId, true);
      known = memoOf(current);
    }
    const { head, headId, ids } = known;
    const expected = saveOptions?.expectedSeq;
    if (expected !== undefined && expected !== head) {
      // A save that expected a task it found gone (deleted meanwhile) leaves no folder its
      // claim made: a run's save after a deleteTask would otherwise leave the lock behind.
      if (lock.firstClaim && head === 0) {
        await removeBareFolder(ctx, paths, taskId, lock).catch(() => undefined);
      }
      throw new CheckpointConflictError(taskId, expected, head);
    }
    // The record at the head is another one: the task was deleted and started again.
    const expectedId = saveOptions?.expectedId;
    if (expectedId !== undefined && headId !== undefined && headId !== expectedId) {
      throw new CheckpointConflictError(taskId, head, head);
    }
    if (ids.has(checkpointId)) throw new CheckpointExistsError(taskId, checkpointId);
    const seq = head + 1;
    if (!Number.isSafeInteger(seq)) {
      // Only a damaged head.json (or record name) gets here: a record numbered past the safe
      // integers would be written, and then never read back (its name does not parse).
      const reason = `its head is ${head}: the next seq would not be a safe integer`;
      throw new CorruptRecordError(taskId, 'head.json', reason);
    }
    // Before the record, so that a listing that can see the record can name the task.
    await ctx.taskIds.keep(paths, taskId, lock);
    if (current?.reset) {
      // Everything expired: forget it all before numbering starts over at 1 (with the new
      // record's expiry, as a save writes no head.json after its record).
      await removeRecords(paths, current.dead, true, lock.stage);
      await writeHead(paths, { seq: 0, floor: 0, expiresAt: record.expiresAt ?? null }, lock.stage);
    }
    const meta = {
      seq,
      createdAt: record.createdAt,
      expiresAt: record.expiresAt,
      checkpointId,
    };
    const entry: RecordEntry = { ...meta, fileName: recordFileName(meta) };
    const file = join(paths.records, entry.fileName);
    // head.json is left as it is: the head and the expiry are the larger of it and the record
    // names, and this record file is durable. A delete or deleteOld brings head.json up to date
    // before it removes a file, and readers never remove the newest record above its seq.
    // The commit: a rename out of the claim's stage, which fails if this process was stalled and
    // superseded since it checked `expectedSeq` (then the save runs again, and sees the head the
    // other writer left: two writers never both get a seq).
    await lock.stage.writeFile(file, encodeRecordFile(taskId, entry, record.body));
    if (current !== undefined && !current.reset) {
      await removeRecords(paths, current.dead, false, lock.stage).catch(ignoreLockLost);
    }
    ids.add(checkpointId);
    const nextExpiry = Math.min(known.nextExpiry, record.expiresAt ?? Number.POSITIVE_INFINITY);
    ctx.memos.put(taskId, lock.token, { head: seq, headId: checkpointId, ids, nextExpiry });
    return { seq };
  });
}

/** What a view says a memo remembers: its head, live ids and earliest expiry. */
function memoOf(view: TaskView): RecordsMemo {
  let nextExpiry = Number.POSITIVE_INFINITY;
  for (const { expiresAt } of view.live) {
    if (expiresAt !== undefined && expiresAt < nextExpiry) nextExpiry = expiresAt;
  }
  const newest = view.live[0];
  return {
    head: view.head,
    headId: newest !== undefined && newest.seq === view.head ? newest.checkpointId : undefined,
    ids: new Set(view.live.map((entry) => entry.checkpointId)),
    nextExpiry,
  };
}

/** `load`: the live record with that checkpoint id, if any. */
export async function loadRecord(
  ctx: FileStoreContext,
  taskId: string,
  checkpointId: string,
): Promise<CheckpointRecord | undefined> {
  const paths = taskPaths(ctx.root, taskId);
  const current = await viewTask(ctx, paths, taskId);
  await sweepExpired(ctx, paths, taskId, current);
  const entry = current.live.find((live) => live.checkpointId === checkpointId);
  return entry === undefined ? undefined : readEntry(ctx, paths, taskId, entry);
}

/** `latest`: the newest live record, looking again if it is deleted while being read. */
export async function latestRecord(
  ctx: FileStoreContext,
  taskId: string,
): Promise<CheckpointRecord | undefined> {
  const paths = taskPaths(ctx.root, taskId);
  for (;;) {
    const current = await viewTask(ctx, paths, taskId);
    await sweepExpired(ctx, paths, taskId, current);
    const entry = current.live[0];
    if (entry === undefined) return undefined;
    const record = await readEntry(ctx, paths, taskId, entry);
    if (record !== undefined) return record; // else deleted meanwhile: look again
  }
}

/** `list`: the metadata of the live records, newest first, from their file names alone. */
export async function listRecords(
  ctx: FileStoreContext,
  taskId: string,
): Promise<CheckpointRecordMeta[]> {
  const paths = taskPaths(ctx.root, taskId);
  const current = await viewTask(ctx, paths, taskId);
  await sweepExpired(ctx, paths, taskId, current);
  return current.live.map((entry) => entryMeta(taskId, entry));
}

/**
 * `delete`: removes the record with that checkpoint id, keeping the head (until the records left
 * expire); false if none.
 */
export async function deleteRecord(
  ctx: FileStoreContext,
  taskId: string,
  checkpointId: string,
): Promise<boolean> {
  const paths = taskPaths(ctx.root, taskId);
  const matches = (entry: RecordEntry) => entry.checkpointId === checkpointId;
  const peek = await viewTask(ctx, paths, taskId);
  await sweepExpired(ctx, paths, taskId, peek);
  if (!peek.live.some(matches)) return false;
  return lockTask(ctx, paths, taskId, async (lock) => {
    const current = await viewTask(ctx, paths, taskId, true);
    const entry = current.live.find(matches);
    if (entry === undefined) return false;
    // head.json first: it keeps the head, and its expiry becomes that of the records left (a
    // crash before the file goes leaves the record live, and the view's expiry with it).
    const left = current.live.filter((live) => live !== entry);
    const head = headAfterDelete(current, left);
    if (!headIsStored(current, head)) await writeHead(paths, head, lock.stage);
    // The commit: the record leaves records/ through the claim's stage.
    await removeRecords(paths, [entry], false, lock.stage);
    await removeRecords(paths, current.dead, false, lock.stage).catch(ignoreLockLost);
    await fsyncDirectory(paths.records);
    return true;
  });
}

/**
 * `deleteOld`: removes all but the `keepLatest` newest records by raising the floor in
 * `head.json` (one atomic write, which also gives the head the expiry of the records kept)
 * before removing their files. Returns how many went.
 */
export async function deleteOldRecords(
  ctx: FileStoreContext,
  taskId: string,
  keepLatest: number,
): Promise<number> {
  const paths = taskPaths(ctx.root, taskId);
  const peek = await viewTask(ctx, paths, taskId);
  await sweepExpired(ctx, paths, taskId, peek);
  if (peek.live.length <= keepLatest) return 0;
  return lockTask(ctx, paths, taskId, async (lock) => {
    const current = await viewTask(ctx, paths, taskId, true);
    const doomed = current.live.slice(keepLatest);
    if (doomed.length === 0) return 0;
    const oldest = current.live[keepLatest - 1];
    const floor = oldest === undefined ? current.rawHead + 1 : oldest.seq;
    // One atomic write hides them all (the commit); removing the files is cleanup.
    const raised = Math.max(current.stored?.floor ?? 0, floor);
    const head = headAfterDelete(current, current.live.slice(0, keepLatest), raised);
    await writeHead(paths, head, lock.stage);
    await removeRecords(paths, [...doomed, ...current.dead], true, lock.stage).catch(
      ignoreLockLost,
    );
    return doomed.length;
  });
}

/** `head`: the task's head sequence number (0: never saved, or everything expired). */
export async function taskHead(ctx: FileStoreContext, taskId: string): Promise<number> {
  const paths = taskPaths(ctx.root, taskId);
  const current = await viewTask(ctx, paths, taskId);
  await sweepExpired(ctx, paths, taskId, current);
  return current.head;
}

/** Reads one record's file, bounded by the store's `maxRecordBytes` (undefined: it is gone). */
async function readEntry(
  ctx: FileStoreContext,
  paths: TaskPaths,
  taskId: string,
  entry: RecordEntry,
): Promise<CheckpointRecord | undefined> {
  return readRecordFile(join(paths.records, entry.fileName), taskId, entry, ctx.maxRecordBytes);
}
