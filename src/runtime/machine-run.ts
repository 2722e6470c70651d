import { type Actor, type AnyStateMachine, createActor, type SnapshotFrom } from 'xstate';
import { describeFailure } from '../../machines/workflow-setup.js';
import type { WorkflowState, WorkflowStatus } from '../checkpoint/workflow-state.js';
import type { Context } from '../context/context.js';
import { createContext } from '../context/create-context.js';
import { freezeContextsIn } from '../context/freeze-contexts.js';
import { EventNotAcceptedError, TaskNotRunningError, WorkflowFailedError } from '../errors.js';
import type { ContextFlowManager } from '../flow/context-flow-manager.js';
import { MAX_ID_LENGTH } from '../ids.js';
import type { JsonObject, JsonValue } from '../json.js';
import { FINAL_STATUSES } from './checkpoint-state.js';
import {
  CheckpointWriter,
  type LoadedCheckpoint,
  loadedCheckpointOf,
} from './checkpoint-writer.js';
import { MachineLineage } from './machine-lineage.js';
import { assertRestored, handledEvents, locate, persistedSnapshotOf } from './machine-snapshot.js';
import type { MachineWorkflow } from './machine-workflow.js';
import { activityOf } from './run-activity.js';
import { RunBase, type RunBaseDeps } from './run-base.js';
import type { RunStatus, RuntimeEventInput } from './runtime-types.js';
import type { TaskLineage } from './task-lineage.js';

type MachineActor = Actor<AnyStateMachine>;
type MachineSnapshot = SnapshotFrom<AnyStateMachine>;
type Persisted = ReturnType<MachineActor['getPersistedSnapshot']>;

/** What a run of a hand-written machine needs from its runtime. */
export interface MachineRunDeps extends RunBaseDeps {
  readonly workflow: MachineWorkflow;
  /** Called once when the run ends (finished, cancelled, aborted or halted). */
  readonly onEnd: (run: MachineRun) => void;
}

/**
 * One live run of a hand-written machine (internal; see `defineMachineWorkflow`). Every snapshot
 * change logs new contexts and schedules a save; saves are serialized through one queue and
 * coalesce: each save takes the actor's snapshot as it is then, so while one is in flight only
 * the newest snapshot is saved next. Writes are conditional on the last seq this run wrote.
 */
export class MachineRun extends RunBase<MachineActor, MachineSnapshot> {
  readonly #deps: MachineRunDeps;
  readonly #contexts: MachineLineage;
  /** Whether the current suspension (if any) is checkpointed. */
  #suspendSaved = false;
  #savedSnapshot: MachineSnapshot | undefined;
  /** Snapshot changes since the last save (for `{ every: N }`). */
  #changes = 0;
  #currentIndex = 0;
  #currentId: string | undefined;

  constructor(
    deps: MachineRunDeps,
    taskId: string,
    actor: MachineActor,
    lineage: ContextFlowManager,
    loaded?: LoadedCheckpoint,
  ) {
    super(deps, taskId, actor, lineage, loaded);
    this.#deps = deps;
    this.#contexts = new MachineLineage(lineage, deps.workflow.id);
  }

  protected current() {
    return { snapshot: this.actor.getSnapshot(), persisted: this.#persist() };
  }

  protected failurePoint() {
    return { stepId: this.#currentId ?? 'machine', snapshot: this.actor.getSnapshot() };
  }

  protected onEnded(): void {
    this.#deps.onEnd(this);
  }

  /** A new run: the actor is created (not started) on the workflow's input. */
  static create(deps: MachineRunDeps, taskId: string, input: Context, lineage: ContextFlowManager) {
    const actor = createActor(deps.workflow.machine, {
      input: deps.workflow.input({ taskId, input }),
      ...(deps.inspect === undefined ? {} : { inspect: deps.inspect }),
    });
    return new MachineRun(deps, taskId, actor, lineage);
  }

  /**
   * A run restored from a checkpoint's persisted snapshot; `head` is the seq its first write
   * expects the task's head at, as `loadLatestForWrite` returned it with `state`.
   */
  static restore(deps: MachineRunDeps, state: WorkflowState, lineage: TaskLineage, head: number) {
    const actor = createActor(deps.workflow.machine, {
      // Read back as plain JSON: its contexts are frozen, as a live run's are.
      snapshot: freezeContextsIn(state.snapshot),
      ...(deps.inspect === undefined ? {} : { inspect: deps.inspect }),
    });
    assertRestored(actor, state, deps.workflow);
    const loaded = loadedCheckpointOf(state, lineage.persistedSeq, head);
    const run = new MachineRun(deps, state.taskId, actor, lineage.flow, loaded);
    const snapshot = actor.getSnapshot();
    run.#savedSnapshot = snapshot;
    run.#suspendSaved = run.#suspendedAt(snapshot);
    run.#contexts.seed(deps.workflow.contexts(snapshot));
    run.#locate(snapshot);
    return run;
  }

  /** Saves the first checkpoint of a new run (throws on a conflict), then starts the actor. */
  async begin(): Promise<void> {
    const snapshot = this.actor.getSnapshot();
    if (snapshot.status === 'error') {
      // The machine failed computing its first state (its context factory threw, say): nothing
      // ran and nothing is written; the start fails with that error (not with the JSON check's
      // complaint about the error object in the snapshot).
      const failure = describeFailure(this.#currentId ?? 'machine', snapshot.error, 1);
      throw new WorkflowFailedError(this.taskId, failure, { cause: snapshot.error });
    }
    this.#observe(snapshot, true);
    const suspended = this.#suspendedAt(snapshot);
    await this.save(snapshot, this.#persist(), suspended ? 'suspended' : 'running');
    this.setStatus(suspended ? 'suspended' : 'running');
    this.#startActor();
  }

  /** Starts a restored actor. */
  resume(): void {
    this.setStatus(this.restingStatus());
    this.#startActor();
  }

  protected restingStatus(): 'running' | 'suspended' {
    return this.#suspendedAt(this.actor.getSnapshot()) ? 'suspended' : 'running';
  }

  /**
   * Whether the run is suspended at `snapshot`: the workflow's `suspended` hook says it waits
   * for an event, and no invoked or spawned actor is in flight, durable timers included (the
   * run moves on by itself then, and is `running`). Throws what the hook throws.
   */
  #suspendedAt(snapshot: MachineSnapshot): boolean {
    return this.#deps.workflow.suspended(snapshot) && activityOf(snapshot) === 'idle';
  }

  protected quiet(): boolean {
    const snapshot = this.actor.getSnapshot();
    return snapshot.status === 'active' && activityOf(snapshot) !== 'busy';
  }

  #startActor(): void {
    this.actor.subscribe({
      next: (snapshot) => this.#onSnapshot(snapshot),
      error: (error) => this.failOnActorError(error),
    });
    this.actor.start();
    // A snapshot that changed while starting (restored children) is saved like any other.
    this.#onSnapshot(this.actor.getSnapshot());
  }

  /** Where the run is now. */
  status(): RunStatus {
    return {
      taskId: this.taskId,
      workflowId: this.workflowId,
      workflowVersion: this.workflowVersion,
      status: this.runStatus ?? 'running',
      live: !this.ended,
      currentStepIndex: this.#currentIndex,
      currentStepId: this.#currentId,
      checkpointId: this.writer.checkpointId,
      seq: this.writer.seq === 0 ? undefined : this.writer.seq,
      waitingFor: this.ended ? [] : handledEvents(this.actor.getSnapshot()),
      ...(this.failure === undefined ? {} : { error: this.failure }),
    };
  }

  /** Whether the run still runs. */

  /**
   * Sends `{ type, data }` (its shape checked by `runtime.send`), refused (nothing changes)
   * unless the machine `can` take it now.
   */
  send(event: RuntimeEventInput): void {
    if (this.ended) throw new TaskNotRunningError(this.taskId, 'its run has ended');
    const { type } = event;
    const snapshot = this.actor.getSnapshot();
    const message = { type, data: event.data };
    if (type.startsWith('xstate.') || snapshot.status !== 'active' || !snapshot.can(message)) {
      throw new EventNotAcceptedError(this.taskId, type, handledEvents(snapshot));
    }
    this.actor.send(message);
  }

  #onSnapshot(snapshot: MachineSnapshot): void {
    if (this.ended) return;
    try {
      this.#observe(snapshot, false);
      if (snapshot.status === 'active') {
        const suspended = this.#suspendedAt(snapshot);
        if (!suspended) this.#suspendSaved = false;
        this.setStatus(suspended ? 'suspended' : 'running');
      }
      if (snapshot !== this.#savedSnapshot) this.#changes += 1;
      this.queueDrain();
    } catch (error) {
      // The workflow's hooks (`contexts`, `suspended`) or the contexts they gave: no store
      // write failed, and the same snapshot would fail the same way again.
      this.#failInHook(error);
    }
  }

  /**
   * Ends the run as failed when one of the workflow's hooks throws (or gives what it may not),
   * as when the actor errors: a final `error` checkpoint, `result` rejected with
   * `WorkflowFailedError` (its `cause` the hook's error). Ending it as aborted would leave the
   * task at its last checkpoint, for a resume to meet the same error (and an event that moved
   * the machine on since, lost). The actor is stopped: nothing it does later counts.
   */
  #failInHook(error: unknown): void {
    if (this.ended) return;
    this.failOnActorError(error);
    this.actor.stop();
  }

  /** Logs new contexts and moves the current step. */
  #observe(snapshot: MachineSnapshot, first: boolean): void {
    this.#locate(snapshot);
    if (snapshot.status === 'error') return;
    this.#contexts.observe(this.#deps.workflow.contexts(snapshot), this.#currentId, first);
  }

  #locate(snapshot: MachineSnapshot): void {
    const where = locate(snapshot, this.#deps.workflow.plan);
    if (where === undefined) return;
    if (where.stepIndex !== undefined) this.#currentIndex = where.stepIndex;
    this.#currentId = where.stepId ?? this.#currentId;
  }

  /** Saves the newest snapshot while the policy wants one. Serialized. */
  protected async drain(): Promise<void> {
    while (!this.ended) {
      const snapshot = this.actor.getSnapshot();
      if (snapshot.status === 'done') return this.#finish(snapshot);
      if (snapshot.status !== 'active') return;
      let suspended: boolean;
      try {
        suspended = this.#suspendedAt(snapshot);
      } catch (error) {
        return this.#failInHook(error);
      }
      // A spawned actor that ends with no transition leaves the snapshot object as it was, now
      // at rest: that suspension is saved too.
      if (snapshot === this.#savedSnapshot && !(suspended && !this.#suspendSaved)) return;
      const policy = this.#deps.policy;
      const wanted =
        policy === 'every-step' ||
        (suspended && !this.#suspendSaved) ||
        (typeof policy === 'object' && this.#changes >= policy.every);
      if (!wanted) return;
      await this.save(snapshot, this.#persist(), suspended ? 'suspended' : 'running');
    }
  }

  async #finish(snapshot: MachineSnapshot): Promise<void> {
    const output: unknown = snapshot.output;
    let result: Context;
    try {
      result = this.#result(output);
    } catch (error) {
      // The `output` hook threw or gave no context, or the output is not JSON: the task fails
      // in its final state (a resume would meet the same output again).
      return this.#failInHook(error);
    }
    const extra: JsonObject = result === output ? {} : { output: result as unknown as JsonValue };
    await this.save(snapshot, this.#persist(), 'completed', extra);
    await this.writer.settled();
    this.ended = true;
    this.setStatus('completed');
    this.end(() => this.settle.resolve(result));
  }

  /**
   * The run's result from the machine's output: the workflow's `output` hook's context (checked
   * as a read of the final checkpoint will check it), the output if it is a context, else an
   * `OutputContext` holding it.
   */
  #result(output: unknown): Context {
    const mapped = this.#deps.workflow.output(output, this.taskId);
    if (mapped !== undefined) return mapped;
    const contextId = `${this.taskId}_output`;
    return createContext('OutputContext', (output ?? null) as JsonValue, {
      ...(contextId.length <= MAX_ID_LENGTH ? { contextId } : {}),
    });
  }

  #persist(): Persisted {
    return persistedSnapshotOf(this.actor, this.workflowId);
  }

  /** Writes a checkpoint of `snapshot` (`persisted` is its persisted form); see {@link CheckpointWriter}. */
  protected async save(
    snapshot: MachineSnapshot,
    persisted: Persisted | undefined,
    status: WorkflowStatus,
    extra: JsonObject = {},
  ): Promise<void> {
    const { workflow } = this.#deps;
    const final = FINAL_STATUSES.has(status);
    const withPlan =
      workflow.plan.length <= this.#deps.planInCheckpoints || this.writer.seq === 0 || final;
    const completed = new Set(status === 'completed' ? workflow.plan.map((s) => s.stepId) : []);
    await this.writer.write({
      taskId: this.taskId,
      workflow,
      status,
      currentStepIndex: this.#currentIndex,
      currentStepId: this.#currentId,
      completed: withPlan ? completed : undefined,
      waitingFor: status === 'suspended' ? handledEvents(snapshot) : [],
      extra,
      snapshot: persisted,
    });
    this.#savedSnapshot = snapshot;
    if (status === 'suspended') this.#suspendSaved = true;
    this.#changes = 0;
  }
}
