import { assign, enqueueActions, fromPromise, sendParent, setup } from 'xstate';
import type { Context } from '../../src/context/context.js';
import { assertValidId } from '../../src/ids.js';
import { assertJson, cloneJson, type JsonData, type JsonValue } from '../../src/json.js';
import type { TargetCallHelpers } from '../../src/router/routing-target.js';
import {
  type AgentResetEvent,
  acceptContext,
  type CallMeta,
  callHelpers,
  type TargetCallEvent,
  type TargetChildEvent,
  type TargetChildInput,
} from './router-protocol.js';
import type { AgentStep, AgentTarget } from './target-types.js';

/** What {@link defineAgent} takes. */
export interface AgentDefinition<TState extends JsonData<TState>> {
  /** The agent's id (the seed's agent type): a valid id, unique among agents. */
  readonly id: string;
  /** Human description. Default: none. */
  readonly description?: string;
  /** The state of a fresh agent; JSON (it is persisted with the router), e.g. an interface. */
  readonly initialState: TState;
  /**
   * Handles one context given the agent's current state; returns the result context and the next
   * state (JSON). Calls to one agent run one at a time, in arrival order. A call withdrawn while
   * it runs (its caller's signal aborted, its workflow cancelled) sees `helpers.signal` abort; the
   * agent's state stays as it was before that call, and the next call starts at once.
   */
  readonly process: (
    context: Context,
    state: TState,
    helpers: TargetCallHelpers,
  ) => AgentStep<TState> | Promise<AgentStep<TState>>;
}

/**
 * Defines an agent target: an actor with its own state across calls (e.g. a conversation
 * memory). Under the router it is one child actor whose machine context holds the state, so
 * `router.getPersistedSnapshot()` carries it and a restored router continues from it. When the
 * router stops an idle agent (or evicts it), it keeps the state and hands it to the next one.
 *
 * @example
 * ```ts
 * const planner = defineAgent({
 *   id: 'planner',
 *   initialState: { seen: 0 },
 *   process: (context, state) => ({
 *     result: createContext('Plan', { call: state.seen + 1 }),
 *     state: { seen: state.seen + 1 },
 *   }),
 * });
 * ```
 */
export function defineAgent<TState extends JsonData<TState>>(
  definition: AgentDefinition<TState>,
): AgentTarget<TState> {
  assertValidId('agent id', definition?.id);
  assertAgentParts(definition.id, definition);
  return {
    targetType: 'agent_type',
    targetId: definition.id,
    ...(definition.description === undefined ? {} : { description: definition.description }),
    initialState: cloneJson(definition.initialState),
    process: definition.process,
  };
}

/**
 * Checks what an agent needs beside its id: a `process` function and a JSON `initialState`. Used
 * by {@link defineAgent} and by the router for an agent target made by hand. Throws `TypeError`
 * naming the argument (or the JSON error of `assertJson` for the state).
 */
export function assertAgentParts(
  id: string,
  parts: { readonly process?: unknown; readonly initialState?: unknown },
): void {
  if (typeof parts.process !== 'function') {
    throw new TypeError(`Agent ${id}: process must be a function`);
  }
  assertJson(parts.initialState, { path: `${id}.initialState` });
}

/** A call waiting for (or being handled by) an agent. JSON, persisted with the agent. */
interface AgentCall {
  readonly requestId: string;
  readonly context: Context;
  readonly meta: CallMeta;
}

/** The agent child's machine context. */
export interface AgentChildContext {
  readonly childId: string;
  /** The agent's state: what the next call sees. */
  readonly state: JsonValue;
  /** Calls waiting, oldest first. */
  readonly queue: readonly AgentCall[];
}

interface ProcessInput {
  readonly call: AgentCall;
  readonly state: JsonValue;
}

/**
 * The child actor of an agent under the router: a machine that takes calls one at a time (the
 * call in progress is an invoked promise actor, so a restored router runs it again with the same
 * input, at least once) and keeps the agent's state in its context.
 */
export function agentChildLogic(agent: AgentTarget<unknown>) {
  const run = fromPromise<AgentStep, ProcessInput>(async ({ input, signal }) => {
    const { call, state } = input;
    const step = await agent.process(call.context, state, callHelpers(call.meta, signal));
    assertJson(step?.state, { path: `${agent.targetId}.state` });
    return { result: acceptContext(step.result), state: cloneJson(step.state) };
  });
  return setup({
    types: {
      context: {} as AgentChildContext,
      input: {} as TargetChildInput,
      events: {} as TargetChildEvent | AgentResetEvent,
    },
    actors: { process: run },
    guards: {
      hasCalls: ({ context }) => context.queue.length > 0,
      isRunningCall: ({ context, event }) =>
        event.type === 'target.cancel' && context.queue[0]?.requestId === event.requestId,
    },
  }).createMachine({
    id: `agent-${agent.targetId}`,
    context: ({ input }) => ({
      childId: input.childId,
      // The router checked it is JSON (assertAgentParts), whatever type it was declared with.
      state: input.state ?? (agent.initialState as JsonValue),
      queue: [],
    }),
    entry: sendParent(({ context }) => ({ type: 'target.ready', childId: context.childId })),
    on: {
      'target.call': {
        actions: assign({
          queue: ({ context, event }) => {
            const { requestId, context: call, meta } = event as TargetCallEvent;
            return [...context.queue, { requestId, context: call, meta }];
          },
        }),
      },
      'target.cancel': {
        actions: assign({
          queue: ({ context, event }) =>
            context.queue.filter((call) => call.requestId !== event.requestId),
        }),
      },
      'agent.reset': { actions: assign({ state: ({ event }) => event.state }) },
    },
    initial: 'idle',
    states: {
      idle: { always: { guard: 'hasCalls', target: 'busy' } },
      busy: {
        on: {
          // Leaving `busy` aborts the call in progress; entering it again runs it from `state`.
          'agent.reset': {
            target: 'busy',
            reenter: true,
            actions: assign({ state: ({ event }) => event.state }),
          },
          'target.cancel': [
            {
              // The call in progress: leaving `busy` stops its invoked actor, which aborts the
              // signal it handed to `process`; its outcome is dropped, the state unchanged.
              guard: 'isRunningCall',
              target: 'idle',
              actions: assign({ queue: ({ context }) => context.queue.slice(1) }),
            },
            {
              actions: assign({
                queue: ({ context, event }) =>
                  context.queue.filter(
                    (call, at) => at === 0 || call.requestId !== event.requestId,
                  ),
              }),
            },
          ],
        },
        invoke: {
          id: 'process',
          src: 'process',
          input: ({ context }) => ({ call: context.queue[0] as AgentCall, state: context.state }),
          onDone: {
            target: 'idle',
            actions: enqueueActions(({ context, event, enqueue }) => {
              const call = context.queue[0] as AgentCall;
              enqueue.assign({ state: event.output.state, queue: context.queue.slice(1) });
              enqueue.sendParent({
                type: 'target.result',
                childId: context.childId,
                requestId: call.requestId,
                ok: true,
                context: event.output.result,
              });
            }),
          },
          onError: {
            target: 'idle',
            actions: enqueueActions(({ context, event, enqueue }) => {
              const call = context.queue[0] as AgentCall;
              enqueue.assign({ queue: context.queue.slice(1) });
              enqueue.sendParent({
                type: 'target.result',
                childId: context.childId,
                requestId: call.requestId,
                ok: false,
                error: event.error,
              });
            }),
          },
        },
      },
    },
  });
}
