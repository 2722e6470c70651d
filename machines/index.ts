export { type BackoffPolicy, backoffDelay, type RetryPolicy } from './backoff.js';
export {
  defineWorkflow,
  type Workflow,
  type WorkflowDefinition,
  type WorkflowMachine,
} from './define-workflow.js';
export * from './router/index.js';
export {
  createRunStep,
  idempotencyKey,
  type RunStepInput,
  runStepAttempt,
  type TaskStepLookup,
} from './run-step.js';
export { type SleepUntilInput, sleepUntil } from './sleep-until.js';
export { MAIN_LANE, regionLane } from './workflow-plan.js';
export type {
  GroupMergeOptions,
  ParallelStep,
  RoutedStep,
  RouteStepOptions,
  SleepStep,
  SleepUntilStep,
  Step,
  StepFailure,
  StepHelpers,
  StepRoute,
  TaskStep,
  WaitForStep,
  WorkflowCommittedEvent,
  WorkflowEvent,
  WorkflowExternalEvent,
  WorkflowFailureOutput,
  WorkflowInput,
  WorkflowMachineContext,
  WorkflowOutput,
  WorkflowTag,
} from './workflow-types.js';
