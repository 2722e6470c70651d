import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type CheckpointStore,
  ContextRouter,
  createContext,
  createRuntime,
  defineAgent,
  defineWorkflow,
  getCheckpointManager,
  isOrchestrationError,
  startPersistedRouter,
} from 'mcp-orchestration';
import { createFileStore } from 'mcp-orchestration/file';
import { createMemoryStore } from 'mcp-orchestration/memory';
import { afterAll, describe, expect, it } from 'vitest';

let counter = 0;
const newTaskId = (prefix: string) => `${prefix}-${++counter}`;

/** An agent with a conversation memory: every message it has seen. */
const chat = defineAgent({
  id: 'chat',
  initialState: { heard: [] as string[] },
  process: (context, state) => {
    const heard = [...state.heard, String((context.data as { text: string }).text)];
    return { result: createContext('Reply', { heard }), state: { heard } };
  },
});

const talk = defineWorkflow({
  id: 'talk',
  version: '1',
  steps: [{ stepId: 'reply', route: true }],
});

const rules = () =>
  new ContextRouter({
    typeBasedRules: { InputContext: { targetType: 'agent_type', targetId: 'chat', priority: 1 } },
  });

const runtimeOn = (store: CheckpointStore, routerActor?: { persist?: boolean; id?: string }) =>
  createRuntime({
    store,
    router: rules(),
    targets: [chat],
    workflows: [talk],
    ...(routerActor === undefined ? {} : { routerActor }),
  });

async function say(runtime: ReturnType<typeof createRuntime>, text: string): Promise<unknown> {
  const run = await runtime.start(talk, { text }, { taskId: newTaskId('talk') });
  return (await run.result).data;
}

const directories: string[] = [];
afterAll(async () => {
  await Promise.all(directories.map((dir) => rm(dir, { recursive: true, force: true })));
});

const stores: [string, () => Promise<CheckpointStore>][] = [
  ['memory', async () => createMemoryStore()],
  [
    'file',
    async () => {
      const directory = await mkdtemp(join(tmpdir(), 'router-persistence-'));
      directories.push(directory);
      return createFileStore({ directory });
    },
  ],
];

describe.each(stores)('the runtime router actor on the %s store', (_name, makeStore) => {
  it('keeps an agent memory across runtimes: a new runtime on the store continues it', async () => {
    const store = await makeStore();
    const first = runtimeOn(store);
    expect(await say(first, 'hello')).toEqual({ heard: ['hello'] });
    expect(await say(first, 'how are you')).toEqual({ heard: ['hello', 'how are you'] });
    await first.close();

    const second = runtimeOn(store);
    expect(await say(second, 'bye')).toEqual({ heard: ['hello', 'how are you', 'bye'] });
    await second.close();

    // Saved as checkpoints of the reserved task id, older ones pruned.
    const manager = await getCheckpointManager(store);
    const saved = await manager.loadLatestCheckpoint('router.router');
    expect(saved?.machine).toEqual({ id: 'router' });
    expect(JSON.stringify(saved?.snapshot)).toContain('how are you');
    expect((await manager.listCheckpoints('router.router')).length).toBeLessThanOrEqual(2);
  });

  it('keeps nothing with persist: false, and routers with other ids apart', async () => {
    const store = await makeStore();
    const volatile = runtimeOn(store, { persist: false });
    expect(await say(volatile, 'one')).toEqual({ heard: ['one'] });
    await volatile.close();
    const manager = await getCheckpointManager(store);
    expect(await manager.store.head('router.router')).toBe(0);

    const a = runtimeOn(store, { id: 'a' });
    expect(await say(a, 'to a')).toEqual({ heard: ['to a'] });
    await a.close();
    const b = runtimeOn(store, { id: 'b' });
    expect(await say(b, 'to b')).toEqual({ heard: ['to b'] });
    await b.close();
    const again = runtimeOn(store, { id: 'a' });
    expect(await say(again, 'a again')).toEqual({ heard: ['to a', 'a again'] });
    await again.close();
  });

  it('refuses a corrupt router record with CorruptRecordError and keeps it', async () => {
    const store = await makeStore();
    const manager = await getCheckpointManager(store);
    const body = '{"v":1,"this is":"not a checkpoint"';
    await store.save(
      { taskId: 'router.router', checkpointId: 'cp-bad', createdAt: Date.now(), body },
      { expectedSeq: 0 },
    );
    const runtime = runtimeOn(store);
    const refused = await runtime.start(talk, { text: 'hi' }, { taskId: newTaskId('talk') }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(isOrchestrationError(refused, 'CORRUPT_RECORD')).toBe(true);
    await runtime.close();
    // Nothing was written over it.
    expect(await store.head('router.router')).toBe(1);
    expect((await store.load('router.router', 'cp-bad'))?.body).toBe(body);
    expect(await manager.listCheckpoints('router.router')).toEqual(['cp-bad']);
  });
});

describe('startPersistedRouter', () => {
  it('refuses a checkpoint of another machine under its task id', async () => {
    const store = createMemoryStore();
    const manager = await getCheckpointManager(store);
    await manager.saveCheckpoint({
      taskId: 'router.router',
      plan: [],
      status: 'running',
      currentStepIndex: 0,
      metadata: {},
      machine: { id: 'some-workflow' },
    });
    await expect(startPersistedRouter({ manager, targets: [chat] })).rejects.toMatchObject({
      code: 'CORRUPT_RECORD',
    });
    expect(await store.head('router.router')).toBe(1);
  });

  it('refuses a configuration mistake as itself, before reading the store, not as a corrupt record', async () => {
    const store = createMemoryStore();
    const manager = await getCheckpointManager(store);
    const mistakes = [
      [{ targets: [chat, chat] }, 'INVALID_ID', /registered twice/],
      [{ targets: [chat], idleTimeoutMs: 0 }, TypeError, /idleTimeoutMs/],
      [{ targets: [chat], maxChildren: 0 }, TypeError, /maxChildren/],
    ] as const;
    const check = async () => {
      for (const [options, kind, message] of mistakes) {
        const error = await startPersistedRouter({ manager, ...options }).then(
          () => undefined,
          (caught: unknown) => caught,
        );
        if (typeof kind === 'string') expect(isOrchestrationError(error, kind)).toBe(true);
        else expect(error).toBeInstanceOf(kind);
        expect(String(error)).toMatch(message);
        expect(isOrchestrationError(error, 'CORRUPT_RECORD')).toBe(false);
      }
    };
    await check(); // on an empty store
    const router = await startPersistedRouter({ manager, targets: [chat] });
    await router.getAgent('chat').process(createContext('Say', { text: 'kept' }));
    await router.close();
    await check(); // with a router record: the same, and the record stays
    expect(await store.head('router.router')).toBe(1);

    // A runtime refuses it when created (its router starts at the first routed run).
    expect(() =>
      createRuntime({
        store,
        router: rules(),
        targets: [chat],
        workflows: [talk],
        routerActor: { maxChildren: 0 },
      }),
    ).toThrow(/maxChildren/);
  });

  it('coalesces saves of calls answered at once, and a losing writer stops with CheckpointConflictError', async () => {
    const store = createMemoryStore();
    const manager = await getCheckpointManager(store);
    const router = await startPersistedRouter({ manager, targets: [chat] });
    const agent = router.getAgent('chat');
    const texts = Array.from({ length: 20 }, (_, n) => `m${n}`);
    await Promise.all(texts.map((text) => agent.process(createContext('Say', { text }))));
    await router.flush();
    const writes = await store.head('router.router');
    expect(writes).toBeGreaterThanOrEqual(1);
    expect(writes).toBeLessThan(texts.length); // coalesced

    const rival = await startPersistedRouter({ manager, targets: [chat] });
    await rival.getAgent('chat').process(createContext('Say', { text: 'rival' }));
    await rival.flush();
    // The first router's next save is stale: it fails, and so does the call it was to cover;
    // its agent calls stop.
    await expect(agent.process(createContext('Say', { text: 'late' }))).rejects.toMatchObject({
      code: 'CHECKPOINT_CONFLICT',
    });
    await expect(router.flush()).rejects.toMatchObject({ code: 'CHECKPOINT_CONFLICT' });
    await expect(agent.process(createContext('Say', { text: 'after' }))).rejects.toMatchObject({
      code: 'CHECKPOINT_CONFLICT',
    });
    await router.close();
    await rival.close();
    const saved = await manager.loadLatestCheckpoint('router.router');
    expect(JSON.stringify(saved?.snapshot)).toContain('rival');
    expect(JSON.stringify(saved?.snapshot)).not.toContain('late');
  });
});
