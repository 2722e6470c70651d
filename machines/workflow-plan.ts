import type { WorkflowStep } from '../src/checkpoint/workflow-state.js';
import { deepFreeze } from '../src/context/deep-freeze.js';
import { InvalidIdError } from '../src/errors.js';
import { assertValidId } from '../src/ids.js';
import { assertJson, cloneJson } from '../src/json.js';
import { ContextMergeStrategy } from '../src/merger/context-merge-strategy.js';
import { assertKnownKeys, isRecord } from '../src/objects.js';
import { assertAvailableTargets } from '../src/router/available-targets.js';
import { assertTimerDelay } from '../src/timer-delay.js';
import { assertRetryPolicy } from './backoff.js';
import type {
  ParallelStep,
  RoutedStep,
  SleepStep,
  SleepUntilStep,
  Step,
  TaskStep,
  WaitForStep,
} from './workflow-types.js';

/** The merge strategies a group may name. */
const STRATEGIES: ReadonlySet<string> = new Set(Object.values(ContextMergeStrategy));

/** Keys every step may have. */
const BASE_KEYS = ['stepId', 'name', 'description', 'toolName', 'action', 'metadata'];
/** Keys a step of each kind may have (a task step's, with `run` or `route`). */
const STEP_KEYS: Readonly<Record<StepKind, ReadonlySet<string>>> = {
  task: new Set([...BASE_KEYS, 'run', 'route', 'retry', 'timeoutMs', 'onError']),
  parallel: new Set([...BASE_KEYS, 'parallel', 'merge']),
  sleep: new Set([...BASE_KEYS, 'sleep', 'sleepUntil']),
  waitFor: new Set([...BASE_KEYS, 'waitFor']),
};
const ROUTE_KEYS: ReadonlySet<string> = new Set(['availableTargets']);
const MERGE_KEYS: ReadonlySet<string> = new Set(['strategy', 'customMergeFunc', 'contextType']);
const SLEEP_KEYS: ReadonlySet<string> = new Set(['ms']);
const WAIT_FOR_KEYS: ReadonlySet<string> = new Set(['event', 'schema', 'contextType']);

/** The kind of a step, as written in its plan entry's metadata and its state's meta. */
export type StepKind = 'task' | 'parallel' | 'sleep' | 'waitFor';

/** One step of a definition with where it runs, found by id. */
export interface IndexedStep {
  readonly step: Step;
  readonly kind: StepKind;
  readonly planStep: WorkflowStep;
  /** The lane whose context the step reads and replaces. */
  readonly lane: string;
}

/** A checked, flattened definition. */
export interface WorkflowIndex {
  /** Every step in document order (a group before its regions' steps), with `stepIndex`; frozen. */
  readonly plan: readonly WorkflowStep[];
  /** Step id → the step. */
  readonly byId: ReadonlyMap<string, IndexedStep>;
}

/** The lane of the root step list. */
export const MAIN_LANE = 'main';

/** State keys the machine uses beside step ids, at the same level. */
const RESERVED_STEP_IDS = new Set(['done', 'failed']);

/** Step ids and region ids are ids without `.` (XState's state path separator). */
const KEY_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_-]*$/;

/** The lane of a region of a parallel group. */
export function regionLane(groupId: string, regionId: string): string {
  return `${groupId}.${regionId}`;
}

/** The kind of a step; throws `TypeError` unless it is exactly one kind. */
export function stepKind(step: Step): StepKind {
  const kinds: StepKind[] = [];
  if (step.run !== undefined) kinds.push('task');
  if (step.route !== undefined) kinds.push('task'); // a routed task step
  if (step.parallel !== undefined) kinds.push('parallel');
  if (step.sleep !== undefined || step.sleepUntil !== undefined) kinds.push('sleep');
  if (step.waitFor !== undefined) kinds.push('waitFor');
  const [kind] = kinds;
  if (kind === undefined || kinds.length > 1 || (step.sleep && step.sleepUntil)) {
    throw new TypeError(
      `Step ${step.stepId} must have exactly one of run, route, parallel, sleep, sleepUntil, waitFor`,
    );
  }
  return kind;
}

function assertKey(kind: string, id: unknown): asserts id is string {
  assertValidId(kind, id);
  if (!KEY_PATTERN.test(id)) {
    throw new InvalidIdError(kind, id, 'only A-Z a-z 0-9 _ - are allowed (no ".")');
  }
}

/**
 * Checks one step's options; unknown keys (a typo such as `timeout` for `timeoutMs`) are a
 * `TypeError`, in the step and in its option objects alike.
 */
function checkStep(step: Step, kind: StepKind): void {
  assertKnownKeys(step, STEP_KEYS[kind], `Step ${step.stepId}`);
  if (kind === 'task') {
    const task = step as TaskStep | RoutedStep;
    if (task.route !== undefined) {
      if (task.route !== true && !isRecord(task.route as unknown)) {
        throw new TypeError(`Step ${step.stepId}: route must be true or an options object`);
      }
      if (task.route !== true)
        assertKnownKeys(task.route, ROUTE_KEYS, `Step ${step.stepId}: route`);
      const available = task.route === true ? undefined : task.route.availableTargets;
      if (available !== undefined) {
        assertAvailableTargets(available, 'route.availableTargets', `Step ${step.stepId}`);
      }
    } else if (typeof task.run !== 'function')
      throw new TypeError(`Step ${step.stepId}: run must be a function`);
    assertRetryPolicy(step.stepId, task.retry);
    if (task.timeoutMs !== undefined) {
      assertTimerDelay(`Step ${step.stepId}: timeoutMs`, task.timeoutMs, 'no timeout');
    }
    if (task.onError !== undefined && task.onError !== 'fail' && task.onError !== 'continue') {
      throw new TypeError(`Step ${step.stepId}: onError must be 'fail' or 'continue'`);
    }
  } else if (kind === 'sleep') {
    const { sleep } = step as SleepStep;
    const { sleepUntil } = step as SleepUntilStep;
    if (sleep !== undefined) {
      if (!isRecord(sleep as unknown)) {
        throw new TypeError(`Step ${step.stepId}: sleep must be { ms }`);
      }
      assertKnownKeys(sleep, SLEEP_KEYS, `Step ${step.stepId}: sleep`);
    }
    if (sleep !== undefined && !(Number.isFinite(sleep.ms) && sleep.ms >= 0)) {
      throw new TypeError(`Step ${step.stepId}: sleep.ms must be a finite number ≥ 0`);
    }
    if (sleep === undefined && typeof sleepUntil !== 'function') {
      throw new TypeError(`Step ${step.stepId}: sleepUntil must be a function`);
    }
  } else if (kind === 'waitFor') {
    const { waitFor } = step as WaitForStep;
    if (!isRecord(waitFor as unknown)) {
      throw new TypeError(`Step ${step.stepId}: waitFor must be an options object`);
    }
    assertKnownKeys(waitFor, WAIT_FOR_KEYS, `Step ${step.stepId}: waitFor`);
    const { event, contextType, schema } = waitFor;
    assertValidId('event type', event);
    if (contextType !== undefined) assertValidId('context type', contextType);
    if (schema !== undefined && typeof schema['~standard']?.validate !== 'function') {
      throw new TypeError(`Step ${step.stepId}: waitFor.schema must be a Standard Schema`);
    }
    if (/^(xstate|workflow)\./.test(event)) {
      throw new InvalidIdError('event type', event, 'xstate.* and workflow.* are reserved');
    }
  } else {
    const { parallel, merge } = step as ParallelStep;
    if (!isRecord(parallel as unknown)) {
      throw new TypeError(`Group ${step.stepId}: parallel must be an object of regions`);
    }
    if (merge !== undefined) {
      if (!isRecord(merge as unknown))
        throw new TypeError(`Group ${step.stepId}: merge must be an options object`);
      assertKnownKeys(merge, MERGE_KEYS, `Group ${step.stepId}: merge`);
    }
    const regions = Object.keys(parallel);
    if (regions.length === 0) throw new TypeError(`Group ${step.stepId} has no regions`);
    if (merge?.contextType !== undefined) assertValidId('context type', merge.contextType);
    if (merge?.strategy !== undefined && !STRATEGIES.has(merge.strategy)) {
      throw new TypeError(
        `Group ${step.stepId}: merge.strategy must be one of ${[...STRATEGIES].join(', ')}, got ${JSON.stringify(String(merge.strategy))}`,
      );
    }
    if (
      merge?.strategy === ContextMergeStrategy.Custom &&
      typeof merge.customMergeFunc !== 'function'
    ) {
      throw new TypeError(`Group ${step.stepId}: the custom merge strategy needs customMergeFunc`);
    }
    for (const regionId of regions) assertKey('region id', regionId);
  }
}

/**
 * Checks a definition's steps (ids unique in the whole workflow and usable as state keys, one
 * kind per step, sane retry/timeout/sleep values, a routed step's `route.availableTargets` as
 * the router checks a rule's target) and flattens them into the plan. Throws `InvalidIdError`
 * for bad or duplicate ids (target ids included) and `TypeError` for malformed steps.
 */
export function indexWorkflowSteps(steps: readonly Step[]): WorkflowIndex {
  const plan: WorkflowStep[] = [];
  const byId = new Map<string, IndexedStep>();
  const visit = (list: readonly Step[], lane: string, path: string): void => {
    if (!Array.isArray(list)) throw new TypeError(`${path} must be an array of steps`);
    for (const step of list) {
      assertKey('step id', step?.stepId);
      if (RESERVED_STEP_IDS.has(step.stepId)) {
        throw new InvalidIdError('step id', step.stepId, 'it is reserved by the workflow machine');
      }
      if (byId.has(step.stepId)) {
        throw new InvalidIdError('step id', step.stepId, 'another step already uses it');
      }
      const kind = stepKind(step);
      checkStep(step, kind);
      if (step.metadata !== undefined) {
        if (
          typeof step.metadata !== 'object' ||
          step.metadata === null ||
          Array.isArray(step.metadata)
        ) {
          throw new TypeError(`Step ${step.stepId}: metadata must be a JSON object`);
        }
        assertJson(step.metadata, { path: `${step.stepId}.metadata` });
      }
      const planStep: WorkflowStep = {
        stepId: step.stepId,
        name: step.name ?? step.stepId,
        description: step.description ?? '',
        ...(step.toolName !== undefined ? { toolName: step.toolName } : {}),
        action: step.action ?? kind,
        stepIndex: plan.length,
        isComplete: false,
        metadata: { ...cloneJson(step.metadata ?? {}), kind, lane },
      };
      // Shared by every run of the workflow: frozen, so nobody marks it complete by accident.
      plan.push(deepFreeze(planStep));
      byId.set(step.stepId, { step, kind, planStep, lane });
      if (kind === 'parallel') {
        for (const [regionId, regionSteps] of Object.entries((step as ParallelStep).parallel)) {
          visit(regionSteps, regionLane(step.stepId, regionId), `${step.stepId}.${regionId}`);
        }
      }
    }
  };
  visit(steps, MAIN_LANE, 'steps');
  return { plan: Object.freeze(plan), byId };
}
