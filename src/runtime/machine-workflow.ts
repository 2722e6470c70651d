import type { AnyStateMachine, InputFrom, OutputFrom, SnapshotFrom } from 'xstate';
import type { WorkflowStep } from '../checkpoint/workflow-state.js';
import type { AnyContext, Context } from '../context/context.js';
import { deepFreeze } from '../context/deep-freeze.js';
import { isContext, parseContext } from '../context/parse-context.js';
import { InlineActorError } from '../errors.js';
import { assertValidId } from '../ids.js';
import { assertJson, cloneJson } from '../json.js';
import type { WorkflowMigrate } from './runtime-types.js';

/** What a hand-written machine's run starts from: the task id and the input context. */
export interface MachineRunInput {
  readonly taskId: string;
  readonly input: Context;
}

/** What {@link defineMachineWorkflow} takes. */
export interface MachineWorkflowDefinition<TMachine extends AnyStateMachine> {
  /** Workflow id, stored with checkpoints (resume finds the workflow by it). A valid id. */
  readonly id: string;
  /** Version, stored with checkpoints (restore with the same version or a `migrate` hook). */
  readonly version: string;
  /** A machine whose actors are all registered by name in `setup({ actors })`. */
  readonly machine: TMachine;
  /** Human name. Default: the id. */
  readonly name?: string;
  readonly description?: string;
  /**
   * The seed's plan for `WorkflowState`: a step whose `stepId` is a state key is the current
   * step while that state is active; all are complete once the machine is done. Default: `[]`.
   */
  readonly plan?: readonly WorkflowStep[];
  /** The machine's input. Default: `{ taskId, input }` ({@link MachineRunInput}). */
  input?(run: MachineRunInput): InputFrom<TMachine>;
  /**
   * The contexts the machine holds, by key (an array is keyed by position), for the lineage.
   * Default: every value of the machine's top-level context that `isContext` accepts.
   */
  contexts?(
    snapshot: SnapshotFrom<TMachine>,
  ): Readonly<Record<string, AnyContext>> | readonly AnyContext[];
  /**
   * Whether the machine waits for an external event. Default: a state tagged `suspended` is
   * active. The run is `suspended` while this holds and no invoked or spawned actor is in flight
   * (child machines count by their own actors): an actor still running, or a durable `sleepUntil`
   * timer, leaves it `running` until it is done, as a wait beside a busy region should.
   */
  suspended?(snapshot: SnapshotFrom<TMachine>): boolean;
  /**
   * The run's result from the machine's output. Default: the output if it is a context, else
   * an `OutputContext` holding it (kept in the final checkpoint's `metadata.output`). What it
   * returns must be a context (`parseContext` accepts it); when it is not, or the hook throws,
   * the run fails in its final state, as when the machine errors: a final `error` checkpoint,
   * and `result` rejects with `WorkflowFailedError` (its `cause` the hook's error or the
   * `ContextValidationError`). So do throws in `contexts` and `suspended`.
   */
  output?(output: OutputFrom<TMachine>, taskId: string): AnyContext;
  /** Upgrades checkpoints of other versions. Default: the runtime's. */
  readonly migrate?: WorkflowMigrate;
}

/**
 * A hand-written XState machine the runtime can run, with its hooks filled in: what
 * {@link defineMachineWorkflow} returns. Pass it to `runtime.start` and `register`.
 */
export interface MachineWorkflow<TMachine extends AnyStateMachine = AnyStateMachine> {
  readonly kind: 'machine';
  readonly id: string;
  readonly version: string;
  readonly name: string;
  readonly description?: string;
  readonly machine: TMachine;
  readonly plan: readonly WorkflowStep[];
  readonly migrate?: WorkflowMigrate;
  input(run: MachineRunInput): InputFrom<TMachine>;
  contexts(
    snapshot: SnapshotFrom<TMachine>,
  ): Readonly<Record<string, AnyContext>> | readonly AnyContext[];
  suspended(snapshot: SnapshotFrom<TMachine>): boolean;
  output(output: OutputFrom<TMachine>, taskId: string): Context | undefined;
}

/** Whether a runtime workflow is a hand-written machine (else a `defineWorkflow` one). */
export function isMachineWorkflow(workflow: object): workflow is MachineWorkflow {
  return (workflow as { kind?: unknown }).kind === 'machine';
}

interface NodeLike {
  readonly id: string;
  readonly config: { readonly invoke?: unknown };
  readonly states: Readonly<Record<string, NodeLike>>;
}

/** The ids of the state nodes that invoke inline (unregistered) actor logic. */
function inlineInvokes(node: NodeLike, found: string[] = []): string[] {
  const invoke = node.config.invoke;
  const list = invoke === undefined ? [] : Array.isArray(invoke) ? invoke : [invoke];
  for (const entry of list) {
    if (typeof (entry as { src?: unknown } | null)?.src !== 'string') found.push(node.id);
  }
  for (const child of Object.values(node.states)) inlineInvokes(child, found);
  return found;
}

/** Values already checked by `isContext` (a context is immutable: checked once, O(1) after). */
const checked = new WeakMap<object, boolean>();

function defaultContexts(snapshot: { readonly context?: unknown }): Record<string, Context> {
  const context = snapshot.context;
  const found: Record<string, Context> = {};
  if (typeof context !== 'object' || context === null) return found;
  for (const [key, value] of Object.entries(context)) {
    if (typeof value !== 'object' || value === null) continue;
    let is = checked.get(value);
    if (is === undefined) {
      is = isContext(value);
      checked.set(value, is);
    }
    if (is) found[key] = value as Context;
  }
  return found;
}

/**
 * Makes a hand-written XState machine runnable by `createRuntime` (`start`, `resume`, `send`,
 * `cancel`, `status`, `lineage`), with the same checkpoints, lineage and resume as a
 * `defineWorkflow` workflow. Such a machine has no commit gates, so the runtime checkpoints
 * when its snapshot changes: saves are serialized and conditional (`expectedSeq`) and coalesce
 * (while one is in flight only the newest snapshot is saved next), so the history never forks
 * or reorders, and an intermediate snapshot may be skipped. `checkpointPolicy`: `'every-step'`
 * saves at every snapshot change, `{ every: N }` once N changes happened since the last save,
 * `'on-suspend'` only when suspending; start, completing, failing and cancelling always save,
 * and so does suspending (unless the run left the suspended state before the queue got to it).
 *
 * Semantics: at least once. After a crash the run continues from the latest checkpoint, and
 * XState re-runs the invoked actors active in it, also one that had finished but whose result
 * was not yet checkpointed; delayed events (`after`) are lost on restore, use durable timers.
 * Status: `suspended` while `suspended(snapshot)` and no invoked or spawned actor is in flight
 * (a durable timer included), `completed` on a done snapshot, `error` when
 * the actor errors or a hook (`contexts`, `suspended`, `output`) throws. A checkpoint the
 * machine cannot restore (a state gone, an active child whose `src` is no longer registered) is
 * refused on resume with `WorkflowMismatchError`. `send` delivers `{ type, data }` when
 * `snapshot.can` accepts it. Lineage: each new context id among `contexts(snapshot)` is logged,
 * from the previous context at its key (or as an origin). Inline `invoke` logic is refused here
 * with {@link InlineActorError}.
 *
 * @example
 * ```ts
 * const machine = setup({ actors: { fetchData } }).createMachine({
 *   context: ({ input }) => ({ input: input.input, result: undefined }),
 *   initial: 'fetching',
 *   states: {
 *     fetching: { invoke: { src: 'fetchData', input: ({ context }) => context.input,
 *       onDone: { target: 'review', actions: assign({ result: ({ event }) => event.output }) } } },
 *     review: { tags: ['suspended'], on: { approve: 'done' } },
 *     done: { type: 'final' },
 *   },
 *   output: ({ context }) => context.result,
 * });
 * const workflow = defineMachineWorkflow({ id: 'fetch-review', version: '1', machine });
 * const runtime = createRuntime({ workflows: [workflow] });
 * const run = await runtime.start(workflow, { q: 1 }, { taskId: 't1' });
 * await runtime.send('t1', { type: 'approve' }); // once suspended
 * const result = await run.result; // the output context
 * ```
 */
export function defineMachineWorkflow<TMachine extends AnyStateMachine>(
  definition: MachineWorkflowDefinition<TMachine>,
): MachineWorkflow<TMachine> {
  const { id, version, machine } = definition;
  assertValidId('workflow id', id);
  if (typeof version !== 'string' || version.length === 0) {
    throw new TypeError('version must be a non-empty string');
  }
  if (typeof machine?.root !== 'object' || typeof machine.getPersistedSnapshot !== 'function') {
    throw new TypeError(
      'machine must be an XState machine (createMachine or setup().createMachine)',
    );
  }
  const inline = inlineInvokes(machine.root as unknown as NodeLike);
  if (inline.length > 0) throw new InlineActorError(id, inline);
  const { input, contexts, suspended, output } = definition;
  const plan = definition.plan ?? [];
  assertJson(plan, { path: '$.plan' });
  return {
    kind: 'machine',
    id,
    version,
    name: definition.name ?? id,
    ...(definition.description === undefined ? {} : { description: definition.description }),
    machine,
    // A frozen copy: checked and serialized once per workflow, not at every checkpoint.
    plan: deepFreeze(cloneJson(plan)),
    ...(definition.migrate === undefined ? {} : { migrate: definition.migrate }),
    input: (run) => (input ? input(run) : (run as unknown as InputFrom<TMachine>)),
    contexts: (snapshot) => (contexts ? contexts(snapshot) : defaultContexts(snapshot)),
    suspended: (snapshot) =>
      suspended
        ? suspended(snapshot)
        : (snapshot as SnapshotFrom<AnyStateMachine>).hasTag('suspended'),
    output: (value, taskId) => {
      // Checked as a read of the final checkpoint checks it: a result that could not be read
      // back fails the run (`WORKFLOW_FAILED`) rather than completing it.
      if (output) return parseContext(output(value, taskId));
      return isContext(value) ? value : undefined;
    },
  };
}
