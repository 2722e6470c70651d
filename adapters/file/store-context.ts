import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { removeFile, TEMP_PREFIX } from './fs-utils.js';
import { cutLog } from './log-file.js';
import type { RecordsMemo, RecordsMemos } from './records-memo.js';
import type { TaskIdFiles } from './task-ids.js';
import { type HeldTaskLock, withTaskLock } from './task-lock.js';
import type { TaskPaths } from './task-paths.js';
import { readTaskView, type TaskView } from './task-view.js';

/**
 * What the file store's operations share: its settings and task-id files
 * ({@link FileStoreContext}), and the two ways they see a task: {@link lockTask} for writers,
 * {@link viewTask} for everyone.
 */

/** The settings and state of one file store instance, shared by its operations. */
export interface FileStoreContext {
  /** The store's folder, resolved. */
  readonly root: string;
  /** The bound on a record body or log entry, in UTF-8 bytes. */
  readonly maxRecordBytes: number;
  /** A lock holder whose heartbeat is older than this is presumed dead, in ms. */
  readonly staleMs: number;
  /** How long a write waits for another writer of the same task, in ms. */
  readonly timeoutMs: number;
  /** The store's clock. */
  readonly now: () => number;
  /** This instance's memory of the tasks' id files (see `task-ids.ts`). */
  readonly taskIds: TaskIdFiles;
  /** This instance's memory of the records of the tasks it saved to (see `records-memo.ts`). */
  readonly memos: RecordsMemos;
}

/**
 * Runs `fn` holding the task's lock. A holder that finds a dead one's leftovers removes its temp
 * files first, one that revoked appends of superseded holders cuts their logs back, and the first
 * holder of a new folder gives it its id file. `fn` changes the task through `lock.stage`; when
 * that throws `LockLostError` (this process stalled and was superseded), `fn` runs again under a
 * new claim (see `withTaskLock`). `fn` gets the task's records memo when it is still good (see
 * `records-memo.ts`); it is forgotten unless `fn` puts it back, or `keepsRecords` (`fn` writes no
 * record and deletes none) and `fn` succeeds.
 */
export function lockTask<T>(
  ctx: FileStoreContext,
  paths: TaskPaths,
  taskId: string,
  fn: (lock: HeldTaskLock, memo: RecordsMemo | undefined) => Promise<T>,
  { keepsRecords = false }: { readonly keepsRecords?: boolean } = {},
): Promise<T> {
  const { staleMs, timeoutMs } = ctx;
  const label = `task ${JSON.stringify(taskId)}`;
  return withTaskLock(paths.lock, { staleMs, timeoutMs, label }, async (lock) => {
    if (lock.recoveredFromCrash) await removeTemps(paths);
    // Appends of superseded holders, revoked when this claim fenced them: undone before anything
    // else can append (a claim that dies first leaves them to the next, see `claim-stage.ts`).
    for (const payload of lock.revoked) {
      await cutLog(paths.logs, payload, lock.stage);
      await lock.stage.clearRevoked(payload);
    }
    // A new folder (or one a crashed holder may have left half made) gets its id file from its
    // first holder, whatever it writes (a lease, say): other instances that remember the id file
    // of the folder it replaced go by that memory, since their own claims are not first ones.
    const memo = ctx.memos.take(taskId, lock.follows, ctx.now());
    if (lock.firstClaim || lock.recoveredFromCrash) await ctx.taskIds.keep(paths, taskId, lock);
    const result = await fn(lock, memo);
    if (keepsRecords && memo !== undefined) ctx.memos.put(taskId, lock.token, memo);
    return result;
  });
}

/** The task as a reader sees it (`isLocked`: as the lock holder sees it), by the store's clock. */
export async function viewTask(
  ctx: FileStoreContext,
  paths: TaskPaths,
  taskId: string,
  isLocked = false,
): Promise<TaskView> {
  return readTaskView(paths, taskId, ctx.now(), isLocked);
}

/** Removes the temp files a dead lock holder left in the task's folders. */
async function removeTemps(paths: TaskPaths): Promise<void> {
  for (const dir of [paths.dir, paths.records]) {
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names) {
      if (name.startsWith(TEMP_PREFIX)) await removeFile(join(dir, name));
    }
  }
}
