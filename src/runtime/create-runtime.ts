import { toObserver } from 'xstate';
import { type CheckpointManager, saveLoadedAgain } from '../checkpoint/checkpoint-manager.js';
import type { ListTasksOptions, TaskLease } from '../checkpoint/checkpoint-store.js';
import { getCheckpointManager } from '../checkpoint/get-checkpoint-manager.js';
import { parseWorkflowState, type WorkflowState } from '../checkpoint/workflow-state.js';
import type { AnyContext } from '../context/context.js';
import {
  ContextValidationError,
  isOrchestrationError,
  TaskExistsError,
  TaskNotRunningError,
  UnknownTaskError,
  UnknownWorkflowError,
  WorkflowMismatchError,
  WorkflowVersionError,
} from '../errors.js';
import { ContextFlowManager } from '../flow/context-flow-manager.js';
import { assertValidId } from '../ids.js';
import { createRunRecorder, type RunRecorder } from '../inspection/run-recorder.js';
import { assertJson, type JsonData } from '../json.js';
import { FINAL_STATUSES, type StopStatus, stopMetadata } from './checkpoint-state.js';
import { loadLatestForWrite } from './checkpoint-writer.js';
import { MachineRun } from './machine-run.js';
import { assertHasSnapshot } from './machine-snapshot.js';
import { isMachineWorkflow } from './machine-workflow.js';
import { assertRouteTargets } from './route-targets.js';
import {
  assertWorkflowTaskId,
  inputContext,
  type RuntimeSettings,
  runtimeSettings,
} from './runtime-input.js';
import { RuntimeListeners } from './runtime-listeners.js';
import { RuntimeRouting } from './runtime-routing.js';
import { listTaskStatuses, purgeFinishedTasks, recoverTasks } from './runtime-tasks.js';
import type {
  PurgeReport,
  RecoveryReport,
  RunStatus,
  Runtime,
  RuntimeEvent,
  RuntimeEventInput,
  RuntimeOptions,
  RuntimeWorkflow,
  StartOptions,
  TaskListing,
  WorkflowRun,
} from './runtime-types.js';
import { settledRun, statusFromState } from './settled-run.js';
import { TaskLeases } from './task-leases.js';
import { loadTaskLineage } from './task-lineage.js';
import { TaskRun } from './task-run.js';
import { indexSteps, type StepIndex } from './workflow-progress.js';

/** The step index of a workflow (a hand-written machine has only its plan). */
function indexOf(workflow: RuntimeWorkflow): StepIndex {
  return indexSteps(isMachineWorkflow(workflow) ? [] : workflow.steps, workflow.plan);
}

/**
 * The `TaskExistsError` of starting a task the store has: one with checkpoints (resume it), or
 * one whose checkpoints were all deleted (it keeps its sequence and lineage) or expired (it keeps
 * its lineage): delete it.
 */
async function taskExists(manager: CheckpointManager, taskId: string): Promise<TaskExistsError> {
  const hasCheckpoints = (await manager.listCheckpointInfo(taskId)).length > 0;
  return new TaskExistsError(taskId, false, hasCheckpoints);
}

/**
 * Whether the task has a lineage. A task whose head is 0 has none unless its checkpoints
 * expired (a TTL given to `saveCheckpoint`): the head lapses with them, but logs have no TTL, and
 * a new run's lineage, numbered from 0 again, would collide with the old one's.
 */
async function hasLineage(manager: CheckpointManager, taskId: string): Promise<boolean> {
  return (await manager.store.readLog(taskId, manager.lineageLog, { limit: 1 })).length > 0;
}

/**
 * For `start` with `ifExists: 'resume'` on a task the store has: a resume that finds no
 * checkpoint (they were all deleted) fails as the start it was, with {@link taskExists}'s error.
 */
function recordsOnly(manager: CheckpointManager, taskId: string) {
  return async (error: unknown): Promise<never> => {
    if (!isOrchestrationError(error, 'TASK_NOT_FOUND')) throw error;
    throw await taskExists(manager, taskId);
  };
}

/** `status` with the task's `lease`, when it has one and the task is unfinished. */
function withLease(status: RunStatus, lease: TaskLease | undefined): RunStatus {
  return lease === undefined || FINAL_STATUSES.has(status.status) ? status : { ...status, lease };
}

/**
 * Throws `TypeError` unless `event` is an object with a string `type` and no key but `type` and
 * `data` (a wrong argument).
 */
function assertEventInput(event: RuntimeEventInput<unknown>): void {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) {
    throw new TypeError(
      `event must be an object { type, data? }, not ${event === null ? 'null' : Array.isArray(event) ? 'an array' : typeof event}`,
    );
  }
  if (typeof event.type !== 'string') {
    throw new TypeError(`event.type must be a string, not ${typeof event.type}`);
  }
  // Only `type` and `data` reach the workflow: a payload beside them would be dropped unseen.
  const extra = Object.keys(event).filter((key) => key !== 'type' && key !== 'data');
  if (extra.length > 0) {
    const named = extra.slice(0, 5).map((key) => JSON.stringify(key));
    throw new TypeError(
      `event must be { type, data? }: put its payload in data, not beside type (${named.join(', ')}${extra.length > 5 ? ', …' : ''})`,
    );
  }
}

/**
 * Times a pause or cancel of a task live in another runtime reads its latest checkpoint and
 * tries its conditional write, each time losing to that run's next checkpoint, before it gives
 * up with `CheckpointConflictError`.
 */
const RESTAMP_ATTEMPTS = 20;

/** Runs at rest `purgeFinished` checks against the store at once. */
const RESTING_CHECKS = 8;

/** The runtime behind {@link createRuntime}. */
class WorkflowRuntime implements Runtime {
  readonly #options: RuntimeOptions;
  readonly #settings: RuntimeSettings;
  readonly #workflows = new Map<string, { workflow: RuntimeWorkflow; index: StepIndex }>();
  readonly #runs = new Map<string, TaskRun | MachineRun>();
  readonly #claims = new Map<string, Promise<WorkflowRun>>();
  readonly #listeners = new RuntimeListeners();
  /** The pauses and cancels in flight. */
  readonly #stopping = new Set<Promise<void>>();
  #manager: Promise<CheckpointManager> | undefined;
  readonly #routing: RuntimeRouting;
  #recorder: RunRecorder | undefined;
  /** The leases of this runtime's tasks (`lease` option). */
  readonly #leases: TaskLeases | undefined;

  constructor(options: RuntimeOptions) {
    this.#options = options;
    this.#settings = runtimeSettings(options);
    this.#routing = new RuntimeRouting(options);
    this.#leases = options.lease === undefined ? undefined : new TaskLeases(options.lease);
    for (const workflow of options.workflows ?? []) this.register(workflow);
  }

  register(workflow: RuntimeWorkflow): void {
    if (typeof workflow?.id !== 'string' || workflow.machine === undefined) {
      throw new TypeError(
        'register takes a workflow made by defineWorkflow or defineMachineWorkflow',
      );
    }
    const known = this.#workflows.get(workflow.id);
    if (known?.workflow === workflow) return;
    this.#workflows.set(workflow.id, { workflow, index: indexOf(workflow) });
  }

  start<TInput extends JsonData<TInput>>(
    workflow: RuntimeWorkflow,
    input: AnyContext | TInput,
    options: StartOptions,
  ): Promise<WorkflowRun> {
    const taskId = options?.taskId;
    const ifExists = options?.ifExists ?? 'fail';
    try {
      assertWorkflowTaskId(taskId);
      if (ifExists !== 'fail' && ifExists !== 'resume') {
        throw new TypeError("ifExists must be 'fail' or 'resume'");
      }
      this.register(workflow);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#claim(taskId, ifExists, () => this.#startNew(workflow, input, taskId, ifExists));
  }

  resume(taskId: string): Promise<WorkflowRun> {
    try {
      assertValidId('taskId', taskId);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#claim(taskId, 'resume', () => this.#resume(taskId));
  }

  async send<TData extends JsonData<TData>>(
    taskId: string,
    event: RuntimeEventInput<TData>,
  ): Promise<void> {
    assertEventInput(event);
    const run = await this.#liveRun(taskId);
    if (run === undefined) {
      if (await this.#hasCheckpoints(taskId)) {
        throw new TaskNotRunningError(taskId, 'resume it before sending events');
      }
      throw new UnknownTaskError(taskId);
    }
    // Data JSON cannot carry is named as such, rather than as an event the task does not take.
    if (event.data !== undefined) assertJson({ data: event.data });
    const stopped = await run.stoppedElsewhere();
    if (stopped === 'deleted') throw new UnknownTaskError(taskId);
    if (stopped !== undefined) {
      throw new TaskNotRunningError(taskId, `it was ${stopped} by another runtime`);
    }
    // Its data was checked to be JSON above, whatever type the sender declared.
    run.send(event as RuntimeEventInput);
  }

  cancel(taskId: string): Promise<void> {
    return this.#stopTask(taskId, 'cancelled');
  }

  pause(taskId: string): Promise<void> {
    return this.#stopTask(taskId, 'paused');
  }

  /** Pauses or cancels a task, tracked until it has landed ({@link close} waits for it). */
  #stopTask(taskId: string, status: StopStatus): Promise<void> {
    try {
      assertWorkflowTaskId(taskId);
    } catch (error) {
      return Promise.reject(error);
    }
    const stopping = this.#stopNow(taskId, status);
    this.#stopping.add(stopping);
    const done = () => this.#stopping.delete(stopping);
    stopping.then(done, done);
    return stopping;
  }

  async #stopNow(taskId: string, status: StopStatus): Promise<void> {
    // A run ending here (its stop's or failure's checkpoint in flight) answers too: a write to
    // the store now would race that checkpoint.
    const run = await this.#runHere(taskId);
    // A run being paused is cancelled in the store once its pause has landed (and vice versa);
    // one that ended here without a final checkpoint (`close`) is stopped there too.
    if (run !== undefined && (await (status === 'paused' ? run.pause() : run.cancel()))) return;
    await this.#restamp(taskId, status);
  }

  /**
   * For a task not live here: writes its latest checkpoint again with `status` and when (in its
   * metadata), conditional on that checkpoint's seq, or the task's head after a rollback (a run
   * of the task live elsewhere then loses its next write and stops). Nothing for a finished
   * task, nor for one that already has `status`.
   */
  async #restamp(taskId: string, status: StopStatus): Promise<void> {
    // A run of the task live elsewhere may write between the read and the write: read again.
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#restampOnce(taskId, status);
      } catch (error) {
        if (attempt >= RESTAMP_ATTEMPTS || !isOrchestrationError(error, 'CHECKPOINT_CONFLICT')) {
          throw error;
        }
      }
    }
  }

  async #restampOnce(taskId: string, status: StopStatus): Promise<void> {
    const manager = await this.#getManager();
    // Expecting the head, not the loaded seq: a rollback left the head past the latest.
    const { state, head: expectedSeq } = await loadLatestForWrite(manager, taskId);
    if (state === undefined) throw new UnknownTaskError(taskId);
    if (FINAL_STATUSES.has(state.status) || state.status === status) return;
    const { checkpoint: _checkpoint, ...rest } = state;
    // Stopped, the task waits for no event any more (resumed, it computes its wait again).
    const { waitingFor: _waiting, ...metadata } = rest.metadata;
    const checkpointId = await saveLoadedAgain(
      manager,
      state,
      {
        ...rest,
        status,
        metadata: { ...metadata, ...stopMetadata(status, this.#settings.now()) },
      },
      // The checkpoint read, expected at the head too: a task deleted and started again since
      // the read (numbered from 1 again) is not stopped by mistake.
      { expectedSeq, expectedId: state.checkpoint?.checkpointId },
    );
    const seq = expectedSeq + 1;
    this.#emit({ type: 'checkpoint.saved', taskId, checkpointId, seq, status });
    this.#emit({ type: 'status.changed', taskId, status, previous: state.status });
  }

  async status(taskId: string): Promise<RunStatus | undefined> {
    assertValidId('taskId', taskId);
    const run = this.#runs.get(taskId);
    // A run at rest (suspended, or in a durable sleep or backoff with nothing else in flight)
    // writes nothing until its event or deadline comes: whether another runtime paused,
    // cancelled or deleted the task meanwhile, only the store knows (a run with a step in flight
    // finds out at its next write). A deleted one ended here: the store says what it has now.
    if (run !== undefined && !(run.resting && (await run.stoppedElsewhere()) === 'deleted')) {
      // Its lease as the store last granted it to this runtime: no store read.
      return withLease(run.status(), this.#leases?.lease(taskId));
    }
    const manager = await this.#getManager();
    const [state, lease] = await Promise.all([
      manager.loadLatestCheckpoint(taskId, { snapshot: false }),
      manager.store.readLease(taskId),
    ]);
    if (state === undefined) return undefined;
    return withLease(statusFromState(state), lease);
  }

  async listTasks(options: ListTasksOptions = {}): Promise<TaskListing> {
    const manager = await this.#getManager();
    return listTaskStatuses(manager, options, (taskId) => this.status(taskId));
  }

  recover(): Promise<RecoveryReport> {
    return recoverTasks({
      listTasks: (options) => this.listTasks(options),
      isClaimed: (taskId) => this.#claims.has(taskId),
      resume: (taskId) => this.resume(taskId),
    });
  }

  purgeFinished(options: { readonly olderThanMs: number }): Promise<PurgeReport> {
    const isLive = (taskId: string) => this.#runs.has(taskId);
    // Runs at rest here first: one whose task another runtime cancelled (or deleted) meanwhile
    // ends, and its task is purged like any other.
    const getManager = () => this.#checkResting().then(() => this.#getManager());
    return purgeFinishedTasks(getManager, options?.olderThanMs, isLive);
  }

  /**
   * Checks every run at rest here (suspended, or in a durable sleep or backoff with nothing else
   * in flight) against the store, a few at a time ({@link TaskRun.stillHeld}): those whose task
   * was stopped or deleted elsewhere end. Best effort: a run whose task cannot be read stays.
   */
  async #checkResting(): Promise<void> {
    const resting = [...this.#runs.values()].filter((run) => run.resting);
    for (let at = 0; at < resting.length; at += RESTING_CHECKS) {
      const batch = resting.slice(at, at + RESTING_CHECKS);
      await Promise.all(batch.map((run) => run.stillHeld()));
    }
  }

  async lineage(taskId: string): Promise<ContextFlowManager> {
    assertValidId('taskId', taskId);
    const run = this.#runs.get(taskId);
    if (run !== undefined) return run.lineage;
    const manager = await this.#getManager();
    const state = await manager.loadLatestCheckpoint(taskId, { snapshot: false });
    const { flow } = await loadTaskLineage(manager, taskId, state, this.#settings.now);
    if (state === undefined && flow.size === 0) throw new UnknownTaskError(taskId);
    return flow;
  }

  subscribe(listener: (event: RuntimeEvent) => void): () => void {
    return this.#listeners.add(listener);
  }

  async close(): Promise<void> {
    // Runs started (or resumed by a recover) while it closes are stopped too.
    do {
      await Promise.allSettled([...this.#claims.values()]);
      await Promise.all([...this.#runs.values()].map((run) => run.halt()));
    } while (this.#claims.size > 0 || [...this.#runs.values()].some((run) => run.live));
    // A pause or cancel asked for before close() lands before close() resolves.
    await Promise.allSettled([...this.#stopping]);
    await this.#leases?.settled();
    await this.#routing.close();
    // Recording is best effort: failed writes went to the recorder's onError.
    await this.#recorder?.flush().catch(() => {});
  }

  #emit(event: RuntimeEvent): void {
    this.#listeners.emit(event);
  }

  #getManager(): Promise<CheckpointManager> {
    if (this.#manager === undefined) {
      const creating = getCheckpointManager(this.#options.store);
      this.#manager = creating;
      creating.catch(() => {
        if (this.#manager === creating) this.#manager = undefined;
      });
    }
    return this.#manager;
  }

  async #hasCheckpoints(taskId: string): Promise<boolean> {
    const manager = await this.#getManager();
    return (await manager.store.head(taskId)) > 0;
  }

  /** The run of a task here, live or ending, waiting for a start or resume in progress. */
  async #runHere(taskId: string): Promise<TaskRun | MachineRun | undefined> {
    const claim = this.#claims.get(taskId);
    if (claim !== undefined) await claim.catch(() => undefined);
    return this.#runs.get(taskId);
  }

  /** The live run of a task, waiting for a start or resume in progress. */
  async #liveRun(taskId: string): Promise<TaskRun | MachineRun | undefined> {
    const run = await this.#runHere(taskId);
    return run?.live ? run : undefined;
  }

  /** Never two runs of a task: a running or starting task is returned or refused. */
  #claim(
    taskId: string,
    ifExists: 'fail' | 'resume',
    create: () => Promise<WorkflowRun>,
  ): Promise<WorkflowRun> {
    const ending = this.#runs.get(taskId);
    if (ending !== undefined && !ending.live) {
      // A run being stopped (its pause or cancel being written): claim the task once it ended.
      const ended = () =>
        this.#runs.get(taskId) === ending ? ending : this.#claim(taskId, ifExists, create);
      return ending.result.then(ended, ended);
    }
    const existing = ending ?? this.#claims.get(taskId);
    if (existing !== undefined) {
      return ifExists === 'resume'
        ? Promise.resolve(existing)
        : Promise.reject(new TaskExistsError(taskId, true));
    }
    const claim = this.#leased(taskId, create).finally(() => this.#claims.delete(taskId));
    this.#claims.set(taskId, claim);
    return claim;
  }

  /**
   * With leases, runs `create` holding the task's lease: claimed first (`TaskLeasedError` when
   * another runtime holds it), then renewed while the run lives, or released at once when no
   * run goes on here (`create` failed, or the task had finished).
   */
  async #leased(taskId: string, create: () => Promise<WorkflowRun>): Promise<WorkflowRun> {
    const leases = this.#leases;
    if (leases === undefined) return create();
    const { store } = await this.#getManager();
    const claimedAt = await leases.claim(store, taskId);
    let run: WorkflowRun;
    try {
      run = await create();
    } catch (error) {
      leases.release(store, taskId);
      throw error;
    }
    const live = this.#runs.get(taskId);
    if (live === run && live.live) {
      // The task of a run at rest (suspended, or in a durable sleep or backoff with nothing else
      // in flight) is checked before each renewal: one stopped or deleted by another runtime
      // ends its run here, whose end releases the lease (never renewed again).
      leases.hold(
        store,
        taskId,
        claimedAt,
        (error) => live.abandon(error),
        () => live.stillHeld(),
      );
    } else {
      // No run here (a finished task), or one that ended already (its end released the lease).
      leases.release(store, taskId);
    }
    return run;
  }

  /** The inspector of a run: the `inspect` option, plus the recorder when `record` is on. */
  #inspectFor(manager: CheckpointManager, taskId: string): RuntimeOptions['inspect'] {
    const { inspect, record } = this.#options;
    if (record === undefined || record === false) return inspect;
    this.#recorder ??= createRunRecorder(manager.store, record === true ? {} : record);
    const recording = this.#recorder.forTask(taskId);
    if (inspect === undefined) return recording;
    const user = toObserver(inspect);
    return {
      next: (event) => {
        recording.next?.(event);
        user.next?.(event);
      },
    };
  }

  #common(manager: CheckpointManager, taskId: string) {
    const leases = this.#leases;
    return {
      manager,
      policy: this.#settings.policy,
      inspect: this.#inspectFor(manager, taskId),
      planInCheckpoints: this.#settings.planLimit,
      keepCheckpoints: this.#options.keepCheckpoints,
      now: this.#settings.now,
      emit: (event: RuntimeEvent) => this.#emit(event),
      assertLease: leases === undefined ? undefined : () => leases.assertHeld(taskId),
      onEnd: (run: TaskRun | MachineRun) => {
        if (this.#runs.get(run.taskId) === run) this.#runs.delete(run.taskId);
        this.#leases?.release(manager.store, run.taskId);
        void this.#recorder?.end(run.taskId);
      },
    };
  }

  async #startNew(
    workflow: RuntimeWorkflow,
    input: unknown,
    taskId: string,
    ifExists: 'fail' | 'resume',
  ): Promise<WorkflowRun> {
    const manager = await this.#getManager();
    if ((await manager.store.head(taskId)) > 0 || (await hasLineage(manager, taskId))) {
      if (ifExists === 'resume') return this.#resume(taskId).catch(recordsOnly(manager, taskId));
      throw await taskExists(manager, taskId);
    }
    const entry = this.#workflows.get(workflow.id);
    const index = entry?.workflow === workflow ? entry.index : indexOf(workflow);
    const lineage = new ContextFlowManager({ workflowId: taskId, now: this.#settings.now });
    const routed = await this.#routing.machineFor(workflow, manager);
    const common = this.#common(manager, taskId);
    const first = inputContext(input, taskId);
    const run = isMachineWorkflow(workflow)
      ? MachineRun.create({ ...common, workflow }, taskId, first, lineage)
      : TaskRun.create({ ...common, workflow, index, ...routed }, taskId, first, lineage);
    try {
      await run.begin();
    } catch (error) {
      // Another writer created the task between the check and the first save.
      void this.#recorder?.end(taskId); // the actor never started: close its recording
      if (!isOrchestrationError(error, 'CHECKPOINT_CONFLICT')) throw error;
      if (ifExists === 'resume') return this.#resume(taskId).catch(recordsOnly(manager, taskId));
      throw await taskExists(manager, taskId);
    }
    this.#runs.set(taskId, run);
    return run;
  }

  async #resume(taskId: string): Promise<WorkflowRun> {
    const manager = await this.#getManager();
    // The run's first write expects the head, which a rollback (newer checkpoints deleted) left
    // past the latest checkpoint.
    const { state: loaded, head } = await loadLatestForWrite(manager, taskId);
    if (loaded === undefined) throw new UnknownTaskError(taskId);
    const lineage = await loadTaskLineage(manager, taskId, loaded, this.#settings.now);
    if (FINAL_STATUSES.has(loaded.status)) return settledRun(loaded, lineage.flow);
    const workflowId = loaded.machine?.id;
    const entry = workflowId === undefined ? undefined : this.#workflows.get(workflowId);
    if (workflowId === undefined || entry === undefined) {
      throw new UnknownWorkflowError(taskId, workflowId);
    }
    const { workflow, index } = entry;
    let state: WorkflowState = loaded;
    const from = loaded.machine?.version;
    if (from !== workflow.version) {
      const migrate = workflow.migrate ?? this.#options.migrate;
      if (migrate === undefined) {
        throw new WorkflowVersionError(taskId, workflow.id, from, workflow.version);
      }
      let migrated: WorkflowState;
      try {
        migrated = await migrate(loaded, { from, to: workflow.version, workflowId });
      } catch (error) {
        // An orchestration error says why itself (a storage failure, a refusal it chose).
        if (isOrchestrationError(error)) throw error;
        throw new WorkflowMismatchError(taskId, workflow.id, workflow.version, {
          cause: error,
          reason: `its migrate hook (from version ${from ?? '(none)'}) threw${error instanceof Error ? `: ${error.message}` : ''}`,
        });
      }
      state = { ...parseWorkflowState(migrated), checkpoint: loaded.checkpoint };
      if (state.taskId !== taskId) {
        throw new ContextValidationError('WorkflowState', [
          { path: '$.taskId', message: `is ${state.taskId} after migrate, not ${taskId}` },
        ]);
      }
    }
    // Restoring no snapshot would start the machine over (and rerun finished work).
    assertHasSnapshot(state, workflow, state !== loaded);
    if (!isMachineWorkflow(workflow)) assertRouteTargets(state, index, this.#options.targets ?? []);
    const routed = await this.#routing.machineFor(workflow, manager);
    const common = this.#common(manager, taskId);
    let run: TaskRun | MachineRun;
    try {
      run = isMachineWorkflow(workflow)
        ? MachineRun.restore({ ...common, workflow }, state, lineage, head)
        : TaskRun.restore({ ...common, workflow, index, ...routed }, state, lineage, head);
      // A paused task's store says paused until it runs again: say so before it does.
      if (loaded.status === 'paused') await run.unpause();
    } catch (error) {
      // The actor was created (its recording opened) but never runs: close its recording.
      void this.#recorder?.end(taskId);
      throw error;
    }
    this.#runs.set(taskId, run);
    run.resume();
    return run;
  }
}

/**
 * Creates a workflow runtime: it runs workflows as XState actors, checkpoints them at every
 * step boundary (the commit protocol of `defineWorkflow`), logs their context lineage, and
 * resumes them from their latest checkpoint after a crash, in this process or another.
 *
 * - Checkpoint writes are conditional on the last seq this runtime wrote: of two runtimes
 *   racing on one task, the loser gets `CheckpointConflictError` (its `result` rejects) and
 *   stops; the winner continues.
 * - Every checkpoint holds the plan (with `isComplete`), status, current step, metadata (error
 *   details after a failure, the events awaited while suspended) and the persisted snapshot.
 * - Steps are at least once: a step in flight at a crash runs again; a step whose completion
 *   was checkpointed never does.
 * - A hand-written XState machine runs too (`defineMachineWorkflow`): checkpointed when its
 *   snapshot changes (serialized, coalescing), with the same statuses, lineage and resume.
 *
 * @example
 * ```ts
 * const runtime = createRuntime({ store: createMemoryStore(), workflows: [pipeline] });
 * runtime.subscribe((event) => console.log(event.type, event.taskId));
 * const run = await runtime.start(pipeline, { text: 'hello world' }, { taskId: 'task_123' });
 * const output = await run.result; // the final context
 * // after a crash, in a new process:
 * const resumed = await createRuntime({ workflows: [pipeline] }).resume('task_123');
 * await runtime.send('task_456', { type: 'approval', data: { ok: true } }); // a waitFor step
 * ```
 */
export function createRuntime(options: RuntimeOptions = {}): Runtime {
  return new WorkflowRuntime(options);
}
