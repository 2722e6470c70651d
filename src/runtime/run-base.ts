import type { AnyActorRef } from 'xstate';
import { describeFailure } from '../../machines/workflow-setup.js';
import type { CheckpointManager } from '../checkpoint/checkpoint-manager.js';
import type { WorkflowStatus } from '../checkpoint/workflow-state.js';
import type { Context } from '../context/context.js';
import {
  type CheckpointConflictError,
  isOrchestrationError,
  type OrchestrationErrorCode,
  TaskNotRunningError,
  UnknownTaskError,
  WorkflowCancelledError,
  WorkflowFailedError,
  type WorkflowFailureInfo,
  WorkflowPausedError,
} from '../errors.js';
import type { ContextFlowManager } from '../flow/context-flow-manager.js';
import type { JsonObject } from '../json.js';
import { asError } from './as-error.js';
import {
  FINAL_STATUSES,
  failureMetadata,
  type StopStatus,
  stopMetadata,
} from './checkpoint-state.js';
import { CheckpointWriter, type LoadedCheckpoint } from './checkpoint-writer.js';
import type {
  CheckpointPolicy,
  RunStatus,
  RuntimeEvent,
  RuntimeOptions,
  WorkflowRun,
} from './runtime-types.js';

/**
 * Errors a save meets again whenever it saves the same state: a value JSON cannot carry, a
 * context nested too deep, a record over the store's limit, a context that is not one, an
 * inline actor XState cannot persist. A run whose save fails with one of these fails at its
 * current step instead of aborting (an aborted task stays as its last checkpoint left it, and
 * a recover would rerun the step into the same error, forever).
 */
const UNSAVEABLE: ReadonlySet<OrchestrationErrorCode> = new Set<OrchestrationErrorCode>([
  'NON_JSON_VALUE',
  'DEPTH_LIMIT',
  'RECORD_TOO_LARGE',
  'CONTEXT_VALIDATION',
  'INLINE_ACTOR',
]);

/**
 * How a run found its task ended by another writer ({@link RunBase.stoppedElsewhere}): paused or
 * cancelled (its latest checkpoint says so), or `deleted` (no checkpoint and head 0: the task
 * was deleted, e.g. purged after a cancel).
 */
export type EndedElsewhere = StopStatus | 'deleted';

/**
 * Whether a lost conditional write lost to another history of its task: the checkpoint at the
 * seq it expected is not the one it knew (`SaveRecordOptions.expectedId`; only that refuses a
 * save at the expected seq), so the task was deleted and started again meanwhile.
 */
function isReplacedConflict(error: CheckpointConflictError): boolean {
  return error.actualSeq === error.expectedSeq;
}

/** A promise with its settle functions; rejections are marked handled. */
export function deferred<T>() {
  let resolve: (value: T) => void = () => {};
  let reject: (error: unknown) => void = () => {};
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => {});
  return { promise, resolve, reject };
}

/** What every run needs from its runtime. */
export interface RunBaseDeps {
  readonly manager: CheckpointManager;
  readonly workflow: { readonly id: string; readonly version: string };
  readonly policy: CheckpointPolicy;
  readonly inspect: RuntimeOptions['inspect'];
  /** Plans longer than this are written only in the first and final checkpoints. */
  readonly planInCheckpoints: number;
  /** Checkpoints each task keeps (older ones are pruned as it runs); undefined: all. */
  readonly keepCheckpoints: number | undefined;
  readonly now: () => number;
  readonly emit: (event: RuntimeEvent) => void;
  /**
   * With leases: throws `LeaseLostError`, and ends the run as a lost lease does, once the task's
   * lease has lapsed by this process's clock (`TaskLeases.assertHeld`). Called before a gate
   * opens, before a save and before a lineage append.
   */
  readonly assertLease?: (() => void) | undefined;
}

/**
 * The lifecycle both kinds of run share (internal): the serialized queue of saves, the
 * {@link CheckpointWriter}, status events, and how a run ends — cancelled (a final `cancelled`
 * checkpoint), halted (nothing written, the runtime closes) or aborted (a failed save, e.g. a
 * lost checkpoint race). Subclasses drive the actor and say what a checkpoint holds.
 */
export abstract class RunBase<TActor extends AnyActorRef, TSnapshot> implements WorkflowRun {
  readonly taskId: string;
  readonly workflowId: string;
  readonly workflowVersion: string;
  readonly result: Promise<Context>;
  readonly lineage: ContextFlowManager;
  protected readonly actor: TActor;
  protected readonly settle = deferred<Context>();
  protected readonly writer: CheckpointWriter;
  protected runStatus: WorkflowStatus | undefined;
  protected ended = false;
  /** Why the run failed, once it has. */
  protected failure: WorkflowFailureInfo | undefined;
  protected queue: Promise<void> = Promise.resolve();
  readonly #base: RunBaseDeps;
  /** Whether a {@link drain} is queued and has not begun. */
  #drainQueued = false;
  /** The stop (pause or cancel) that ends this run, once one has begun. */
  #stop: { readonly status: StopStatus; readonly done: Promise<void> } | undefined;
  /** The head at which {@link stillHeld} last found the task still this run's (-1: none). */
  #quietHead = -1;

  protected constructor(
    deps: RunBaseDeps,
    taskId: string,
    actor: TActor,
    lineage: ContextFlowManager,
    loaded?: LoadedCheckpoint,
  ) {
    this.#base = deps;
    this.taskId = taskId;
    this.workflowId = deps.workflow.id;
    this.workflowVersion = deps.workflow.version;
    this.actor = actor;
    this.lineage = lineage;
    this.result = this.settle.promise;
    this.writer = new CheckpointWriter(
      deps.manager,
      taskId,
      lineage,
      deps.emit,
      loaded,
      deps.keepCheckpoints,
      deps.assertLease,
    );
  }

  abstract status(): RunStatus;

  /** Writes a checkpoint of `snapshot` (`persisted` is its persisted form, if any). */
  protected abstract save(
    snapshot: TSnapshot,
    persisted: ReturnType<TActor['getPersistedSnapshot']> | undefined,
    status: WorkflowStatus,
    extra?: JsonObject,
  ): Promise<void>;

  /** The actor's current snapshot and its persisted form (for the cancel checkpoint). */
  protected abstract current(): {
    snapshot: TSnapshot;
    persisted: ReturnType<TActor['getPersistedSnapshot']>;
  };

  /** Tells the runtime the run has ended. */
  protected abstract onEnded(): void;

  /** Whether the run is still going here. */
  get live(): boolean {
    return !this.ended;
  }

  /**
   * Stops the actor and writes a final `cancelled` checkpoint. Resolves `false` when the run was
   * being paused already: once that pause has landed, the task rests in the store, and the
   * caller cancels it there.
   */
  cancel(): Promise<boolean> {
    return this.#stopWith('cancelled');
  }

  /**
   * Stops the actor and writes a `paused` checkpoint of where it is: a step in flight is aborted
   * (its signal fires) and runs again, with the same idempotency key, when the task is resumed.
   * Resolves `false` when the run was being cancelled already (once that has landed).
   */
  pause(): Promise<boolean> {
    return this.#stopWith('paused');
  }

  /**
   * For a run restored from a `paused` checkpoint, before its actor starts: writes a checkpoint
   * of the restored state with its live status (`running`, or `suspended` at a wait), so the
   * store no longer says paused once `resume` returned. Throws when the write fails (e.g. a
   * `CheckpointConflictError`: another writer moved the task on).
   */
  unpause(): Promise<void> {
    const { snapshot, persisted } = this.current();
    return this.enqueue(() => this.save(snapshot, persisted, this.restingStatus()));
  }

  /** The status of the actor's current snapshot while it runs: `running` or `suspended`. */
  protected abstract restingStatus(): 'running' | 'suspended';

  /**
   * Stops the actor, writes a checkpoint with `status` (and when, in its metadata), rejects
   * `result` with the matching error; resolves `true`. A run whose machine is done is left to
   * finish: its final checkpoint is written (or being written), and the task is over. A second
   * stop waits for the first to end, and resolves whether it was the same (a cancel after a
   * pause is `false`: the run's own stop did not do what was asked, nor did a failed one).
   */
  #stopWith(status: StopStatus): Promise<boolean> {
    const earlier = this.#stop;
    if (earlier !== undefined) {
      return earlier.done.then(
        () => earlier.status === status,
        () => false,
      );
    }
    // Ending here (failing, halted by `close`, aborted): once it has ended, the task is over if
    // its last checkpoint was final (a failure's); if not, the caller stops it in the store.
    if (this.ended) {
      const final = () => FINAL_STATUSES.has(this.runStatus ?? 'running');
      return this.result.then(final, final);
    }
    if (this.actor.getSnapshot().status === 'done') return Promise.resolve(true);
    const done = this.#stopNow(status);
    this.#stop = { status, done };
    return done.then(() => true);
  }

  async #stopNow(status: StopStatus): Promise<void> {
    this.ended = true;
    const { snapshot, persisted } = this.current();
    this.actor.stop();
    try {
      const extra = stopMetadata(status, this.#base.now());
      await this.enqueue(() => this.save(snapshot, persisted, status, extra));
      await this.writer.settled();
    } finally {
      this.#stopped(status);
    }
  }

  /** Ends the run as stopped with `status`: its status, and `result` rejected accordingly. */
  #stopped(status: StopStatus): void {
    this.setStatus(status);
    const error =
      status === 'paused'
        ? new WorkflowPausedError(this.taskId)
        : new WorkflowCancelledError(this.taskId);
    this.end(() => this.settle.reject(error));
  }

  /**
   * Stops the actor without writing anything (the runtime closes); waits for saves in flight,
   * the last checkpoint of a run that is ending (a stop's, a failure's) among them.
   */
  async halt(): Promise<void> {
    const ending = this.ended;
    if (!ending) {
      this.ended = true;
      this.actor.stop();
    }
    await this.#stop?.done.catch(() => undefined);
    await this.queue;
    await this.writer.settled();
    if (ending) return; // its stop, failure or abort settles it
    this.end(() =>
      this.settle.reject(new TaskNotRunningError(this.taskId, 'the runtime was closed')),
    );
  }

  /** Ends the run as failed when its actor errors (a throw outside any step's handling). */
  protected failOnActorError(error: unknown): void {
    if (this.ended) return;
    this.#fail(error);
  }

  /** The step a failure now is blamed on, and the actor's snapshot. */
  protected abstract failurePoint(): { readonly stepId: string; readonly snapshot: TSnapshot };

  /**
   * Ends the run as failed at its current step with `error`: a final `error` checkpoint with no
   * persisted snapshot (an errored one carries the thrown value; an unsaveable one cannot be
   * written), and `result` rejected with a `WorkflowFailedError` whose `cause` is `error`.
   */
  #fail(error: unknown): void {
    const { stepId, snapshot } = this.failurePoint();
    const failure: WorkflowFailureInfo = describeFailure(stepId, error, 1);
    this.failure = failure;
    this.ended = true;
    void this.enqueue(async () => {
      const metadata = failureMetadata(failure, this.#base.now());
      const lostTo = await this.save(snapshot, undefined, 'error', metadata).then(
        () => undefined,
        (reason: unknown) => this.#stopLostTo(reason),
      );
      // A pause or cancel written by another runtime first: the run stopped that way (as a
      // finishing run's lost final write does, in `abort`).
      if (lostTo !== undefined) return this.#stopped(lostTo);
      this.setStatus('error');
      const failed = new WorkflowFailedError(this.taskId, failure, { cause: error });
      this.end(() => this.settle.reject(failed));
    });
  }

  /** The stop in the store a failed save lost to (a conditional write), if it lost to one. */
  async #stopLostTo(reason: unknown): Promise<StopStatus | undefined> {
    if (!isOrchestrationError(reason, 'CHECKPOINT_CONFLICT')) return undefined;
    // The task's checkpoints are another history's: whatever stop they hold is not for this run.
    if (isReplacedConflict(reason)) return undefined;
    return this.#storedStop().catch(() => undefined);
  }

  protected setStatus(status: WorkflowStatus): void {
    const previous = this.runStatus;
    if (previous === status) return;
    this.runStatus = status;
    this.#base.emit({ type: 'status.changed', taskId: this.taskId, status, previous });
  }

  /**
   * Does what the actor's current snapshot needs: save it, open the gate it waits at, finish.
   * Called through the queue only ({@link queueDrain}).
   */
  protected abstract drain(): Promise<void>;

  /**
   * Queues a {@link drain} after everything queued, unless one is queued that has not begun (it
   * will see the snapshot that asked for this one).
   */
  protected queueDrain(): void {
    if (this.#drainQueued) return;
    this.#drainQueued = true;
    void this.enqueue(() => {
      this.#drainQueued = false;
      return this.drain();
    });
  }

  /** Runs `task` after everything queued before it; a failure aborts the run. */
  protected enqueue(task: () => Promise<void>): Promise<void> {
    const run = this.queue.then(task);
    this.queue = run.catch((error) => this.abort(error));
    return run;
  }

  /**
   * Ends the run when another runtime paused, cancelled or deleted its task meanwhile (a run
   * here never writes those while it runs, so the store's latest checkpoint saying so was
   * written elsewhere, and a task of a live run has a checkpoint or at least a head), as its
   * next save would have; resolves how, or `undefined` when the task is still this run's.
   * Nothing is written: the other writer's checkpoint (or deletion) stands. A stopped run's
   * `result` rejects as a local stop's does (`WorkflowPausedError`, `WorkflowCancelledError`), a
   * deleted task's with `UnknownTaskError` (and `run.aborted`). A run at rest ({@link resting})
   * writes nothing until its event comes or its deadline passes: this is how `send`, `status`,
   * `purgeFinished` and the lease renewals learn that the task it would wake was stopped.
   */
  async stoppedElsewhere(): Promise<EndedElsewhere | undefined> {
    const stop = await this.#storedEnd();
    if (stop !== undefined && !this.ended) {
      this.ended = true;
      this.actor.stop();
      if (stop === 'deleted') this.#aborted(new UnknownTaskError(this.taskId));
      else this.#stopped(stop);
    }
    return stop;
  }

  /**
   * Whether the actor's current snapshot waits only for events and durable timers (a sleep, a
   * retry's backoff): no step, routing decision or other actor in flight, no commit gate to
   * pass. Such a run writes nothing until an event comes or a deadline passes, maybe hours away.
   */
  protected abstract quiet(): boolean;

  /**
   * Whether the run is live and at rest: suspended at a wait, or waiting only for events and
   * durable timers (see {@link quiet}). It writes nothing until an event or a deadline, so only
   * the store says whether another runtime stopped or deleted its task meanwhile.
   */
  get resting(): boolean {
    return !this.ended && this.quiet();
  }

  /**
   * For the lease renewal of a run at rest ({@link resting}: suspended, or in a durable sleep or
   * a retry's backoff with nothing else in flight): whether its task is still this run's, before
   * the lease is renewed. One head read: a head this run wrote (or found quiet before) means
   * nobody else wrote; only another head (a stop written elsewhere, 0 after a deletion) costs a
   * read of the latest checkpoint ({@link stoppedElsewhere}, which ends the run when it was
   * stopped or deleted). `true` for a run with a step in flight without reading anything (its
   * next write finds out); a failed read is `true` too (the renewal goes on; the next tick reads
   * again).
   */
  async stillHeld(): Promise<boolean> {
    if (!this.resting) return !this.ended;
    try {
      const head = await this.#base.manager.store.head(this.taskId);
      if (head === this.writer.seq || head === this.#quietHead) return !this.ended;
      if ((await this.stoppedElsewhere()) === undefined) this.#quietHead = head;
    } catch {
      // Unreadable now: renewed as before, and read again at the next tick.
    }
    return !this.ended;
  }

  /**
   * How the task was ended elsewhere, from the store: the stop (`paused` or `cancelled`) its
   * latest checkpoint has, `deleted` when it has no checkpoint and its head is 0, if either.
   */
  async #storedEnd(): Promise<EndedElsewhere | undefined> {
    const { manager } = this.#base;
    const latest = await manager.loadLatestCheckpoint(this.taskId, { snapshot: false });
    if (latest === undefined) {
      // No checkpoint but a head: rolled back (checkpoints deleted), still this run's to write.
      return (await manager.store.head(this.taskId)) === 0 ? 'deleted' : undefined;
    }
    const status = latest.status;
    return status === 'paused' || status === 'cancelled' ? status : undefined;
  }

  /** The stop (`paused` or `cancelled`) the task's latest checkpoint in the store has, if any. */
  async #storedStop(): Promise<StopStatus | undefined> {
    const end = await this.#storedEnd();
    return end === 'deleted' ? undefined : end;
  }

  /**
   * Ends the run from outside, as a failed save would (e.g. its lease was taken). A run whose
   * machine is done is left to write its final checkpoint: that write is conditional, so the
   * task is over whether it lands or loses to another runtime's.
   */
  abandon(error: Error): void {
    if (!this.ended && this.actor.getSnapshot().status === 'done') return;
    this.abort(error);
  }

  /** Ends the run on a failed save (a lost checkpoint race, a storage failure). */
  protected abort(error: unknown): void {
    if (this.ended && FINAL_STATUSES.has(this.runStatus ?? 'running')) return;
    const wasEnded = this.ended;
    this.ended = true;
    this.actor.stop();
    if (wasEnded) return; // cancel/halt report their own outcome
    const reason = asError(error);
    if (isOrchestrationError(reason) && UNSAVEABLE.has(reason.code)) {
      // Rerunning the step would meet the same error: the task fails here, so that no resume
      // or recover takes it up again.
      this.#fail(reason);
      return;
    }
    if (!isOrchestrationError(reason, 'CHECKPOINT_CONFLICT')) {
      this.#aborted(reason);
      return;
    }
    // A lost conditional write: when the winner paused or cancelled the task (`pause` or
    // `cancel` in a process that does not run it), this run stopped that way, not by accident;
    // when the task was deleted meanwhile, it is gone (`UnknownTaskError`). So it is when the
    // checkpoint at the run's head is another one (`expectedId`): the task was deleted and
    // started again (by another runtime), and the task of that id now is another task, whose
    // checkpoints (a pause, say) say nothing of this run.
    if (isReplacedConflict(reason)) {
      this.#aborted(new UnknownTaskError(this.taskId, { cause: reason, replaced: true }));
      return;
    }
    this.#storedEnd().then(
      (end) => {
        if (end === undefined) this.#aborted(reason);
        else if (end === 'deleted') this.#aborted(new UnknownTaskError(this.taskId));
        else this.#stopped(end);
      },
      () => this.#aborted(reason),
    );
  }

  #aborted(reason: Error): void {
    this.#base.emit({ type: 'run.aborted', taskId: this.taskId, error: reason });
    this.end(() => this.settle.reject(reason));
  }

  protected end(settle: () => void): void {
    settle();
    this.onEnded();
  }
}
