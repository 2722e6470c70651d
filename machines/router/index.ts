export {
  type AgentChildContext,
  type AgentDefinition,
  agentChildLogic,
  defineAgent,
} from './define-agent.js';
export { defineTool, type ToolDefinition, toolChildLogic } from './define-tool.js';
export {
  defineWorkerPool,
  type PoolChildContext,
  type WorkerPoolDefinition,
  workerPoolChildLogic,
} from './define-worker-pool.js';
export {
  type PersistedRouterHandle,
  type PersistedRouterOptions,
  startPersistedRouter,
} from './persist-router.js';
export {
  type RouteStepInput,
  type RouteStepOutput,
  routeStepWithoutRouter,
} from './route-step.js';
export {
  createRouterMachine,
  type PendingRequest,
  type RouterChildInfo,
  type RouterEvent,
  type RouterMachine,
  type RouterMachineContext,
  type RouterMachineOptions,
} from './router-machine.js';
export type {
  CallMeta,
  RouteCancelEvent,
  RouteRequestEvent,
  RouteResponseEvent,
  TargetCallEvent,
  TargetCancelEvent,
  TargetChildEvent,
  TargetChildInput,
  TargetReadyEvent,
  TargetResultEvent,
} from './router-protocol.js';
export {
  type AgentHandle,
  type RouterCallOptions,
  type RouterHandle,
  type StartRouterOptions,
  startRouter,
  type ToolHandle,
  type WorkerPoolHandle,
} from './start-router.js';
export {
  type AgentStep,
  type AgentTarget,
  type RouterTarget,
  type TargetAddress,
  targetChildId,
  targetKey,
  type WorkerPoolTarget,
} from './target-types.js';
export {
  hasRoutedSteps,
  type RouteDecider,
  type RoutingOptions,
  withRouting,
} from './with-routing.js';
