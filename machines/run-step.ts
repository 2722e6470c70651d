import { fromPromise } from 'xstate';
import type { WorkflowStep } from '../src/checkpoint/workflow-state.js';
import type { Context } from '../src/context/context.js';
import { parseContext } from '../src/context/parse-context.js';
import { NoRouterError, StepTimeoutError } from '../src/errors.js';
import type { RoutingTarget } from '../src/router/routing-target.js';
import type { RoutedStep, StepHelpers, TaskStep } from './workflow-types.js';

/**
 * Input of the `runStep` actor: small JSON, persisted with the snapshot while the attempt is in
 * flight (so a restored actor re-runs the same attempt with the same idempotency key).
 */
export interface RunStepInput {
  readonly taskId: string;
  readonly stepId: string;
  /** 1 for the first attempt. */
  readonly attempt: number;
  /** The lane's current context, handed to the step's `run`. */
  readonly context: Context;
  /** For a routed step: the target decided when the step was entered. */
  readonly route?: RoutingTarget;
}

/** Finds a task step (and its plan entry) by step id; `undefined` when there is none. */
export type TaskStepLookup = (
  stepId: string,
) => { readonly step: TaskStep | RoutedStep; readonly planStep: WorkflowStep } | undefined;

/** The idempotency key of one attempt: `${taskId}:${stepId}:${attempt}`. */
export function idempotencyKey(taskId: string, stepId: string, attempt: number): string {
  return `${taskId}:${stepId}:${attempt}`;
}

function helpersOf(input: RunStepInput, signal: AbortSignal): StepHelpers {
  return {
    taskId: input.taskId,
    stepId: input.stepId,
    attempt: input.attempt,
    idempotencyKey: idempotencyKey(input.taskId, input.stepId, input.attempt),
    signal,
  };
}

/**
 * Runs one attempt of a task step: calls `step.run` with the helpers, enforces `timeoutMs` (the
 * helpers' signal is aborted and the attempt rejects with `StepTimeoutError`), and checks that
 * the result is a well-formed context with JSON data (`parseContext`: a frozen copy is returned,
 * a bad value rejects with `ContextValidationError` or `NonJsonValueError`). `signal` (the
 * actor's own) aborts the helpers' signal too, e.g. when the workflow is stopped; a step without
 * a timeout gets `signal` itself as the helpers' signal.
 */
export async function runStepAttempt(
  step: Pick<TaskStep, 'run' | 'timeoutMs'>,
  planStep: WorkflowStep,
  input: RunStepInput,
  signal?: AbortSignal,
): Promise<Context> {
  // `Infinity` is no timeout; `defineWorkflow` refuses a delay a timer cannot take (2^31 ms on).
  const timeoutMs = step.timeoutMs === Number.POSITIVE_INFINITY ? undefined : step.timeoutMs;
  if (timeoutMs === undefined && signal !== undefined) {
    // Nothing of its own to abort: the step gets the actor's signal (no controller, no listener).
    const helpers = helpersOf(input, signal);
    return parseContext(
      await Promise.resolve().then(() => step.run(input.context, planStep, helpers)),
    );
  }
  const controller = new AbortController();
  const forward = () => controller.abort(signal?.reason);
  if (signal?.aborted) forward();
  else signal?.addEventListener('abort', forward, { once: true });
  const helpers = helpersOf(input, controller.signal);
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const work = Promise.resolve().then(() => step.run(input.context, planStep, helpers));
    const result =
      timeoutMs === undefined
        ? await work
        : await Promise.race([
            work,
            new Promise<never>((_, reject) => {
              timer = setTimeout(() => {
                const error = new StepTimeoutError(input.stepId, timeoutMs);
                controller.abort(error);
                reject(error);
              }, timeoutMs);
            }),
          ]);
    return parseContext(result);
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', forward);
  }
}

/**
 * The `runStep` actor logic of a workflow: one promise actor, registered by name, that looks up
 * the step by id and runs one attempt ({@link runStepAttempt}). Unknown step ids reject; so
 * does a routed step (`NoRouterError`) unless routing is provided (`withRouting`).
 */
export function createRunStep(lookup: TaskStepLookup) {
  return fromPromise<Context, RunStepInput>(({ input, signal }) => {
    const found = lookup(input.stepId);
    if (found === undefined) {
      return Promise.reject(new Error(`No task step ${JSON.stringify(input.stepId)}`));
    }
    const { step } = found;
    if (step.run === undefined) return Promise.reject(new NoRouterError(input.stepId));
    return runStepAttempt(step, found.planStep, input, signal);
  });
}
