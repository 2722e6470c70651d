import { readdir, stat } from 'node:fs/promises';
import { liveAt } from '../../src/checkpoint/store-guards.js';
import { fsyncDirectory, removeEmptyFolder } from './fs-utils.js';
import { readLeaseFile } from './lease-file.js';
import { type FileStoreContext, lockTask, viewTask } from './store-context.js';
import type { HeldTaskLock } from './task-lock.js';
import type { TaskPaths } from './task-paths.js';
import {
  headAfterDelete,
  headIsStored,
  removeRecords,
  sweepDead,
  type TaskView,
  writeHead,
} from './task-view.js';

/**
 * How the file store removes expired records that a reader cannot remove alone. A reader sweeps
 * every expired record file but the newest one above `head.json`'s seq (`sweepDead`): saves leave
 * `head.json` behind, so that file may be the only trace of the head. A task whose every record
 * expired is never written again as a rule, so that file (and its folder) would stay forever.
 * So a reader that sees such a file, or a task whose every record expired, takes the task lock
 * and removes them there ({@link sweepExpired}), as a delete would: under the lock nobody saves
 * meanwhile, and what it finds there decides (a save that came first made the task live again,
 * and then only the expired files go). A task with nothing left (no live record, no log, no live
 * lease) loses its folder, which is removed piece by piece through the claim's stage and with
 * `rmdir`, never whole ({@link removeBareFolder}): a holder that stalled and was superseded
 * meanwhile removes nothing the new holder wrote.
 */

/**
 * Lazy expiry by a reader (`view`: the task as it just read it, without the lock): removes the
 * expired files it can without the lock, and takes the lock for the rest when there is any. Never
 * fails: it is cleanup, and the next read tries again.
 */
export async function sweepExpired(
  ctx: FileStoreContext,
  paths: TaskPaths,
  taskId: string,
  view: TaskView,
): Promise<void> {
  await sweepDead(paths, view);
  if (!needsLock(view)) return;
  await lockTask(ctx, paths, taskId, (lock) => sweepLocked(ctx, paths, taskId, lock)).catch(
    () => undefined,
  );
}

/**
 * Whether the view shows expired files only a lock holder may remove: every record expired (the
 * task counts as never saved, but its files and `head.json` are there), or the newest record
 * file, above `head.json`'s seq, expired (`sweepDead` leaves it).
 */
function needsLock(view: TaskView): boolean {
  return view.reset || newestIsDead(view);
}

/** Whether the newest record file, above `head.json`'s seq, expired (it may hold the head). */
function newestIsDead(view: TaskView): boolean {
  const storedSeq = view.stored?.seq ?? 0;
  return view.dead.some((entry) => entry.seq > storedSeq && entry.seq >= view.rawHead);
}

/** The lock holder's sweep: what it reads now decides (see the module comment). */
async function sweepLocked(
  ctx: FileStoreContext,
  paths: TaskPaths,
  taskId: string,
  lock: HeldTaskLock,
): Promise<void> {
  const current = await viewTask(ctx, paths, taskId, true);
  if (current.head > 0) {
    // Live (a save may have come first): only its expired files go. When the newest is one,
    // head.json takes the head (and the lapse) from the names first, as a delete keeps it.
    if (current.dead.length === 0) return;
    const head = headAfterDelete(current, []);
    if (newestIsDead(current) && !headIsStored(current, head)) {
      await writeHead(paths, head, lock.stage);
    }
    await removeRecords(paths, current.dead, true, lock.stage);
    return;
  }
  // Every record expired (or there is none: another sweep came first, and this claim made the
  // lock folder again): the task counts as never saved. Its records go first and head.json last
  // (without it, a record below the floor would count again), so the task reads as never saved
  // at every step; then its folder, if nothing else is in it.
  await removeRecords(paths, current.dead, true, lock.stage);
  if (current.stored !== undefined && (await lock.stage.removeFile(paths.head))) {
    await fsyncDirectory(paths.dir);
  }
  await removeBareFolder(ctx, paths, taskId, lock);
}

/**
 * Removes the task's folder when nothing is left in it (no record file, no `head.json`, no log,
 * no live or unreadable lease; a lapsed lease goes with it); the caller holds the task lock
 * (`lock`) and has just read that the task has no live record and a head of 0. Everything goes
 * through the claim's stage or by `rmdir` (which refuses a folder that is not empty), and the
 * lock folder last ({@link HeldTaskLock.removeFolder}): whatever another holder writes meanwhile
 * (after taking the lock over from this one, stalled) stays, with the folders that hold it.
 * Returns whether the folder went.
 */
export async function removeBareFolder(
  ctx: FileStoreContext,
  paths: TaskPaths,
  taskId: string,
  lock: HeldTaskLock,
): Promise<boolean> {
  const logs = await readdir(paths.logs).catch(() => [] as string[]);
  if (logs.some((name) => name.endsWith('.log'))) return false;
  if ((await stat(paths.head).catch(() => undefined)) !== undefined) return false;
  let lease: Awaited<ReturnType<typeof readLeaseFile>>;
  try {
    lease = await readLeaseFile(paths, taskId);
  } catch {
    return false; // a damaged lease is left as found (deleteTask clears it)
  }
  if (liveAt(lease, ctx.now()) !== undefined) return false;
  if (lease !== undefined) await lock.stage.removeFile(paths.lease);
  if (!(await removeEmptyFolder(paths.records)) || !(await removeEmptyFolder(paths.logs))) {
    return false;
  }
  // The id file last but the lock: a claim after this one is a first claim (or takes this one
  // over), and writes it again before it writes anything.
  ctx.taskIds.forget(taskId);
  await lock.stage.removeFile(paths.idFile);
  if (!(await lock.removeFolder())) return false;
  return removeEmptyFolder(paths.dir);
}
