import type { StateValue } from 'xstate';
import type { ParallelStep, Step, WaitForStep } from '../../machines/workflow-types.js';
import type { WorkflowStep } from '../checkpoint/workflow-state.js';

/**
 * Where a workflow is, read from its state value: the phase of every step whose state is active
 * (`running`, `retrying`, `sleeping`, `waiting`, `regions`, or `commit` once it completed).
 * Reading it costs O(active steps), not O(plan).
 */
export interface WorkflowProgress {
  /** Step id → the substate it is in. */
  readonly phases: ReadonlyMap<string, string>;
}

/** What the runtime knows of a workflow's steps, indexed once per workflow. */
export interface StepIndex {
  /** Step id → plan entry. */
  readonly plan: ReadonlyMap<string, WorkflowStep>;
  /** Step id → the step as defined. */
  readonly steps: ReadonlyMap<string, Step>;
  /** The root step list. */
  readonly root: readonly Step[];
  /** Step id → its position in its step list. */
  readonly position: ReadonlyMap<string, number>;
}

/** Indexes a workflow's step tree and plan by step id. */
export function indexSteps(root: readonly Step[], plan: readonly WorkflowStep[]): StepIndex {
  const steps = new Map<string, Step>();
  const position = new Map<string, number>();
  const visit = (list: readonly Step[]): void => {
    for (const [at, step] of list.entries()) {
      steps.set(step.stepId, step);
      position.set(step.stepId, at);
      if (step.parallel !== undefined) {
        for (const region of Object.values(step.parallel)) visit(region);
      }
    }
  };
  visit(root);
  return { plan: new Map(plan.map((entry) => [entry.stepId, entry])), steps, root, position };
}

function markComplete(step: Step, completed: Set<string>): void {
  completed.add(step.stepId);
  if (step.parallel !== undefined) {
    for (const region of Object.values(step.parallel)) {
      for (const inner of region) markComplete(inner, completed);
    }
  }
}

function firstKey(value: StateValue | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string') return value;
  // The first own key, without the array `Object.keys` makes (state values are plain objects).
  for (const key in value) if (Object.hasOwn(value, key)) return key;
  return undefined;
}

/** Walks a step list's state value; `completed` (when given) collects completed steps: O(plan). */
function walkList(
  index: StepIndex,
  list: readonly Step[],
  value: StateValue | undefined,
  phases: Map<string, string>,
  completed: Set<string> | undefined,
): void {
  const active = firstKey(value);
  if (active === undefined) return;
  if (active === 'done') {
    if (completed) for (const step of list) markComplete(step, completed);
    return;
  }
  const at = index.position.get(active) ?? -1;
  const step = list[at];
  if (step === undefined || step.stepId !== active) return;
  if (completed) for (const before of list.slice(0, at)) markComplete(before, completed);
  const inner = typeof value === 'string' ? undefined : value?.[active];
  const phase = firstKey(inner) ?? 'running';
  if (phase === 'commit' || phase === 'done') {
    if (completed) markComplete(step, completed);
    phases.set(step.stepId, 'commit');
    return;
  }
  phases.set(step.stepId, phase);
  const group = step as ParallelStep;
  if (group.parallel !== undefined && typeof inner === 'object') {
    const regions = inner.regions;
    if (typeof regions !== 'object') return;
    for (const [regionId, regionSteps] of Object.entries(group.parallel)) {
      walkList(index, regionSteps, regions[regionId], phases, completed);
    }
  }
}

/** Reads the progress of a workflow from its machine's state value: O(active steps). */
export function readProgress(index: StepIndex, value: StateValue): WorkflowProgress {
  const phases = new Map<string, string>();
  walkList(index, index.root, value, phases, undefined);
  return { phases };
}

/**
 * The completed steps of a workflow at a state value: those before the active step of each
 * list, those at `commit`, and every step of a finished list. O(plan).
 */
export function completedSteps(index: StepIndex, value: StateValue): Set<string> {
  const completed = new Set<string>();
  walkList(index, index.root, value, new Map(), completed);
  return completed;
}

/**
 * The step being (or just) carried out: the active step with the lowest plan index; `undefined`
 * when none is active (the workflow ended).
 */
export function currentStep(
  index: StepIndex,
  progress: WorkflowProgress,
): WorkflowStep | undefined {
  let current: WorkflowStep | undefined;
  for (const stepId of progress.phases.keys()) {
    const entry = index.plan.get(stepId);
    if (entry !== undefined && (current === undefined || entry.stepIndex < current.stepIndex)) {
      current = entry;
    }
  }
  return current;
}

/** The event types of the `waitFor` steps that are waiting now. */
export function awaitedEvents(index: StepIndex, progress: WorkflowProgress): string[] {
  const events: string[] = [];
  for (const [stepId, phase] of progress.phases) {
    const step = index.steps.get(stepId) as WaitForStep | undefined;
    if (phase === 'waiting' && step?.waitFor !== undefined) events.push(step.waitFor.event);
  }
  return events;
}

/** The lane a step runs in (from its plan entry), `'main'` when unknown. */
export function stepLane(index: StepIndex, stepId: string): string {
  const lane = index.plan.get(stepId)?.metadata?.lane;
  return typeof lane === 'string' ? lane : 'main';
}
