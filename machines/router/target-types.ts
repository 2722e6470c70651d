import type { AnyContext, Context } from '../../src/context/context.js';
import type { JsonValue } from '../../src/json.js';
import type {
  RoutingTargetType,
  TargetCallHelpers,
  ToolTarget,
} from '../../src/router/routing-target.js';
import type { RetryPolicy } from '../backoff.js';

/** A target's type and id, without a priority: what a request names. */
export interface TargetAddress {
  readonly targetType: RoutingTargetType;
  readonly targetId: string;
}

/**
 * What an agent's `process` returns: the result context (any data type; checked to be JSON) and
 * the agent's next state.
 */
export interface AgentStep<TState = JsonValue> {
  readonly result: AnyContext;
  readonly state: TState;
}

/**
 * An agent target (`targetType: 'agent_type'`): an actor with its own JSON state across calls
 * (e.g. a conversation memory), persisted with the router that owns it. Calls to one agent run
 * one at a time, in arrival order, each seeing the state the previous one left. Made by
 * `defineAgent`.
 */
export interface AgentTarget<TState = JsonValue> {
  readonly targetType: 'agent_type';
  readonly targetId: string;
  /** Human description. Default: none. */
  readonly description?: string;
  /** The state of a fresh agent. */
  readonly initialState: TState;
  /** Handles one context; must not mutate `state` (return a new one). */
  process(
    context: Context,
    state: TState,
    helpers: TargetCallHelpers,
  ): AgentStep<TState> | Promise<AgentStep<TState>>;
}

/**
 * A worker pool target (`targetType: 'worker_pool'`): `size` worker actors behind a FIFO queue of
 * at most `queueLimit` contexts. A full queue refuses new contexts with `PoolSaturatedError`
 * (back-pressure as data: nothing runs, the caller retries later). A handler that throws fails
 * only its own job, which is retried per `retry`; the other workers go on. Made by
 * `defineWorkerPool`.
 */
export interface WorkerPoolTarget {
  readonly targetType: 'worker_pool';
  readonly targetId: string;
  /** Human description. Default: none. */
  readonly description?: string;
  /** Number of workers, i.e. contexts handled at once; an integer ≥ 1. */
  readonly size: number;
  /** Contexts that may wait for a worker beyond the `size` running. */
  readonly queueLimit: number;
  /** How a failed job is retried (backoff waits on its worker). */
  readonly retry: RetryPolicy;
  /** Handles one context; the result's data may be of any JSON type (checked). */
  handler(context: Context, helpers: TargetCallHelpers): AnyContext | Promise<AnyContext>;
}

/**
 * Any target the router actor can run: a tool, an agent (whatever the type of its state, e.g.
 * an interface; the router checks it is JSON) or a worker pool.
 */
export type RouterTarget = ToolTarget | AgentTarget<unknown> | WorkerPoolTarget;

/** `'<targetType>:<targetId>'`: how a target is registered in the router's `setup({ actors })`. */
export function targetKey(target: TargetAddress): string {
  return `${target.targetType}:${target.targetId}`;
}

/** The id of a target's child actor under the router: `'target:<targetType>:<targetId>'`. */
export function targetChildId(target: TargetAddress): string {
  return `target:${targetKey(target)}`;
}
