import type { ConditionalAppend, ReadLogOptions } from '../../src/checkpoint/checkpoint-store.js';
import { assertLogEntriesRead } from '../../src/checkpoint/store-guards.js';
import { RecordTooLargeError } from '../../src/errors.js';
import { appendLogLine, corruptLog, logLength, readLogEntries } from './log-file.js';
import { type FileStoreContext, lockTask } from './store-context.js';
import { logPath, taskPaths } from './task-paths.js';

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
 * when the log holds `at` entries then (any number, without `at`). The length is checked inside
 * the lock's callback, so a holder that stalled and was superseded checks it again when its
 * append runs again under a new claim: an append another writer overtook meanwhile is refused,
 * not made after the other's. A refused append changes nothing, not even the task's id file.
 */
export async function appendTaskLogAt(
  ctx: FileStoreContext,
  taskId: string,
  name: string,
  at: number | undefined,
  entries: readonly string[],
): Promise<ConditionalAppend> {
  const paths = taskPaths(ctx.root, taskId);
  const path = logPath(paths, name);
  const onCorrupt = corruptLog(taskId, name);
  if (entries.length === 0) {
    const length = await logLength(path, onCorrupt);
    return { appended: at === undefined || length === at, length };
  }
  return lockTask(
    ctx,
    paths,
    taskId,
    async (lock) => {
      if (at !== undefined) {
        const length = await logLength(path, onCorrupt);
        if (length !== at) return { appended: false, length };
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
