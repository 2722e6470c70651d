import type { WorkflowStep } from '../src/checkpoint/workflow-state.js';
import type { AnyContext, Context } from '../src/context/context.js';
import type { StandardSchemaV1 } from '../src/context/standard-schema.js';
import type { JsonObject } from '../src/json.js';
import type { MergeContextDataOptions } from '../src/merger/merge-context-data.js';
import type { RoutingTarget, RoutingTargetType } from '../src/router/routing-target.js';
import type { RetryPolicy } from './backoff.js';

/** What a task step's `run` receives beside the context and its plan entry. */
export interface StepHelpers {
  readonly taskId: string;
  readonly stepId: string;
  /** 1 for the first attempt, 2 for the first retry… */
  readonly attempt: number;
  /**
   * `${taskId}:${stepId}:${attempt}`. Steps run at least once (an attempt in flight when the
   * process died runs again after restore, with the same key): pass it to side effects.
   */
  readonly idempotencyKey: string;
  /** Aborted when the attempt times out or the workflow actor is stopped. */
  readonly signal: AbortSignal;
}

/** What every step kind has. */
interface StepBase {
  /**
   * Unique in the whole workflow; becomes the state key. `A-Z a-z 0-9 _ -` (no `.`, which XState
   * uses as a path separator), not `done` or `failed`.
   */
  readonly stepId: string;
  /** Human name, shown in the plan and the diagram. Default: the step id. */
  readonly name?: string;
  /** What the step does, shown in the plan and the diagram. Default: none. */
  readonly description?: string;
  /** The tool that carries the step out, copied to the plan entry. Default: none. */
  readonly toolName?: string;
  /** The operation, copied to the plan entry (and logged as such). Default: the step kind. */
  readonly action?: string;
  /** JSON metadata, copied to the plan entry beside `kind` and `lane`. Default: none. */
  readonly metadata?: JsonObject;
}

/** Keys of the other step kinds, so a step object is exactly one kind. */
interface NoKind {
  readonly run?: never;
  readonly route?: never;
  readonly parallel?: never;
  readonly sleep?: never;
  readonly sleepUntil?: never;
  readonly waitFor?: never;
}

/** Runs a function that turns the lane's context into the next one. */
export interface TaskStep extends StepBase, Omit<NoKind, 'run'> {
  /**
   * The work. Must return a context with JSON data (checked; a bad value fails the attempt); its
   * data may be typed with interfaces (`Context<'Report', Report>`).
   */
  readonly run: (
    context: Context,
    step: WorkflowStep,
    helpers: StepHelpers,
  ) => AnyContext | Promise<AnyContext>;
  /** Retries with backoff. Default: one attempt. */
  readonly retry?: RetryPolicy;
  /**
   * Longest an attempt may run, in ms; then its signal is aborted and it fails. From 1 to
   * 2,147,483,647 (2^31 − 1, about 24.8 days: the longest delay a timer takes), or `Infinity`
   * for none; `defineWorkflow` throws `TypeError` for anything else. Default: none.
   */
  readonly timeoutMs?: number;
  /**
   * When the last attempt failed: `'fail'` ends the workflow in `failed`; `'continue'` replaces
   * the lane's context with a `StepError` context and goes on. Default: `'fail'`.
   */
  readonly onError?: 'fail' | 'continue';
}

/** Options of a routed step (`route: { … }`). */
export interface RouteStepOptions {
  /**
   * The targets this step may go to (ids, or type and id); a rule whose target is not among them
   * falls through to the next. Checked by `defineWorkflow` as the router checks a rule's target:
   * anything but an array of ids and `{ targetType, targetId }`, or a target type other than
   * `agent_type`, `tool` or `worker_pool`, is a `TypeError`; an invalid id, an
   * `InvalidIdError`. The runtime leaves out the entries that name no target it registers (a
   * rule for one falls through; none left: `NoRouteError`). Default: every target the runtime
   * has.
   */
  readonly availableTargets?: readonly (
    | string
    | { readonly targetType: RoutingTargetType; readonly targetId: string }
  )[];
}

/**
 * A task step with no implementation of its own: the runtime's router decides where the lane's
 * context goes (an agent, a tool or a worker pool) and the target's result context becomes the
 * step's result. The decision is made once when the step is entered, checkpointed before the
 * target runs, kept across retries and restores, and logged in the lineage. A context with no
 * route fails the workflow (`NoRouteError`, whatever `onError` says).
 */
export interface RoutedStep extends StepBase, Omit<NoKind, 'route'> {
  /** `true`, or options. */
  readonly route: true | RouteStepOptions;
  /** Retries with backoff, on the same target. Default: one attempt. */
  readonly retry?: RetryPolicy;
  /**
   * Longest an attempt may run, in ms; then the call is withdrawn and fails. As
   * {@link TaskStep.timeoutMs}: 1 to 2,147,483,647, or `Infinity` for none. Default: none.
   */
  readonly timeoutMs?: number;
  /** When the last attempt failed: as {@link TaskStep.onError}. Default: `'fail'`. */
  readonly onError?: 'fail' | 'continue';
}

/** Where a routed step sends its context, and why. JSON, held in the workflow's context. */
export interface StepRoute {
  readonly target: RoutingTarget;
  /** The rule that chose it (`type:<ContextType>`, a content rule's id, or `fallback`). */
  readonly ruleId: string;
  /** For people, e.g. `'type TaskContext'`. */
  readonly reason: string;
  /** The context that was routed. */
  readonly contextId: string;
}

/** How a parallel group merges its regions' final contexts. */
export interface GroupMergeOptions {
  /** Default: `ContextMergeStrategy.RecursiveDictMerge`. */
  readonly strategy?: MergeContextDataOptions['strategy'];
  /** Required with the `Custom` strategy. Default: none. */
  readonly customMergeFunc?: MergeContextDataOptions['customMergeFunc'];
  /** Type name of the merged context. Default: the type of the group's input context. */
  readonly contextType?: string;
}

/** Runs step lists concurrently (one per region), each from the group's input, then merges. */
export interface ParallelStep extends StepBase, Omit<NoKind, 'parallel'> {
  /**
   * Region id (`A-Z a-z 0-9 _ -`) → the steps it runs in sequence. The regions' final contexts
   * are merged in the order JavaScript enumerates this object's keys (as do the plan and
   * `mergedFrom`): integer-like region ids (`'1'`, `'2'`, `'10'`; not `'01'`) first, in
   * ascending numeric order, then the others in the order written. So
   * `{ b: […], 2: […], a: […], 1: […] }` merges `1`, `2`, `b`, `a`: `AppendList` lists them in
   * that order, and with `Overwrite` region `a`'s values win.
   */
  readonly parallel: Readonly<Record<string, readonly Step[]>>;
  /** Default: recursive dictionary merge, type of the input context. */
  readonly merge?: GroupMergeOptions;
}

/** Waits for a fixed time, durably (survives restore); passes the context on unchanged. */
export interface SleepStep extends StepBase, Omit<NoKind, 'sleep'> {
  readonly sleep: { readonly ms: number };
}

/** Waits until a time computed from the context, durably; passes the context on unchanged. */
export interface SleepUntilStep extends StepBase, Omit<NoKind, 'sleepUntil'> {
  /** Deadline in ms since the epoch, computed once when the step is entered. */
  readonly sleepUntil: (context: Context) => number;
}

/** Suspends until an external event (human in the loop); its data becomes the next context. */
export interface WaitForStep extends StepBase, Omit<NoKind, 'waitFor'> {
  readonly waitFor: {
    /** The event type, e.g. `'approval'`; the event is `{ type, data }`. */
    readonly event: string;
    /**
     * Validates `data` synchronously (an async schema refuses every event). Default: any JSON.
     * An event without `data` gives the next context `null` as its data.
     */
    readonly schema?: StandardSchemaV1;
    /** Type name of the context made from the data. Default: the event type's id form. */
    readonly contextType?: string;
  };
}

/** One step of a workflow. */
export type Step = TaskStep | RoutedStep | ParallelStep | SleepStep | SleepUntilStep | WaitForStep;

/** Why a step (or a group merge) failed for good. JSON. */
export interface StepFailure {
  readonly stepId: string;
  readonly message: string;
  /** The error's `name`, e.g. `'StepTimeoutError'`. */
  readonly name: string;
  /** Attempts made (1 for a merge). */
  readonly attempts: number;
  /** The error's `code` when it was an `OrchestrationError`. */
  readonly code?: string;
}

/**
 * The workflow machine's context. Small on purpose (each checkpoint stores it): only the current
 * contexts, never history, and per-step bookkeeping is removed when the step completes.
 */
export interface WorkflowMachineContext {
  readonly taskId: string;
  /**
   * The context flowing through each lane: `'main'` at the root, `'<groupId>.<regionId>'` for a
   * region of a running parallel group (removed after the merge).
   */
  readonly lanes: Readonly<Record<string, Context>>;
  /** Attempt number of each task step in progress (1 = first attempt). */
  readonly attempts: Readonly<Record<string, number>>;
  /** Absolute deadlines (ms since the epoch) of sleeps and retry backoffs in progress. */
  readonly deadlines: Readonly<Record<string, number>>;
  /** Set when the workflow failed. */
  readonly error?: StepFailure;
  /** The route decided for each routed step in progress (removed when the step is left). */
  readonly routes?: Readonly<Record<string, StepRoute>>;
  /** Whether commit gates wait for `workflow.committed`. */
  readonly gated: boolean;
}

/** Input of a workflow machine. */
export interface WorkflowInput {
  /** Id of this run; a valid storage id. */
  readonly taskId: string;
  /** The first context of the main lane (checked when the machine starts). */
  readonly input: AnyContext;
  /** Whether commit gates wait for `workflow.committed` (the runtime sets this). Default: false. */
  readonly gated?: boolean;
}

/** Sent by the runtime once the checkpoint taken at the commit gates is saved. */
export interface WorkflowCommittedEvent {
  readonly type: 'workflow.committed';
}

/**
 * An external event for a `waitFor` step: `{ type: 'approval', data: { … } }`, or without `data`
 * (the next context's data is then `null`).
 */
export interface WorkflowExternalEvent {
  readonly type: string;
  readonly data?: unknown;
}

/** Every event a workflow machine accepts. */
export type WorkflowEvent = WorkflowCommittedEvent | WorkflowExternalEvent;

/** The machine's output when it ended in `failed`. */
export interface WorkflowFailureOutput {
  readonly error: StepFailure;
}

/** The machine's output: the final main-lane context, or the failure. */
export type WorkflowOutput = Context | WorkflowFailureOutput;

/**
 * Tags a workflow machine's states carry: `checkpoint` (a commit gate), `error` (failed),
 * `suspended` (waiting for an external event), `timer` (waiting for a deadline in
 * `context.deadlines`: a durable sleep or a retry's backoff).
 */
export type WorkflowTag = 'checkpoint' | 'error' | 'suspended' | 'timer';
