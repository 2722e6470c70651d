import type { Snapshot } from 'xstate';
import type { CheckpointManager } from '../../src/checkpoint/checkpoint-manager.js';
import type { AnyContext } from '../../src/context/context.js';
import { CheckpointConflictError, CorruptRecordError } from '../../src/errors.js';
import { assertValidId } from '../../src/ids.js';
import type { JsonValue } from '../../src/json.js';
import {
  assertRouterMachineOptions,
  persistedAgentStates,
  withoutCalls,
} from './router-machine.js';
import {
  type ObservedRouter,
  type RouterCallOptions,
  type RouterHandle,
  type StartRouterOptions,
  seedHandles,
  startObservedRouter,
} from './start-router.js';
import type { AgentTarget, TargetAddress } from './target-types.js';

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
   * Resolves when the saves in flight are done; rejects with `CheckpointConflictError` once
   * another router wrote the same task id (this one can save nothing more). Any other failed save
   * rejected the agent calls it was to cover, and their agents went back to the saved state.
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
 * conversation memory; calls pending at the save are dropped, see `withoutCalls`: one runs again
 * only when its caller sends it again, with the same request id), and after every
 * call to an agent the router's persisted snapshot is saved as a new checkpoint of `taskId`. An
 * agent call resolves only once a snapshot holding the agent state it made is saved, so a caller
 * never goes on from a state the store does not have. Saves are serialized and coalesced (calls
 * answered while a save is in flight are covered by one more save of the then-current snapshot)
 * and conditional on the sequence number this router last read or wrote, so two routers on one
 * task id never overwrite each other: the loser's save fails with `CheckpointConflictError`,
 * after which its agent calls reject with that error (its agents' memory can no longer be kept).
 * A save that fails otherwise (a state over the store's `maxRecordBytes`, a storage failure)
 * rejects the agent calls it was to cover with its error, and sets their agents back to the
 * state last saved (a call they were running runs again from it); later calls go on as usual.
 * Once its agent answered, a call waits for its save even if its `signal` aborts. Tool and pool
 * calls do not write, and do not wait.
 *
 * Rejects a configuration mistake (a target registered twice or made wrong, a bad `idleTimeoutMs`
 * or `maxChildren`) as `InvalidIdError` or `TypeError` before the store is read. Rejects with
 * `CorruptRecordError` when the latest router checkpoint cannot be read or is not a snapshot this
 * router can restore; nothing is written then, so the record is kept as it was.
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

  // A configuration mistake is thrown as it is, before the store is read.
  assertRouterMachineOptions(routerOptions);
  const agents = (routerOptions.targets ?? []).filter(
    (target): target is AgentTarget => target.targetType === 'agent_type',
  );

  const loaded = await manager.loadLatestCheckpoint(taskId);
  let seq = loaded?.checkpoint?.seq ?? (await manager.store.head(taskId));
  let snapshot: Snapshot<unknown> | undefined;
  const recordId = loaded?.checkpoint?.checkpointId ?? '(latest)';
  if (loaded !== undefined) {
    const held = loaded.snapshot as { status?: unknown } | undefined;
    if (loaded.machine?.id !== machineId || typeof held !== 'object' || held === null) {
      throw new CorruptRecordError(
        taskId,
        recordId,
        `not a persisted snapshot of router ${JSON.stringify(machineId)}`,
      );
    }
    // Only the agents' states are restored: the record is saved after agent calls only, so the
    // calls it holds may have been answered or withdrawn since. A call still wanted is sent again
    // by its caller (a resumed workflow does) and runs then, once.
    snapshot = withoutCalls(loaded.snapshot);
  }
  let router: ObservedRouter;
  try {
    router = startObservedRouter({
      ...routerOptions,
      ...(snapshot === undefined ? {} : { snapshot }),
    });
  } catch (error) {
    if (snapshot === undefined) throw error;
    throw new CorruptRecordError(taskId, recordId, 'the router snapshot does not restore', {
      cause: error,
    });
  }
  if (router.actor.getSnapshot().status === 'error') {
    const { error } = router.actor.getSnapshot();
    router.stop();
    if (snapshot === undefined) throw error;
    throw new CorruptRecordError(taskId, recordId, 'the router snapshot does not restore', {
      cause: error,
    });
  }

  /** The snapshot the store holds (the last one saved, or the one restored), if any. */
  let saved: Snapshot<unknown> | undefined = snapshot;
  /** Answers numbered below this are in {@link saved}. */
  let savedAnswers = 0;
  /**
   * The answers the last failed save lost, `[from, to)`: their agents were set back to
   * {@link saved}, so their calls reject with its error.
   */
  let lost: { readonly from: number; readonly to: number; readonly error: unknown } | undefined;
  /** Set once another writer saved first: nothing can be saved any more. */
  let stuck: { readonly error: unknown } | undefined;
  /** Agent calls answered and waiting for a save that covers their answer. */
  let unsaved: { answer: number; resolve: () => void; reject: (error: unknown) => void }[] = [];
  let writing: Promise<void> | undefined;

  /** Sets every agent whose state is not the saved one back to it (see `AgentsResetEvent`). */
  const revert = () => {
    const back = persistedAgentStates(saved, agents);
    const now = persistedAgentStates(router.getPersistedSnapshot(), agents);
    const states: Record<string, JsonValue> = {};
    let changed = false;
    for (const [childId, state] of Object.entries(back)) {
      if (JSON.stringify(state) === JSON.stringify(now[childId])) continue;
      states[childId] = state;
      changed = true;
    }
    if (changed) router.actor.send({ type: 'agents.reset', states });
  };

  const saveNow = async () => {
    const covers = router.answers();
    const persisted = router.getPersistedSnapshot();
    await manager.saveCheckpoint(
      {
        taskId,
        plan: [],
        status: 'running',
        currentStepIndex: 0,
        metadata: { kind: ROUTER_KIND },
        machine: { id: machineId },
        snapshot: persisted,
      },
      { expectedSeq: seq },
    );
    seq += 1;
    saved = persisted;
    savedAnswers = covers;
    const done = unsaved.filter((entry) => entry.answer < covers);
    unsaved = unsaved.filter((entry) => entry.answer >= covers);
    for (const entry of done) entry.resolve();
    // A failed prune keeps older checkpoints (the next save prunes them); the save stands.
    if (seq > keepLatest)
      await manager.deleteOldCheckpoints(taskId, { keepLatest }).catch(() => {});
  };
  /** A save failed: every call waiting for one rejects with its error. */
  const fail = (error: unknown) => {
    const rejected = unsaved;
    unsaved = [];
    if (error instanceof CheckpointConflictError) stuck = { error };
    else lost = { from: savedAnswers, to: router.answers(), error };
    for (const entry of rejected) entry.reject(error);
    if (stuck === undefined && router.actor.getSnapshot().status === 'active') revert();
  };
  const drain = async () => {
    try {
      while (unsaved.length > 0) {
        try {
          await saveNow();
        } catch (error) {
          fail(error);
        }
      }
    } finally {
      writing = undefined;
    }
  };
  /** Resolves once the state after answer number `answer` is saved; rejects if it cannot be. */
  const saveAfter = (answer: number) =>
    new Promise<void>((resolve, reject) => {
      unsaved.push({ answer, resolve, reject });
      writing ??= drain();
    });

  const call = (target: TargetAddress, context: AnyContext, callOptions?: RouterCallOptions) => {
    if (target.targetType !== 'agent_type') return router.call(target, context, callOptions);
    if (stuck !== undefined) return Promise.reject(stuck.error);
    let answer = -1;
    const answered = router.callObserved(target, context, callOptions, (number) => {
      answer = number;
    });
    return answered.then(async (result) => {
      if (lost !== undefined && answer >= lost.from && answer < lost.to) throw lost.error;
      if (answer < savedAnswers) return result;
      if (stuck !== undefined) throw stuck.error;
      await saveAfter(answer);
      return result;
    });
  };
  const flush = async () => {
    while (writing !== undefined) await writing;
    if (stuck !== undefined) throw stuck.error;
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
