import type { Snapshot } from 'xstate';
import type { WorkflowFailureOutput, WorkflowOutput } from '../../machines/workflow-types.js';
import type { RuntimeCheckpoint } from '../checkpoint/runtime-checkpoint.js';
import type { WorkflowMachineRef, WorkflowStatus } from '../checkpoint/workflow-state.js';
import type { WorkflowFailureInfo } from '../errors.js';
import type { ContextTransition } from '../flow/context-transition.js';
import type { JsonObject, JsonValue } from '../json.js';
import type { RuntimeWorkflow } from './runtime-types.js';

/** Statuses after which a task never runs again. */
export const FINAL_STATUSES: ReadonlySet<WorkflowStatus> = new Set([
  'completed',
  'error',
  'cancelled',
]);

/** Whether a machine output is the failure of a step. */
export function isFailureOutput(output: WorkflowOutput): output is WorkflowFailureOutput {
  return typeof output === 'object' && output !== null && !('contextId' in output);
}

/** The JSON metadata of a failed workflow, as the seed's fault-tolerance example writes it. */
export function failureMetadata(failure: WorkflowFailureInfo, now: number): JsonObject {
  return { error: failure.message, errorTime: now, failure: { ...failure } };
}

/** The statuses a task is stopped with on purpose (`pause`, `cancel`). */
export type StopStatus = 'paused' | 'cancelled';

/** The metadata a stop adds to its checkpoint: when it happened (`pausedAt` or `cancelledAt`). */
export function stopMetadata(status: StopStatus, now: number): JsonObject {
  return status === 'paused' ? { pausedAt: now } : { cancelledAt: now };
}

/** What a checkpoint of a run holds beside the workflow's identity. */
export interface CheckpointStateInput {
  readonly taskId: string;
  readonly workflow: RuntimeWorkflow;
  readonly status: WorkflowStatus;
  readonly currentStepIndex: number;
  readonly currentStepId: string | undefined;
  /** Completed step ids, or `undefined` to leave the plan out (`metadata.planOmitted`). */
  readonly completed: ReadonlySet<string> | undefined;
  /** Event types awaited (while suspended). */
  readonly waitingFor: readonly string[];
  /** More metadata (error details, cancel time). */
  readonly extra: JsonObject;
  /** The actor's persisted snapshot; none for an actor that errored. */
  readonly snapshot: Snapshot<unknown> | undefined;
}

/**
 * The checkpoint a run saves (the seed's `WorkflowState`): the plan with `isComplete` (or none,
 * for long plans between the first and final checkpoints), status, current step, metadata
 * (error details, the awaited events, the current step id, and the lineage transitions the
 * store's log may not have yet, so that a resume can append them) and the persisted snapshot
 * with its machine. The plan is passed as the workflow's plan and the completed steps, so the
 * manager serializes a checked plan once (see `saveRuntimeCheckpoint`).
 */
export function buildRuntimeCheckpoint(
  input: CheckpointStateInput,
  pendingLineage: readonly ContextTransition[],
): RuntimeCheckpoint {
  const { workflow, completed, waitingFor } = input;
  const metadata: JsonObject = Object.assign({}, input.extra);
  if (completed === undefined) metadata.planOmitted = workflow.plan.length;
  if (input.currentStepId !== undefined) metadata.currentStepId = input.currentStepId;
  if (waitingFor.length > 0) metadata.waitingFor = [...waitingFor];
  if (pendingLineage.length > 0) metadata.lineage = pendingLineage as unknown as JsonValue;
  return {
    taskId: input.taskId,
    plan: workflow.plan,
    completed,
    status: input.status,
    currentStepIndex: input.currentStepIndex,
    metadata,
    machine: machineOf(workflow),
    snapshot: input.snapshot,
  };
}

/** Each workflow's machine reference, made once (frozen: checkpoints share it). */
const machineRefs = new WeakMap<object, WorkflowMachineRef>();

function machineOf(workflow: CheckpointStateInput['workflow']): WorkflowMachineRef {
  let ref = machineRefs.get(workflow);
  if (ref === undefined) {
    ref = Object.freeze({ id: workflow.id, version: workflow.version });
    machineRefs.set(workflow, ref);
  }
  return ref;
}
