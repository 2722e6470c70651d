import {
  type CheckpointStore,
  isMachineWorkflow,
  type RuntimeWorkflow,
  TaskLeasedError,
  TaskNotRunningError,
  type WorkflowState,
} from 'mcp-orchestration';

/**
 * Throws `TaskLeasedError` when a worker holds a live lease on the task (a runtime with the
 * `lease` option runs it, another `mcp-orch` process does, or either did until less than a
 * lease's TTL ago). The command line's runtime claims the lease itself (`createCliRuntime`) and
 * is refused then too; this checks first, before the command prints anything. A lease held by
 * `exceptOwner` (this process's own) does not count.
 */
export async function assertNotLeased(
  store: CheckpointStore,
  taskId: string,
  exceptOwner?: string,
): Promise<void> {
  const lease = await store.readLease(taskId);
  if (lease !== undefined && lease.owner !== exceptOwner) {
    throw new TaskLeasedError(taskId, lease.owner, lease.expiresAt);
  }
}

/** Whether a task with this status has finished (`completed`, `error`, `cancelled`). */
export function isFinished(status: WorkflowState['status']): boolean {
  return status === 'completed' || status === 'error' || status === 'cancelled';
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The ids of the children of a persisted XState snapshot (a checkpoint's `snapshot`) that were
 * still active when it was saved: invoked or spawned actors in flight, which a resume runs again.
 */
export function actorsInFlight(snapshot: unknown): string[] {
  const children = isRecord(snapshot) ? snapshot.children : undefined;
  if (!isRecord(children)) return [];
  return Object.entries(children)
    .filter(([, child]) => {
      const status =
        isRecord(child) && isRecord(child.snapshot) ? child.snapshot.status : undefined;
      return status === 'active';
    })
    .map(([id]) => id);
}

/** A `TaskNotRunningError` whose message says where the task is (`Task X <where>`). */
function notWaiting(taskId: string, where: string): TaskNotRunningError {
  const error = new TaskNotRunningError(taskId, where);
  error.message = `Task ${taskId} ${where}`;
  return error;
}

/**
 * Throws `TaskNotRunningError` unless the task (its latest checkpoint, with its snapshot) rests
 * where an event can take it on, so that `send` resumes nothing that runs or has stopped:
 * - `suspended`: at a wait, as the runtime checkpointed it;
 * - `running`, for a hand-written machine (`defineMachineWorkflow`) with no invoked or spawned
 *   actor in flight: at rest in a state that is not tagged `suspended` (nothing but an event
 *   moves it), which `run` reports as idle.
 *
 * Refused: a paused task (resuming it here would unpause it; `resumeCommand` says how), a
 * finished one, and a running one (it runs in another process, or a process that ran it
 * stopped: resuming it would run its step in flight again).
 */
export function assertTakesEvents(
  latest: WorkflowState,
  workflow: RuntimeWorkflow,
  resumeCommand: string,
): void {
  const { taskId, status } = latest;
  switch (status) {
    case 'suspended':
      return;
    case 'paused':
      throw notWaiting(taskId, `is paused: resume it first (${resumeCommand}), then send`);
    case 'completed':
    case 'cancelled':
      throw notWaiting(taskId, `is ${status}: it takes no more events`);
    case 'error':
      throw notWaiting(taskId, 'failed: it takes no more events');
    case 'pending':
    case 'running': {
      const inFlight = isMachineWorkflow(workflow) ? actorsInFlight(latest.snapshot) : undefined;
      if (inFlight?.length === 0) return;
      const busy =
        inFlight === undefined
          ? ''
          : ` (its actor ${inFlight.map((id) => `'${id}'`).join(', ')} in flight)`;
      throw notWaiting(
        taskId,
        `is ${status}${busy}, not waiting for an event: another process runs it, or none does and \`${resumeCommand}\` continues it`,
      );
    }
  }
}
