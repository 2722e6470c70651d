import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type CheckpointStore,
  type Context,
  ContextRouter,
  createContext,
  createRuntime,
  defineAgent,
  defineTool,
  defineWorkerPool,
  defineWorkflow,
  getCheckpointManager,
  type RouterTarget,
} from 'mcp-orchestration';
import { createFileStore } from 'mcp-orchestration/file';
import { createMemoryStore } from 'mcp-orchestration/memory';
import { afterAll, describe, expect, it } from 'vitest';
import { gate } from '../support/gate.js';

// The persisted router record (`router.<id>`) is saved after agent calls only, so it may hold
// calls that were answered or withdrawn since: a tool call in flight when another task's agent
// call saved the router, say. A later runtime restoring that record must not run them (nobody
// waits for them, and their tasks are over), nor hand their answers to a new task reusing the id;
// a call still wanted is sent again by its resumed workflow and runs then, once.

/** Resolves when `signal` aborts. */
const aborted = (signal: AbortSignal) =>
  new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** An agent whose memory counts its calls; a call to it saves the router record. */
const chat = defineAgent({
  id: 'chat',
  initialState: { n: 0 },
  process: (_context, state) => ({
    result: createContext('Chatted', { n: state.n + 1 }),
    state: { n: state.n + 1 },
  }),
});
const echo = defineTool({ id: 'echo', call: () => createContext('Echo', { ok: true }) });

/** `data.<field>` present → that target; `data.chat` → the chat agent; anything else → echo. */
function rules(routes: Record<string, RouterTarget>) {
  const router = new ContextRouter({
    fallback: { targetType: 'tool', targetId: 'echo', priority: 0 },
  });
  router.addRule({
    id: 'chat',
    priority: 2,
    when: { path: 'data.chat', exists: true },
    target: { targetType: 'agent_type', targetId: 'chat' },
  });
  for (const [field, { targetType, targetId }] of Object.entries(routes)) {
    router.addRule({
      id: field,
      priority: 2,
      when: { path: `data.${field}`, exists: true },
      target: { targetType, targetId },
    });
  }
  return router;
}

/** One routed step `s`: its request id (and idempotency key) is `<taskId>:s:<attempt>`. */
const routed = defineWorkflow({
  id: 'routed',
  version: '1',
  steps: [{ stepId: 's', route: true }],
});

/** The request ids pending in the latest router record of `store`. */
async function savedPending(store: CheckpointStore): Promise<string[]> {
  const manager = await getCheckpointManager(store);
  const saved = await manager.loadLatestCheckpoint('router.router');
  const snapshot = saved?.snapshot as { context?: { pending?: object } } | undefined;
  return Object.keys(snapshot?.context?.pending ?? {});
}

interface Stores {
  /** The store of the first runtime. */
  readonly store: CheckpointStore;
  /** The same store opened again, as a new process would (the memory store is just itself). */
  reopen(): Promise<CheckpointStore>;
}

const directories: string[] = [];
const opened: CheckpointStore[] = [];
afterAll(async () => {
  for (const store of opened) await store.close?.();
  await Promise.all(directories.map((dir) => rm(dir, { recursive: true, force: true })));
});

const stores: [string, () => Promise<Stores>][] = [
  [
    'memory',
    async () => {
      const store = createMemoryStore();
      opened.push(store);
      return { store, reopen: async () => store };
    },
  ],
  [
    'file',
    async () => {
      const directory = await mkdtemp(join(tmpdir(), 'stale-router-'));
      directories.push(directory);
      const open = async () => {
        const store = await createFileStore({ directory });
        opened.push(store);
        return store;
      };
      return { store: await open(), reopen: open };
    },
  ],
];

describe.each(stores)('a persisted router restored on the %s store', (_name, makeStores) => {
  it.each(['completed', 'cancelled'] as const)(
    'does not run again a tool call of a task that %s after the record was saved',
    async (ending) => {
      const { store, reopen } = await makeStores();
      const calls: string[] = [];
      const held = gate();
      const charge = defineTool({
        id: 'charge',
        call: async (_context, { idempotencyKey, signal }) => {
          calls.push(idempotencyKey);
          if (calls.length === 1) await Promise.race([held.opened, aborted(signal)]);
          return createContext('Charged', { ok: true });
        },
      });
      const targets = [charge, echo, chat];
      const router = () => rules({ pay: charge });

      const first = createRuntime({ store, router: router(), targets, workflows: [routed] });
      const pay = await first.start(routed, { pay: 5 }, { taskId: 'pay-1' });
      pay.result.catch(() => {});
      await expect.poll(() => calls).toEqual(['pay-1:s:1']);
      // Another task's agent call saves the router while the charge is in flight.
      await (await first.start(routed, { chat: 1 }, { taskId: 'chat-1' })).result;
      expect(await savedPending(store)).toEqual(['pay-1:s:1']);
      if (ending === 'cancelled') {
        await first.cancel('pay-1');
      } else {
        held.open();
        expect((await pay.result).data).toEqual({ ok: true });
      }
      await first.close();

      const second = createRuntime({
        store: await reopen(),
        router: router(),
        targets,
        workflows: [routed],
      });
      // Any routed task restores the router.
      await (await second.start(routed, { other: 1 }, { taskId: 'echo-1' })).result;
      await delay(50);
      expect(calls).toEqual(['pay-1:s:1']);
      expect((await second.status('pay-1'))?.status).toBe(ending);
      await second.close();
      held.open();
    },
  );

  it('does not run again, at any later restart, a call its finished task left in the record', async () => {
    const { store, reopen } = await makeStores();
    const calls: string[] = [];
    const held = gate();
    const charge = defineTool({
      id: 'charge',
      call: async (_context, { idempotencyKey }) => {
        calls.push(idempotencyKey);
        if (calls.length === 1) await held.opened;
        return createContext('Charged', { ok: true });
      },
    });
    const targets = [charge, echo, chat];
    const router = () => rules({ pay: charge });

    const first = createRuntime({ store, router: router(), targets, workflows: [routed] });
    const pay = await first.start(routed, { pay: 1 }, { taskId: 'pay-1' });
    await expect.poll(() => calls).toEqual(['pay-1:s:1']);
    await (await first.start(routed, { chat: 1 }, { taskId: 'chat-1' })).result;
    held.open();
    await pay.result;
    await first.close();

    // Tool-only traffic never saves the router: the record keeps the stale call every time.
    for (let restart = 1; restart <= 3; restart++) {
      expect(await savedPending(store)).toEqual(['pay-1:s:1']);
      const runtime = createRuntime({
        store: await reopen(),
        router: router(),
        targets,
        workflows: [routed],
      });
      await (await runtime.start(routed, { other: restart }, { taskId: `echo-${restart}` })).result;
      await delay(50);
      await runtime.close();
      expect(calls, `restart ${restart}`).toEqual(['pay-1:s:1']);
    }
  });

  it("does not run again a cancelled task's pool job or agent call, nor keep the agent call's effect", async () => {
    const { store, reopen } = await makeStores();
    const calls: string[] = [];
    const ship = defineWorkerPool({
      id: 'ship',
      size: 1,
      handler: async (_context, { idempotencyKey, signal }) => {
        calls.push(`ship ${idempotencyKey}`);
        if (idempotencyKey.startsWith('slow')) await aborted(signal);
        return createContext('Shipped', { ok: true });
      },
    });
    const memo = defineAgent({
      id: 'memo',
      initialState: { seen: [] as string[] },
      process: async (_context, state, { idempotencyKey, signal }) => {
        calls.push(`memo ${idempotencyKey}`);
        if (idempotencyKey.startsWith('slow')) await aborted(signal);
        const seen = [...state.seen, idempotencyKey];
        return { result: createContext('Memo', { seen }), state: { seen } };
      },
    });
    const targets = [ship, memo, echo, chat];
    const router = () => rules({ ship, memo });

    const first = createRuntime({ store, router: router(), targets, workflows: [routed] });
    for (const [taskId, input] of [
      ['slowship-1', { ship: 1 }],
      ['slowmemo-1', { memo: 1 }],
    ] as const) {
      (await first.start(routed, input, { taskId })).result.catch(() => {});
    }
    await expect.poll(() => calls.length).toBe(2);
    await (await first.start(routed, { chat: 1 }, { taskId: 'chat-1' })).result;
    expect((await savedPending(store)).sort()).toEqual(['slowmemo-1:s:1', 'slowship-1:s:1']);
    await first.cancel('slowship-1');
    await first.cancel('slowmemo-1');
    await first.close();
    const before = [...calls];

    const second = createRuntime({
      store: await reopen(),
      router: router(),
      targets,
      workflows: [routed],
    });
    await (await second.start(routed, { chat: 2 }, { taskId: 'chat-2' })).result;
    await delay(50);
    expect(calls).toEqual(before);
    // The agent's memory is what it was: the cancelled call left nothing in it.
    const note = await second.start(routed, { memo: 2 }, { taskId: 'memo-2' });
    expect((await note.result).data).toEqual({ seen: ['memo-2:s:1'] });
    const job = await second.start(routed, { ship: 2 }, { taskId: 'ship-2' });
    expect((await job.result).data).toEqual({ ok: true });
    expect(calls).toEqual([...before, 'memo memo-2:s:1', 'ship ship-2:s:1']);
    await second.close();
  });

  it('runs a reused task id on its own input, not with the answer of an old call of that id', async () => {
    const { store, reopen } = await makeStores();
    const calls: string[] = [];
    const held = gate();
    const quote = defineTool({
      id: 'quote',
      call: async (context: Context) => {
        const { amount } = context.data as { amount: number };
        calls.push(`quote ${amount}`);
        if (calls.length === 1) await held.opened;
        return createContext('Quote', { amount, price: amount * 10 });
      },
    });
    const targets = [quote, echo, chat];
    const router = () => rules({ amount: quote });

    const first = createRuntime({ store, router: router(), targets, workflows: [routed] });
    const order = await first.start(routed, { amount: 1 }, { taskId: 'order-1' });
    await expect.poll(() => calls).toEqual(['quote 1']);
    await (await first.start(routed, { chat: 1 }, { taskId: 'chat-1' })).result;
    held.open();
    expect((await order.result).data).toEqual({ amount: 1, price: 10 });
    await first.close();

    const second = createRuntime({
      store: await reopen(),
      router: router(),
      targets,
      workflows: [routed],
    });
    await (await second.start(routed, { chat: 2 }, { taskId: 'chat-2' })).result;
    await delay(50);
    expect((await second.purgeFinished({ olderThanMs: 0 })).deleted).toContain('order-1');
    const again = await second.start(routed, { amount: 7 }, { taskId: 'order-1' });
    expect((await again.result).data).toEqual({ amount: 7, price: 70 });
    expect(calls).toEqual(['quote 1', 'quote 7']);
    await second.close();
  });

  // What persisting the router is for stays: a call in flight when the process died is run
  // again, once, with the same idempotency key, when its workflow resumes (an agent from the
  // state the store holds).
  it.each(['tool', 'worker_pool', 'agent_type'] as const)(
    'runs a %s call in flight at a crash once more when its task resumes, with the same key',
    async (targetType) => {
      const { store, reopen } = await makeStores();
      const calls: string[] = [];
      const slow = async (key: string, signal: AbortSignal) => {
        calls.push(key);
        if (calls.length === 1) await aborted(signal); // the first run never answers
      };
      const charge: RouterTarget =
        targetType === 'tool'
          ? defineTool({
              id: 'charge',
              call: async (_context, { idempotencyKey, signal }) => {
                await slow(idempotencyKey, signal);
                return createContext('Charged', { charges: 1 });
              },
            })
          : targetType === 'worker_pool'
            ? defineWorkerPool({
                id: 'charge',
                size: 1,
                handler: async (_context, { idempotencyKey, signal }) => {
                  await slow(idempotencyKey, signal);
                  return createContext('Charged', { charges: 1 });
                },
              })
            : defineAgent({
                id: 'charge',
                initialState: { charges: 0 },
                process: async (_context, state, { idempotencyKey, signal }) => {
                  await slow(idempotencyKey, signal);
                  const charges = state.charges + 1;
                  return { result: createContext('Charged', { charges }), state: { charges } };
                },
              });
      const targets = [charge, echo, chat];
      const router = () => rules({ pay: charge });

      const first = createRuntime({ store, router: router(), targets, workflows: [routed] });
      const pay = await first.start(routed, { pay: 1 }, { taskId: 'pay-1' });
      pay.result.catch(() => {});
      await expect.poll(() => calls).toEqual(['pay-1:s:1']);
      await (await first.start(routed, { chat: 1 }, { taskId: 'chat-1' })).result;
      expect(await savedPending(store)).toEqual(['pay-1:s:1']);
      await first.close(); // an in-process crash: the run stops, nothing more is written

      const second = createRuntime({
        store: await reopen(),
        router: router(),
        targets,
        workflows: [routed],
      });
      const resumed = await second.resume('pay-1');
      expect((await resumed.result).data).toEqual({ charges: 1 });
      await delay(50);
      expect(calls).toEqual(['pay-1:s:1', 'pay-1:s:1']);
      await second.close();
    },
  );
});
