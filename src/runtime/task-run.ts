import { type Actor, createActor, type SnapshotFrom } from 'xstate';
import type { WorkflowMachine } from '../../machines/define-workflow.js';
import { TIMER_TAG } from '../../machines/workflow-config.js';
import { checkEventData } from '../../machines/workflow-setup.js';
import type { WaitForStep, WorkflowOutput } from '../../machines/workflow-types.js';
import type { WorkflowState, WorkflowStatus } from '../checkpoint/workflow-state.js';
import type { Context } from '../context/context.js';
import { freezeContextsIn } from '../context/freeze-contexts.js';
import { EventNotAcceptedError, TaskNotRunningError, WorkflowFailedError } from '../errors.js';
import type { ContextFlowManager } from '../flow/context-flow-manager.js';
import type { JsonObject } from '../json.js';
import { FINAL_STATUSES, failureMetadata, isFailureOutput } from './checkpoint-state.js';
import { type LoadedCheckpoint, loadedCheckpointOf } from './checkpoint-writer.js';
import { assertRestored } from './machine-snapshot.js';
import { activityOf } from './run-activity.js';
import { RunBase, type RunBaseDeps } from './run-base.js';
import { RunTracker } from './run-tracker.js';
import type {
  DefinedRuntimeWorkflow,
  RunStatus,
  RuntimeEvent,
  RuntimeEventInput,
} from './runtime-types.js';
import type { TaskLineage } from './task-lineage.js';
import { readProgress, type StepIndex } from './workflow-progress.js';

type WorkflowActor = Actor<WorkflowMachine>;
type WorkflowSnapshot = SnapshotFrom<WorkflowMachine>;

/** What a run needs from its runtime. */
export interface TaskRunDeps extends RunBaseDeps {
  readonly workflow: DefinedRuntimeWorkflow;
  readonly index: StepIndex;
  /** The machine to run, when not the workflow's own (e.g. with routing provided). Default: it. */
  readonly machine?: WorkflowMachine;
  /** Called once when the run ends (finished, cancelled, aborted or halted). */
  readonly onEnd: (run: TaskRun) => void;
}

/**
 * Whether a workflow snapshot rests at a wait: a step waits for an event (a state tagged
 * `suspended`) and nothing else goes on: no step attempt or routing in flight, no durable sleep
 * or retry backoff running (a run with a timer moves on by itself, as a lone sleep does, and is
 * `running`), no commit gate to pass. Only then is the run `suspended`; a wait beside a region
 * that still works leaves it `running` (its `waitingFor` still lists the event, and `send`
 * takes it).
 */
function atRest(snapshot: WorkflowSnapshot): boolean {
  return (
    snapshot.hasTag('suspended') &&
    !snapshot.hasTag('checkpoint') &&
    !snapshot.hasTag(TIMER_TAG) &&
    activityOf(snapshot) === 'idle'
  );
}

/**
 * One live run of a workflow actor in a runtime (internal). It observes every snapshot: emits
 * step events, logs new lane contexts into the lineage, and drives the commit protocol through a
 * serialized queue: at a gate it saves the persisted snapshot (conditionally on the last seq it
 * wrote) unless the policy skips the gate, and only once the snapshot it saved is still the
 * current one does it send `workflow.committed`. Suspending, finishing and cancelling save too.
 */
export class TaskRun extends RunBase<WorkflowActor, WorkflowSnapshot> {
  readonly #deps: TaskRunDeps;
  readonly #tracker: RunTracker;
  /** The snapshot object the last checkpoint holds (durable). */
  #savedSnapshot: WorkflowSnapshot | undefined;
  #gateWantsSave: boolean | undefined;
  #commits = 0;
  #suspendSaved = false;
  /** Step events held back until the first checkpoint is saved. */
  #held: RuntimeEvent[] | undefined;
  /** A new run's input, logged as its origin when it begins. */
  #input: Context | undefined;

  constructor(
    deps: TaskRunDeps,
    taskId: string,
    actor: WorkflowActor,
    lineage: ContextFlowManager,
    loaded?: LoadedCheckpoint,
  ) {
    super(deps, taskId, actor, lineage, loaded);
    this.#deps = deps;
    this.#tracker = new RunTracker(taskId, deps.index, lineage, (event) => {
      if (this.#held === undefined) deps.emit(event);
      else this.#held.push(event);
    });
  }

  protected current() {
    return { snapshot: this.actor.getSnapshot(), persisted: this.actor.getPersistedSnapshot() };
  }

  protected failurePoint() {
    return { stepId: this.#tracker.currentId ?? 'workflow', snapshot: this.actor.getSnapshot() };
  }

  protected onEnded(): void {
    this.#deps.onEnd(this);
  }

  /** A new run: the actor is created gated, its initial snapshot saved (expecting seq 0). */
  static create(deps: TaskRunDeps, taskId: string, input: Context, lineage: ContextFlowManager) {
    const actor = createActor(deps.machine ?? deps.workflow.machine, {
      input: { taskId, input, gated: true },
      ...(deps.inspect === undefined ? {} : { inspect: deps.inspect }),
    });
    const run = new TaskRun(deps, taskId, actor, lineage);
    run.#input = input;
    return run;
  }

  /**
   * A run restored from a checkpoint's persisted snapshot; `head` is the seq its first write
   * expects the task's head at, as `loadLatestForWrite` returned it with `state`.
   */
  static restore(
    deps: TaskRunDeps,
    state: WorkflowState,
    lineage: TaskLineage,
    head: number,
  ): TaskRun {
    const actor = createActor(deps.machine ?? deps.workflow.machine, {
      // Read back as plain JSON: its contexts are frozen, as a live run's are.
      snapshot: freezeContextsIn(state.snapshot),
      ...(deps.inspect === undefined ? {} : { inspect: deps.inspect }),
    });
    assertRestored(actor, state, deps.workflow);
    const loaded = loadedCheckpointOf(state, lineage.persistedSeq, head);
    const run = new TaskRun(deps, state.taskId, actor, lineage.flow, loaded);
    // The loaded snapshot is durable: a gate it sits at is committed without saving again.
    const snapshot = actor.getSnapshot();
    run.#savedSnapshot = snapshot;
    run.#suspendSaved = atRest(snapshot);
    run.#tracker.seed(snapshot);
    return run;
  }

  /** Saves the first checkpoint of a new run (throws on a conflict), then starts the actor. */
  async begin(): Promise<void> {
    const snapshot = this.actor.getSnapshot();
    // The first step's events wait for the first checkpoint: a refused start reports nothing.
    this.#held = [];
    if (this.#input !== undefined) this.#tracker.begin(this.#input);
    this.#tracker.observe(snapshot);
    // A first step that waits makes it suspended from the start.
    await this.save(snapshot, this.actor.getPersistedSnapshot(), this.restingStatus());
    const held = this.#held;
    this.#held = undefined;
    for (const event of held) this.#deps.emit(event);
    this.#startActor();
  }

  /** Starts a restored actor. */
  resume(): void {
    this.setStatus(this.restingStatus());
    this.#tracker.announceSeeded();
    this.#startActor();
  }

  protected restingStatus(): 'running' | 'suspended' {
    return atRest(this.actor.getSnapshot()) ? 'suspended' : 'running';
  }

  protected quiet(): boolean {
    const snapshot = this.actor.getSnapshot();
    return (
      snapshot.status === 'active' &&
      !snapshot.hasTag('checkpoint') &&
      activityOf(snapshot) !== 'busy'
    );
  }

  #startActor(): void {
    this.actor.subscribe({
      next: (snapshot) => this.#onSnapshot(snapshot),
      error: (error) => this.failOnActorError(error),
    });
    this.actor.start();
  }

  /** Where the run is now. */
  status(): RunStatus {
    return {
      taskId: this.taskId,
      workflowId: this.workflowId,
      workflowVersion: this.workflowVersion,
      status: this.runStatus ?? 'running',
      live: !this.ended,
      currentStepIndex: this.#tracker.currentIndex,
      currentStepId: this.#tracker.currentId,
      checkpointId: this.writer.checkpointId,
      seq: this.writer.seq === 0 ? undefined : this.writer.seq,
      waitingFor: this.ended ? [] : this.#tracker.waitingFor(),
      ...(this.failure === undefined ? {} : { error: this.failure }),
    };
  }

  /** Whether the run still runs. */

  /**
   * Sends an external event (its shape checked by `runtime.send`), refused (nothing changes)
   * unless a waiting step accepts it.
   */
  send(event: RuntimeEventInput): void {
    if (this.ended) throw new TaskNotRunningError(this.taskId, 'its run has ended');
    const { type } = event;
    const reserved = /^(xstate|workflow)\./.test(type);
    const snapshot = this.actor.getSnapshot();
    if (reserved || !snapshot.can({ type, data: event.data })) {
      const expected = this.#tracker.waitingFor();
      const refusal = expected.includes(type)
        ? this.#refusal(snapshot, type, event.data)
        : undefined;
      throw new EventNotAcceptedError(this.taskId, type, expected, refusal);
    }
    this.actor.send({ type, data: event.data });
  }

  /**
   * Why the steps waiting for `type` refused `data`: the first one's issues (only refused events
   * pay for this second check).
   */
  #refusal(snapshot: WorkflowSnapshot, type: string, data: unknown) {
    const { index } = this.#deps;
    for (const [stepId, phase] of readProgress(index, snapshot.value).phases) {
      const step = index.steps.get(stepId) as WaitForStep | undefined;
      if (phase !== 'waiting' || step?.waitFor?.event !== type) continue;
      const checked = checkEventData(step, data, '$.data');
      if (!checked.ok) return checked;
    }
    return undefined;
  }

  #onSnapshot(snapshot: WorkflowSnapshot): void {
    if (this.ended) return;
    try {
      this.#tracker.observe(snapshot);
      if (snapshot.status === 'active') {
        const suspended = atRest(snapshot);
        if (!suspended) this.#suspendSaved = false;
        this.setStatus(suspended ? 'suspended' : 'running');
      }
      this.queueDrain();
    } catch (error) {
      this.abort(error);
    }
  }

  /** Does what the current snapshot needs: save, release gates, finish. Serialized. */
  protected async drain(): Promise<void> {
    while (!this.ended) {
      const snapshot = this.actor.getSnapshot();
      if (snapshot.status === 'done') return this.#finish(snapshot);
      if (snapshot.status !== 'active') return;
      const suspended = atRest(snapshot);
      const fresh = snapshot !== this.#savedSnapshot;
      if (!snapshot.hasTag('checkpoint')) {
        if (!fresh || !((suspended && !this.#suspendSaved) || this.#unsavedDeadline(snapshot))) {
          return;
        }
        const status = suspended ? 'suspended' : 'running';
        await this.save(snapshot, this.actor.getPersistedSnapshot(), status);
        continue;
      }
      this.#gateWantsSave ??= this.#policyWantsSave();
      if (
        fresh &&
        (this.#gateWantsSave ||
          (suspended && !this.#suspendSaved) ||
          this.#unsavedDeadline(snapshot) ||
          this.#unsavedRoute(snapshot))
      ) {
        const status = suspended ? 'suspended' : 'running';
        await this.save(snapshot, this.actor.getPersistedSnapshot(), status);
        continue; // saved; if the snapshot moved on meanwhile, save that one too
      }
      this.#gateWantsSave = undefined;
      // Checked now, not only by the lease's timer: a run waking from a stall gets here first.
      this.#deps.assertLease?.();
      this.actor.send({ type: 'workflow.committed' });
    }
  }

  /**
   * Whether a sleep or a retry's backoff waits in `snapshot` for a deadline no checkpoint holds
   * yet. Saved whatever the policy: a wait restored without its deadline would start over.
   */
  #unsavedDeadline(snapshot: WorkflowSnapshot): boolean {
    return (
      snapshot.hasTag(TIMER_TAG) &&
      snapshot.context.deadlines !== this.#savedSnapshot?.context.deadlines
    );
  }

  /**
   * Whether `snapshot` holds a routing decision no checkpoint holds yet (a routed step's
   * `routed` gate). Saved whatever the policy: a run restored without it would route the
   * context again, maybe elsewhere after a rule change, and the target that already ran would
   * be followed by another.
   */
  #unsavedRoute(snapshot: WorkflowSnapshot): boolean {
    const routes = snapshot.context.routes;
    const saved = this.#savedSnapshot?.context.routes;
    if (routes === undefined || routes === saved) return false;
    for (const stepId in routes) if (routes[stepId] !== saved?.[stepId]) return true;
    return false;
  }

  #policyWantsSave(): boolean {
    const policy = this.#deps.policy;
    if (policy === 'every-step') return true;
    if (policy === 'on-suspend') return false;
    this.#commits += 1;
    return this.#commits % policy.every === 0;
  }

  async #finish(snapshot: WorkflowSnapshot): Promise<void> {
    const output = snapshot.output as WorkflowOutput;
    const failure = isFailureOutput(output) ? output.error : undefined;
    const status: WorkflowStatus = failure === undefined ? 'completed' : 'error';
    if (failure !== undefined) {
      this.failure = failure;
      this.#tracker.failedAt(failure.stepId);
    }
    const metadata = failure === undefined ? {} : failureMetadata(failure, this.#deps.now());
    await this.save(snapshot, this.actor.getPersistedSnapshot(), status, metadata);
    await this.writer.settled();
    this.ended = true;
    this.setStatus(status);
    this.end(() => {
      if (failure === undefined) this.settle.resolve(output as Context);
      else this.settle.reject(new WorkflowFailedError(this.taskId, failure));
    });
  }

  /** Writes a checkpoint of `snapshot` (`persisted` is its persisted form); see {@link CheckpointWriter}. */
  protected save(
    snapshot: WorkflowSnapshot,
    persisted: ReturnType<WorkflowActor['getPersistedSnapshot']> | undefined,
    status: WorkflowStatus,
    extra: JsonObject = {},
  ): Promise<void> {
    const { workflow } = this.#deps;
    let written: Promise<string>;
    try {
      // Everything is read now, as of `snapshot` (the writer takes the lineage up to now too).
      // The plan costs O(steps) per checkpoint: a long one is written only at the start and end.
      const withPlan =
        workflow.plan.length <= this.#deps.planInCheckpoints ||
        this.writer.seq === 0 ||
        FINAL_STATUSES.has(status);
      written = this.writer.write({
        taskId: this.taskId,
        workflow,
        status,
        currentStepIndex: this.#tracker.currentIndex,
        currentStepId: this.#tracker.currentId,
        completed: withPlan ? this.#tracker.completed() : undefined,
        waitingFor: status === 'suspended' ? this.#tracker.waitingFor() : [],
        extra,
        snapshot: persisted,
      });
    } catch (error) {
      return Promise.reject(error);
    }
    return written.then(() => {
      this.#savedSnapshot = snapshot;
      if (status === 'suspended') this.#suspendSaved = true;
    });
  }
}
