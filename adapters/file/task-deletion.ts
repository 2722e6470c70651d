import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { CorruptRecordError } from '../../src/errors.js';
import { fsyncDirectory, isAlive, isNotFound, randomToken } from './fs-utils.js';
import { type FileStoreContext, lockTask, viewTask } from './store-context.js';
import { type TaskPaths, taskPaths, taskPathsIn, trashPath } from './task-paths.js';

/**
 * The file store's `deleteTask`: under the task lock, one rename moves the task's folder into
 * `<directory>/.trash/`, so the task goes at once, and the folder is then removed at leisure.
 * Folders left in the trash by a process that died meanwhile are removed by the next deletion.
 */

/**
 * `deleteTask`: removes everything of the task; whether it had records, a head or a log. A task
 * whose `head.json` is damaged is removed too (it counts as existing): this is how it is cleared.
 */
export async function deleteTaskFolder(ctx: FileStoreContext, taskId: string): Promise<boolean> {
  const paths = taskPaths(ctx.root, taskId);
  if (!(await exists(paths.dir))) return false;
  return lockTask(ctx, paths, taskId, async (lock) => {
    // One rename takes the task away at once; the folder is then removed at leisure.
    const trash = trashPath(ctx.root);
    await mkdir(trash, { recursive: true });
    const doomed = join(trash, `${Date.now()}-${process.pid}-${randomToken()}`);
    await rename(paths.dir, doomed);
    lock.abandon();
    ctx.taskIds.forget(taskId);
    await fsyncDirectory(dirname(paths.dir));
    // What it held, read where it went: the stages of the task's lock claims went with it, so
    // nobody changes it any more, and this holds even if this process was superseded while
    // stalled (the rename then took what the new holder had written: a delete after it).
    const existed = await hasAnything(ctx, taskPathsIn(doomed), taskId).catch(() => true);
    await rm(doomed, { recursive: true, force: true });
    await emptyTrash(trash);
    return existed;
  });
}

/** Whether the task has live records, a head above 0 or a log (the lock holder's view). */
async function hasAnything(
  ctx: FileStoreContext,
  paths: TaskPaths,
  taskId: string,
): Promise<boolean> {
  const logs = await readdir(paths.logs).catch(() => [] as string[]);
  if (logs.some((name) => name.endsWith('.log'))) return true;
  try {
    const current = await viewTask(ctx, paths, taskId, true);
    return current.head > 0 || current.live.length > 0;
  } catch (error) {
    // A damaged head.json: only writes to records make one, so the task was saved (listTasks
    // lists it for the same reason).
    if (error instanceof CorruptRecordError) return true;
    throw error;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}

/** Removes folders a `deleteTask` of a process that died left in the trash; best effort. */
async function emptyTrash(trash: string): Promise<void> {
  const names = await readdir(trash).catch(() => [] as string[]);
  for (const name of names) {
    const pid = Number(name.split('-')[1]);
    if (Number.isSafeInteger(pid) && pid !== process.pid && !isAlive(pid)) {
      await rm(join(trash, name), { recursive: true, force: true }).catch(() => undefined);
    }
  }
}
