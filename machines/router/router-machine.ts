import { type AnyActorLogic, type AnyActorRef, enqueueActions, setup } from 'xstate';
import type { Context } from '../../src/context/context.js';
import { InvalidIdError, UnknownTargetError } from '../../src/errors.js';
import { assertValidId } from '../../src/ids.js';
import type { JsonValue } from '../../src/json.js';
import { assertTimerDelay, MAX_TIMER_DELAY_MS } from '../../src/timer-delay.js';
import { agentChildLogic, assertAgentParts } from './define-agent.js';
import { assertToolParts, toolChildLogic } from './define-tool.js';
import { assertWorkerPoolParts, workerPoolChildLogic } from './define-worker-pool.js';
import type {
  AgentsResetEvent,
  CallMeta,
  RouteCancelEvent,
  RouteRequestEvent,
  RouteResponseEvent,
  TargetReadyEvent,
  TargetResultEvent,
} from './router-protocol.js';
import { type AgentTarget, type RouterTarget, targetChildId, targetKey } from './target-types.js';

/** Options of {@link createRouterMachine} (and `startRouter`). */
export interface RouterMachineOptions {
  /** The tools, agents and worker pools the router can run; one per type and id. */
  readonly targets: readonly RouterTarget[];
  /**
   * A child with nothing in flight for this long (ms) is stopped (an agent's state is kept for
   * the next one). From 1 to 2,147,483,647 (2^31 − 1, about 24.8 days: the longest delay a timer
   * takes), or `Infinity` to keep children until evicted; anything else is a `TypeError`.
   * Default: `60_000`.
   */
  readonly idleTimeoutMs?: number;
  /**
   * Children kept at once. A new target beyond it evicts the least recently used idle child; when
   * every child is busy the new one is spawned anyway and the excess is evicted as soon as
   * children go idle. Default: `32`.
   */
  readonly maxChildren?: number;
  /** The machine id. Default: `'router'`. */
  readonly id?: string;
}

/** What the router knows of one child. JSON. */
export interface RouterChildInfo {
  /** `'<targetType>:<targetId>'`, the registered logic's name. */
  readonly key: string;
  /** When it was last given or finished a call, ms since the epoch. */
  readonly lastUsed: number;
  /** Order of last use among the children (higher is more recent): what LRU eviction reads. */
  readonly order: number;
  /** Calls sent to it and not answered yet. */
  readonly inFlight: number;
  /** Whether it has said `target.ready` (calls for it wait until then). */
  readonly ready: boolean;
}

/** A request the router has not answered yet. JSON, persisted with the router. */
export interface PendingRequest {
  readonly childId: string;
  readonly context: Context;
  readonly meta: CallMeta;
}

/** The router machine's context: small bookkeeping, persisted with its snapshot. */
export interface RouterMachineContext {
  /**
   * Child id → what the router knows of it. Like `pending`, `uses` and `sweepAt`, updated in
   * place on the path of every call (no copy of the router's context per request or answer).
   */
  readonly children: Record<string, RouterChildInfo>;
  /**
   * Request id → the request, until answered or cancelled. Updated in place (O(1) per request
   * whatever the number in flight; copying it per request made 256 in flight quadratic), so
   * serialize a persisted snapshot before the router goes on (`startRouter` hands out JSON
   * copies).
   */
  readonly pending: Record<string, PendingRequest>;
  /** Child id → the state of an agent that was stopped (idle or evicted), for its next start. */
  readonly memory: Readonly<Record<string, JsonValue>>;
  /** When the idle sweep is due, ms since the epoch; `null` when none is scheduled. */
  sweepAt: number | null;
  /** Counts uses of children (requests and answers), for {@link RouterChildInfo.order}. */
  uses: number;
}

/** Every event the router machine takes. */
export type RouterEvent =
  | RouteRequestEvent
  | RouteCancelEvent
  | TargetReadyEvent
  | TargetResultEvent
  | AgentsResetEvent
  | { readonly type: 'router.sweep' }
  | { readonly type: `xstate.error.actor.${string}`; readonly error: unknown };

const ERROR_PREFIX = 'xstate.error.actor.';

function without<T>(record: Readonly<Record<string, T>>, key: string): Record<string, T> {
  const rest: Record<string, T> = {};
  for (const other in record) if (other !== key) rest[other] = record[other] as T;
  return rest;
}

/**
 * Checks the options of {@link createRouterMachine} without building it: `idleTimeoutMs` and
 * `maxChildren` (`TypeError`), and each target as `defineTool`, `defineAgent` and
 * `defineWorkerPool` check theirs, since a target may be made by hand (`InvalidIdError` for a bad
 * or repeated id, `TypeError` naming what is wrong). `createRouterMachine` runs the same checks;
 * call this one to refuse a configuration before anything else happens (before a router snapshot
 * is read, say).
 */
export function assertRouterMachineOptions(options: RouterMachineOptions): void {
  routerLimits(options);
  const keys = new Set<string>();
  for (const target of options.targets ?? []) keys.add(checkedTargetKey(target, keys));
}

/** `idleTimeoutMs` and `maxChildren` with their defaults, checked. */
function routerLimits(options: RouterMachineOptions) {
  const idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
  const maxChildren = options.maxChildren ?? 32;
  assertTimerDelay('idleTimeoutMs', idleTimeoutMs, 'children kept until evicted');
  if (!(Number.isSafeInteger(maxChildren) && maxChildren >= 1)) {
    throw new TypeError('maxChildren must be an integer ≥ 1');
  }
  return { idleTimeoutMs, maxChildren };
}

/** Checks one target (see {@link assertRouterMachineOptions}); returns its key, not in `keys`. */
function checkedTargetKey(target: RouterTarget, keys: ReadonlySet<string>): string {
  assertValidId('target id', target?.targetId);
  const key = targetKey(target);
  if (keys.has(key)) throw new InvalidIdError('target id', target.targetId, 'registered twice');
  if (target.targetType === 'tool') assertToolParts(target.targetId, target);
  else if (target.targetType === 'agent_type') assertAgentParts(target.targetId, target);
  else if (target.targetType === 'worker_pool') assertWorkerPoolParts(target.targetId, target);
  else throw new TypeError(`Unknown target type ${String((target as RouterTarget).targetType)}`);
  return key;
}

/** The actor logic of each target, checked, registered by `'<targetType>:<targetId>'`. */
function targetLogics(targets: readonly RouterTarget[]): Record<string, AnyActorLogic> {
  const logics: Record<string, AnyActorLogic> = {};
  const keys = new Set<string>();
  for (const target of targets) {
    const key = checkedTargetKey(target, keys);
    keys.add(key);
    if (target.targetType === 'tool') logics[key] = toolChildLogic(target);
    else if (target.targetType === 'agent_type') logics[key] = agentChildLogic(target);
    else logics[key] = workerPoolChildLogic(target);
  }
  return logics;
}

/** The state of an agent child, read before it is stopped. */
function agentState(self: AnyActorRef, childId: string, key: string): JsonValue | undefined {
  if (!key.startsWith('agent_type:')) return undefined;
  const child = self.getSnapshot().children[childId] as AnyActorRef | undefined;
  return (child?.getSnapshot() as { context?: { state?: JsonValue } } | undefined)?.context?.state;
}

/**
 * The state of each of `agents` in a persisted router snapshot (`getPersistedSnapshot()`), by
 * child id: the live child's, else the one kept for its next start, else its initial state (as
 * when there is no snapshot).
 */
export function persistedAgentStates(
  snapshot: unknown,
  agents: readonly AgentTarget[],
): Record<string, JsonValue> {
  const held = snapshot as
    | {
        readonly context?: { readonly memory?: Readonly<Record<string, JsonValue>> };
        readonly children?: Readonly<
          Record<
            string,
            { readonly snapshot?: { readonly context?: { readonly state?: JsonValue } } }
          >
        >;
      }
    | undefined;
  const states: Record<string, JsonValue> = {};
  for (const agent of agents) {
    const childId = targetChildId(agent);
    states[childId] =
      held?.children?.[childId]?.snapshot?.context?.state ??
      held?.context?.memory?.[childId] ??
      agent.initialState;
  }
  return states;
}

/**
 * A persisted router snapshot (`getPersistedSnapshot()`, JSON) without the calls it holds: no
 * pending request, and no child (the calls an agent had queued or was running, a pool's queue and
 * running jobs go with them); the state of each agent child is kept in `memory`, for the agent's
 * next start. Restored, it runs nothing by itself: a call pending when the snapshot was taken
 * runs again only when its caller sends it again (with the same request id and idempotency key),
 * from the agent state the snapshot holds. `startPersistedRouter` restores its record this way,
 * since the record is only saved after agent calls and so may hold calls long since answered or
 * withdrawn. Anything that is not a router snapshot is returned as it is.
 */
export function withoutCalls<T>(snapshot: T): T {
  const held = snapshot as
    | {
        readonly context?: Partial<RouterMachineContext> | null;
        readonly children?: Readonly<
          Record<
            string,
            { readonly snapshot?: { readonly context?: { readonly state?: unknown } } }
          >
        > | null;
      }
    | null
    | undefined;
  if (typeof held !== 'object' || held === null) return snapshot;
  const { context, children } = held;
  if (typeof context !== 'object' || context === null) return snapshot;
  const memory: Record<string, JsonValue> =
    typeof context.memory === 'object' && context.memory !== null ? { ...context.memory } : {};
  const known = typeof context.children === 'object' ? context.children : null;
  const live = typeof children === 'object' && children !== null ? children : {};
  for (const [childId, child] of Object.entries(live)) {
    const key: unknown = known?.[childId]?.key;
    if (typeof key !== 'string' || !key.startsWith('agent_type:')) continue;
    const state = child?.snapshot?.context?.state;
    if (state !== undefined) memory[childId] = state as JsonValue;
  }
  return {
    ...held,
    context: { ...context, children: {}, pending: {}, memory, sweepAt: null },
    children: {},
  } as T;
}

/** The least recently used child with nothing in flight, if any. */
function lruIdle(children: Readonly<Record<string, RouterChildInfo>>): string | undefined {
  let victim: string | undefined;
  let oldest = Number.POSITIVE_INFINITY;
  for (const [childId, info] of Object.entries(children)) {
    if (info.inFlight === 0 && info.order < oldest) {
      oldest = info.order;
      victim = childId;
    }
  }
  return victim;
}

/**
 * The router as an actor: a parent machine that spawns one child actor per target — lazily, on
 * the first request for it, with the registered logic `'<targetType>:<targetId>'` and the
 * explicit id `'target:<targetType>:<targetId>'` — reuses it, stops it when idle
 * (`idleTimeoutMs`) and keeps at most `maxChildren` (evicting the least recently used idle one).
 *
 * Protocol: send `{ type: 'route.request', requestId, target, context, meta }`; the answer is the
 * emitted event `{ type: 'route.response', requestId, ok, context | error }` (`actor.on`), a
 * failure being data (the handler's error, `UnknownTargetError`, `PoolSaturatedError`), never a
 * crash of the router. `{ type: 'route.cancel', requestId }` withdraws a request.
 *
 * Persistence: every child is registered logic with an explicit id, so
 * `actor.getPersistedSnapshot()` restores with `createActor(machine, { snapshot })`: agents keep
 * their state, pools their queue. Requests pending at the snapshot are carried out again after a
 * restore (at least once, same request id and idempotency key: tools get them again when they
 * restart, agents and pools re-run the call they had), and a request re-sent with a pending id
 * is not run twice (`startPersistedRouter` restores its record without them, see
 * {@link withoutCalls}). Idle timers are not persisted (XState drops delayed events on restore): a
 * restored router schedules its sweep again at the next answered call.
 *
 * @example
 * ```ts
 * const machine = createRouterMachine({ targets: [planner, search, chunks], maxChildren: 8 });
 * const actor = createActor(machine).start();
 * actor.on('route.response', (response) => console.log(response.requestId, response.ok));
 * actor.send({ type: 'route.request', requestId: 'r1', target, context, meta });
 * ```
 */
export function createRouterMachine(options: RouterMachineOptions) {
  const { idleTimeoutMs, maxChildren } = routerLimits(options);
  const logics = targetLogics(options.targets ?? []);
  const sweeps = Number.isFinite(idleTimeoutMs);

  return setup({
    types: {
      context: {} as RouterMachineContext,
      events: {} as RouterEvent,
      emitted: {} as RouteResponseEvent,
    },
    actors: logics,
  }).createMachine({
    id: options.id ?? 'router',
    context: () => ({ children: {}, pending: {}, memory: {}, sweepAt: null, uses: 0 }),
    on: {
      'route.request': {
        actions: enqueueActions(({ context, event, enqueue, self }) => {
          const { requestId, target, context: input, meta } = event;
          if (context.pending[requestId] !== undefined) return; // in flight: not run twice
          const key = targetKey(target);
          if (!(key in logics)) {
            const error = new UnknownTargetError(target.targetType, target.targetId);
            enqueue.emit({ type: 'route.response', requestId, ok: false, error });
            return;
          }
          const childId = targetChildId(target);
          const now = Date.now();
          const { pending } = context;
          const info = context.children[childId];
          pending[requestId] = { childId, context: input, meta };
          if (info !== undefined) {
            const uses = ++context.uses;
            const next = { ...info, lastUsed: now, order: uses, inFlight: info.inFlight + 1 };
            context.children[childId] = next;
            if (info.ready) {
              enqueue.sendTo(childId, { type: 'target.call', requestId, context: input, meta });
            }
            return;
          }
          let children: Record<string, RouterChildInfo> = { ...context.children };
          let memory: Record<string, JsonValue> = { ...context.memory };
          if (Object.keys(children).length >= maxChildren) {
            const victim = lruIdle(children);
            const victimInfo = victim === undefined ? undefined : children[victim];
            if (victim !== undefined && victimInfo !== undefined) {
              const state = agentState(self, victim, victimInfo.key);
              if (state !== undefined) memory[victim] = state;
              enqueue.stopChild(victim);
              children = without(children, victim);
            }
          }
          const state = memory[childId];
          memory = without(memory, childId);
          enqueue.spawnChild(key, {
            id: childId,
            input: state === undefined ? { childId } : { childId, state },
          });
          const uses = context.uses + 1;
          children[childId] = { key, lastUsed: now, order: uses, inFlight: 1, ready: false };
          enqueue.assign({ children, memory, uses });
        }),
      },
      'target.ready': {
        actions: enqueueActions(({ context, event, enqueue }) => {
          const { childId } = event;
          const info = context.children[childId];
          if (info === undefined) return;
          enqueue.assign({
            children: { ...context.children, [childId]: { ...info, ready: true } },
          });
          for (const [requestId, request] of Object.entries(context.pending)) {
            if (request.childId !== childId) continue;
            const { context: input, meta } = request;
            enqueue.sendTo(childId, { type: 'target.call', requestId, context: input, meta });
          }
        }),
      },
      'target.result': {
        actions: enqueueActions(({ context, event, enqueue, self }) => {
          const request = context.pending[event.requestId];
          if (request === undefined) return; // cancelled, or answered before a restore
          delete context.pending[event.requestId];
          const { childId } = request;
          const now = Date.now();
          const { children } = context;
          const uses = ++context.uses;
          const info = children[childId];
          if (info !== undefined) {
            const inFlight = Math.max(0, info.inFlight - 1);
            children[childId] = { ...info, lastUsed: now, order: uses, inFlight };
          }
          if (Object.keys(children).length > maxChildren) {
            const victim = lruIdle(children);
            const victimInfo = victim === undefined ? undefined : children[victim];
            if (victim !== undefined && victimInfo !== undefined) {
              const state = agentState(self, victim, victimInfo.key);
              const memory =
                state === undefined ? context.memory : { ...context.memory, [victim]: state };
              enqueue.stopChild(victim);
              enqueue.assign({ children: without(children, victim), memory });
            }
          }
          // A sweep long overdue was lost in a restore (delayed events are not persisted).
          if (sweeps && (context.sweepAt === null || context.sweepAt < now - 1000)) {
            context.sweepAt = now + idleTimeoutMs;
            enqueue.raise({ type: 'router.sweep' }, { delay: idleTimeoutMs, id: 'router.sweep' });
          }
          const { requestId } = event;
          enqueue.emit(
            event.ok
              ? { type: 'route.response', requestId, ok: true, context: event.context }
              : { type: 'route.response', requestId, ok: false, error: event.error },
          );
        }),
      },
      'route.cancel': {
        actions: enqueueActions(({ context, event, enqueue }) => {
          const request = context.pending[event.requestId];
          if (request === undefined) return;
          const { childId } = request;
          const info = context.children[childId];
          const children =
            info === undefined
              ? context.children
              : {
                  ...context.children,
                  [childId]: { ...info, inFlight: Math.max(0, info.inFlight - 1) },
                };
          delete context.pending[event.requestId];
          enqueue.assign({ children });
          if (info?.ready)
            enqueue.sendTo(childId, { type: 'target.cancel', requestId: event.requestId });
        }),
      },
      'agents.reset': {
        actions: enqueueActions(({ context, event, enqueue }) => {
          let memory: Record<string, JsonValue> | undefined;
          for (const [childId, state] of Object.entries(event.states)) {
            if (context.children[childId] !== undefined) {
              enqueue.sendTo(childId, { type: 'agent.reset', state });
            } else {
              memory ??= { ...context.memory };
              memory[childId] = state;
            }
          }
          if (memory !== undefined) enqueue.assign({ memory });
        }),
      },
      'router.sweep': {
        actions: enqueueActions(({ context, enqueue, self }) => {
          const now = Date.now();
          const children: Record<string, RouterChildInfo> = { ...context.children };
          const memory: Record<string, JsonValue> = { ...context.memory };
          let due = Number.POSITIVE_INFINITY;
          for (const [childId, info] of Object.entries(context.children)) {
            if (info.inFlight > 0) continue;
            if (now - info.lastUsed >= idleTimeoutMs) {
              const state = agentState(self, childId, info.key);
              if (state !== undefined) memory[childId] = state;
              enqueue.stopChild(childId);
              delete children[childId];
            } else {
              due = Math.min(due, info.lastUsed + idleTimeoutMs);
            }
          }
          const sweepAt = Number.isFinite(due) ? due : null;
          if (sweepAt !== null) {
            // Never beyond what a timer takes (a `lastUsed` ahead of this clock, say): a longer
            // delay would fire at once, and again, in a busy loop. An early sweep arms the next.
            const delay = Math.min(Math.max(1, sweepAt - now), MAX_TIMER_DELAY_MS);
            enqueue.raise({ type: 'router.sweep' }, { delay, id: 'router.sweep' });
          }
          enqueue.assign({ children, memory, sweepAt });
        }),
      },
      'xstate.error.actor.*': {
        // A child's logic crashed outside a call: its pending requests fail, the child is
        // dropped and spawned again at the next request for its target.
        actions: enqueueActions(({ context, event, enqueue }) => {
          const childId = event.type.slice(ERROR_PREFIX.length);
          const { error } = event as { readonly error: unknown };
          for (const [requestId, request] of Object.entries(context.pending)) {
            if (request.childId !== childId) continue;
            delete context.pending[requestId];
            enqueue.emit({ type: 'route.response', requestId, ok: false, error });
          }
          enqueue.stopChild(childId);
          enqueue.assign({ children: without(context.children, childId) });
        }),
      },
    },
  });
}

/** The machine {@link createRouterMachine} builds. */
export type RouterMachine = ReturnType<typeof createRouterMachine>;
