import { ROUTER_TASK_PREFIX } from '../../machines/router/persist-router.js';
import type { CheckpointManager } from '../checkpoint/checkpoint-manager.js';
import type { ListTasksOptions } from '../checkpoint/checkpoint-store.js';
import { isOrchestrationError } from '../errors.js';
import { asError } from './as-error.js';
import { FINAL_STATUSES } from './checkpoint-state.js';
import type {
  PurgeReport,
  RecoveryReport,
  RunStatus,
  TaskListing,
  WorkflowRun,
} from './runtime-types.js';

/**
 * The runtime's operations over every task of its store (internal to `createRuntime`):
 * `listTasks`, `recover` and `purgeFinished`, written against the few runtime calls they need.
 */

/** Task ids a page of `listTasks` reads from the store by default. */
const DEFAULT_TASK_PAGE = 100;
/** Latest checkpoints `listTasks` reads at once. */
const STATUS_READS = 8;
/** Task ids `recover` and `purgeFinished` read from the store at a time. */
const RECOVER_PAGE = 1_000;

type TaskFailure = { taskId: string; error: Error };

/**
 * A page of the store's workflow tasks (router actors left out) with their status, read a few
 * at a time in id order by `status`. One task whose checkpoint cannot be read goes to
 * `unreadable`; the backend failing (`STORAGE_FAILED`, or an error that is not ours) fails it all.
 */
export async function listTaskStatuses(
  manager: CheckpointManager,
  options: ListTasksOptions,
  status: (taskId: string) => Promise<RunStatus | undefined>,
): Promise<TaskListing> {
  const limit = options.limit ?? DEFAULT_TASK_PAGE;
  const ids = await manager.listTasks({ limit, after: options.after });
  const tasks: RunStatus[] = [];
  const unreadable: TaskFailure[] = [];
  const workflowIds = ids.filter((taskId) => !taskId.startsWith(ROUTER_TASK_PREFIX));
  for (let at = 0; at < workflowIds.length; at += STATUS_READS) {
    const batch = workflowIds.slice(at, at + STATUS_READS);
    const read = await Promise.allSettled(batch.map(status));
    for (const [k, outcome] of read.entries()) {
      const taskId = batch[k] as string;
      if (outcome.status === 'fulfilled') {
        if (outcome.value !== undefined) tasks.push(outcome.value);
        continue;
      }
      const error = outcome.reason;
      if (!isOrchestrationError(error) || isOrchestrationError(error, 'STORAGE_FAILED')) {
        throw error;
      }
      unreadable.push({ taskId, error });
    }
  }
  return { tasks, unreadable, next: ids.length === limit ? ids.at(-1) : undefined };
}

/** What {@link recoverTasks} asks of the runtime. */
export interface RecoveringRuntime {
  listTasks(options: ListTasksOptions): Promise<TaskListing>;
  /** Whether a start or resume of the task is in progress here. */
  isClaimed(taskId: string): boolean;
  resume(taskId: string): Promise<WorkflowRun>;
}

/**
 * Resumes every running or suspended task that does not run here, page by page. A task leased
 * to another runtime (`TASK_LEASED`) goes to `leased`; any other failure to `failed`.
 */
export async function recoverTasks(runtime: RecoveringRuntime): Promise<RecoveryReport> {
  const resumed: WorkflowRun[] = [];
  const failed: TaskFailure[] = [];
  const leased: { taskId: string; owner: string }[] = [];
  let after: string | undefined;
  do {
    const page = await runtime.listTasks({ limit: RECOVER_PAGE, after });
    failed.push(...page.unreadable);
    for (const task of page.tasks) {
      if (task.live || runtime.isClaimed(task.taskId)) continue;
      if (task.status !== 'running' && task.status !== 'suspended') continue;
      try {
        resumed.push(await runtime.resume(task.taskId));
      } catch (error) {
        if (isOrchestrationError(error, 'TASK_LEASED')) {
          leased.push({ taskId: task.taskId, owner: error.owner });
          continue;
        }
        failed.push({ taskId: task.taskId, error: asError(error) });
      }
    }
    after = page.next;
  } while (after !== undefined);
  return { resumed, failed, leased };
}

/**
 * Deletes every task of the store (router actors and tasks live here, `isLive`, left out)
 * whose latest checkpoint is final and older than `olderThanMs`. A task that cannot be read or
 * deleted goes to `failed` and is kept; the backend failing (`STORAGE_FAILED`) stops the purge.
 */
export async function purgeFinishedTasks(
  getManager: () => Promise<CheckpointManager>,
  olderThanMs: number,
  isLive: (taskId: string) => boolean,
): Promise<PurgeReport> {
  if (!(Number.isSafeInteger(olderThanMs) && olderThanMs >= 0)) {
    throw new TypeError(`olderThanMs must be an integer ≥ 0, got ${olderThanMs}`);
  }
  const manager = await getManager();
  // Checkpoints' createdAt is stamped by the manager's clock (Date.now), not the runtime's `now`.
  const cutoff = Date.now() - olderThanMs;
  const deleted: string[] = [];
  const failed: TaskFailure[] = [];
  let after: string | undefined;
  for (;;) {
    const ids = await manager.listTasks({ limit: RECOVER_PAGE, after });
    for (const taskId of ids) {
      if (taskId.startsWith(ROUTER_TASK_PREFIX) || isLive(taskId)) continue;
      try {
        const state = await manager.loadLatestCheckpoint(taskId, { snapshot: false });
        const finishedAt = state?.checkpoint?.createdAt;
        if (state === undefined || !FINAL_STATUSES.has(state.status)) continue;
        if (finishedAt === undefined || finishedAt > cutoff) continue;
        if (await manager.deleteTask(taskId)) deleted.push(taskId);
      } catch (error) {
        if (isOrchestrationError(error, 'STORAGE_FAILED')) throw error;
        failed.push({ taskId, error: asError(error) });
      }
    }
    if (ids.length < RECOVER_PAGE) break;
    after = ids.at(-1);
  }
  return { deleted, failed };
}
