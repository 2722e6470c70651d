import {
  type Actor,
  createActor,
  type InspectionEvent,
  type Observer,
  type Snapshot,
} from 'xstate';
import type { AnyContext, Context } from '../../src/context/context.js';
import { freezeContextsIn } from '../../src/context/freeze-contexts.js';
import { RouterStoppedError } from '../../src/errors.js';
import { idempotencyKey } from '../run-step.js';
import {
  createRouterMachine,
  type RouterMachine,
  type RouterMachineOptions,
} from './router-machine.js';
import { acceptContext, type RouteResponseEvent } from './router-protocol.js';
import type { TargetAddress } from './target-types.js';

/** Options of {@link startRouter}. */
export interface StartRouterOptions extends RouterMachineOptions {
  /** A persisted router snapshot (`router.getPersistedSnapshot()`) to continue from. Default: none. */
  readonly snapshot?: Snapshot<unknown>;
  /** An XState inspector for the router and its children. Default: none. */
  readonly inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
}

/** Options of one call through the router. */
export interface RouterCallOptions {
  /**
   * Identifies the call: a call with the id of one still pending (or just answered with nobody
   * waiting, e.g. after a restore) gets that call's answer instead of running again.
   * Default: a new id.
   */
  readonly requestId?: string;
  /** Passed to the target's helpers. Default: `'direct'`. */
  readonly taskId?: string;
  /** Passed to the target's helpers. Default: the target id. */
  readonly stepId?: string;
  /** Passed to the target's helpers. Default: `1`. */
  readonly attempt?: number;
  /** Aborting it withdraws the call (`route.cancel`) and rejects with its reason. Default: none. */
  readonly signal?: AbortSignal;
}

/** The seed's `agent.process(context)`. */
export interface AgentHandle {
  process(context: AnyContext, options?: RouterCallOptions): Promise<Context>;
}
/** The seed's `tool.run(context)`. */
export interface ToolHandle {
  run(context: AnyContext, options?: RouterCallOptions): Promise<Context>;
}
/** The seed's `worker_pool.submit(context)`. */
export interface WorkerPoolHandle {
  submit(context: AnyContext, options?: RouterCallOptions): Promise<Context>;
}

/** A running router actor with a promise API: what {@link startRouter} returns. */
export interface RouterHandle {
  /** The router actor (an XState actor of {@link createRouterMachine}'s machine). */
  readonly actor: Actor<RouterMachine>;
  /** The targets it runs, by type and id. */
  readonly targets: readonly TargetAddress[];
  /**
   * Runs `context` on `target` through the router's child for it; resolves with the result
   * context, rejects with the target's error (or `UnknownTargetError`, `PoolSaturatedError`).
   */
  call(target: TargetAddress, context: AnyContext, options?: RouterCallOptions): Promise<Context>;
  /** The seed's `get_agent(id)`: `process(context)` calls the agent through the router. */
  getAgent(agentId: string): AgentHandle;
  /** The seed's `get_tool(id)`: `run(context)` calls the tool through the router. */
  getTool(toolId: string): ToolHandle;
  /** The seed's `get_worker_pool(id)`: `submit(context)` queues the context on the pool. */
  getWorkerPool(poolId: string): WorkerPoolHandle;
  /**
   * The router's persisted snapshot, children included (agents' states, pools' queues): a JSON
   * copy, taken now.
   */
  getPersistedSnapshot(): Snapshot<unknown>;
  /** Stops the router and every child; calls still waiting reject with `RouterStoppedError`. */
  stop(): void;
}

interface Waiter {
  readonly resolve: (context: Context) => void;
  readonly reject: (error: unknown) => void;
  readonly promise: Promise<Context>;
  /** Told the number of the answer before the call settles (see {@link ObservedRouter}). */
  answered?: ((answer: number) => void) | undefined;
}

/** An answer nobody waited for, with its number. */
interface Unclaimed {
  readonly response: RouteResponseEvent;
  readonly answer: number;
}

/**
 * A router handle that numbers the answers its router emits (0, 1, …, in the order emitted), for
 * `startPersistedRouter`, which needs to know which answers a save of the router's snapshot
 * covers: those numbered below {@link ObservedRouter.answers} when the snapshot was taken.
 */
export interface ObservedRouter extends RouterHandle {
  /** How many answers the router has emitted so far. */
  answers(): number;
  /**
   * `call`, where `answered` is told the number of the call's answer just before the call
   * settles with it (an answer a restored router gave before the call was sent again has the
   * number it got when the router emitted it).
   */
  callObserved(
    target: TargetAddress,
    context: AnyContext,
    options: RouterCallOptions | undefined,
    answered: (answer: number) => void,
  ): Promise<Context>;
}

/** Answers nobody waited for (kept for a re-send of the same request id). */
const UNCLAIMED_LIMIT = 256;

let routerCount = 0;

/** A deep copy through JSON (a router snapshot is JSON: contexts, agent states, bookkeeping). */
function jsonCopy<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/**
 * Starts a router actor for `targets` (see {@link createRouterMachine}) and returns a promise
 * API over it: `call`, and the seed's `getAgent(id).process`, `getTool(id).run`,
 * `getWorkerPool(id).submit`. With `snapshot` it continues a persisted router.
 *
 * @example
 * ```ts
 * const router = startRouter({ targets: [planner, parser, chunks] });
 * const plan = await router.getAgent('planner').process(taskContext);
 * const saved = JSON.stringify(router.getPersistedSnapshot()); // the planner's memory included
 * const again = startRouter({ targets: [planner, parser, chunks], snapshot: JSON.parse(saved) });
 * ```
 */
export function startRouter(options: StartRouterOptions): RouterHandle {
  const {
    answers: _answers,
    callObserved: _callObserved,
    ...handle
  } = startObservedRouter(options);
  return handle;
}

/** {@link startRouter}, with its answers numbered (see {@link ObservedRouter}). */
export function startObservedRouter(options: StartRouterOptions): ObservedRouter {
  const machine = createRouterMachine(options);
  // A copy: the router updates its pending table in place. Its contexts are frozen, as live ones.
  const snapshot =
    options.snapshot === undefined ? undefined : freezeContextsIn(jsonCopy(options.snapshot));
  const actor = createActor(machine, {
    ...(snapshot === undefined ? {} : { snapshot }),
    ...(options.inspect === undefined ? {} : { inspect: options.inspect }),
  });
  const waiting = new Map<string, Waiter>();
  const unclaimed = new Map<string, Unclaimed>();
  let answers = 0;
  const prefix = `r${(routerCount++).toString(36)}-${Date.now().toString(36)}-`;
  let next = 0;
  let stopped = false;

  const settle = (waiter: Waiter, response: RouteResponseEvent, answer: number) => {
    waiter.answered?.(answer);
    if (response.ok) waiter.resolve(response.context);
    else waiter.reject(response.error);
  };
  actor.on('route.response', (response) => {
    const answer = answers++;
    const waiter = waiting.get(response.requestId);
    if (waiter !== undefined) {
      waiting.delete(response.requestId);
      settle(waiter, response, answer);
      return;
    }
    unclaimed.set(response.requestId, { response, answer });
    if (unclaimed.size > UNCLAIMED_LIMIT) {
      const oldest = unclaimed.keys().next().value;
      if (oldest !== undefined) unclaimed.delete(oldest);
    }
  });
  actor.start();

  const call = (
    target: TargetAddress,
    input: AnyContext,
    callOptions: RouterCallOptions = {},
    answered?: (answer: number) => void,
  ) => {
    if (stopped) return Promise.reject(new RouterStoppedError());
    let context: Context;
    try {
      context = acceptContext(input);
    } catch (error) {
      return Promise.reject(error);
    }
    const requestId = callOptions.requestId ?? `${prefix}${next++}`;
    const known = waiting.get(requestId);
    if (known !== undefined) {
      const first = known.answered;
      if (answered !== undefined) {
        known.answered =
          first === undefined
            ? answered
            : (answer) => {
                first(answer);
                answered(answer);
              };
      }
      return known.promise;
    }
    let resolve: (context: Context) => void = () => {};
    let reject: (error: unknown) => void = () => {};
    const promise = new Promise<Context>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const waiter: Waiter = { resolve, reject, promise, answered };
    const earlier = unclaimed.get(requestId);
    if (earlier !== undefined) {
      unclaimed.delete(requestId);
      settle(waiter, earlier.response, earlier.answer);
      return promise;
    }
    const { signal } = callOptions;
    if (signal?.aborted) return Promise.reject(signal.reason);
    waiting.set(requestId, waiter);
    if (signal !== undefined) {
      const onAbort = () => {
        if (waiting.get(requestId) !== waiter) return;
        waiting.delete(requestId);
        actor.send({ type: 'route.cancel', requestId });
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      promise.then(
        () => signal.removeEventListener('abort', onAbort),
        () => signal.removeEventListener('abort', onAbort),
      );
    }
    const taskId = callOptions.taskId ?? 'direct';
    const stepId = callOptions.stepId ?? target.targetId;
    const attempt = callOptions.attempt ?? 1;
    const meta = {
      taskId,
      stepId,
      attempt,
      idempotencyKey:
        callOptions.requestId ?? idempotencyKey(taskId, `${stepId}.${requestId}`, attempt),
    };
    actor.send({ type: 'route.request', requestId, target, context, meta });
    return promise;
  };

  return {
    actor,
    targets: options.targets.map(({ targetType, targetId }) => ({ targetType, targetId })),
    call,
    ...seedHandles(call),
    answers: () => answers,
    callObserved: call,
    getPersistedSnapshot: () => jsonCopy(actor.getPersistedSnapshot() as Snapshot<unknown>),
    stop: () => {
      if (stopped) return;
      stopped = true;
      actor.stop();
      for (const [requestId, waiter] of waiting) {
        waiting.delete(requestId);
        waiter.reject(new RouterStoppedError(requestId));
      }
    },
  };
}

/** The seed's `getAgent(id).process`, `getTool(id).run`, `getWorkerPool(id).submit` over `call`. */
export function seedHandles(
  call: RouterHandle['call'],
): Pick<RouterHandle, 'getAgent' | 'getTool' | 'getWorkerPool'> {
  return {
    getAgent: (targetId) => ({
      process: (context, options) => call({ targetType: 'agent_type', targetId }, context, options),
    }),
    getTool: (targetId) => ({
      run: (context, options) => call({ targetType: 'tool', targetId }, context, options),
    }),
    getWorkerPool: (targetId) => ({
      submit: (context, options) => call({ targetType: 'worker_pool', targetId }, context, options),
    }),
  };
}
