import type { Actor, AnyActorRef, AnyStateMachine, SnapshotFrom } from 'xstate';
import type { WorkflowState, WorkflowStep } from '../checkpoint/workflow-state.js';
import { InlineActorError, WorkflowMismatchError } from '../errors.js';
import { isRecord } from '../objects.js';

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

/** A child of a persisted snapshot that its restored actor does not have (or has errored). */
interface UnrestoredChild {
  /** Its id, under its parents' (`parent/child`) for a child of a child machine. */
  readonly path: string;
  readonly src: unknown;
  /** Why its own snapshot could not be restored, when it was not skipped. */
  readonly error?: unknown;
}

/**
 * The first active child in `persisted` (a persisted snapshot) that `restored` (the snapshot
 * XState restored from it) lacks, looking into child machines too. XState's restore skips a
 * child whose `src` names no actor the machine has (`!logic` in `StateMachine.restoreSnapshot`;
 * every other child is created), and a child whose own snapshot does not fit gets an error
 * snapshot and is never started: either way nothing would ever answer its parent, which would
 * wait forever. Runs once per restore, never per step.
 */
function unrestoredChild(
  persisted: unknown,
  restored: unknown,
  prefix = '',
): UnrestoredChild | undefined {
  const children = isRecord(persisted) ? persisted.children : undefined;
  if (!isRecord(children)) return undefined;
  const refs = isRecord(restored) && isRecord(restored.children) ? restored.children : {};
  for (const [id, child] of Object.entries(children)) {
    const before = isRecord(child) ? child.snapshot : undefined;
    // A child that had finished (a spawned one stays listed) is never started again: missing
    // or not, nothing waits for it.
    const status = isRecord(before) ? before.status : undefined;
    if (typeof status === 'string' && status !== 'active') continue;
    const path = `${prefix}${id}`;
    const src = isRecord(child) ? child.src : undefined;
    const ref = refs[id] as AnyActorRef | undefined;
    if (ref === undefined) return { path, src };
    const after = ref.getSnapshot() as { readonly status?: unknown; readonly error?: unknown };
    if (after?.status === 'error') return { path, src, error: after.error };
    const deeper = unrestoredChild(before, after, `${path}/`);
    if (deeper !== undefined) return deeper;
  }
  return undefined;
}

/**
 * Where a restored state value differs from the persisted one (`undefined`: nowhere). XState
 * fills a region the checkpoint lacks (one added to a parallel state since) with its initial
 * state without entering it: no lane, no invoked child, and a run that hangs or fails.
 */
function stateValueChange(before: unknown, after: unknown, path = ''): string | undefined {
  const at = path === '' ? 'the root state' : `state ${JSON.stringify(path)}`;
  if (!isRecord(before) || !isRecord(after)) {
    if (before === after) return undefined;
    return `${at} is ${JSON.stringify(before)} in the checkpoint but ${JSON.stringify(after)} restored`;
  }
  for (const key of Object.keys(after)) {
    const inner = path === '' ? key : `${path}.${key}`;
    if (!Object.hasOwn(before, key)) {
      return `the machine has a state ${JSON.stringify(inner)} (a region added?) that the checkpoint does not`;
    }
    const change = stateValueChange(before[key], after[key], inner);
    if (change !== undefined) return change;
  }
  for (const key of Object.keys(before)) {
    if (!Object.hasOwn(after, key)) {
      const inner = path === '' ? key : `${path}.${key}`;
      return `the checkpoint has a state ${JSON.stringify(inner)} that the machine does not restore`;
    }
  }
  return undefined;
}

/**
 * Throws {@link WorkflowMismatchError} when XState could not restore `state.snapshot` into
 * `actor`, and nothing has run:
 * - the actor holds an error snapshot whose `error` says why (a state that no longer exists,
 *   say). A checkpoint that held an errored snapshot itself is left to the caller;
 * - an invoked or spawned child of the checkpoint is missing from the restored snapshot (its
 *   `src` is no longer registered, XState skips it silently) or could not be restored itself:
 *   the run would wait for it forever. The error names the child and its `src`;
 * - the restored state value is not the checkpoint's: a parallel state gained a region since,
 *   which XState fills with its initial state without entering it (nothing would run there).
 */
export function assertRestored(
  actor: AnyActorRef,
  state: WorkflowState,
  workflow: { readonly id: string; readonly version: string },
): void {
  const restored = actor.getSnapshot() as {
    readonly status?: unknown;
    readonly error?: unknown;
    readonly value?: unknown;
  };
  const persisted = state.snapshot as
    | { readonly status?: unknown; readonly value?: unknown }
    | undefined;
  if (persisted?.status === 'error') return;
  if (restored.status === 'error') {
    throw new WorkflowMismatchError(state.taskId, workflow.id, workflow.version, {
      cause: restored.error,
    });
  }
  if (persisted?.value !== undefined) {
    const reason = stateValueChange(persisted.value, restored.value);
    if (reason !== undefined) {
      throw new WorkflowMismatchError(state.taskId, workflow.id, workflow.version, { reason });
    }
  }
  const child = unrestoredChild(persisted, restored);
  if (child === undefined) return;
  const src = typeof child.src === 'string' ? `'${child.src}'` : '(none)';
  const named = `its child actor '${child.path}' (src ${src})`;
  const reason =
    child.error === undefined
      ? `${named} is not restored: the machine has no actor ${src}`
      : `${named} cannot be restored${child.error instanceof Error ? `: ${child.error.message}` : ''}`;
  throw new WorkflowMismatchError(state.taskId, workflow.id, workflow.version, {
    reason,
    ...(child.error === undefined ? {} : { cause: child.error }),
  });
}

/**
 * Throws {@link WorkflowMismatchError} when `state` (a checkpoint to resume, after its `migrate`
 * hook if `migrated`) holds no snapshot: restoring nothing would start the machine over, and
 * run work again that the task had finished. Nothing has run.
 */
export function assertHasSnapshot(
  state: WorkflowState,
  workflow: { readonly id: string; readonly version: string },
  migrated: boolean,
): void {
  if (state.snapshot !== undefined) return;
  const whose = migrated ? 'the state its migrate hook returned' : `its ${state.status} checkpoint`;
  throw new WorkflowMismatchError(state.taskId, workflow.id, workflow.version, {
    reason: `${whose} holds no snapshot, and restoring none would start the task over`,
  });
}
