import type { Actor, AnyActorRef, AnyStateMachine, SnapshotFrom } from 'xstate';
import type { WorkflowState, WorkflowStep } from '../checkpoint/workflow-state.js';
import { InlineActorError, WorkflowMismatchError } from '../errors.js';

type MachineSnapshot = SnapshotFrom<AnyStateMachine>;

/** Where a hand-written machine is: a plan step (index and id), or only a state path. */
export interface MachineLocation {
  readonly stepIndex: number | undefined;
  readonly stepId: string | undefined;
}

/**
 * The current step of an active snapshot (internal to the runtime): the plan step whose
 * `stepId` is the key of an active state, lowest index first; else the path of the first active
 * leaf state (`a.b.c`) with no index. `undefined` when the snapshot is not active.
 */
export function locate(
  snapshot: MachineSnapshot,
  plan: readonly WorkflowStep[],
): MachineLocation | undefined {
  if (snapshot.status !== 'active') return undefined;
  const nodes = snapshot._nodes;
  let best: WorkflowStep | undefined;
  for (const step of plan) {
    if (best !== undefined && step.stepIndex >= best.stepIndex) continue;
    if (nodes.some((node) => node.key === step.stepId)) best = step;
  }
  if (best !== undefined) return { stepIndex: best.stepIndex, stepId: best.stepId };
  const leaf = nodes.find((node) => node.type === 'atomic' || node.type === 'final');
  return { stepIndex: undefined, stepId: leaf?.path.join('.') };
}

/** The event types the active states of a snapshot handle (not XState's own, not `*`). */
export function handledEvents(snapshot: MachineSnapshot): string[] {
  if (snapshot.status !== 'active') return [];
  const types = new Set<string>();
  for (const node of snapshot._nodes) {
    for (const type of node.ownEvents) {
      if (typeof type === 'string' && !type.startsWith('xstate.') && type !== '*') types.add(type);
    }
  }
  return [...types];
}

/**
 * The actor's persisted snapshot. XState's refusal to persist inline actor logic ('An inline
 * child actor cannot be persisted.') becomes an {@link InlineActorError} naming the children.
 */
export function persistedSnapshotOf(
  actor: Actor<AnyStateMachine>,
  workflowId: string,
): ReturnType<Actor<AnyStateMachine>['getPersistedSnapshot']> {
  try {
    return actor.getPersistedSnapshot();
  } catch (error) {
    if (!(error instanceof Error && /inline child actor/i.test(error.message))) throw error;
    const children = (actor.getSnapshot().children ?? {}) as Record<string, unknown>;
    const inline = Object.entries(children)
      .filter(([, child]) => typeof (child as { src?: unknown } | undefined)?.src !== 'string')
      .map(([id]) => id);
    throw new InlineActorError(workflowId, inline, { cause: error });
  }
}

/**
 * Throws {@link WorkflowMismatchError} when XState could not restore `state.snapshot` into
 * `actor`: the actor then holds an error snapshot whose `error` says why (a state that no longer
 * exists, say), and nothing has run. A checkpoint that held an errored snapshot itself is left
 * to the caller.
 */
export function assertRestored(
  actor: AnyActorRef,
  state: WorkflowState,
  workflow: { readonly id: string; readonly version: string },
): void {
  const restored = actor.getSnapshot() as { readonly status?: unknown; readonly error?: unknown };
  if (restored.status !== 'error') return;
  if ((state.snapshot as { readonly status?: unknown } | undefined)?.status === 'error') return;
  throw new WorkflowMismatchError(state.taskId, workflow.id, workflow.version, {
    cause: restored.error,
  });
}
