import type { InspectionEvent, Observer } from 'xstate';
import type { Workflow } from '../../machines/define-workflow.js';
import type { RouterMachineOptions } from '../../machines/router/router-machine.js';
import type { RouterTarget } from '../../machines/router/target-types.js';
import type { RouteDecider } from '../../machines/router/with-routing.js';
import type {
  CheckpointStore,
  ListTasksOptions,
  TaskLease,
} from '../checkpoint/checkpoint-store.js';
import type { WorkflowState, WorkflowStatus } from '../checkpoint/workflow-state.js';
import type { AnyContext, Context } from '../context/context.js';
import type { WorkflowFailureInfo } from '../errors.js';
import type { ContextFlowManager } from '../flow/context-flow-manager.js';
import type { RunRecorderOptions } from '../inspection/run-recorder.js';
import type { JsonData, JsonValue } from '../json.js';
import type { MachineWorkflow } from './machine-workflow.js';

/**
 * Upgrades a checkpoint written by another version of a workflow (`from`) so that the
 * registered version (`to`) can restore it; returns the state to restore (its `snapshot` must
 * fit the new machine). A hook that throws, or returns a state without a snapshot, fails the
 * resume with `WorkflowMismatchError` (its error as `cause`); nothing is written.
 */
export type WorkflowMigrate = (
  state: WorkflowState,
  versions: { readonly from: string | undefined; readonly to: string; readonly workflowId: string },
) => WorkflowState | Promise<WorkflowState>;

/** A `defineWorkflow` workflow as the runtime runs it, optionally with its own `migrate`. */
export interface DefinedRuntimeWorkflow extends Workflow {
  /** Upgrades checkpoints of other versions of this workflow. Default: the runtime's. */
  readonly migrate?: WorkflowMigrate;
}

/**
 * A workflow the runtime can run: a defined workflow (`defineWorkflow`), or a hand-written
 * XState machine (`defineMachineWorkflow`).
 */
export type RuntimeWorkflow = DefinedRuntimeWorkflow | MachineWorkflow;

/**
 * Which commit gates write a checkpoint: `'every-step'` all of them; `{ every: N }` every Nth
 * commit; `'on-suspend'` none. Start, suspending, completing, failing and cancelling always write,
 * and so does a durable sleep or a retry's backoff when it sets its deadline (restored without it,
 * the wait, or the failed attempt, would start over). For a hand-written machine (`defineMachineWorkflow`, no gates) it counts snapshot changes.
 */
export type CheckpointPolicy = 'every-step' | 'on-suspend' | { readonly every: number };

/** Options of {@link createRuntime}. */
export interface RuntimeOptions {
  /** Where checkpoints and lineage go. Default: the default store (`getCheckpointManager()`). */
  readonly store?: CheckpointStore;
  /** Workflows known by id, so their tasks can be resumed. Default: none. */
  readonly workflows?: readonly RuntimeWorkflow[];
  /** Which commit gates save a checkpoint. Default: `'every-step'`. */
  readonly checkpointPolicy?: CheckpointPolicy;
  /** Upgrades checkpoints of other workflow versions (a workflow's own hook wins). Default: none. */
  readonly migrate?: WorkflowMigrate;
  /** An XState inspector for every workflow actor (e.g. `@statelyai/inspect`). Default: none. */
  readonly inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
  /**
   * Records each run's inspection events in its task's `inspection` log beside its checkpoints
   * (`createRunRecorder`: bounded per run, replayable with `readRecording`/`replayRecording`);
   * `true` or the recorder's options. `close()` waits for the writes. Default: off.
   */
  readonly record?: boolean | RunRecorderOptions;
  /**
   * Plans with at most this many steps are written (with `isComplete`) in every checkpoint;
   * longer ones only in the first and the final checkpoint, so a checkpoint's size does not grow
   * with the workflow (the others carry `plan: []` and `metadata.planOmitted`). Default: 20 (a
   * plan entry is about 150 bytes: 20 of them already outweigh the rest of a small checkpoint).
   */
  readonly planInCheckpoints?: number;
  /**
   * How many checkpoints each task keeps: older ones are deleted as the run goes (one batch
   * every `keepCheckpoints` saves, and one after the final checkpoint, which `result` waits
   * for), so a long run does not pile up one checkpoint per step. Resuming needs only the
   * latest, which also carries the lineage not yet in the log. Pruning is best effort: a failed
   * one is tried again later, never failing the run. Default: every checkpoint is kept.
   */
  readonly keepCheckpoints?: number;
  /**
   * Decides where the context of a routed step (`{ stepId, route: true }`) goes: a
   * `ContextRouter`. Default: none (a routed step fails with `NoRouterError`).
   */
  readonly router?: RouteDecider;
  /**
   * The agents, tools and worker pools routed steps run on. The runtime runs them under one
   * router actor (`startRouter`), started at the first routed step and stopped by `close()`.
   * Default: none.
   */
  readonly targets?: readonly RouterTarget[];
  /**
   * That router actor: its idle timeout and child bound (default 60 s, 32 children), its `id`
   * (default `'router'`) and `persist` (default `true`): the router's snapshot (agents' states,
   * e.g. a conversation memory) is restored from the runtime's store when the router starts and
   * saved there after each agent call (coalesced, conditional writes), as checkpoints of the
   * reserved task id `'router.<id>'`, so a runtime on the same store continues the agents'
   * state. Give runtimes that share a store at the same time different ids.
   */
  readonly routerActor?: Pick<RouterMachineOptions, 'idleTimeoutMs' | 'maxChildren' | 'id'> & {
    /** Whether the router actor is saved to and restored from the store. Default: `true`. */
    readonly persist?: boolean;
  };
  /** Clock for lineage timestamps and `errorTime`, ms since the epoch. Default: `Date.now`. */
  readonly now?: () => number;
  /**
   * Task leases, for runtimes (workers) that share a store: each task this runtime runs is
   * leased to it (claimed before its run starts, renewed every `ttlMs / 3`, released when the
   * run ends), and a task another runtime holds a live lease on is refused
   * (`TaskLeasedError`) by `start` and `resume` and skipped by `recover`. A run that loses its
   * lease stops with `LeaseLostError`: when the store refuses a renewal (another runtime took
   * the lease), or when the lease lapses before a renewal lands (a stalled process, an
   * unreachable store), since another runtime may take the task from then on. After a crash, a
   * worker that comes back with the same `owner` takes its tasks back at once; others wait for
   * the lease to lapse. Default: no leases (one runtime per store, or tasks split by the caller).
   */
  readonly lease?: LeaseOptions;
}

/** Options of {@link RuntimeOptions.lease}. */
export interface LeaseOptions {
  /**
   * Who this runtime is: a valid id, stable across restarts of one worker (its host or pod
   * name) so that it takes its own tasks back at once. Default: `runtime-<ULID>`, new each time.
   */
  readonly owner?: string;
  /**
   * How long a lease lasts without renewal, ms: how long a crashed worker's tasks wait for
   * another worker. Keep it well above the clock skew between workers and the longest event
   * loop stall. Default: 30,000.
   */
  readonly ttlMs?: number;
}

/** Options of {@link Runtime.start}. */
export interface StartOptions {
  /** The id of the run; a valid storage id. Required. */
  readonly taskId: string;
  /** When the task already has checkpoints or runs here: `'fail'` or `'resume'`. Default: `'fail'`. */
  readonly ifExists?: 'fail' | 'resume';
}

/** Where a task is, from its live run or its latest checkpoint. */
export interface RunStatus {
  readonly taskId: string;
  readonly workflowId: string | undefined;
  readonly workflowVersion: string | undefined;
  readonly status: WorkflowStatus;
  /** Whether it runs in this runtime now. */
  readonly live: boolean;
  /** Plan index of the step being (or last) carried out. */
  readonly currentStepIndex: number;
  readonly currentStepId: string | undefined;
  /** The latest checkpoint (written by this runtime or loaded), if any. */
  readonly checkpointId: string | undefined;
  readonly seq: number | undefined;
  /**
   * Event types the workflow waits for now (and `send` takes). A run is `suspended` only while it
   * waits and nothing else goes on; a wait beside a region that still runs a step, or a durable
   * sleep or backoff, is listed here while the run is `running`.
   */
  readonly waitingFor: readonly string[];
  /** Why it failed, when `status` is `'error'`. */
  readonly error?: WorkflowFailureInfo;
  /**
   * Who holds the task's live lease (`RuntimeOptions.lease`), for an unfinished task: the worker
   * that runs it, or did until it lapses. For a task that runs here, this runtime's lease with
   * the expiry the store gave its latest claim or renewal (no store read); for one that does
   * not, the lease read from the store. Absent when none does.
   */
  readonly lease?: TaskLease;
}

/** A page of {@link Runtime.listTasks}. */
export interface TaskListing {
  /** The tasks of the page that have a checkpoint, with their status. */
  readonly tasks: readonly RunStatus[];
  /** Tasks of the page whose latest checkpoint could not be read, and why. */
  readonly unreadable: readonly { readonly taskId: string; readonly error: Error }[];
  /** The `after` of the next page; `undefined` when this page is the last. */
  readonly next: string | undefined;
}

/** What {@link Runtime.recover} did. */
export interface RecoveryReport {
  /** The runs it resumed (their `result` settles when each ends). */
  readonly resumed: readonly WorkflowRun[];
  /** Tasks it could not resume, and why. */
  readonly failed: readonly { readonly taskId: string; readonly error: Error }[];
  /** Tasks it left alone because another runtime holds a live lease on them (with `lease`). */
  readonly leased: readonly { readonly taskId: string; readonly owner: string }[];
}

/** What {@link Runtime.purgeFinished} did. */
export interface PurgeReport {
  /** The tasks it deleted. */
  readonly deleted: readonly string[];
  /** Tasks it could not read (finished or not) or delete, and why (they are kept). */
  readonly failed: readonly { readonly taskId: string; readonly error: Error }[];
}

/**
 * A progress event of a runtime, for progress displays and logs. A step's `step.started` comes
 * before its `step.completed` in each runtime: a resumed run announces the steps it takes up
 * again (a step in flight at the checkpoint runs again, a wait or sleep goes on) as started.
 */
export type RuntimeEvent =
  | {
      readonly type: 'step.started';
      readonly taskId: string;
      readonly stepId: string;
      readonly stepIndex: number;
    }
  | {
      readonly type: 'step.completed';
      readonly taskId: string;
      readonly stepId: string;
      readonly stepIndex: number;
    }
  | {
      readonly type: 'checkpoint.saved';
      readonly taskId: string;
      readonly checkpointId: string;
      readonly seq: number;
      readonly status: WorkflowStatus;
    }
  | {
      readonly type: 'status.changed';
      readonly taskId: string;
      readonly status: WorkflowStatus;
      readonly previous: WorkflowStatus | undefined;
    }
  | {
      /**
       * The run stopped without finishing: a lost checkpoint race or a failed save (one that
       * would fail again, such as an oversized record, fails the task instead).
       */
      readonly type: 'run.aborted';
      readonly taskId: string;
      readonly error: Error;
    }
  | {
      /** Older checkpoints were deleted (`keepCheckpoints`). */
      readonly type: 'checkpoints.pruned';
      readonly taskId: string;
      /** How many were deleted. */
      readonly deleted: number;
    }
  | {
      /** Deleting older checkpoints failed; the run goes on, and the next prune tries again. */
      readonly type: 'checkpoints.pruneFailed';
      readonly taskId: string;
      readonly error: Error;
    };

/** A run of a workflow in a runtime. */
export interface WorkflowRun {
  readonly taskId: string;
  readonly workflowId: string;
  readonly workflowVersion: string;
  /**
   * The final main-lane context. Rejects with `WorkflowFailedError` when the workflow failed,
   * `WorkflowCancelledError` when cancelled, `WorkflowPausedError` when paused,
   * `TaskNotRunningError` when the runtime was closed,
   * and the save's error (e.g. `CheckpointConflictError`) when the run was aborted. A lost write
   * to a `paused` or `cancelled` checkpoint (written by `pause` or `cancel` in another process)
   * rejects with `WorkflowPausedError` or `WorkflowCancelledError` instead.
   */
  readonly result: Promise<Context>;
  /** The task's context lineage, updated as contexts appear. */
  readonly lineage: ContextFlowManager;
  /** Where the run is now. */
  status(): RunStatus;
}

/**
 * An external event for a `waitFor` step: `{ type, data }`. `TData` is the type of the data as
 * the sender declares it (e.g. an interface); it is checked to be JSON.
 */
export interface RuntimeEventInput<TData = JsonValue> {
  readonly type: string;
  readonly data?: TData;
}

/** The runtime object {@link createRuntime} returns. */
export interface Runtime {
  /** Makes a workflow known by id (for `resume`); the last one registered for an id wins. */
  register(workflow: RuntimeWorkflow): void;
  /**
   * Starts a new run of `workflow` on `input` (a context: an object with a context's four fields
   * `contextId`, `contextType`, `data` and `metadata`; or JSON data, wrapped in an
   * `InputContext`). A task id with checkpoints, or running here, is resumed with
   * `ifExists: 'resume'` and refused with `TaskExistsError` otherwise: never a second copy. Data
   * and context data may be typed with interfaces; they are checked to be JSON.
   */
  start<TInput extends JsonData<TInput>>(
    workflow: RuntimeWorkflow,
    input: AnyContext | TInput,
    options: StartOptions,
  ): Promise<WorkflowRun>;
  /**
   * Continues a task from its latest checkpoint (`UnknownTaskError` without one); a finished
   * task gives a settled run. Its workflow must be registered (`UnknownWorkflowError`) with the
   * checkpoint's version, or a `migrate` hook must upgrade it (`WorkflowVersionError`); a
   * snapshot its machine cannot restore (a state renamed under the same version, an active
   * child whose `src` is no longer registered, none at all) is a `WorkflowMismatchError`, as is a
   * `migrate` hook that throws; a migrated state of another task a `ContextValidationError`.
   * While a pause or cancel of the task here is being written, it waits for that to land.
   */
  resume(taskId: string): Promise<WorkflowRun>;
  /**
   * Sends an event to a `waitFor` step of a running task (to a hand-written machine: any event
   * its snapshot `can` take, as `{ type, data }`). `EventNotAcceptedError` when it waits for no
   * such event or the data fails its schema (then its `issues` say why), `NonJsonValueError`
   * (naming the path) for data JSON cannot carry; nothing changes. `TaskNotRunningError` when the task runs nowhere here, or
   * when another runtime paused or cancelled it meanwhile (read from the store before the
   * event is delivered; the run here then ends as that stop says). `TypeError` for an event
   * that is not an object with a string `type`.
   */
  send<TData extends JsonData<TData>>(
    taskId: string,
    event: RuntimeEventInput<TData>,
  ): Promise<void>;
  /**
   * Stops a task and writes a final `cancelled` checkpoint; running here or not (see `pause` for
   * a task running in another process).
   */
  cancel(taskId: string): Promise<void>;
  /**
   * Pauses a task: a run live here stops at once (a step in flight is aborted through its
   * signal and runs again, with the same idempotency key, on resume; its `result` rejects with
   * `WorkflowPausedError`), and a `paused` checkpoint (metadata `pausedAt`) records where it
   * was. A task not live here gets that checkpoint on top of its latest one, conditional on its
   * seq, so a run of it live in another process loses its next write and stops as paused (its
   * `result` rejects with `WorkflowPausedError`; likewise for `cancel`). When that run writes
   * first, the pause reads the latest checkpoint again and retries (a `CheckpointConflictError`
   * after 20 losses in a row). `resume` continues it, here or elsewhere. Nothing happens to a finished or already paused task;
   * `UnknownTaskError` without checkpoints.
   */
  pause(taskId: string): Promise<void>;
  /**
   * The task's status, live or from its latest checkpoint and its lease; `undefined` when
   * unknown. A lease that cannot be read fails the call, as a checkpoint that cannot be read does.
   * For a task at rest here (suspended, or in a durable sleep or a retry's backoff with no step
   * in flight: it writes nothing until its event or deadline), the store is read too: paused or
   * cancelled by another runtime
   * meanwhile, its run here stops as that says, and the status is that stop; deleted meanwhile
   * (no checkpoint, head 0), its run here ends (`result` rejects with `UnknownTaskError`) and the
   * status is the store's (`undefined`).
   */
  status(taskId: string): Promise<RunStatus | undefined>;
  /**
   * The store's workflow tasks with their status (as {@link status} gives it), in task id order,
   * a page at a time: `after` is the previous page's `next`, `limit` (default 100, at most
   * 10,000) bounds the ids read from the store. Tasks of persisted router actors (`router.…`)
   * and tasks with a lineage but no checkpoint are left out; a task whose latest checkpoint or
   * lease cannot be read (corrupt, too large, a failed read) is listed in `unreadable` and the
   * others still are.
   */
  listTasks(options?: ListTasksOptions): Promise<TaskListing>;
  /**
   * Resumes every task of the store whose latest checkpoint says `running` or `suspended` and
   * that does not run here: what a worker does when it starts again after a crash or a
   * `close`. Paused, finished and router tasks are left alone. A task that cannot be resumed
   * (its workflow not registered, a version without `migrate`, an unreadable checkpoint) is
   * reported in `failed`, and the others are still resumed. With `lease`, a task another
   * runtime holds a live lease on is left to it (reported in `leased`). Without, run it where
   * no other process runs these tasks: a task running in another process is never forked (the
   * conditional writes let one run win, the other aborts with `CheckpointConflictError`), but
   * its current step may run twice meanwhile.
   */
  recover(): Promise<RecoveryReport>;
  /**
   * Deletes every finished task (`completed`, `error`, `cancelled`) whose final checkpoint is at
   * least `olderThanMs` old (by its `createdAt`, stamped with `Date.now`): its checkpoints, its
   * lineage, everything (`deleteTask`). Retention
   * for whole tasks, which a TTL on checkpoints cannot give (an older checkpoint outliving the
   * final one would bring the task back as running). Running, suspended and paused tasks are
   * never touched. A task that cannot be read or deleted is reported in `failed` and kept. The
   * tasks at rest here (suspended, or in a durable sleep or backoff with no step in flight) are
   * checked against the store first: one cancelled by another runtime
   * ends here (as `status` would find) and is purged like the others.
   */
  purgeFinished(options: { readonly olderThanMs: number }): Promise<PurgeReport>;
  /** The task's lineage, live or from the store; `UnknownTaskError` when it has none. */
  lineage(taskId: string): Promise<ContextFlowManager>;
  /**
   * Calls `listener` with every progress event; returns the unsubscribe. A listener that throws
   * (or returns a promise that rejects) stops neither the workflow nor the other listeners; its
   * error is thrown again in a macrotask of its own, as XState does for an observer without an
   * error handler, where `window.onerror` or Node's `uncaughtException` sees it.
   */
  subscribe(listener: (event: RuntimeEvent) => void): () => void;
  /**
   * Stops every run without writing anything (like a process exit), those started while it
   * closes too; their tasks stay resumable (the runtime can run them again). Waits for saves in flight, and for the pauses and cancels asked for before it
   * resolves: once it has, they are in the store (a process may exit).
   */
  close(): Promise<void>;
}
