import { assign, setup } from 'xstate';
import type { Context } from '../src/context/context.js';
import { createContext } from '../src/context/create-context.js';
import { validateWithSchema } from '../src/context/schema-validation.js';
import { isOrchestrationError, type ValidationIssue } from '../src/errors.js';
import { MAX_ID_LENGTH } from '../src/ids.js';
import { assertJson, type JsonObject, type JsonValue } from '../src/json.js';
import { ContextMergeStrategy } from '../src/merger/context-merge-strategy.js';
import { mergeContextData } from '../src/merger/merge-context-data.js';
import { backoffDelay } from './backoff.js';
import { type RouteStepOutput, routeStepWithoutRouter } from './router/route-step.js';
import { createRunStep } from './run-step.js';
import { sleepUntil } from './sleep-until.js';
import type { IndexedStep, WorkflowIndex } from './workflow-plan.js';
import type {
  ParallelStep,
  RoutedStep,
  SleepStep,
  SleepUntilStep,
  StepFailure,
  TaskStep,
  WaitForStep,
  WorkflowEvent,
  WorkflowInput,
  WorkflowMachineContext,
  WorkflowOutput,
  WorkflowTag,
} from './workflow-types.js';

type Ctx = WorkflowMachineContext;

/** A context id derived from the task and step ids, kept within the id rules. */
export function derivedContextId(taskId: string, stepId: string, suffix: string): string {
  return `${taskId}.${stepId}.${suffix}`.slice(-MAX_ID_LENGTH).replace(/^[.-]/, '_');
}

/** The JSON description of an error thrown by a step (or a merge). */
export function describeFailure(stepId: string, error: unknown, attempts: number): StepFailure {
  const failure = { stepId, attempts };
  if (!(error instanceof Error)) return { ...failure, message: String(error), name: 'Error' };
  const code = isOrchestrationError(error) ? { code: error.code } : {};
  return { ...failure, message: error.message, name: error.name, ...code };
}

function failureData(failure: StepFailure): JsonObject {
  const data: JsonObject = {
    stepId: failure.stepId,
    message: failure.message,
    name: failure.name,
    attempts: failure.attempts,
  };
  if (failure.code !== undefined) data.code = failure.code;
  return data;
}

/**
 * `record` without `key` (so finished steps leave nothing behind in context): a copy, or `record`
 * itself when it has no such key (most steps have no deadline to forget).
 */
function without<T>(record: Readonly<Record<string, T>>, key: string): Readonly<Record<string, T>> {
  if (!Object.hasOwn(record, key)) return record;
  const { [key]: _removed, ...rest } = record;
  return rest;
}

/** Reads a field of a done/error event, which the machine's event type does not describe. */
function eventField(event: WorkflowEvent, key: 'output' | 'error' | 'data'): unknown {
  return (event as unknown as Record<string, unknown>)[key];
}

function laneContext(context: Ctx, lane: string): Context {
  const current = context.lanes[lane];
  if (current === undefined) throw new Error(`Workflow ${context.taskId} has no lane ${lane}`);
  return current;
}

/**
 * What {@link checkEventData} found: the data as the step's context takes it, or why it was
 * refused (`cause`: the schema's `ContextValidationError`, or the `NonJsonValueError` or
 * `DepthLimitError` of an output JSON cannot carry).
 */
export type CheckedEventData =
  | { readonly ok: true; readonly value: JsonValue }
  | { readonly ok: false; readonly issues: readonly ValidationIssue[]; readonly cause: unknown };

/**
 * Checks the data of an event for a `waitFor` step (schema, then JSON); issue paths start at
 * `path`. An event without `data` (a bare approval, say) carries `null`: the schema, if any,
 * still sees `undefined`, and what it accepts as undefined becomes `null` too. The runtime's
 * `send` runs it again, with `path` `$.data`, to say why it refused an event.
 * @internal
 */
export function checkEventData(step: WaitForStep, data: unknown, path = '$'): CheckedEventData {
  let value: unknown = data;
  const schema = step.waitFor.schema;
  if (schema !== undefined) {
    try {
      value = validateWithSchema(
        step.waitFor.contextType ?? step.waitFor.event,
        schema,
        data,
        path,
      );
    } catch (error) {
      if (isOrchestrationError(error, 'CONTEXT_VALIDATION')) {
        return { ok: false, issues: error.issues, cause: error };
      }
      throw error;
    }
  }
  if (value === undefined) value = null;
  try {
    assertJson(value, { path });
  } catch (error) {
    // A NonJsonValueError or DepthLimitError names where; anything else (a getter that threw)
    // refuses the data as well.
    const where = error instanceof Error ? (error as { path?: unknown }).path : undefined;
    const reason = error instanceof Error ? error.message : String(error);
    const issue = {
      path: typeof where === 'string' ? where : path,
      message: `the schema's output is not JSON (${reason})`,
    };
    return { ok: false, issues: [issue], cause: error };
  }
  return { ok: true, value };
}

/** {@link checkEventData} for an event of the step's type; `undefined` for another type. */
function validateEventData(step: WaitForStep, event: WorkflowEvent): CheckedEventData | undefined {
  if (event.type !== step.waitFor.event) return undefined;
  return checkEventData(step, eventField(event, 'data'));
}

/** Stops a definition mistake (a step id used with the wrong kind) at the first use. */
function indexed<K extends IndexedStep['kind']>(index: WorkflowIndex, stepId: string, kind: K) {
  const found = index.byId.get(stepId);
  if (found === undefined || found.kind !== kind) {
    throw new Error(`The workflow has no ${kind} step ${JSON.stringify(stepId)}`);
  }
  return found;
}

function sleepDeadline(step: SleepStep | SleepUntilStep, context: Context): number {
  if (step.sleep !== undefined) return Date.now() + step.sleep.ms;
  const computed = (step as SleepUntilStep).sleepUntil(context);
  if (!Number.isFinite(computed)) {
    throw new TypeError(`sleepUntil of step ${step.stepId} returned ${computed}, not a time`);
  }
  return computed;
}

/**
 * The `setup(...)` of a workflow's machine: its two actors (`runStep`, `sleepUntil`), guards and
 * actions, all registered by name so that persisted snapshots restore (the machine config refers
 * to them by name with JSON params such as `{ stepId, lane }`).
 */
export function createWorkflowSetup(index: WorkflowIndex) {
  const task = (stepId: string) => indexed(index, stepId, 'task').step as TaskStep;
  const group = (stepId: string) => indexed(index, stepId, 'parallel').step as ParallelStep;
  const waiter = (stepId: string) => indexed(index, stepId, 'waitFor').step as WaitForStep;
  const runStep = createRunStep((stepId) => {
    const found = index.byId.get(stepId);
    if (found === undefined || found.kind !== 'task') return undefined;
    return { step: found.step as TaskStep | RoutedStep, planStep: found.planStep };
  });

  return setup({
    types: {
      context: {} as Ctx,
      input: {} as WorkflowInput,
      events: {} as WorkflowEvent,
      output: {} as WorkflowOutput,
      tags: {} as WorkflowTag,
    },
    actors: { runStep, sleepUntil, routeStep: routeStepWithoutRouter },
    guards: {
      /** Whether the failed attempt of a task step has attempts left. */
      canRetry: ({ context }, params: { stepId: string }) =>
        (context.attempts[params.stepId] ?? 1) < (task(params.stepId).retry?.attempts ?? 1),
      /** Commit gates pass straight through when the runtime does not gate them. */
      isUngated: ({ context }) => !context.gated,
      /** A merge or a deadline computation failed: go to `failed`. */
      hasFailed: ({ context }) => context.error !== undefined,
      /** The event of a `waitFor` step carries valid data. */
      acceptsEvent: ({ event }, params: { stepId: string }) =>
        validateEventData(waiter(params.stepId), event)?.ok === true,
    },
    actions: {
      beginAttempt: assign(({ context }, params: { stepId: string }) => ({
        attempts: {
          ...context.attempts,
          [params.stepId]: (context.attempts[params.stepId] ?? 0) + 1,
        },
        deadlines: without(context.deadlines, params.stepId),
      })),
      completeStep: assign(({ context, event }, params: { stepId: string; lane: string }) => ({
        // Only runStep ends a task step, and it resolves with a context checked by parseContext.
        lanes: { ...context.lanes, [params.lane]: eventField(event, 'output') as Context },
        attempts: without(context.attempts, params.stepId),
        deadlines: without(context.deadlines, params.stepId),
      })),
      recordRoute: assign(({ context, event }, params: { stepId: string; lane: string }) => {
        // Only routeStep ends the routing state, with a RouteStepOutput.
        const { target, ruleId, reason } = eventField(event, 'output') as RouteStepOutput;
        const contextId = laneContext(context, params.lane).contextId;
        const route = { target: { ...target }, ruleId, reason, contextId };
        return { routes: { ...context.routes, [params.stepId]: route } };
      }),
      forgetRoute: assign(({ context }, params: { stepId: string }) =>
        context.routes?.[params.stepId] === undefined
          ? {}
          : { routes: without(context.routes, params.stepId) },
      ),
      scheduleRetry: assign(({ context }, params: { stepId: string }) => {
        const failed = context.attempts[params.stepId] ?? 1;
        const delay = backoffDelay(task(params.stepId).retry?.backoff, failed);
        return { deadlines: { ...context.deadlines, [params.stepId]: Date.now() + delay } };
      }),
      continueAfterError: assign(({ context, event }, params: { stepId: string; lane: string }) => {
        const attempts = context.attempts[params.stepId] ?? 1;
        const failure = describeFailure(params.stepId, eventField(event, 'error'), attempts);
        const errorContext = createContext('StepError', failureData(failure), {
          contextId: derivedContextId(context.taskId, params.stepId, 'error'),
          metadata: { stepId: params.stepId, from: laneContext(context, params.lane).contextId },
        });
        return {
          lanes: { ...context.lanes, [params.lane]: errorContext },
          attempts: without(context.attempts, params.stepId),
          deadlines: without(context.deadlines, params.stepId),
        };
      }),
      failStep: assign(({ context, event }, params: { stepId: string }) => ({
        error: describeFailure(
          params.stepId,
          eventField(event, 'error'),
          context.attempts[params.stepId] ?? 1,
        ),
        attempts: without(context.attempts, params.stepId),
        deadlines: without(context.deadlines, params.stepId),
      })),
      startSleep: assign(({ context }, params: { stepId: string; lane: string }) => {
        const step = indexed(index, params.stepId, 'sleep').step as SleepStep | SleepUntilStep;
        try {
          const until = sleepDeadline(step, laneContext(context, params.lane));
          return { deadlines: { ...context.deadlines, [params.stepId]: until } };
        } catch (error) {
          return { error: describeFailure(params.stepId, error, 1) };
        }
      }),
      endSleep: assign(({ context }, params: { stepId: string }) => ({
        deadlines: without(context.deadlines, params.stepId),
      })),
      forkLanes: assign(({ context }, params: { from: string; lanes: string[] }) => {
        const input = laneContext(context, params.from);
        const lanes = { ...context.lanes };
        for (const lane of params.lanes) lanes[lane] = input;
        return { lanes };
      }),
      mergeLanes: assign(
        ({ context }, params: { stepId: string; into: string; lanes: string[] }) => {
          const merge = group(params.stepId).merge;
          const strategy = merge?.strategy ?? ContextMergeStrategy.RecursiveDictMerge;
          const lanes: Record<string, Context> = { ...context.lanes };
          for (const lane of params.lanes) delete lanes[lane];
          try {
            const regions = params.lanes.map((lane) => laneContext(context, lane));
            const data = mergeContextData(
              regions.map((region) => region.data),
              {
                strategy,
                customMergeFunc: merge?.customMergeFunc,
                // The group's lanes are its regions, in order (see groupState).
                inputNames: Object.keys(group(params.stepId).parallel).map((id) => `region ${id}`),
              },
            );
            const merged = createContext(
              merge?.contextType ?? laneContext(context, params.into).contextType,
              data,
              {
                contextId: derivedContextId(context.taskId, params.stepId, 'merged'),
                metadata: {
                  stepId: params.stepId,
                  mergeStrategy: strategy,
                  mergedFrom: regions.map((region) => region.contextId),
                },
              },
            );
            return { lanes: { ...lanes, [params.into]: merged } };
          } catch (error) {
            return { lanes, error: describeFailure(params.stepId, error, 1) };
          }
        },
      ),
      acceptEvent: assign(({ context, event }, params: { stepId: string; lane: string }) => {
        const step = waiter(params.stepId);
        const checked = validateEventData(step, event);
        if (!checked?.ok) return {}; // unreachable: the guard ran the same check
        const next = createContext(step.waitFor.contextType ?? step.waitFor.event, checked.value, {
          contextId: derivedContextId(context.taskId, params.stepId, 'event'),
          metadata: {
            stepId: params.stepId,
            event: event.type,
            from: laneContext(context, params.lane).contextId,
          },
        });
        return { lanes: { ...context.lanes, [params.lane]: next } };
      }),
    },
  });
}

/** The setup of a workflow machine (its types, actors, guards and actions). */
export type WorkflowSetup = ReturnType<typeof createWorkflowSetup>;
