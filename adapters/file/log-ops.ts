import { stat } from 'node:fs/promises';
import type { ConditionalAppend, ReadLogOptions } from '../../src/checkpoint/checkpoint-store.js';
import { assertLogEntriesRead } from '../../src/checkpoint/store-guards.js';
import { RecordTooLargeError } from '../../src/errors.js';
import { appendLogLine, corruptLog, logLength, readLogEntries } from './log-file.js';
import { type FileStoreContext, lockTask, viewTask } from './store-context.js';
import { logPath, taskPaths } from './task-paths.js';
import { removeBareFolder } from './task-sweep.js';

/**
 * The file store's log operations (`appendLog`, `readLog`), on arguments already validated. An
 * append writes one line under the task lock; a read takes no lock (see `log-file.ts`).
 */

/** `appendLog`: appends the entries under the task lock; returns the log's new length. */
export async function appendTaskLog(
  ctx: FileStoreContext,
  taskId: string,
  name: string,
  entries: readonly string[],
): Promise<number> {
  const { length } = await appendTaskLogAt(ctx, taskId, name, undefined, entries);
  return length;
}

/**
 * `appendLogAt` (`at`), and `appendLog` (`at` undefined): appends the entries under the task lock
 * when the log holds `at` entries then (any number, without `at`), and, with `requireHead`, the
 * task has a head above 0 then (it has a checkpoint, read from the memo of this instance's last
 * claim or from the task's files). The length and the head are checked inside
 * the lock's callback, so a holder that stalled and was superseded checks it again when its
 * append runs again under a new claim: an append another writer overtook meanwhile is refused,
 * not made after the other's. A refused append changes nothing, not even the task's id file
 * (a folder its lock claim made is removed again).
 *
 * A conditional append is also refused when the task's `records/` folder, there when it was
 * called, is gone or another one by the time it holds the lock: the task was deleted (or removed
 * once every record expired) while it waited, so what its caller knew of the log is of the task
 * that was, even at length 0. Ordered before that deletion, it appended nothing. So a run's append
 * queued behind a `deleteTask` (in this process or another) does not make the deleted task's log
 * again, alone in a new folder.
 */
export async function appendTaskLogAt(
  ctx: FileStoreContext,
  taskId: string,
  name: string,
  at: number | undefined,
  entries: readonly string[],
  requireHead = false,
): Promise<ConditionalAppend> {
  const paths = taskPaths(ctx.root, taskId);
  const path = logPath(paths, name);
  const onCorrupt = corruptLog(taskId, name);
  if (entries.length === 0) {
    const length = await logLength(path, onCorrupt);
    const headless = requireHead && (await viewTask(ctx, paths, taskId)).head === 0;
    return { appended: (at === undefined || length === at) && !headless, length };
  }
  // Read while the call waits for the lock (started before it queues, so it keeps its place).
  const called = at === undefined ? undefined : folderIdentity(paths.records);
  return lockTask(
    ctx,
    paths,
    taskId,
    async (lock, memo) => {
      if (at !== undefined) {
        const length = await logLength(path, onCorrupt);
        if (
          length !== at ||
          (await wasReplaced(called, paths.records)) ||
          // A memo is of a task with live records: its head is above 0.
          (requireHead &&
            memo === undefined &&
            (await viewTask(ctx, paths, taskId, true)).head === 0)
        ) {
          if (lock.firstClaim) await removeBareFolder(ctx, paths, taskId, lock);
          return { appended: false, length };
        }
      }
      await ctx.taskIds.keep(paths, taskId, lock); // before the log: see saveRecord
      const length = await appendLogLine(path, entries, onCorrupt, lock.stage);
      return { appended: true, length };
    },
    { keepsRecords: true },
  );
}

/** `readLog`: the log's entries from `from`, at most `limit`, each bounded by `maxRecordBytes`. */
export async function readTaskLog(
  ctx: FileStoreContext,
  taskId: string,
  name: string,
  readOptions: ReadLogOptions | undefined,
): Promise<string[]> {
  const { maxRecordBytes } = ctx;
  const path = logPath(taskPaths(ctx.root, taskId), name);
  const from = readOptions?.from ?? 0;
  const limit = readOptions?.limit ?? Number.POSITIVE_INFINITY;
  const range = {
    from,
    limit,
    maxEntryBytes: maxRecordBytes,
    tooLarge: (index: number, bytes: number) =>
      new RecordTooLargeError(`Log ${name} entry ${index}`, bytes, maxRecordBytes),
  };
  const entries = await readLogEntries(path, range, corruptLog(taskId, name));
  assertLogEntriesRead(entries, from, maxRecordBytes, name);
  return entries;
}

/** What tells a folder from one made in its place (`undefined`: there is none). */
function folderIdentity(path: string): Promise<string | undefined> {
  return stat(path).then(
    (stats) => `${stats.dev}:${stats.ino}:${stats.birthtimeMs}`,
    () => undefined,
  );
}

/** Whether the folder that `called` saw is gone or another one now (false if there was none). */
async function wasReplaced(
  called: Promise<string | undefined> | undefined,
  path: string,
): Promise<boolean> {
  const before = await called;
  return before !== undefined && (await folderIdentity(path)) !== before;
}
