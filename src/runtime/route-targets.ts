import type { StateValue } from 'xstate';
import type { TargetAddress } from '../../machines/router/target-types.js';
import type { WorkflowState } from '../checkpoint/workflow-state.js';
import { UnknownTargetError } from '../errors.js';
import { isRecord } from '../objects.js';
import { readProgress, type StepIndex } from './workflow-progress.js';

/**
 * Refuses to restore `state` (internal to the runtime's resume) when a routed step in progress
 * was routed to a target `targets` does not register: `UnknownTargetError`, before anything is
 * written. A checkpointed decision is kept on resume; restored without its target, the step
 * would fail the task for good (a final error checkpoint), where a runtime that registers the
 * target again resumes it. A step at its commit gate has its result and needs no target.
 */
export function assertRouteTargets(
  state: WorkflowState,
  index: StepIndex,
  targets: readonly TargetAddress[],
): void {
  const snapshot = state.snapshot as { value?: unknown; context?: unknown } | undefined;
  const routes = isRecord(snapshot?.context) ? snapshot.context.routes : undefined;
  if (!isRecord(routes) || snapshot?.value === undefined) return;
  const phases = readProgress(index, snapshot.value as StateValue).phases;
  for (const [stepId, route] of Object.entries(routes)) {
    const phase = phases.get(stepId);
    if (phase === undefined || phase === 'commit') continue;
    const target = isRecord(route) && isRecord(route.target) ? route.target : undefined;
    const { targetType, targetId } = target ?? {};
    if (typeof targetType !== 'string' || typeof targetId !== 'string') continue;
    const known = targets.some((t) => t.targetType === targetType && t.targetId === targetId);
    if (!known)
      throw new UnknownTargetError(targetType, targetId, { taskId: state.taskId, stepId });
  }
}
