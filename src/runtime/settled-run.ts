import type { WorkflowState } from '../checkpoint/workflow-state.js';
import type { Context } from '../context/context.js';
import { parseContext } from '../context/parse-context.js';
import {
  WorkflowCancelledError,
  WorkflowFailedError,
  type WorkflowFailureInfo,
} from '../errors.js';
import type { ContextFlowManager } from '../flow/context-flow-manager.js';
import { isRecord } from '../objects.js';
import type { RunStatus, WorkflowRun } from './runtime-types.js';

/** The failure recorded in a checkpoint's metadata (`metadata.failure`), if any. */
export function failureOf(state: WorkflowState): WorkflowFailureInfo | undefined {
  const failure = state.metadata.failure;
  if (!isRecord(failure) || typeof failure.stepId !== 'string') return undefined;
  return {
    stepId: failure.stepId,
    message: String(failure.message ?? state.metadata.error ?? ''),
    name: String(failure.name ?? 'Error'),
    attempts: typeof failure.attempts === 'number' ? failure.attempts : 1,
    ...(typeof failure.code === 'string' ? { code: failure.code } : {}),
  };
}

/** A task's status as its checkpoint records it. */
export function statusFromState(state: WorkflowState, live = false): RunStatus {
  const waitingFor = state.metadata.waitingFor;
  const error = failureOf(state);
  return {
    taskId: state.taskId,
    workflowId: state.machine?.id,
    workflowVersion: state.machine?.version,
    status: state.status,
    live,
    currentStepIndex: state.currentStepIndex,
    currentStepId:
      typeof state.metadata.currentStepId === 'string'
        ? state.metadata.currentStepId
        : state.plan[state.currentStepIndex]?.stepId,
    checkpointId: state.checkpoint?.checkpointId,
    seq: state.checkpoint?.seq,
    // Only a suspended task waits: one paused or cancelled at its wait keeps the metadata.
    waitingFor:
      state.status === 'suspended' && Array.isArray(waitingFor) ? waitingFor.map(String) : [],
    ...(error === undefined ? {} : { error }),
  };
}

/**
 * The run of a task whose latest checkpoint is final (completed, error, cancelled): nothing
 * runs; `result` is settled from the checkpoint (the output context, `WorkflowFailedError` or
 * `WorkflowCancelledError`).
 */
export function settledRun(state: WorkflowState, lineage: ContextFlowManager): WorkflowRun {
  let result: Promise<Context>;
  if (state.status === 'completed') {
    // A hand-written machine whose output is not a context keeps its result in the metadata.
    const output =
      state.metadata.output ?? (state.snapshot as { output?: unknown } | undefined)?.output;
    result = Promise.resolve().then(() => parseContext(output));
  } else if (state.status === 'error') {
    const failure = failureOf(state) ?? {
      stepId: state.plan[state.currentStepIndex]?.stepId ?? 'workflow',
      message: String(state.metadata.error ?? 'failed'),
      name: 'Error',
      attempts: 1,
    };
    result = Promise.reject(new WorkflowFailedError(state.taskId, failure));
  } else {
    result = Promise.reject(new WorkflowCancelledError(state.taskId));
  }
  result.catch(() => {});
  const status = statusFromState(state);
  return {
    taskId: state.taskId,
    workflowId: state.machine?.id ?? '',
    workflowVersion: state.machine?.version ?? '',
    result,
    lineage,
    status: () => status,
  };
}
