import { readdir } from 'node:fs/promises';
import { compareIds } from '../../src/checkpoint/store-guards.js';
import { CorruptRecordError } from '../../src/errors.js';
import { errorCode, isNotFound } from './fs-utils.js';
import { type FileStoreContext, viewTask } from './store-context.js';
import { type TaskPaths, taskPaths } from './task-paths.js';
import { sweepExpired } from './task-sweep.js';

/**
 * The file store's `listTasks`: every folder under `tasks/` is named (see `task-ids.ts`), the ids
 * after `after` are sorted, and they are checked in that order, a few at a time, until `limit`
 * are listed. A task is listed if it has a log, or else a head above 0 as `head` computes it
 * (`head.json` and the record names; no record is opened).
 */

/** How many tasks `listTasks` checks at once. */
const LIST_CONCURRENCY = 16;

/** `listTasks`: the first `limit` listed tasks with an id after `after`, in id order. */
export async function listTaskIds(
  ctx: FileStoreContext,
  after: string | undefined,
  limit: number,
): Promise<string[]> {
  const candidates = (await ctx.taskIds.list())
    .filter((id) => after === undefined || id > after)
    .sort(compareIds);
  return firstListed(candidates, limit, (taskId) => isListed(ctx, taskId));
}

/**
 * Whether `listTasks` lists the task: it has a log, or its head, as `head` computes it with the
 * store's clock, is above 0.
 */
async function isListed(ctx: FileStoreContext, taskId: string): Promise<boolean> {
  const paths = taskPaths(ctx.root, taskId);
  try {
    if (await hasLog(paths)) return true;
    const view = await viewTask(ctx, paths, taskId);
    // A task whose every record expired is not listed, and its files go now (see task-sweep.ts).
    await sweepExpired(ctx, paths, taskId, view);
    return view.head > 0;
  } catch (error) {
    // A damaged head.json: only writes to records make one, so the task was saved. Listed, so the
    // damage shows where the task is used (head, latest: CorruptRecordError) rather than the
    // task silently missing, or every page failing.
    if (error instanceof CorruptRecordError) return true;
    if (errorCode(error) === 'ENOTDIR') return false; // a stray file in tasks/, not a task
    throw error;
  }
}

/** Whether the task has a log (a `*.log` file in `logs/`). */
async function hasLog(paths: TaskPaths): Promise<boolean> {
  let names: string[];
  try {
    names = await readdir(paths.logs);
  } catch (error) {
    if (isNotFound(error) || errorCode(error) === 'ENOTDIR') return false;
    throw error;
  }
  return names.some((name) => name.endsWith('.log'));
}

/**
 * The first `limit` of `candidates`, in their order, that pass `isListed`. Checked a few at a
 * time, never more at once than are still missing: a page costs `limit` checks when every task is
 * live, and the tasks past the page are never looked at.
 */
async function firstListed(
  candidates: readonly string[],
  limit: number,
  isListed: (taskId: string) => Promise<boolean>,
): Promise<string[]> {
  const listed: string[] = [];
  let next = 0;
  while (listed.length < limit && next < candidates.length) {
    const batch = candidates.slice(next, next + Math.min(limit - listed.length, LIST_CONCURRENCY));
    next += batch.length;
    const live = await Promise.all(batch.map(isListed));
    batch.forEach((taskId, i) => {
      if (live[i]) listed.push(taskId);
    });
  }
  return listed;
}
