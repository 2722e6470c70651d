import type { Snapshot } from 'xstate';
import type { CheckpointManager } from '../../src/checkpoint/checkpoint-manager.js';
import type { Context } from '../../src/context/context.js';
import { CorruptRecordError } from '../../src/errors.js';
import { assertValidId } from '../../src/ids.js';
import {
  type RouterCallOptions,
  type RouterHandle,
  type StartRouterOptions,
  seedHandles,
  startRouter,
} from './start-router.js';
import type { TargetAddress } from './target-types.js';

/**
 * Task ids of persisted router actors start with this (`router.<machine id>` by default); the
 * runtime refuses to start workflows under such ids, so the two never share checkpoints.
 */
export const ROUTER_TASK_PREFIX = 'router.';

/** Options of {@link startPersistedRouter}. */
export interface PersistedRouterOptions extends Omit<StartRouterOptions, 'snapshot'> {
  /** Where the router's snapshot is saved and restored from (the runtime's manager). */
  readonly manager: CheckpointManager;
  /**
   * The task id the router's checkpoints are kept under: a valid id, reserved for the router
   * (no workflow may use it). Default: `'router.<id>'`, i.e. `'router.router'`.
   */
  readonly taskId?: string;
  /** How many of the router's newest checkpoints are kept (older ones are deleted). Default: `2`. */
  readonly keepLatest?: number;
}

/** A router whose snapshot is saved to a checkpoint store: what {@link startPersistedRouter} returns. */
export interface PersistedRouterHandle extends RouterHandle {
  /** The task id its checkpoints are kept under. */
  readonly taskId: string;
  /**
   * Resolves when every save scheduled so far is written; rejects with the error of a failed
   * save (e.g. `CheckpointConflictError`: another router wrote the same task id).
   */
  flush(): Promise<void>;
  /** Waits for the saves in flight (their errors are not thrown here), then stops the router. */
  close(): Promise<void>;
}

/** What the router's checkpoints carry in `metadata.kind`. */
const ROUTER_KIND = 'router';

/**
 * Starts a router actor (see `startRouter`) that is persisted with its checkpoint store: the
 * latest router checkpoint of `taskId` is restored first (agents get back their state, e.g. a
 * conversation memory; calls pending at the save run again, at least once), and after every
 * call to an agent the router's persisted snapshot is saved as a new checkpoint of `taskId`.
 * Saves are serialized and coalesced (calls answered while a save is in flight are covered by
 * one more save of the then-current snapshot) and conditional on the sequence number this router
 * last read or wrote, so two routers on one task id never overwrite each other: the loser's save
 * fails with `CheckpointConflictError`, after which its agent calls reject with that error (its
 * agents' memory can no longer be kept). Tool and pool calls do not write.
 *
 * Rejects with `CorruptRecordError` when the latest router checkpoint cannot be read or is not
 * a snapshot this router can restore; nothing is written then, so the record is kept as it was.
 *
 * @example
 * ```ts
 * const manager = await getCheckpointManager(createFileStore({ directory: '.state' }));
 * const router = await startPersistedRouter({ manager, targets: [planner] });
 * await router.getAgent('planner').process(taskContext); // saved: the planner's memory included
 * await router.close();
 * const again = await startPersistedRouter({ manager, targets: [planner] }); // same memory
 * ```
 */
export async function startPersistedRouter(
  options: PersistedRouterOptions,
): Promise<PersistedRouterHandle> {
  const { manager, taskId: givenTaskId, keepLatest = 2, ...routerOptions } = options;
  const machineId = routerOptions.id ?? 'router';
  const taskId = givenTaskId ?? `${ROUTER_TASK_PREFIX}${machineId}`;
  assertValidId('router task id', taskId);
  if (!(Number.isSafeInteger(keepLatest) && keepLatest >= 1)) {
    throw new TypeError('keepLatest must be an integer ≥ 1');
  }

  const loaded = await manager.loadLatestCheckpoint(taskId);
  let seq = loaded?.checkpoint?.seq ?? (await manager.store.head(taskId));
  let snapshot: Snapshot<unknown> | undefined;
  if (loaded !== undefined) {
    const recordId = loaded.checkpoint?.checkpointId ?? '(latest)';
    const held = loaded.snapshot as { status?: unknown } | undefined;
    if (loaded.machine?.id !== machineId || typeof held !== 'object' || held === null) {
      throw new CorruptRecordError(
        taskId,
        recordId,
        `not a persisted snapshot of router ${JSON.stringify(machineId)}`,
      );
    }
    snapshot = loaded.snapshot;
  }
  let router: RouterHandle;
  try {
    router = startRouter({ ...routerOptions, ...(snapshot === undefined ? {} : { snapshot }) });
  } catch (error) {
    const recordId = loaded?.checkpoint?.checkpointId ?? '(latest)';
    throw new CorruptRecordError(taskId, recordId, 'the router snapshot does not restore', {
      cause: error,
    });
  }
  if (router.actor.getSnapshot().status === 'error') {
    const { error } = router.actor.getSnapshot();
    router.stop();
    throw new CorruptRecordError(
      taskId,
      loaded?.checkpoint?.checkpointId ?? '(latest)',
      'the router snapshot does not restore',
      { cause: error },
    );
  }

  let dirty = false;
  let writing: Promise<void> | undefined;
  let failure: { readonly error: unknown } | undefined;

  const saveNow = async () => {
    await manager.saveCheckpoint(
      {
        taskId,
        plan: [],
        status: 'running',
        currentStepIndex: 0,
        metadata: { kind: ROUTER_KIND },
        machine: { id: machineId },
        snapshot: router.getPersistedSnapshot(),
      },
      { expectedSeq: seq },
    );
    seq += 1;
    if (seq > keepLatest) await manager.deleteOldCheckpoints(taskId, { keepLatest });
  };
  const drain = async () => {
    try {
      while (dirty && failure === undefined) {
        dirty = false;
        await saveNow();
      }
    } catch (error) {
      failure = { error };
    } finally {
      writing = undefined;
    }
  };
  const schedule = () => {
    if (failure !== undefined) return;
    dirty = true;
    writing ??= drain();
  };

  const call = (target: TargetAddress, context: Context, callOptions?: RouterCallOptions) => {
    if (target.targetType !== 'agent_type') return router.call(target, context, callOptions);
    if (failure !== undefined) return Promise.reject(failure.error);
    const answer = router.call(target, context, callOptions);
    answer.then(schedule, schedule);
    return answer;
  };
  const flush = async () => {
    while (writing !== undefined) await writing;
    if (failure !== undefined) throw failure.error;
  };

  return {
    actor: router.actor,
    targets: router.targets,
    taskId,
    call,
    ...seedHandles(call),
    getPersistedSnapshot: () => router.getPersistedSnapshot(),
    stop: () => router.stop(),
    flush,
    close: async () => {
      await flush().catch(() => {});
      router.stop();
    },
  };
}
