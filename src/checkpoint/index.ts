export {
  assertStorableState,
  CHECKPOINT_FORMAT_VERSION,
  type CheckpointEnvelope,
  type CheckpointMigrate,
  type DecodeOptions,
  decodeRecord,
  encodeEnvelope,
  type StoredContextReader,
  type StoredWorkflowState,
} from './checkpoint-envelope.js';
export {
  CheckpointManager,
  type CheckpointManagerOptions,
  type DeleteOldCheckpointsOptions,
  type SaveCheckpointOptions,
} from './checkpoint-manager.js';
export * from './checkpoint-store.js';
export { getCheckpointManager } from './get-checkpoint-manager.js';
export type { LineageSource } from './lineage-writer.js';
export type { SharedContext } from './shared-contexts.js';
export {
  assertKeepLatest,
  assertLogEntries,
  assertLogEntriesRead,
  assertReadLogOptions,
  assertSavable,
  assertWithinLimit,
  isExpired,
  listTasksOptions,
  liveAt,
  pageOfTaskIds,
  utf8Length,
} from './store-guards.js';
export {
  type CheckpointInfo,
  type CheckpointPlan,
  checkpointPlan,
  createWorkflowState,
  parseWorkflowState,
  WORKFLOW_STATUSES,
  type WorkflowMachineRef,
  type WorkflowState,
  type WorkflowStateInit,
  type WorkflowStatus,
  type WorkflowStep,
} from './workflow-state.js';
