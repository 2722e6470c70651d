import type { CheckpointManager, WorkflowState, WorkflowStep } from 'mcp-orchestration';

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
 * workflow module (when given) or the task's oldest checkpoint (the first, unless pruned), with
 * the steps before the current one marked complete: exact for a sequence, an estimate inside a
 * parallel group (its regions' steps are numbered one after another).
 */
export async function taskPlan(
  manager: CheckpointManager,
  latest: WorkflowState,
  workflowPlan?: readonly WorkflowStep[],
): Promise<TaskPlan> {
  const steps = latest.metadata.planOmitted;
  if (latest.plan.length > 0 || typeof steps !== 'number') return { plan: latest.plan };
  let plan = workflowPlan ?? [];
  let source: 'workflow' | 'first checkpoint' | 'none' = 'workflow';
  if (plan.length === 0) {
    source = 'first checkpoint';
    plan = (await firstCheckpointPlan(manager, latest.taskId)) ?? [];
  }
  if (plan.length === 0) source = 'none';
  const done = (step: WorkflowStep) =>
    latest.status === 'completed' || step.stepIndex < latest.currentStepIndex;
  return {
    plan: plan.map((step) => ({ ...step, isComplete: done(step) })),
    omitted: { steps, source, completion: 'derived from the current step' },
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

/** The current step's id: the checkpoint's `metadata.currentStepId`, else the plan's entry. */
export function currentStepIdOf(
  state: WorkflowState,
  plan: readonly WorkflowStep[] = state.plan,
): string | undefined {
  const id = state.metadata.currentStepId;
  if (typeof id === 'string') return id;
  return plan.find((step) => step.stepIndex === state.currentStepIndex)?.stepId;
}
