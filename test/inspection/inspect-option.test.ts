import {
  ContextRouter,
  createContext,
  createRuntime,
  defineMachineWorkflow,
  defineTool,
  defineWorkflow,
} from 'mcp-orchestration';
import { createMemoryStore } from 'mcp-orchestration/memory';
import { describe, expect, it } from 'vitest';
import { assign, fromPromise, type InspectionEvent, setup } from 'xstate';

/** A hand-written machine that invokes a registered actor, then waits for approval. */
const machine = setup({
  actors: {
    fetchData: fromPromise(async ({ input }: { input: { q: string } }) =>
      createContext('Fetched', { q: input.q }, { contextId: 'fetched_1' }),
    ),
  },
}).createMachine({
  id: 'fetch-review',
  context: ({ input }: { input: { input: { data: unknown } } }) => ({
    q: String((input.input.data as { q: string }).q),
    result: undefined as unknown,
  }),
  initial: 'fetching',
  states: {
    fetching: {
      invoke: {
        src: 'fetchData',
        input: ({ context }) => ({ q: context.q }),
        onDone: { target: 'review', actions: assign({ result: ({ event }) => event.output }) },
      },
    },
    review: { tags: ['suspended'], on: { approve: 'done' } },
    done: { type: 'final' },
  },
  output: ({ context }) => context.result,
});

describe('the runtime’s inspect option on a hand-written machine (defineMachineWorkflow)', () => {
  it('reaches the workflow actor and the actors it invokes', async () => {
    const events: InspectionEvent[] = [];
    const workflow = defineMachineWorkflow({ id: 'fetch-review', version: '1', machine });
    const runtime = createRuntime({ store: createMemoryStore(), inspect: (e) => events.push(e) });
    const suspended = new Promise<void>((resolve) => {
      runtime.subscribe(
        (e) => e.type === 'status.changed' && e.status === 'suspended' && resolve(),
      );
    });
    const run = await runtime.start(workflow, { q: 'x' }, { taskId: 'fr_1' });
    await suspended;
    await runtime.send('fr_1', { type: 'approve' });
    expect((await run.result).contextId).toBe('fetched_1');
    await runtime.close();

    const actors = events.filter((e) => e.type === '@xstate.actor');
    const root = actors[0]?.actorRef.sessionId;
    expect(actors.map((e) => e.actorRef.sessionId === e.rootId)).toEqual([true, false]);
    const child = actors[1]?.actorRef as unknown as { id: string; _parent?: { sessionId: string } };
    expect(child._parent?.sessionId).toBe(root);
    const values = events.flatMap((e) =>
      e.type === '@xstate.snapshot' && e.actorRef.sessionId === root
        ? [(e.snapshot as { value?: unknown }).value]
        : [],
    );
    expect(values.at(-1)).toBe('done');
    expect(values).toContain('review');
    const received = events.flatMap((e) => (e.type === '@xstate.event' ? [e.event.type] : []));
    expect(received).toContain('approve');
    expect(received.some((type) => type.startsWith('xstate.done.actor.'))).toBe(true);
  });
});

describe('the runtime’s inspect option with routed steps', () => {
  it('reaches the router actor and the target it spawns', async () => {
    const events: InspectionEvent[] = [];
    const echo = defineTool({
      id: 'echo',
      call: async (context) => createContext('Echoed', { echoed: context.data }),
    });
    const router = new ContextRouter({
      fallback: { targetType: 'tool', targetId: 'echo', priority: 0 },
    });
    const workflow = defineWorkflow({
      id: 'routed-inspect',
      version: '1',
      steps: [{ stepId: 'echo', route: true }],
    });
    const runtime = createRuntime({
      store: createMemoryStore(),
      router,
      targets: [echo],
      inspect: (e) => events.push(e),
    });
    const run = await runtime.start(workflow, { text: 'hi' }, { taskId: 'ri_1' });
    expect((await run.result).data).toEqual({ echoed: { text: 'hi' } });
    await runtime.close();

    const ids = events.flatMap((e) =>
      e.type === '@xstate.actor' ? [(e.actorRef as unknown as { id: string }).id] : [],
    );
    expect(ids).toContain('target:tool:echo');
    const routeRequests = events.filter(
      (e) => e.type === '@xstate.event' && e.event.type === 'route.request',
    );
    expect(routeRequests.length).toBeGreaterThan(0);
  });
});
