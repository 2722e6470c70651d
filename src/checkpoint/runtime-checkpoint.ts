import type { Snapshot } from 'xstate';
import { assertValidId } from '../ids.js';
import type { JsonObject } from '../json.js';
import {
  assertStorableState,
  type SerializedState,
  type StoredWorkflowState,
  serializeState,
} from './checkpoint-envelope.js';
import type { StoredContexts } from './shared-contexts.js';
import {
  parseWorkflowState,
  planlessStateOf,
  type WorkflowMachineRef,
  type WorkflowStatus,
  type WorkflowStep,
} from './workflow-state.js';

/**
 * A checkpoint as the runtime describes it (internal): a `WorkflowState` whose plan is given as
 * the workflow's plan plus the set of completed steps, so that a plan checked once is not
 * rebuilt, re-checked and re-serialized at every step.
 */
export interface RuntimeCheckpoint {
  readonly taskId: string;
  /** The workflow's plan as defined (shared by all its runs). */
  readonly plan: readonly WorkflowStep[];
  /** Completed step ids (their `isComplete` is `true`), or `undefined` to save `plan: []`. */
  readonly completed: ReadonlySet<string> | undefined;
  readonly status: WorkflowStatus;
  readonly currentStepIndex: number;
  readonly metadata: JsonObject;
  readonly machine: WorkflowMachineRef;
  readonly snapshot: Snapshot<unknown> | undefined;
}

/**
 * A checked checkpoint, ready to be put into an envelope: `stored` is the state without its
 * plan (`plan: []`), normalized by `parseWorkflowState`; `json` has the plan.
 */
export type PreparedState = SerializedState;

/** The JSON of each entry of a checked plan, with `isComplete` false and true. */
interface PlanJson {
  readonly todo: readonly string[];
  readonly done: readonly string[];
  readonly stepIds: readonly string[];
}

/** Plans checked once: only deep-frozen ones (they cannot change afterwards); `false`: not one. */
const checkedPlans = new WeakMap<readonly WorkflowStep[], PlanJson | false>();

/** Whether `value` and everything it holds is frozen (iterative). */
function isDeepFrozen(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const current = stack.pop();
    if (typeof current !== 'object' || current === null) continue;
    if (!Object.isFrozen(current)) return false;
    for (const child of Object.values(current)) stack.push(child);
  }
  return true;
}

/**
 * The serialized entries of a deep-frozen plan, checked (shape and JSON safety, as
 * `saveCheckpoint` checks a plan) the first time it is seen; `undefined` for a plan that is not
 * deep-frozen, which must be checked at every save. Throws like `saveCheckpoint` for a bad plan.
 */
function planJsonOf(plan: readonly WorkflowStep[]): PlanJson | undefined {
  const known = checkedPlans.get(plan);
  if (known !== undefined) return known === false ? undefined : known;
  if (!Array.isArray(plan) || !isDeepFrozen(plan)) {
    if (Array.isArray(plan)) checkedPlans.set(plan, false);
    return undefined;
  }
  const parsed = parseWorkflowState({
    taskId: 'plan',
    plan,
    status: 'pending',
    currentStepIndex: 0,
    metadata: {},
  });
  assertStorableState(parsed);
  const result: PlanJson = {
    todo: parsed.plan.map((step) => JSON.stringify({ ...step, isComplete: false })),
    done: parsed.plan.map((step) => JSON.stringify({ ...step, isComplete: true })),
    stepIds: parsed.plan.map((step) => step.stepId),
  };
  checkedPlans.set(plan, result);
  return result;
}

/**
 * The plan entries of a run: the workflow's plan with `isComplete` set from `completed`
 * (`[]` when `completed` is undefined).
 */
export function planWithCompletion(
  plan: readonly WorkflowStep[],
  completed: ReadonlySet<string> | undefined,
): WorkflowStep[] {
  if (completed === undefined) return [];
  return plan.map((step) => ({ ...step, isComplete: completed.has(step.stepId) }));
}

/**
 * Checks a runtime checkpoint exactly as `saveCheckpoint` checks a `WorkflowState` (shape, JSON
 * safety, ids; typed errors naming the path) and serializes its state (contexts in
 * `storedContexts` named by log entry). The plan of a workflow is deep-frozen: it is checked and
 * serialized once, the first time, and each save only picks every entry's JSON by its
 * `isComplete`. Returns `undefined` for a plan that is not deep-frozen (the caller saves through
 * `saveCheckpoint` then).
 */
export function prepareRuntimeCheckpoint(
  checkpoint: RuntimeCheckpoint,
  storedContexts?: StoredContexts,
): PreparedState | undefined {
  assertValidId('taskId', checkpoint.taskId);
  const { completed } = checkpoint;
  const planJson = completed === undefined ? undefined : planJsonOf(checkpoint.plan);
  if (completed !== undefined && planJson === undefined) return undefined;
  // Everything but the plan is checked as in any state: its shape (directly when every field is
  // of its kind, as the runtime writes them; else parsed, for the typed error), then the JSON
  // safety of the snapshot and metadata, the run's own data, every time.
  const stored: StoredWorkflowState =
    planlessStateOf(checkpoint) ??
    parseWorkflowState({
      taskId: checkpoint.taskId,
      plan: [],
      status: checkpoint.status,
      currentStepIndex: checkpoint.currentStepIndex,
      metadata: checkpoint.metadata,
      machine: checkpoint.machine,
      snapshot: checkpoint.snapshot,
    });
  assertStorableState(stored);
  const serialized = serializeState(stored, storedContexts);
  const { json } = serialized;
  if (planJson === undefined || planJson.todo.length === 0) return serialized;
  // `stored` starts with taskId then plan (parseWorkflowState's order): put the entries there.
  const head = `{"taskId":${JSON.stringify(stored.taskId)},"plan":[`;
  if (!json.startsWith(`${head}]`)) return undefined;
  let entries = '';
  for (let i = 0; i < planJson.todo.length; i++) {
    const done = completed?.has(planJson.stepIds[i] as string) === true;
    entries += `${i === 0 ? '' : ','}${(done ? planJson.done : planJson.todo)[i]}`;
  }
  return { ...serialized, json: `${head}${entries}${json.slice(head.length)}` };
}
