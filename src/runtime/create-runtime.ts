import { toObserver } from 'xstate';
import type { WorkflowMachine } from '../../machines/define-workflow.js';
import {
  type PersistedRouterHandle,
  ROUTER_TASK_PREFIX,
  startPersistedRouter,
} from '../../machines/router/persist-router.js';
import { startRouter } from '../../machines/router/start-router.js';
import { hasRoutedSteps, withRouting } from '../../machines/router/with-routing.js';
import type { CheckpointManager } from '../checkpoint/checkpoint-manager.js';
import type { ListTasksOptions } from '../checkpoint/checkpoint-store.js';
import { getCheckpointManager } from '../checkpoint/get-checkpoint-manager.js';
import { parseWorkflowState, type WorkflowState } from '../checkpoint/workflow-state.js';
import type { Context } from '../context/context.js';
import { createContext } from '../context/create-context.js';
import { parseContext } from '../context/parse-context.js';
import {
  InvalidIdError,
  isOrchestrationError,
  TaskExistsError,
  TaskNotRunningError,
  UnknownTaskError,
  UnknownWorkflowError,
  WorkflowVersionError,
} from '../errors.js';
import { ContextFlowManager } from '../flow/context-flow-manager.js';
import { assertValidId, MAX_ID_LENGTH } from '../ids.js';
import { createRunRecorder, type RunRecorder } from '../inspection/run-recorder.js';
import type { JsonValue } from '../json.js';
import { asError } from './as-error.js';
import { FINAL_STATUSES, type StopStatus, stopMetadata } from './checkpoint-state.js';
import { MachineRun } from './machine-run.js';
import { isMachineWorkflow } from './machine-workflow.js';
import type {
  CheckpointPolicy,
  DefinedRuntimeWorkflow,
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
import { TaskRun } from './task-run.js';
import { indexSteps, type StepIndex } from './workflow-progress.js';

function assertPolicy(policy: CheckpointPolicy): void {
  if (policy === 'every-step' || policy === 'on-suspend') return;
  const every = (policy as { every?: unknown } | null)?.every;
  if (typeof every !== 'number' || !Number.isSafeInteger(every) || every < 1) {
    throw new TypeError(
      "checkpointPolicy must be 'every-step', 'on-suspend' or { every: N } with an integer N ≥ 1",
    );
  }
}

function looksLikeContext(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const record = value as Record<string, unknown>;
  return typeof record.contextId === 'string' && typeof record.contextType === 'string';
}

/** The first context of a run: the given context, or JSON data in an `InputContext`. */
function inputContext(input: Context | JsonValue, taskId: string): Context {
  if (looksLikeContext(input)) return parseContext(input);
  const contextId = `${taskId}_input`;
  return createContext('InputContext', input as JsonValue, {
    ...(contextId.length <= MAX_ID_LENGTH ? { contextId } : {}),
  });
}

/**
 * Checks a task id the runtime starts or stops: a valid id, and not one of a persisted router
 * actor (`router.…`), whose checkpoints only its router writes.
 */
function assertWorkflowTaskId(taskId: unknown): asserts taskId is string {
  assertValidId('taskId', taskId);
  if (taskId.startsWith(ROUTER_TASK_PREFIX)) {
    const reason = `task ids starting with "${ROUTER_TASK_PREFIX}" hold persisted router actors`;
    throw new InvalidIdError('taskId', taskId, reason);
  }
}

/** The step index of a workflow (a hand-written machine has only its plan). */
function indexOf(workflow: RuntimeWorkflow): StepIndex {
  return indexSteps(isMachineWorkflow(workflow) ? [] : workflow.steps, workflow.plan);
}

function transitionSeq(value: unknown): number {
  const seq = (value as { seq?: unknown } | null)?.seq;
  return typeof seq === 'number' ? seq : -1;
}

/** Task ids a page of `listTasks` reads from the store by default. */
const DEFAULT_TASK_PAGE = 100;
/** Latest checkpoints `listTasks` reads at once. */
const STATUS_READS = 8;
/** Task ids `recover` and `purgeFinished` read from the store at a time. */
const RECOVER_PAGE = 1_000;

/** The runtime behind {@link createRuntime}. */
class WorkflowRuntime implements Runtime {
  readonly #options: RuntimeOptions;
  readonly #policy: CheckpointPolicy;
  readonly #now: () => number;
  readonly #planLimit: number;
  readonly #workflows = new Map<string, { workflow: RuntimeWorkflow; index: StepIndex }>();
  readonly #runs = new Map<string, TaskRun | MachineRun>();
  readonly #claims = new Map<string, Promise<WorkflowRun>>();
  readonly #listeners = new Set<(event: RuntimeEvent) => void>();
  #manager: Promise<CheckpointManager> | undefined;
  /** The router actor of routed steps, started (restored from the store) at the first one. */
  #targets: Promise<PersistedRouterHandle> | undefined;
  /** Workflow → its machine with routing provided (only workflows with routed steps). */
  readonly #routed = new WeakMap<DefinedRuntimeWorkflow, WorkflowMachine>();
  #recorder: RunRecorder | undefined;
  /** The leases of this runtime's tasks (`lease` option). */
  readonly #leases: TaskLeases | undefined;

  constructor(options: RuntimeOptions) {
    this.#options = options;
    this.#policy = options.checkpointPolicy ?? 'every-step';
    assertPolicy(this.#policy);
    this.#now = options.now ?? Date.now;
    this.#planLimit = options.planInCheckpoints ?? 20;
    if (!(Number.isSafeInteger(this.#planLimit) && this.#planLimit >= 0)) {
      throw new TypeError('planInCheckpoints must be an integer ≥ 0');
    }
    const keep = options.keepCheckpoints;
    if (keep !== undefined && !(Number.isSafeInteger(keep) && keep >= 1)) {
      throw new TypeError(`keepCheckpoints must be an integer ≥ 1, got ${keep}`);
    }
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

  start(
    workflow: RuntimeWorkflow,
    input: Context | JsonValue,
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

  async send(taskId: string, event: RuntimeEventInput): Promise<void> {
    const run = await this.#liveRun(taskId);
    if (run === undefined) {
      if (await this.#hasCheckpoints(taskId)) {
        throw new TaskNotRunningError(taskId, 'resume it before sending events');
      }
      throw new UnknownTaskError(taskId);
    }
    run.send(event);
  }

  async cancel(taskId: string): Promise<void> {
    assertWorkflowTaskId(taskId);
    const run = await this.#liveRun(taskId);
    if (run !== undefined) return run.cancel();
    await this.#restamp(taskId, 'cancelled');
  }

  async pause(taskId: string): Promise<void> {
    assertWorkflowTaskId(taskId);
    const run = await this.#liveRun(taskId);
    if (run !== undefined) return run.pause();
    await this.#restamp(taskId, 'paused');
  }

  /**
   * For a task not live here: writes its latest checkpoint again with `status` and when (in its
   * metadata), conditional on that checkpoint's seq (a run of the task live elsewhere then
   * loses its next write and stops). Nothing for a finished task, nor for one that already has
   * `status`.
   */
  async #restamp(taskId: string, status: StopStatus): Promise<void> {
    const manager = await this.#getManager();
    const state = await manager.loadLatestCheckpoint(taskId);
    if (state === undefined) throw new UnknownTaskError(taskId);
    if (FINAL_STATUSES.has(state.status) || state.status === status) return;
    const { checkpoint, ...rest } = state;
    const checkpointId = await manager.saveCheckpoint(
      { ...rest, status, metadata: { ...rest.metadata, ...stopMetadata(status, this.#now()) } },
      { expectedSeq: checkpoint?.seq ?? 0 },
    );
    const seq = (checkpoint?.seq ?? 0) + 1;
    this.#emit({ type: 'checkpoint.saved', taskId, checkpointId, seq, status });
    this.#emit({ type: 'status.changed', taskId, status, previous: state.status });
  }

  async status(taskId: string): Promise<RunStatus | undefined> {
    assertValidId('taskId', taskId);
    const run = this.#runs.get(taskId);
    if (run !== undefined) return run.status();
    const manager = await this.#getManager();
    const [state, lease] = await Promise.all([
      manager.loadLatestCheckpoint(taskId),
      manager.store.readLease(taskId),
    ]);
    if (state === undefined) return undefined;
    const status = statusFromState(state);
    return lease === undefined || FINAL_STATUSES.has(status.status) ? status : { ...status, lease };
  }

  async listTasks(options: ListTasksOptions = {}): Promise<TaskListing> {
    const limit = options.limit ?? DEFAULT_TASK_PAGE;
    const manager = await this.#getManager();
    const ids = await manager.listTasks({ limit, after: options.after });
    const tasks: RunStatus[] = [];
    const unreadable: { taskId: string; error: Error }[] = [];
    const workflowIds = ids.filter((taskId) => !taskId.startsWith(ROUTER_TASK_PREFIX));
    // A few reads at a time, in id order.
    for (let at = 0; at < workflowIds.length; at += STATUS_READS) {
      const batch = workflowIds.slice(at, at + STATUS_READS);
      const read = await Promise.allSettled(batch.map((taskId) => this.status(taskId)));
      for (const [k, outcome] of read.entries()) {
        const taskId = batch[k] as string;
        if (outcome.status === 'fulfilled') {
          if (outcome.value !== undefined) tasks.push(outcome.value);
          continue;
        }
        // The backend failing is the listing failing; one task's bad checkpoint is not.
        const error = outcome.reason;
        if (!isOrchestrationError(error) || isOrchestrationError(error, 'STORAGE_FAILED')) {
          throw error;
        }
        unreadable.push({ taskId, error });
      }
    }
    return { tasks, unreadable, next: ids.length === limit ? ids.at(-1) : undefined };
  }

  async recover(): Promise<RecoveryReport> {
    const resumed: WorkflowRun[] = [];
    const failed: { taskId: string; error: Error }[] = [];
    const leased: { taskId: string; owner: string }[] = [];
    let after: string | undefined;
    do {
      const page = await this.listTasks({ limit: RECOVER_PAGE, after });
      failed.push(...page.unreadable);
      for (const task of page.tasks) {
        if (task.live || this.#claims.has(task.taskId)) continue;
        if (task.status !== 'running' && task.status !== 'suspended') continue;
        try {
          resumed.push(await this.resume(task.taskId));
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

  async purgeFinished(options: { readonly olderThanMs: number }): Promise<PurgeReport> {
    const olderThanMs = options?.olderThanMs;
    if (!(Number.isSafeInteger(olderThanMs) && olderThanMs >= 0)) {
      throw new TypeError(`olderThanMs must be an integer ≥ 0, got ${olderThanMs}`);
    }
    const manager = await this.#getManager();
    // Checkpoints' createdAt is stamped by the manager's clock (Date.now), not the runtime's `now`.
    const cutoff = Date.now() - olderThanMs;
    const deleted: string[] = [];
    const failed: { taskId: string; error: Error }[] = [];
    let after: string | undefined;
    for (;;) {
      const ids = await manager.listTasks({ limit: RECOVER_PAGE, after });
      for (const taskId of ids) {
        if (taskId.startsWith(ROUTER_TASK_PREFIX) || this.#runs.has(taskId)) continue;
        try {
          const state = await manager.loadLatestCheckpoint(taskId);
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

  async lineage(taskId: string): Promise<ContextFlowManager> {
    assertValidId('taskId', taskId);
    const run = this.#runs.get(taskId);
    if (run !== undefined) return run.lineage;
    const manager = await this.#getManager();
    const state = await manager.loadLatestCheckpoint(taskId);
    const flow = await this.#loadLineage(manager, taskId, state);
    if (state === undefined && flow.size === 0) throw new UnknownTaskError(taskId);
    return flow;
  }

  subscribe(listener: (event: RuntimeEvent) => void): () => void {
    if (typeof listener !== 'function') throw new TypeError('listener must be a function');
    const wrapped = (event: RuntimeEvent) => listener(event);
    this.#listeners.add(wrapped);
    return () => {
      this.#listeners.delete(wrapped);
    };
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.#claims.values()]);
    await Promise.all([...this.#runs.values()].map((run) => run.halt()));
    await this.#leases?.settled();
    const targets = this.#targets;
    this.#targets = undefined;
    await (await targets?.catch(() => undefined))?.close();
    // Recording is best effort: failed writes went to the recorder's onError.
    await this.#recorder?.flush().catch(() => {});
  }

  #emit(event: RuntimeEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        // A failing progress display must not stop a workflow.
      }
    }
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

  /** The live run of a task, waiting for a start or resume in progress. */
  async #liveRun(taskId: string): Promise<TaskRun | MachineRun | undefined> {
    const claim = this.#claims.get(taskId);
    if (claim !== undefined) await claim.catch(() => undefined);
    const run = this.#runs.get(taskId);
    return run?.live ? run : undefined;
  }

  /** Never two runs of a task: a running or starting task is returned or refused. */
  #claim(
    taskId: string,
    ifExists: 'fail' | 'resume',
    create: () => Promise<WorkflowRun>,
  ): Promise<WorkflowRun> {
    const existing = this.#runs.get(taskId) ?? this.#claims.get(taskId);
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
      leases.hold(store, taskId, claimedAt, (error) => live.abandon(error));
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

  /**
   * The machine a defined workflow runs as: with routing provided when it has routed steps and
   * the runtime has a `router` (without one, its routed steps fail with `NoRouterError`).
   */
  async #machineFor(
    workflow: DefinedRuntimeWorkflow,
    manager: CheckpointManager,
  ): Promise<{ machine?: WorkflowMachine }> {
    const { router } = this.#options;
    if (router === undefined || !hasRoutedSteps(workflow)) return {};
    let machine = this.#routed.get(workflow);
    if (machine === undefined) {
      const targets = await this.#router(manager);
      machine = this.#routed.get(workflow) ?? withRouting(workflow, { router, targets });
      this.#routed.set(workflow, machine);
    }
    return { machine };
  }

  /**
   * The router actor, started once; restored from the store unless `routerActor.persist` is
   * false. A start that failed (e.g. a corrupt router record) is tried again at the next one.
   */
  #router(manager: CheckpointManager): Promise<PersistedRouterHandle> {
    if (this.#targets === undefined) {
      const { persist = true, ...actor } = this.#options.routerActor ?? {};
      const { inspect } = this.#options;
      const options = {
        targets: this.#options.targets ?? [],
        ...actor,
        ...(inspect === undefined ? {} : { inspect }),
      };
      let starting: Promise<PersistedRouterHandle>;
      if (persist) {
        starting = startPersistedRouter({ ...options, manager });
      } else {
        const handle = startRouter(options);
        const close = async () => handle.stop();
        starting = Promise.resolve({ ...handle, taskId: '', flush: async () => {}, close });
      }
      this.#targets = starting;
      starting.catch(() => {
        if (this.#targets === starting) this.#targets = undefined;
      });
    }
    return this.#targets;
  }

  #common(manager: CheckpointManager, taskId: string) {
    return {
      manager,
      policy: this.#policy,
      inspect: this.#inspectFor(manager, taskId),
      planInCheckpoints: this.#planLimit,
      keepCheckpoints: this.#options.keepCheckpoints,
      now: this.#now,
      emit: (event: RuntimeEvent) => this.#emit(event),
      onEnd: (run: TaskRun | MachineRun) => {
        if (this.#runs.get(run.taskId) === run) this.#runs.delete(run.taskId);
        this.#leases?.release(manager.store, run.taskId);
        void this.#recorder?.end(run.taskId);
      },
    };
  }

  async #startNew(
    workflow: RuntimeWorkflow,
    input: Context | JsonValue,
    taskId: string,
    ifExists: 'fail' | 'resume',
  ): Promise<WorkflowRun> {
    const manager = await this.#getManager();
    if ((await manager.store.head(taskId)) > 0) {
      if (ifExists === 'resume') return this.#resume(taskId);
      throw new TaskExistsError(taskId, false);
    }
    const entry = this.#workflows.get(workflow.id);
    const index = entry?.workflow === workflow ? entry.index : indexOf(workflow);
    const lineage = new ContextFlowManager({ workflowId: taskId, now: this.#now });
    const routed = isMachineWorkflow(workflow) ? {} : await this.#machineFor(workflow, manager);
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
      if (ifExists === 'resume') return this.#resume(taskId);
      throw new TaskExistsError(taskId, false);
    }
    this.#runs.set(taskId, run);
    return run;
  }

  async #resume(taskId: string): Promise<WorkflowRun> {
    const manager = await this.#getManager();
    const loaded = await manager.loadLatestCheckpoint(taskId);
    if (loaded === undefined) throw new UnknownTaskError(taskId);
    const lineage = await this.#loadLineage(manager, taskId, loaded);
    if (FINAL_STATUSES.has(loaded.status)) return settledRun(loaded, lineage);
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
      const migrated = await migrate(loaded, { from, to: workflow.version, workflowId });
      state = { ...parseWorkflowState(migrated), checkpoint: loaded.checkpoint };
    }
    const routed = isMachineWorkflow(workflow) ? {} : await this.#machineFor(workflow, manager);
    const common = this.#common(manager, taskId);
    const run = isMachineWorkflow(workflow)
      ? MachineRun.restore({ ...common, workflow }, state, lineage)
      : TaskRun.restore({ ...common, workflow, index, ...routed }, state, lineage);
    // A paused task's store says paused until it runs again: say so before it does.
    if (loaded.status === 'paused') await run.unpause();
    this.#runs.set(taskId, run);
    run.resume();
    return run;
  }

  /**
   * The task's lineage: the store's log plus the transitions the checkpoint holds that the log
   * does not have yet (written after the checkpoint; a crash may have lost that write).
   */
  async #loadLineage(
    manager: CheckpointManager,
    taskId: string,
    state: WorkflowState | undefined,
  ): Promise<ContextFlowManager> {
    const persisted = await manager.loadLineage(taskId);
    const last = persisted.at(-1)?.seq ?? -1;
    const held = state?.metadata.lineage;
    const pending = Array.isArray(held) ? held.filter((t) => transitionSeq(t) > last) : [];
    return ContextFlowManager.fromTransitions(taskId, [...persisted, ...pending], {
      now: this.#now,
    });
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
