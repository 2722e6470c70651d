import { fromPromise } from 'xstate';
import type { WorkflowStep } from '../../src/checkpoint/workflow-state.js';
import type { Context } from '../../src/context/context.js';
import { NoRouteError, NoRouterError } from '../../src/errors.js';
import type { AvailableTarget } from '../../src/router/routing-rule.js';
import type { RoutingTarget } from '../../src/router/routing-target.js';
import type { Workflow, WorkflowMachine } from '../define-workflow.js';
import { type RunStepInput, runStepAttempt } from '../run-step.js';
import type { RoutedStep, Step, StepHelpers, TaskStep } from '../workflow-types.js';
import type { RouteStepInput, RouteStepOutput } from './route-step.js';
import type { RouterHandle } from './start-router.js';
import type { TargetAddress } from './target-types.js';

/**
 * What decides where a routed step's context goes: a `ContextRouter` (its `route` throws
 * `NoRouteError` when nothing matches).
 */
export interface RouteDecider {
  route(
    context: Context,
    options?: { readonly availableTargets?: readonly (string | TargetAddress)[] },
  ): { readonly target: RoutingTarget; readonly ruleId: string; readonly reason: string };
}

/** What {@link withRouting} takes. */
export interface RoutingOptions {
  /** Decides where each routed step's context goes (a `ContextRouter`). */
  readonly router: RouteDecider;
  /** Runs the context on the chosen target: a router actor (`startRouter({ targets })`). */
  readonly targets: RouterHandle;
}

type TaskLike = TaskStep | RoutedStep;

/** Task and routed steps by id, with their plan entries. */
function taskSteps(workflow: Pick<Workflow, 'steps' | 'plan'>) {
  const plan = new Map(workflow.plan.map((entry) => [entry.stepId, entry]));
  const found = new Map<string, { step: TaskLike; planStep: WorkflowStep }>();
  const visit = (steps: readonly Step[]) => {
    for (const step of steps) {
      if (step.parallel !== undefined) {
        for (const region of Object.values(step.parallel)) visit(region);
      }
      const planStep = plan.get(step.stepId);
      if ((step.run !== undefined || step.route !== undefined) && planStep !== undefined) {
        found.set(step.stepId, { step: step as TaskLike, planStep });
      }
    }
  };
  visit(workflow.steps);
  return found;
}

/** Where a routed step may go: the runtime's targets its `route.availableTargets` names. */
interface StepTargets {
  /** What the router is given: frozen, typed entries (read once by the router's cache). */
  readonly available: readonly AvailableTarget[];
  /** The entries of `route.availableTargets` that name no target the runtime registers. */
  readonly unregistered: readonly AvailableTarget[];
}

/**
 * The entries of `chosen` that name a target of `registered`, as `{ targetType, targetId }`: a
 * typed entry if that target is registered, a bare id as every registered target with that id
 * (of any type). So a rule whose target the runtime does not have falls through to the next,
 * as with `route: true`; an empty result leaves no rule available (`NoRouteError`).
 */
function registeredAmong(
  chosen: readonly AvailableTarget[],
  registered: readonly TargetAddress[],
): StepTargets {
  const available: AvailableTarget[] = [];
  const unregistered: AvailableTarget[] = [];
  const seen = new Set<string>();
  for (const entry of chosen) {
    const matches = registered.filter((target) =>
      typeof entry === 'string'
        ? target.targetId === entry
        : target.targetType === entry.targetType && target.targetId === entry.targetId,
    );
    if (matches.length === 0) unregistered.push(entry);
    for (const { targetType, targetId } of matches) {
      const key = `${targetType}:${targetId}`;
      if (seen.has(key)) continue;
      seen.add(key);
      available.push(Object.freeze({ targetType, targetId }));
    }
  }
  return { available: Object.freeze(available), unregistered: Object.freeze(unregistered) };
}

/** `entries` for a message: ids, and `type:id` for typed ones; the first 8 of a longer list. */
function shownTargets(entries: readonly AvailableTarget[]): string {
  const shown = entries
    .slice(0, 8)
    .map((entry) =>
      JSON.stringify(typeof entry === 'string' ? entry : `${entry.targetType}:${entry.targetId}`),
    )
    .join(', ');
  return entries.length > 8 ? `${shown} and ${entries.length - 8} more` : shown;
}

/** Whether a workflow has routed steps (task steps with `route` instead of `run`). */
export function hasRoutedSteps(workflow: Pick<Workflow, 'steps' | 'plan'>): boolean {
  for (const { step } of taskSteps(workflow).values()) if (step.route !== undefined) return true;
  return false;
}

/**
 * The workflow's machine with routing provided: its `routeStep` actor asks `router` where a
 * routed step's context goes (once, when the step is entered; the machine checkpoints the
 * decision before the target runs) among the targets `targets` runs (a step's
 * `route.availableTargets` narrowed to those, so a rule for a target it lacks falls through; none
 * of them: `NoRouteError`, saying so), and its `runStep` actor sends the context to the decided
 * target through the router actor `targets`, under the step's `timeoutMs` (a timed-out call is
 * withdrawn) and `retry`. The request id of each attempt is its idempotency key
 * `taskId:stepId:attempt`. Ordinary task steps run as before. The actors keep their names, so
 * snapshots of the plain machine restore into this one and back. `createRuntime({ router,
 * targets })` does this for every workflow it runs.
 *
 * @example
 * ```ts
 * const targets = startRouter({ targets: [planner, parser, chunks] });
 * const routed = withRouting(workflow, { router: contextRouter, targets });
 * createActor(routed, { input: { taskId: 't1', input } }).start();
 * ```
 */
export function withRouting(
  workflow: Pick<Workflow, 'steps' | 'plan' | 'machine'>,
  options: RoutingOptions,
): WorkflowMachine {
  const { router, targets } = options;
  const steps = taskSteps(workflow);
  // Every registered target, typed: what `route: true` may use, and what a step's
  // `route.availableTargets` is narrowed to (a rule for a target the runtime lacks falls through).
  const registered = Object.freeze(
    targets.targets.map(({ targetType, targetId }) => Object.freeze({ targetType, targetId })),
  );
  const stepTargets = new Map<string, StepTargets>();
  for (const [stepId, { step }] of steps) {
    if (typeof step.route !== 'object' || step.route.availableTargets === undefined) continue;
    stepTargets.set(stepId, registeredAmong(step.route.availableTargets, registered));
  }

  const routeStep = fromPromise<RouteStepOutput, RouteStepInput>(async ({ input }) => {
    const narrowed = stepTargets.get(input.stepId);
    let decision: ReturnType<RouteDecider['route']>;
    try {
      decision = router.route(input.context, {
        availableTargets: narrowed?.available ?? registered,
      });
    } catch (error) {
      if (error instanceof NoRouteError && narrowed && narrowed.unregistered.length > 0) {
        // The same error, saying why a target the step names was no candidate.
        const { available, unregistered } = narrowed;
        const why =
          available.length === 0
            ? `none of step ${input.stepId}'s route.availableTargets (${shownTargets(unregistered)}) is registered in this runtime`
            : `step ${input.stepId}'s route.availableTargets ${shownTargets(unregistered)} ${unregistered.length === 1 ? 'is' : 'are'} not registered in this runtime`;
        const { contextType, contextId, rulesTried } = error;
        const clearer = new NoRouteError(contextType, contextId, rulesTried);
        clearer.message = `${error.message}; ${why}`;
        throw clearer;
      }
      throw error;
    }
    const { targetType, targetId, priority } = decision.target;
    return {
      target: { targetType, targetId, priority },
      ruleId: decision.ruleId,
      reason: decision.reason,
    };
  });

  const runStep = fromPromise<Context, RunStepInput>(({ input, signal }) => {
    const found = steps.get(input.stepId);
    if (found === undefined) {
      return Promise.reject(new Error(`No task step ${JSON.stringify(input.stepId)}`));
    }
    const { step, planStep } = found;
    if (step.run !== undefined) return runStepAttempt(step, planStep, input, signal);
    const target = input.route;
    if (target === undefined) return Promise.reject(new NoRouterError(input.stepId));
    const call = {
      ...(step.timeoutMs === undefined ? {} : { timeoutMs: step.timeoutMs }),
      run: (context: Context, _plan: WorkflowStep, helpers: StepHelpers) =>
        targets.call(target, context, {
          requestId: helpers.idempotencyKey,
          taskId: helpers.taskId,
          stepId: helpers.stepId,
          attempt: helpers.attempt,
          signal: helpers.signal,
        }),
    };
    return runStepAttempt(call, planStep, input, signal);
  });

  return workflow.machine.provide({ actors: { routeStep, runStep } }) as WorkflowMachine;
}
