import { fromPromise } from 'xstate';
import type { Context } from '../../src/context/context.js';
import { NoRouterError } from '../../src/errors.js';
import type { RoutingTarget } from '../../src/router/routing-target.js';

/** Input of the `routeStep` actor of a workflow: small JSON, persisted while it runs. */
export interface RouteStepInput {
  readonly taskId: string;
  readonly stepId: string;
  /** The lane's context to route. */
  readonly context: Context;
}

/** Output of the `routeStep` actor: where the context goes, and why. JSON. */
export interface RouteStepOutput {
  readonly target: RoutingTarget;
  readonly ruleId: string;
  readonly reason: string;
}

/**
 * The `routeStep` actor a workflow machine is defined with: it refuses with `NoRouterError`.
 * `withRouting` (and `createRuntime({ router, targets })`) provides the real one.
 */
export const routeStepWithoutRouter = fromPromise<RouteStepOutput, RouteStepInput>(({ input }) =>
  Promise.reject(new NoRouterError(input.stepId)),
);
