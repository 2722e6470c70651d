export { createRuntime } from './create-runtime.js';
export type {
  CheckpointPolicy,
  RunStatus,
  Runtime,
  RuntimeEvent,
  RuntimeEventInput,
  RuntimeOptions,
  RuntimeWorkflow,
  StartOptions,
  WorkflowMigrate,
  WorkflowRun,
} from './runtime-types.js';
