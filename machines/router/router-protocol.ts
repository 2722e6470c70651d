import type { Context } from '../../src/context/context.js';
import { contextShapeIssues, parseContext } from '../../src/context/parse-context.js';
import { isJsonOnce } from '../../src/context/validated-json.js';
import type { JsonValue } from '../../src/json.js';
import type { TargetCallHelpers } from '../../src/router/routing-target.js';
import type { TargetAddress } from './target-types.js';

/** Who asked for a call, handed to the target's helpers. JSON (persisted with pending calls). */
export interface CallMeta {
  readonly taskId: string;
  readonly stepId: string;
  readonly attempt: number;
  readonly idempotencyKey: string;
}

/** A call the router forwards to a target's child actor. */
export interface TargetCallEvent {
  readonly type: 'target.call';
  readonly requestId: string;
  readonly context: Context;
  readonly meta: CallMeta;
}

/** Asks a child to give up a call (its helpers' signal is aborted). */
export interface TargetCancelEvent {
  readonly type: 'target.cancel';
  readonly requestId: string;
}

/** What the router sends its children. */
export type TargetChildEvent = TargetCallEvent | TargetCancelEvent;

/**
 * Sets an agent child's state back (to the one last saved, after a failed save): a call in
 * progress is run again from it; its first run's signal aborts and its outcome is dropped.
 */
export interface AgentResetEvent {
  readonly type: 'agent.reset';
  readonly state: JsonValue;
}

/**
 * Sets agents' states back, by child id (`'target:agent_type:<id>'`): a live agent gets an
 * {@link AgentResetEvent}, a stopped one the state for its next start. Sent by
 * `startPersistedRouter` after a failed save, so that agents go on from what the store holds.
 */
export interface AgentsResetEvent {
  readonly type: 'agents.reset';
  readonly states: Readonly<Record<string, JsonValue>>;
}

/** Sent by a child to the router when its logic starts (again, after a restore for a tool). */
export interface TargetReadyEvent {
  readonly type: 'target.ready';
  readonly childId: string;
}

/** The outcome of one call, sent by the child to the router: a context or a failure, as data. */
export type TargetResultEvent =
  | {
      readonly type: 'target.result';
      readonly childId: string;
      readonly requestId: string;
      readonly ok: true;
      readonly context: Context;
    }
  | {
      readonly type: 'target.result';
      readonly childId: string;
      readonly requestId: string;
      readonly ok: false;
      readonly error: unknown;
    };

/** Input of every target child actor. */
export interface TargetChildInput {
  /** The child's id under the router, `'target:<targetType>:<targetId>'`. */
  readonly childId: string;
  /** An agent's state kept by the router while the agent was stopped. Default: initial state. */
  readonly state?: JsonValue;
}

/** Asks the router to run `context` on `target`; answered by a `route.response` emitted event. */
export interface RouteRequestEvent {
  readonly type: 'route.request';
  /** Identifies the call; a request whose id is still pending is not run twice. */
  readonly requestId: string;
  readonly target: TargetAddress;
  readonly context: Context;
  readonly meta: CallMeta;
}

/** Withdraws a pending request: no response is emitted, the child is asked to abort it. */
export interface RouteCancelEvent {
  readonly type: 'route.cancel';
  readonly requestId: string;
}

/** The answer to a `route.request`, emitted by the router actor (`actor.on('route.response')`). */
export type RouteResponseEvent =
  | {
      readonly type: 'route.response';
      readonly requestId: string;
      readonly ok: true;
      readonly context: Context;
    }
  | {
      readonly type: 'route.response';
      readonly requestId: string;
      readonly ok: false;
      readonly error: unknown;
    };

/** Builds the helpers a target's handler receives for one call. */
export function callHelpers(meta: CallMeta, signal: AbortSignal): TargetCallHelpers {
  return {
    taskId: meta.taskId,
    stepId: meta.stepId,
    attempt: meta.attempt,
    idempotencyKey: meta.idempotencyKey,
    signal,
  };
}

/** The helpers of one call, with its abort signal made on first read, and the call's abort. */
export interface LazyCall {
  readonly helpers: TargetCallHelpers;
  /** Aborts the call's signal (now if it was read, else when it is). */
  abort(): void;
  /** Whether {@link LazyCall.abort} was called. */
  readonly aborted: boolean;
}

/**
 * {@link callHelpers} whose `signal` (an `AbortController`) is only made when a handler reads
 * it: most handlers never do, and one controller per call is a measurable share of a trivial
 * pool job.
 */
export function lazyCallHelpers(meta: CallMeta): LazyCall {
  let controller: AbortController | undefined;
  let aborted = false;
  const helpers: TargetCallHelpers = {
    taskId: meta.taskId,
    stepId: meta.stepId,
    attempt: meta.attempt,
    idempotencyKey: meta.idempotencyKey,
    get signal() {
      if (controller === undefined) {
        controller = new AbortController();
        if (aborted) controller.abort();
      }
      return controller.signal;
    },
  };
  return {
    helpers,
    abort: () => {
      aborted = true;
      controller?.abort();
    },
    get aborted() {
      return aborted;
    },
  };
}

/** Whether `value` is JSON that cannot change any more: a primitive, or frozen and checked. */
function settledJson(value: unknown): boolean {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) return false;
  return isJsonOnce(value);
}

/**
 * `parseContext`, without its deep copy when `value` already is a context made by
 * `createContext`/`parseContext` (frozen, its data and metadata frozen and checked): such a
 * context cannot change, so it is passed on as it is. Anything else is parsed (and copied).
 */
export function acceptContext(value: unknown): Context {
  if (typeof value === 'object' && value !== null && accepted.has(value)) return value as Context;
  const context = checkedContext(value);
  accepted.add(context);
  return context;
}

/** Contexts {@link acceptContext} returned: frozen and checked, so passed on at once. */
const accepted = new WeakSet<object>();

function checkedContext(value: unknown): Context {
  if (
    typeof value === 'object' &&
    value !== null &&
    Object.isFrozen(value) &&
    contextShapeIssues(value).length === 0
  ) {
    const { data, metadata } = value as Context;
    if (settledJson(data) && settledJson(metadata)) return value as Context;
  }
  return parseContext(value);
}
