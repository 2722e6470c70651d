export { createRuntime } from './create-runtime.js';
export {
  defineMachineWorkflow,
  isMachineWorkflow,
  type MachineRunInput,
  type MachineWorkflow,
  type MachineWorkflowDefinition,
} from './machine-workflow.js';
export type {
  CheckpointPolicy,
  DefinedRuntimeWorkflow,
  LeaseOptions,
  PurgeReport,
  RecoveryReport,
  RunStatus,
  Runtime,
  RuntimeEvent,
  RuntimeEventInput,
  RuntimeOptions,
  RuntimeWorkflow,
  StartOptions,
  TaskListing,
  WorkflowMigrate,
  WorkflowRun,
} from './runtime-types.js';
