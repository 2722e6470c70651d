import type { StateMachine, StateSchema, StateValue } from 'xstate';
import type { WorkflowStep } from '../src/checkpoint/workflow-state.js';
import { parseContext } from '../src/context/parse-context.js';
import { InvalidIdError } from '../src/errors.js';
import { assertValidId } from '../src/ids.js';
import { assertKnownKeys, isRecord } from '../src/objects.js';
import { FAILED_STATE_ID, stepListStates, type WorkflowStateConfig } from './workflow-config.js';
import { indexWorkflowSteps, MAIN_LANE } from './workflow-plan.js';
import { createWorkflowSetup, type WorkflowSetup } from './workflow-setup.js';
import type {
  Step,
  WorkflowInput,
  WorkflowMachineContext,
  WorkflowOutput,
} from './workflow-types.js';

/** What {@link defineWorkflow} takes. */
export interface WorkflowDefinition {
  /** Workflow id; the machine id. A valid id, not `failed`. */
  readonly id: string;
  /** Version of the definition, stored with checkpoints (restore with the same version). */
  readonly version: string;
  /** The steps, run in sequence. */
  readonly steps: readonly Step[];
  /** Human name. Default: the id. */
  readonly name?: string;
  /** What the workflow does; the machine's description. Default: none. */
  readonly description?: string;
}

const DEFINITION_KEYS: ReadonlySet<string> = new Set([
  'id',
  'version',
  'steps',
  'name',
  'description',
]);

type InferredMachine = ReturnType<WorkflowSetup['createMachine']>;

/**
 * The XState machine of a workflow. Its state value is a general `StateValue` (the states are
 * built from the steps at run time), and its input may be omitted in the type so that
 * `createActor(machine, { snapshot })` restores without one (starting without input or snapshot
 * fails with `InvalidIdError`).
 */
export type WorkflowMachine =
  InferredMachine extends StateMachine<
    infer TContext,
    infer TEvent,
    infer TChildren,
    infer TActor,
    infer TAction,
    infer TGuard,
    infer TDelay,
    infer _TStateValue,
    infer TTag,
    infer _TInput,
    infer TOutput,
    infer TEmitted,
    infer TStateMeta,
    infer _TStateSchema,
    infer TTransitionMeta
  >
    ? StateMachine<
        TContext,
        TEvent,
        TChildren,
        TActor,
        TAction,
        TGuard,
        TDelay,
        StateValue,
        TTag,
        WorkflowInput | undefined,
        TOutput,
        TEmitted,
        TStateMeta,
        StateSchema,
        TTransitionMeta
      >
    : never;

/** A defined workflow: its machine, and the flattened plan for the seed's `WorkflowState`. */
export interface Workflow {
  readonly id: string;
  readonly version: string;
  readonly name: string;
  readonly description?: string;
  /** A plain XState machine: `createActor(workflow.machine, { input }).start()`. */
  readonly machine: WorkflowMachine;
  /** Every step in document order (a group before its regions' steps), `stepIndex` 0, 1, 2… */
  readonly plan: readonly WorkflowStep[];
  /** The steps as given. */
  readonly steps: readonly Step[];
}

function initialContext(input: WorkflowInput | undefined): WorkflowMachineContext {
  const taskId = input?.taskId;
  assertValidId('taskId', taskId);
  return {
    taskId,
    lanes: { [MAIN_LANE]: parseContext(input?.input) },
    attempts: {},
    deadlines: {},
    gated: input?.gated === true,
  };
}

/**
 * Builds a workflow: checks the steps, flattens the plan and builds one XState machine whose
 * state keys are the step ids (each step state has a `description` and `meta.step` with its
 * plan entry, so the chart reads like the plan and `machine.config` imports into Stately Studio).
 * Every actor, guard and action is registered by name in `setup`, so persisted snapshots restore.
 *
 * Step kinds: a task (`run`, with `retry`, `timeoutMs`, `onError`), a parallel group
 * (`parallel: { region: steps }`, merged with `merge.strategy`), a durable sleep (`sleep.ms` or
 * `sleepUntil(context)`), and a wait for an external event (`waitFor: { event, schema }`, state
 * tagged `suspended`). Input: `{ taskId, input: Context, gated? }`; output: the final main-lane
 * context, or `{ error }` when the machine ends in `failed` (tagged `error`).
 *
 * **Commit protocol.** After each step and each group merge completes, its state enters a
 * `commit` substate tagged `checkpoint`. Ungated (the default) it passes straight through. With
 * `gated: true` the machine stops there until the runtime, having saved the persisted snapshot
 * (whose commit gates hold the completed steps), sends `{ type: 'workflow.committed' }`; one
 * event releases every lane waiting at a gate. A step whose completion was checkpointed never
 * runs again after a restore; a step in flight at the checkpoint runs again (at least once) with
 * the same idempotency key `${taskId}:${stepId}:${attempt}`.
 *
 * Machine context stays small: the current context of each lane, the attempt counters and
 * deadlines of steps in progress (removed when they complete), `error`, `gated`.
 *
 * @example
 * ```ts
 * const workflow = defineWorkflow({
 *   id: 'document-pipeline',
 *   version: '1',
 *   steps: [
 *     { stepId: 'parse', run: (ctx) => createContext('Parsed', { text: String(ctx.data) }) },
 *     {
 *       stepId: 'analyze',
 *       parallel: {
 *         words: [{ stepId: 'count', run: countWords }],
 *         tone: [{ stepId: 'tone', run: detectTone, retry: { attempts: 3 } }],
 *       },
 *     },
 *     { stepId: 'approve', waitFor: { event: 'approval', schema: z.object({ ok: z.boolean() }) } },
 *   ],
 * });
 * const actor = createActor(workflow.machine, {
 *   input: { taskId: 'task-1', input: createContext('Input', 'Hello world') },
 * }).start();
 * actor.send({ type: 'approval', data: { ok: true } }); // once suspended
 * ```
 */
export function defineWorkflow(definition: WorkflowDefinition): Workflow {
  if (!isRecord(definition as unknown)) {
    throw new TypeError('defineWorkflow takes { id, version, steps }');
  }
  assertKnownKeys(definition, DEFINITION_KEYS, `Workflow ${String(definition.id)}`);
  const { id, version, steps } = definition;
  assertValidId('workflow id', id);
  if (id === FAILED_STATE_ID) throw new InvalidIdError('workflow id', id, 'it is reserved');
  if (typeof version !== 'string' || version.length === 0) {
    throw new TypeError('version must be a non-empty string');
  }
  const index = indexWorkflowSteps(steps);
  const { initial, states } = stepListStates(steps, index);
  const root: WorkflowStateConfig & Record<string, unknown> = {
    id,
    version,
    description: definition.description ?? definition.name ?? id,
    meta: { workflow: { id, version, name: definition.name ?? id, steps: index.plan.length } },
    initial,
    states: {
      ...states,
      done: {
        type: 'final',
        description: 'The workflow completed; output: the main-lane context.',
      },
      [FAILED_STATE_ID]: {
        id: FAILED_STATE_ID,
        type: 'final',
        tags: ['error'],
        description: 'A step failed for good; output: { error }.',
      },
    },
    context: ({ input }: { input: WorkflowInput | undefined }) => initialContext(input),
    output: ({ context }: { context: WorkflowMachineContext }): WorkflowOutput =>
      context.error !== undefined
        ? { error: context.error }
        : (context.lanes[MAIN_LANE] as WorkflowOutput),
  };
  const workflowSetup = createWorkflowSetup(index);
  // The config is built at run time from the steps, so TypeScript cannot check it against the
  // setup's literal action/guard/actor names and params; the builder only writes names it
  // registered above (the tests run every kind of state).
  const machine = workflowSetup.createMachine(
    root as unknown as Parameters<WorkflowSetup['createMachine']>[0],
  ) as unknown as WorkflowMachine;
  return {
    id,
    version,
    name: definition.name ?? id,
    ...(definition.description !== undefined ? { description: definition.description } : {}),
    machine,
    plan: index.plan,
    steps,
  };
}
