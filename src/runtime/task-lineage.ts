import type { CheckpointManager } from '../checkpoint/checkpoint-manager.js';
import type { WorkflowState } from '../checkpoint/workflow-state.js';
import { ContextFlowManager } from '../flow/context-flow-manager.js';

function transitionSeq(value: unknown): number {
  const seq = (value as { seq?: unknown } | null)?.seq;
  return typeof seq === 'number' ? seq : -1;
}

/** A task's lineage as loaded: everything known, and how much of it the store's log holds. */
export interface TaskLineage {
  readonly flow: ContextFlowManager;
  /** The `seq` of the last transition in the store's log (-1: none). */
  readonly persistedSeq: number;
}

/**
 * A task's lineage (internal to the runtime): the store's log plus the transitions its latest
 * checkpoint `state` holds that the log does not have yet (they are written after the
 * checkpoint, and a crash may have lost that write).
 */
export async function loadTaskLineage(
  manager: CheckpointManager,
  taskId: string,
  state: WorkflowState | undefined,
  now: () => number,
): Promise<TaskLineage> {
  const persisted = await manager.loadLineage(taskId);
  const last = persisted.at(-1)?.seq ?? -1;
  const held = state?.metadata.lineage;
  const pending = Array.isArray(held) ? held.filter((t) => transitionSeq(t) > last) : [];
  const flow = ContextFlowManager.fromTransitions(taskId, [...persisted, ...pending], { now });
  return { flow, persistedSeq: last };
}
