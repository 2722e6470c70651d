import {
  type CheckpointManager,
  checkpointPlan,
  type WorkflowState,
  type WorkflowStep,
} from 'mcp-orchestration';

/** A task's plan as `status` and `inspect` show it. */
export interface TaskPlan {
  /** The steps, with `isComplete`. */
  readonly plan: readonly WorkflowStep[];
  /**
   * Set when the latest checkpoint leaves its plan out (`metadata.planOmitted`: a plan longer than
   * the runtime's `planInCheckpoints`, between the first and the final checkpoint): how many steps
   * it has, where `plan` was read instead (`workflow`: the module given; `first checkpoint`; or
   * `none` found, `plan` empty), and that `isComplete` is derived from the current step.
   */
  readonly omitted?: {
    readonly steps: number;
    readonly source: 'workflow' | 'first checkpoint' | 'none';
    readonly completion: 'derived from the current step';
  };
}

/**
 * The plan of a task's latest checkpoint. A checkpoint that omits it borrows it from the
 * workflow module (when given) or the task's oldest checkpoint (the first, unless pruned), its
 * completion derived from the current step (`checkpointPlan`).
 */
export async function taskPlan(
  manager: CheckpointManager,
  latest: WorkflowState,
  workflowPlan?: readonly WorkflowStep[],
): Promise<TaskPlan> {
  const own = checkpointPlan(latest);
  if (own.omittedSteps === undefined) return { plan: own.plan };
  let fallback = workflowPlan ?? [];
  let source: 'workflow' | 'first checkpoint' | 'none' = 'workflow';
  if (fallback.length === 0) {
    source = 'first checkpoint';
    fallback = (await firstCheckpointPlan(manager, latest.taskId)) ?? [];
  }
  if (fallback.length === 0) source = 'none';
  return {
    plan: checkpointPlan(latest, fallback).plan,
    omitted: { steps: own.omittedSteps, source, completion: 'derived from the current step' },
  };
}

/** The plan of the task's oldest checkpoint, if it has one and can be read. */
async function firstCheckpointPlan(
  manager: CheckpointManager,
  taskId: string,
): Promise<readonly WorkflowStep[] | undefined> {
  const oldest = (await manager.listCheckpointInfo(taskId)).at(-1);
  if (oldest === undefined) return undefined;
  const state = await manager
    .loadCheckpoint(taskId, oldest.checkpointId, { snapshot: false })
    .catch(() => undefined);
  return state?.plan;
}
