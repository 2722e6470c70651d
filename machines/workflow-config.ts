import type { JsonObject } from '../src/json.js';
import { type IndexedStep, regionLane, type WorkflowIndex } from './workflow-plan.js';
import type {
  ParallelStep,
  RoutedStep,
  SleepStep,
  Step,
  TaskStep,
  WaitForStep,
  WorkflowMachineContext,
  WorkflowTag,
} from './workflow-types.js';

/** A named action or guard with JSON params, as written in the machine config. */
interface NamedRef {
  readonly type: string;
  readonly params?: JsonObject;
}

interface TransitionConfig {
  readonly target: string;
  readonly guard?: string | NamedRef;
  readonly actions?: NamedRef;
}

interface InvokeConfig {
  readonly id: string;
  readonly src: 'runStep' | 'sleepUntil' | 'routeStep';
  readonly input: (args: { context: WorkflowMachineContext }) => unknown;
  readonly onDone: TransitionConfig;
  readonly onError?: readonly TransitionConfig[];
}

/** The subset of XState's state node config the builder writes. */
export interface WorkflowStateConfig {
  readonly id?: string;
  readonly type?: 'parallel' | 'final';
  readonly description?: string;
  readonly meta?: JsonObject;
  readonly tags?: readonly WorkflowTag[];
  readonly initial?: string;
  readonly states?: Record<string, WorkflowStateConfig>;
  readonly entry?: NamedRef;
  readonly exit?: NamedRef;
  readonly invoke?: InvokeConfig;
  readonly always?: readonly TransitionConfig[];
  readonly on?: Record<string, TransitionConfig>;
  readonly onDone?: TransitionConfig;
}

/** State id of the top-level `failed` state (ids without `.` are safe as `#` targets). */
export const FAILED_STATE_ID = 'failed';
/**
 * The tag of a state waiting for a deadline it set in `context.deadlines` (a durable sleep, a
 * retry's backoff). The runtime checkpoints a snapshot with a deadline it has not saved yet, so
 * that a restore waits for the same deadline rather than starting the wait (or the failed attempt)
 * over.
 */
export const TIMER_TAG: WorkflowTag = 'timer';
const FAILED = `#${FAILED_STATE_ID}`;

const DONE: WorkflowStateConfig = { type: 'final', description: 'The step has completed.' };

/**
 * The commit gate entered after a step (or a group merge) completes. Tagged `checkpoint`; passes
 * straight through unless the machine is gated, then waits for `workflow.committed`.
 */
function commitState(checkFailure: boolean): WorkflowStateConfig {
  const always: TransitionConfig[] = [{ guard: 'isUngated', target: 'done' }];
  if (checkFailure) always.unshift({ guard: 'hasFailed', target: FAILED });
  return {
    description:
      'Commit gate: the step is complete. When gated, waits for workflow.committed (the checkpoint holding this completion was saved).',
    tags: ['checkpoint'],
    always,
    on: { 'workflow.committed': { target: 'done' } },
  };
}

function stepMeta(entry: IndexedStep, details: JsonObject): JsonObject {
  const { planStep } = entry;
  return {
    step: {
      stepId: planStep.stepId,
      name: planStep.name,
      description: planStep.description ?? '',
      stepIndex: planStep.stepIndex,
      kind: entry.kind,
      lane: entry.lane,
      ...details,
    },
  };
}

function describeStep(entry: IndexedStep): string {
  const { name, description } = entry.planStep;
  return description ? `${name}: ${description}` : name;
}

/**
 * The states a routed step goes through before its first attempt: `routing` asks the router
 * where the lane's context goes (`routeStep`), `routed` is a commit gate, so the decision is
 * checkpointed before the target runs and a restored workflow never routes the context again.
 */
function routingStates(stepId: string, lane: string): Record<string, WorkflowStateConfig> {
  return {
    routing: {
      description: 'Asks the router where the context goes (routeStep).',
      invoke: {
        id: `routeStep.${stepId}`,
        src: 'routeStep',
        input: ({ context }) => ({ taskId: context.taskId, stepId, context: context.lanes[lane] }),
        onDone: { target: 'routed', actions: { type: 'recordRoute', params: { stepId, lane } } },
        onError: [{ target: FAILED, actions: { type: 'failStep', params: { stepId } } }],
      },
    },
    routed: {
      description:
        'Commit gate: the route is decided. When gated, waits for workflow.committed (the checkpoint holding the decision was saved).',
      tags: ['checkpoint'],
      always: [{ guard: 'isUngated', target: 'running' }],
      on: { 'workflow.committed': { target: 'running' } },
    },
  };
}

function taskState(entry: IndexedStep, onDone: string): WorkflowStateConfig {
  const step = entry.step as TaskStep | RoutedStep;
  const routed = step.route !== undefined;
  const { stepId } = step;
  const { lane } = entry;
  const onError = step.onError ?? 'fail';
  const details: JsonObject = { attempts: step.retry?.attempts ?? 1, onError };
  // `Infinity` (no timeout) is not JSON: left out, as no timeout is.
  if (Number.isFinite(step.timeoutMs)) details.timeoutMs = step.timeoutMs as number;
  if (step.retry?.backoff !== undefined) details.backoff = { ...step.retry.backoff };
  const giveUp: TransitionConfig =
    onError === 'continue'
      ? { target: 'commit', actions: { type: 'continueAfterError', params: { stepId, lane } } }
      : { target: FAILED, actions: { type: 'failStep', params: { stepId } } };
  if (routed) details.routed = true;
  return {
    description: describeStep(entry),
    meta: stepMeta(entry, details),
    initial: routed ? 'routing' : 'running',
    ...(routed ? { exit: { type: 'forgetRoute', params: { stepId } } } : {}),
    states: {
      ...(routed ? routingStates(stepId, lane) : {}),
      running: {
        description: 'Runs one attempt (runStep), keyed taskId:stepId:attempt.',
        entry: { type: 'beginAttempt', params: { stepId } },
        invoke: {
          id: `runStep.${stepId}`,
          src: 'runStep',
          input: ({ context }) => ({
            taskId: context.taskId,
            stepId,
            attempt: context.attempts[stepId] ?? 1,
            context: context.lanes[lane],
            ...(routed ? { route: context.routes?.[stepId]?.target } : {}),
          }),
          onDone: { target: 'commit', actions: { type: 'completeStep', params: { stepId, lane } } },
          onError: [
            {
              guard: { type: 'canRetry', params: { stepId } },
              target: 'retrying',
              actions: { type: 'scheduleRetry', params: { stepId } },
            },
            giveUp,
          ],
        },
      },
      retrying: {
        description: 'Waits until the backoff deadline (a durable timer), then retries.',
        tags: [TIMER_TAG],
        invoke: {
          id: `sleepUntil.${stepId}`,
          src: 'sleepUntil',
          input: ({ context }) => ({ until: context.deadlines[stepId] ?? 0 }),
          onDone: { target: 'running' },
        },
      },
      commit: commitState(false),
      done: DONE,
    },
    onDone: { target: onDone },
  };
}

function sleepState(entry: IndexedStep, onDone: string): WorkflowStateConfig {
  const step = entry.step as SleepStep;
  const { stepId } = step;
  const details: JsonObject = step.sleep ? { ms: step.sleep.ms } : { until: 'computed' };
  return {
    description: describeStep(entry),
    meta: stepMeta(entry, details),
    initial: 'sleeping',
    states: {
      sleeping: {
        description: 'Waits until the deadline set on entry (a durable timer).',
        tags: [TIMER_TAG],
        entry: { type: 'startSleep', params: { stepId, lane: entry.lane } },
        always: [{ guard: 'hasFailed', target: FAILED }],
        invoke: {
          id: `sleepUntil.${stepId}`,
          src: 'sleepUntil',
          input: ({ context }) => ({ until: context.deadlines[stepId] ?? 0 }),
          onDone: { target: 'commit', actions: { type: 'endSleep', params: { stepId } } },
        },
      },
      commit: commitState(false),
      done: DONE,
    },
    onDone: { target: onDone },
  };
}

function waitForState(entry: IndexedStep, onDone: string): WorkflowStateConfig {
  const step = entry.step as WaitForStep;
  const { stepId } = step;
  const { event, contextType, schema } = step.waitFor;
  const details: JsonObject = { event, validated: schema !== undefined };
  if (contextType !== undefined) details.contextType = contextType;
  return {
    description: describeStep(entry),
    meta: stepMeta(entry, details),
    initial: 'waiting',
    states: {
      waiting: {
        description: `Suspended until a valid ${event} event arrives.`,
        tags: ['suspended'],
        on: {
          [event]: {
            guard: { type: 'acceptsEvent', params: { stepId } },
            target: 'commit',
            actions: { type: 'acceptEvent', params: { stepId, lane: entry.lane } },
          },
        },
      },
      commit: commitState(false),
      done: DONE,
    },
    onDone: { target: onDone },
  };
}

function groupState(entry: IndexedStep, index: WorkflowIndex, onDone: string): WorkflowStateConfig {
  const step = entry.step as ParallelStep;
  const { stepId } = step;
  const regionIds = Object.keys(step.parallel);
  const lanes = regionIds.map((regionId) => regionLane(stepId, regionId));
  const regions: Record<string, WorkflowStateConfig> = {};
  for (const regionId of regionIds) {
    regions[regionId] = {
      description: `Region ${regionId} (lane ${regionLane(stepId, regionId)})`,
      ...stepListStates(step.parallel[regionId] ?? [], index),
    };
  }
  const merge = step.merge;
  const details: JsonObject = { regions: regionIds, strategy: merge?.strategy ?? 'default' };
  if (merge?.contextType !== undefined) details.contextType = merge.contextType;
  return {
    description: describeStep(entry),
    meta: stepMeta(entry, details),
    initial: 'regions',
    states: {
      regions: {
        type: 'parallel',
        description:
          'Runs the regions concurrently, each from the group input; merges when all are done.',
        entry: { type: 'forkLanes', params: { from: entry.lane, lanes } },
        states: regions,
        onDone: {
          target: 'commit',
          actions: { type: 'mergeLanes', params: { stepId, into: entry.lane, lanes } },
        },
      },
      commit: commitState(true),
      done: DONE,
    },
    onDone: { target: onDone },
  };
}

/**
 * The `initial` and `states` of a step list: one state per step, keyed by step id, each going to
 * the next on completion, the last to `done` (a final state).
 */
export function stepListStates(
  steps: readonly Step[],
  index: WorkflowIndex,
): { initial: string; states: Record<string, WorkflowStateConfig> } {
  const states: Record<string, WorkflowStateConfig> = {};
  steps.forEach((step, i) => {
    const entry = index.byId.get(step.stepId);
    if (entry === undefined) throw new Error(`Step ${step.stepId} is not indexed`);
    const next = steps[i + 1]?.stepId ?? 'done';
    if (entry.kind === 'task') states[step.stepId] = taskState(entry, next);
    else if (entry.kind === 'sleep') states[step.stepId] = sleepState(entry, next);
    else if (entry.kind === 'waitFor') states[step.stepId] = waitForState(entry, next);
    else states[step.stepId] = groupState(entry, index, next);
  });
  states.done = { type: 'final', description: 'Every step of this lane has completed.' };
  return { initial: steps[0]?.stepId ?? 'done', states };
}
