import type { StateValue } from 'xstate';
import type { StepRoute } from '../../machines/workflow-types.js';
import type { Context } from '../context/context.js';
import type { ContextFlowManager } from '../flow/context-flow-manager.js';
import { LaneLineage } from './lane-lineage.js';
import type { RuntimeEvent } from './runtime-types.js';
import {
  awaitedEvents,
  completedSteps,
  currentStep,
  readProgress,
  type StepIndex,
  type WorkflowProgress,
} from './workflow-progress.js';

/** What the tracker reads of a workflow snapshot. */
export interface TrackedSnapshot {
  readonly status: string;
  readonly value: StateValue;
  readonly context: {
    readonly lanes: Readonly<Record<string, Context>>;
    readonly routes?: Readonly<Record<string, StepRoute>>;
  };
}

/**
 * Follows a run's snapshots (internal to the runtime): which steps are active, which one is
 * current, step started/completed events, and the lineage of every new lane context.
 */
export class RunTracker {
  readonly #taskId: string;
  readonly #index: StepIndex;
  readonly #lanes: LaneLineage;
  readonly #emit: (event: RuntimeEvent) => void;
  #progress: WorkflowProgress = { phases: new Map() };
  /** The state value of the last active snapshot (what `isComplete` is read from). */
  #lastValue: StateValue = {};
  /** Plan index and id of the step being (or last) carried out. */
  currentIndex = 0;
  currentId: string | undefined;

  constructor(
    taskId: string,
    index: StepIndex,
    lineage: ContextFlowManager,
    emit: (event: RuntimeEvent) => void,
  ) {
    this.#taskId = taskId;
    this.#index = index;
    this.#lanes = new LaneLineage(lineage, index);
    this.#emit = emit;
  }

  /** A new run: logs its input (see {@link LaneLineage.begin}) before its first snapshot. */
  begin(input: Context): void {
    this.#lanes.begin(input);
  }

  /** Takes a restored snapshot as the starting point, without events or lineage. */
  seed(snapshot: TrackedSnapshot): void {
    this.#progress = readProgress(this.#index, snapshot.value);
    this.#lastValue = snapshot.value;
    this.#lanes.seed(snapshot.context.lanes);
    this.#setCurrent();
  }

  /** Reads a new snapshot: emits step events, logs new contexts, moves the current step. */
  observe(snapshot: TrackedSnapshot): void {
    const progress = readProgress(this.#index, snapshot.value);
    const before = this.#progress;
    this.#progress = progress;
    if (snapshot.status === 'active') this.#lastValue = snapshot.value;
    for (const [stepId, phase] of progress.phases) {
      const was = before.phases.get(stepId);
      if (was === undefined && phase !== 'commit') this.#step('step.started', stepId);
      if (phase === 'commit' && was !== 'commit') this.#step('step.completed', stepId);
    }
    this.#lanes.observe(snapshot.context.lanes, progress, snapshot.context.routes);
    this.#setCurrent();
  }

  /**
   * Emits `step.started` for each step of the seeded snapshot that is active and not yet at its
   * commit gate: a restored run takes them up again in this process (a step in flight runs
   * again, a wait or a sleep goes on), so its subscribers hear each start before it completes.
   */
  announceSeeded(): void {
    for (const [stepId, phase] of this.#progress.phases) {
      if (phase !== 'commit') this.#step('step.started', stepId);
    }
  }

  #step(type: 'step.started' | 'step.completed', stepId: string): void {
    const stepIndex = this.#index.plan.get(stepId)?.stepIndex ?? -1;
    this.#emit({ type, taskId: this.#taskId, stepId, stepIndex });
  }

  /** Makes the failed step the current one. */
  failedAt(stepId: string): void {
    this.currentIndex = this.#index.plan.get(stepId)?.stepIndex ?? this.currentIndex;
    this.currentId = stepId;
  }

  /** Event types the waiting steps wait for. */
  waitingFor(): string[] {
    return awaitedEvents(this.#index, this.#progress);
  }

  /** Completed steps as of the last active snapshot. O(plan). */
  completed(): Set<string> {
    return completedSteps(this.#index, this.#lastValue);
  }

  #setCurrent(): void {
    const step = currentStep(this.#index, this.#progress);
    if (step !== undefined) {
      this.currentIndex = step.stepIndex;
      this.currentId = step.stepId;
    }
  }
}
