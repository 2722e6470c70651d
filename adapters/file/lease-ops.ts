import type { LeaseClaim, TaskLease } from '../../src/checkpoint/checkpoint-store.js';
import { liveAt } from '../../src/checkpoint/store-guards.js';
import { readLeaseFile, removeLeaseFile, writeLeaseFile } from './lease-file.js';
import { type FileStoreContext, lockTask } from './store-context.js';
import { taskPaths } from './task-paths.js';
import { removeBareFolder } from './task-sweep.js';

/**
 * The file store's lease operations (`claimLease`, `releaseLease`, `readLease`), on arguments
 * already validated. A claim or release that plainly cannot succeed is answered without the lock
 * (and without making the task's folder); otherwise it checks again and writes under the lock.
 */

/** `claimLease`: grants the lease unless another owner holds a live one. */
export async function claimTaskLease(
  ctx: FileStoreContext,
  taskId: string,
  owner: string,
  ttlMs: number,
): Promise<LeaseClaim> {
  const paths = taskPaths(ctx.root, taskId);
  // Another owner's live lease, plain to see: refused without the lock (nor a folder).
  const seen = liveAt(await readLeaseFile(paths, taskId), ctx.now());
  if (seen !== undefined && seen.owner !== owner) return { granted: false, lease: seen };
  return lockTask(
    ctx,
    paths,
    taskId,
    async (lock) => {
      const time = ctx.now();
      const held = liveAt(await readLeaseFile(paths, taskId), time);
      if (held !== undefined && held.owner !== owner) return { granted: false, lease: held };
      const lease: TaskLease = { owner, expiresAt: time + ttlMs };
      await writeLeaseFile(paths, lease, lock.stage);
      return { granted: true, lease };
    },
    { keepsRecords: true },
  );
}

/**
 * `releaseLease`: removes the lease if `owner` holds it live; false otherwise. A task that holds
 * nothing else (no records, head or log: a claim for a task that was never saved, such as a
 * resume of an unknown id, or a renewal that made a deleted task's folder again) loses its
 * folder with it, so claims leave no empty folders behind. The folder goes piece by piece
 * (`removeBareFolder`), not renamed away whole as `deleteTask` does: a releaser that stalled and
 * was superseded must not take away a checkpoint the new holder saved meanwhile.
 */
export async function releaseTaskLease(
  ctx: FileStoreContext,
  taskId: string,
  owner: string,
): Promise<boolean> {
  const paths = taskPaths(ctx.root, taskId);
  const holds = async () => liveAt(await readLeaseFile(paths, taskId), ctx.now())?.owner === owner;
  if (!(await holds())) return false; // nothing to do: no lock taken, no folder made
  return lockTask(
    ctx,
    paths,
    taskId,
    async (lock) => {
      if (!(await holds())) return false; // lapsed meanwhile (perhaps claimed by another)
      await removeLeaseFile(paths, lock.stage);
      await removeBareFolder(ctx, paths, taskId, lock);
      return true;
    },
    { keepsRecords: true },
  );
}

/** `readLease`: the task's live lease, if any. */
export async function readTaskLease(
  ctx: FileStoreContext,
  taskId: string,
): Promise<TaskLease | undefined> {
  return liveAt(await readLeaseFile(taskPaths(ctx.root, taskId), taskId), ctx.now());
}
