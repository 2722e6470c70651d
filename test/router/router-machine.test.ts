import { describe, expect, it } from 'vitest';
import {
  type Context,
  createContext,
  defineAgent,
  defineTool,
  isOrchestrationError,
  type RouterMachineContext,
  type RouterTarget,
  startRouter,
} from '../../src/index.js';
import { gate } from '../support/gate.js';

const ctx = (contextType: string, data: Context['data']) => createContext(contextType, data);

/** A conversation agent: it remembers every message it was given. */
const chat = defineAgent({
  id: 'chat',
  initialState: { messages: [] as string[] },
  process: (context, state) => {
    const messages = [...state.messages, String(context.data)];
    return { result: ctx('Reply', { heard: messages.length, messages }), state: { messages } };
  },
});

const upper = defineTool({
  id: 'upper',
  call: (context) => ctx('Upper', String(context.data).toUpperCase()),
});

function routerContext(router: { actor: { getSnapshot(): { context: unknown } } }) {
  return router.actor.getSnapshot().context as RouterMachineContext;
}

function childIds(router: { actor: { getSnapshot(): { children: object } } }) {
  return Object.keys(router.actor.getSnapshot().children).sort();
}

describe('the router actor', () => {
  it('spawns one child per target on first use, with an explicit id, and reuses it', async () => {
    const router = startRouter({ targets: [chat, upper] });
    expect(childIds(router)).toEqual([]);
    const shout = await router.getTool('upper').run(ctx('Text', 'hi'));
    expect(shout.data).toBe('HI');
    expect(childIds(router)).toEqual(['target:tool:upper']);
    const child = router.actor.getSnapshot().children['target:tool:upper'];
    await router.getTool('upper').run(ctx('Text', 'again'));
    expect(router.actor.getSnapshot().children['target:tool:upper']).toBe(child);
    await router.getAgent('chat').process(ctx('Message', 'hello'));
    expect(childIds(router)).toEqual(['target:agent_type:chat', 'target:tool:upper']);
    router.stop();
  });

  it('answers a request for an unknown target with UnknownTargetError, as data', async () => {
    const router = startRouter({ targets: [upper] });
    const call = router.getTool('nope').run(ctx('Text', 'x'));
    await expect(call).rejects.toSatisfy((error) =>
      isOrchestrationError(error, 'TARGET_NOT_FOUND'),
    );
    expect(router.actor.getSnapshot().status).toBe('active');
    router.stop();
  });

  it('hands a tool failure back to the caller without stopping the router or the tool', async () => {
    const flaky = defineTool({
      id: 'flaky',
      call: (context) => {
        if (context.data === 'bad') throw new Error('bad input');
        return ctx('Ok', context.data);
      },
    });
    const router = startRouter({ targets: [flaky] });
    await expect(router.getTool('flaky').run(ctx('In', 'bad'))).rejects.toThrow('bad input');
    await expect(router.getTool('flaky').run(ctx('In', 'good'))).resolves.toMatchObject({
      data: 'good',
    });
    router.stop();
  });

  it('keeps an agent state across calls, one call at a time in arrival order', async () => {
    const router = startRouter({ targets: [chat] });
    const agent = router.getAgent('chat');
    const replies = await Promise.all(
      ['one', 'two', 'three'].map((text) => agent.process(ctx('Message', text))),
    );
    expect(replies.map((reply) => reply.data)).toEqual([
      { heard: 1, messages: ['one'] },
      { heard: 2, messages: ['one', 'two'] },
      { heard: 3, messages: ['one', 'two', 'three'] },
    ]);
    router.stop();
  });

  it('persists a live agent child with the router and restores its state, after a JSON round trip', async () => {
    const router = startRouter({ targets: [chat] });
    await router.getAgent('chat').process(ctx('Message', 'remember me'));
    const saved = JSON.parse(JSON.stringify(router.getPersistedSnapshot()));
    router.stop();

    const restored = startRouter({ targets: [chat], snapshot: saved });
    expect(childIds(restored)).toEqual(['target:agent_type:chat']);
    const reply = await restored.getAgent('chat').process(ctx('Message', 'and me'));
    expect(reply.data).toEqual({ heard: 2, messages: ['remember me', 'and me'] });
    restored.stop();
  });

  it('runs a request pending at the snapshot again after a restore, once, for the caller that re-sends it', async () => {
    let runs = 0;
    const frozen: boolean[] = [];
    const held = gate();
    const slow = defineAgent({
      id: 'slow',
      initialState: { calls: 0 },
      process: async (context, state) => {
        runs += 1;
        frozen.push(Object.isFrozen(context) && Object.isFrozen(context.metadata));
        await held.opened;
        return { result: ctx('Done', context.data), state: { calls: state.calls + 1 } };
      },
    });
    const router = startRouter({ targets: [slow] });
    const first = router.getAgent('slow').process(ctx('Job', 'j1'), { requestId: 'task-1:step:1' });
    first.catch(() => {}); // the process "dies" before it answers
    await expect.poll(() => runs).toBe(1);
    const saved = JSON.parse(JSON.stringify(router.getPersistedSnapshot()));
    router.stop();
    expect(Object.keys((saved.context as RouterMachineContext).pending)).toEqual(['task-1:step:1']);

    const restored = startRouter({ targets: [slow], snapshot: saved });
    await expect.poll(() => runs).toBe(2); // XState re-runs the call in flight (at least once)
    const again = restored
      .getAgent('slow')
      .process(ctx('Job', 'j1'), { requestId: 'task-1:step:1' });
    held.open();
    await expect(again).resolves.toMatchObject({ data: 'j1' });
    expect(runs).toBe(2); // the re-sent request joined the run in flight: not a third run
    expect(frozen).toEqual([true, true]); // the context read back is frozen, as the live one was
    const agent = restored.actor.getSnapshot().children['target:agent_type:slow'];
    expect((agent?.getSnapshot() as { context?: { state: unknown } })?.context?.state).toEqual({
      calls: 1,
    });
    restored.stop();
  });

  it('sends a restored tool the calls it had in flight again when it restarts', async () => {
    let runs = 0;
    const held = gate();
    const fetcher = defineTool({
      id: 'fetcher',
      call: async (context) => {
        runs += 1;
        await held.opened;
        return ctx('Fetched', context.data);
      },
    });
    const router = startRouter({ targets: [fetcher] });
    router
      .getTool('fetcher')
      .run(ctx('Url', 'a'), { requestId: 'req-a' })
      .catch(() => {});
    await expect.poll(() => runs).toBe(1);
    const saved = JSON.parse(JSON.stringify(router.getPersistedSnapshot()));
    router.stop();

    const restored = startRouter({ targets: [fetcher], snapshot: saved });
    const again = restored.getTool('fetcher').run(ctx('Url', 'a'), { requestId: 'req-a' });
    held.open();
    await expect(again).resolves.toMatchObject({ data: 'a' });
    expect(runs).toBe(2);
    restored.stop();
  });

  it('stops a child that stayed idle for idleTimeoutMs, and an agent keeps its state across the stop', async () => {
    const router = startRouter({ targets: [chat, upper], idleTimeoutMs: 40 });
    await router.getAgent('chat').process(ctx('Message', 'first'));
    await router.getTool('upper').run(ctx('Text', 'x'));
    expect(childIds(router)).toEqual(['target:agent_type:chat', 'target:tool:upper']);
    await expect.poll(() => childIds(router), { timeout: 2000 }).toEqual([]);
    expect(routerContext(router).memory['target:agent_type:chat']).toEqual({
      messages: ['first'],
    });
    const reply = await router.getAgent('chat').process(ctx('Message', 'second'));
    expect(reply.data).toEqual({ heard: 2, messages: ['first', 'second'] });
    router.stop();
  });

  it('refuses an idleTimeoutMs a timer cannot take (TypeError naming it): 1 to 2^31 − 1, or Infinity', async () => {
    // 2^31 ms or more: the sweep's timer would fire after 1 ms, again and again (a busy loop).
    for (const idleTimeoutMs of [2_147_483_648, 1e12, 0, 0.5, -1, Number.NaN]) {
      const start = () => startRouter({ targets: [upper], idleTimeoutMs });
      expect(start).toThrow(TypeError);
      expect(start).toThrow(
        `idleTimeoutMs must be a number of ms from 1 to 2147483647, or Infinity for children kept until evicted; got ${idleTimeoutMs}`,
      );
    }
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on('warning', onWarning);
    try {
      for (const idleTimeoutMs of [2_147_483_647, Number.POSITIVE_INFINITY]) {
        const router = startRouter({ targets: [upper], idleTimeoutMs });
        await router.getTool('upper').run(ctx('Text', 'x'));
        await new Promise((resolve) => setTimeout(resolve, 30));
        expect(childIds(router)).toEqual(['target:tool:upper']);
        router.stop();
      }
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).not.toContain('TimeoutOverflowWarning');
  });

  it('never arms its sweep beyond what a timer takes, even for a child last used ahead of its clock', async () => {
    const first = startRouter({ targets: [chat, upper], idleTimeoutMs: 20 });
    await first.getAgent('chat').process(ctx('Message', 'hi'));
    const saved = JSON.parse(JSON.stringify(first.getPersistedSnapshot()));
    first.stop();
    // Saved by a worker whose clock runs ahead (a store shared across hosts): its sweep is due
    // in 1e10 ms, which a timer would fire after 1 ms, in a loop.
    const context = saved.context as RouterMachineContext;
    const child = context.children['target:agent_type:chat'];
    (child as { lastUsed: number }).lastUsed = Date.now() + 1e10;
    context.sweepAt = null; // swept before it was saved: the next answer schedules the sweep
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on('warning', onWarning);
    const router = startRouter({ targets: [chat, upper], idleTimeoutMs: 20, snapshot: saved });
    try {
      await router.getTool('upper').run(ctx('Text', 'x')); // schedules the sweep again
      await expect
        .poll(() => childIds(router), { timeout: 2000 })
        .toEqual(['target:agent_type:chat']);
      const sweepAt = routerContext(router).sweepAt ?? 0;
      expect(sweepAt - Date.now()).toBeGreaterThan(2 ** 31);
      await new Promise((resolve) => setTimeout(resolve, 30));
    } finally {
      router.stop();
      process.off('warning', onWarning);
    }
    expect(warnings).not.toContain('TimeoutOverflowWarning');
  });

  it('does not stop a child while a call is in flight', async () => {
    const held = gate();
    const slowTool = defineTool({
      id: 'slow_tool',
      call: async (context) => {
        await held.opened;
        return context;
      },
    });
    const router = startRouter({ targets: [slowTool, upper], idleTimeoutMs: 20 });
    const call = router.getTool('slow_tool').run(ctx('In', 1));
    await router.getTool('upper').run(ctx('Text', 'x'));
    await expect.poll(() => childIds(router), { timeout: 2000 }).toEqual(['target:tool:slow_tool']);
    held.open();
    await call;
    await expect.poll(() => childIds(router), { timeout: 2000 }).toEqual([]);
    router.stop();
  });

  it('keeps at most maxChildren children, evicting the least recently used idle one', async () => {
    const tools = ['a', 'b', 'c', 'd'].map((id) =>
      defineTool({ id, call: (context) => ctx('Seen', `${id}:${String(context.data)}`) }),
    );
    const router = startRouter({
      targets: [...tools, chat],
      maxChildren: 2,
      idleTimeoutMs: 60_000,
    });
    await router.getTool('a').run(ctx('In', 1));
    await router.getAgent('chat').process(ctx('Message', 'kept across eviction'));
    await router.getTool('a').run(ctx('In', 2)); // a is now more recent than chat
    await router.getTool('b').run(ctx('In', 3));
    expect(childIds(router)).toEqual(['target:tool:a', 'target:tool:b']); // chat evicted
    await router.getTool('c').run(ctx('In', 4));
    expect(childIds(router)).toEqual(['target:tool:b', 'target:tool:c']); // a evicted
    const reply = await router.getAgent('chat').process(ctx('Message', 'back'));
    expect(reply.data).toEqual({ heard: 2, messages: ['kept across eviction', 'back'] });
    expect(childIds(router)).toHaveLength(2);
    router.stop();
  });

  it('withdraws a call whose signal aborts: the caller rejects, the tool sees its signal aborted', async () => {
    let seen: AbortSignal | undefined;
    const waits = defineTool({
      id: 'waits',
      call: (context, { signal }) =>
        new Promise<Context>((resolve) => {
          seen = signal;
          signal.addEventListener('abort', () => resolve(context));
        }),
    });
    const router = startRouter({ targets: [waits] });
    const controller = new AbortController();
    const call = router.getTool('waits').run(ctx('In', 1), { signal: controller.signal });
    await expect.poll(() => seen).toBeDefined();
    controller.abort(new Error('too slow'));
    await expect(call).rejects.toThrow('too slow');
    await expect.poll(() => seen?.aborted).toBe(true);
    expect(routerContext(router).pending).toEqual({});
    router.stop();
  });

  it("aborts an agent's call in progress when it is withdrawn: the state stays, the next call runs", async () => {
    let seen: AbortSignal | undefined;
    const notes = defineAgent({
      id: 'notes',
      initialState: { kept: [] as string[] },
      process: (context, state, { signal }) => {
        const kept = [...state.kept, String(context.data)];
        const step = { result: ctx('Kept', kept), state: { kept } };
        if (context.data !== 'slow') return step;
        seen = signal;
        // Finishes only if nobody aborts it: then its state would hold 'slow'.
        return new Promise((resolve) => setTimeout(() => resolve(step), 5_000));
      },
    });
    const router = startRouter({ targets: [notes] });
    const agent = router.getAgent('notes');
    await agent.process(ctx('Note', 'first'));
    const controller = new AbortController();
    const slow = agent.process(ctx('Note', 'slow'), { signal: controller.signal });
    const next = agent.process(ctx('Note', 'next'));
    await expect.poll(() => seen).toBeDefined();
    controller.abort(new Error('not needed'));
    await expect(slow).rejects.toThrow('not needed');
    expect(seen?.aborted).toBe(true);
    expect((await next).data).toEqual(['first', 'next']);
    expect(routerContext(router).pending).toEqual({});
    router.stop();
  });

  it('checks a target made by hand when it is registered, as defineTool, defineAgent and defineWorkerPool do', () => {
    const handler = (context: Context) => context;
    const pool = { targetType: 'worker_pool', targetId: 'pool', size: 2, queueLimit: 5, handler };
    const wrong: [object, RegExp][] = [
      [{ targetType: 'tool', targetId: 'nocall' }, /Tool nocall: call must be a function/],
      [{ targetType: 'agent_type', targetId: 'a', initialState: {} }, /Agent a: process must be/],
      [{ ...pool, size: 0 }, /Worker pool pool: size must be an integer ≥ 1, got 0/],
      [{ ...pool, queueLimit: -1 }, /queueLimit must be an integer ≥ 0/],
      [{ ...pool, handler: undefined }, /handler must be a function/],
      [{ ...pool, retry: { attempts: 0 } }, /retry\.attempts must be an integer ≥ 1/],
    ];
    for (const [target, message] of wrong) {
      const start = () => startRouter({ targets: [target as RouterTarget] });
      expect(start).toThrow(message);
      expect(start).toThrow(TypeError);
    }
    // An agent state that is not JSON is refused as defineAgent refuses it.
    const dated = {
      targetType: 'agent_type',
      targetId: 'a',
      initialState: new Date(),
      process() {},
    };
    expect(() => startRouter({ targets: [dated as unknown as RouterTarget] })).toThrow(
      expect.objectContaining({ code: 'NON_JSON_VALUE' }),
    );
    // A well-made one is taken, `retry` left out included.
    startRouter({ targets: [pool as unknown as RouterTarget] }).stop();
  });

  it('rejects waiting and later calls with RouterStoppedError once stopped', async () => {
    const never = defineTool({ id: 'never', call: () => new Promise<Context>(() => {}) });
    const router = startRouter({ targets: [never] });
    const waiting = router.getTool('never').run(ctx('In', 1), { requestId: 'waiting-1' });
    router.stop();
    await expect(waiting).rejects.toSatisfy(
      (error) => isOrchestrationError(error, 'ROUTER_STOPPED') && error.requestId === 'waiting-1',
    );
    await expect(router.getTool('never').run(ctx('In', 2))).rejects.toSatisfy((error) =>
      isOrchestrationError(error, 'ROUTER_STOPPED'),
    );
  });
});
