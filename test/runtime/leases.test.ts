import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type CheckpointStore,
  createContext,
  createRuntime,
  defineWorkflow,
  isOrchestrationError,
  type OrchestrationError,
  type RuntimeEvent,
  StorageError,
  type Workflow,
} from 'mcp-orchestration';
import { createFileStore } from 'mcp-orchestration/file';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { makeTempDir } from '../support/file-temp-dir.js';
import { rejectionOf } from '../support/rejection.js';
import { reviewMachineWorkflow } from './custom-machine.js';
import { blockingWorkflow, type Calls, delay, STORES, type TestStore } from './helpers.js';

let current: TestStore | undefined;
afterEach(async () => {
  await current?.cleanup();
  current = undefined;
});

/**
 * `store` with its calls going through `intercept` first: the promise it returns stands for the
 * call's result, `undefined` lets the call through.
 */
function intercepted(
  store: CheckpointStore,
  intercept: (method: string | symbol) => Promise<unknown> | undefined,
): CheckpointStore {
  return new Proxy(store, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => intercept(key) ?? Reflect.apply(value, target, args);
    },
  });
}

/**
 * `store`, until `kill()`: from then on every call hangs, as calls from a process that died do
 * (its lease is no longer renewed, its writes never land).
 */
function killable(store: CheckpointStore): { store: CheckpointStore; kill(): void } {
  let dead = false;
  return {
    store: intercepted(store, () => (dead ? new Promise(() => {}) : undefined)),
    kill: () => {
      dead = true;
    },
  };
}

/** Short enough to wait out, long enough that a loaded CI machine's stalls do not lapse a lease. */
const TTL = 1_000;

/** Runtimes `worker-a` (on the current store) and `worker-b` (on it reopened), leasing for TTL. */
async function twoWorkers(workflow: Workflow) {
  const a = createRuntime({
    store: current!.store,
    workflows: [workflow],
    lease: { owner: 'worker-a', ttlMs: TTL },
  });
  const b = createRuntime({
    store: await current!.reopen(),
    workflows: [workflow],
    lease: { owner: 'worker-b', ttlMs: TTL },
  });
  return { a, b };
}

describe('task leases', () => {
  it.each(['memory', 'file'] as const)(
    'a task leased to one runtime is refused by another and skipped by its recover (%s store)',
    async (kind) => {
      current = await STORES[kind]();
      const { workflow, release } = blockingWorkflow({}, 'leased');
      const { a, b } = await twoWorkers(workflow);
      const run = await a.start(workflow, { n: 1 }, { taskId: 'order-1' });
      const refused = await rejectionOf(b.resume('order-1'));
      expect(isOrchestrationError(refused, 'TASK_LEASED')).toBe(true);
      expect(refused).toMatchObject({ taskId: 'order-1', owner: 'worker-a' });
      expect(await b.recover()).toEqual({
        resumed: [],
        failed: [],
        leased: [{ taskId: 'order-1', owner: 'worker-a' }],
      });
      // Its status, seen from b, says who runs it.
      const held = await current.store.readLease('order-1');
      expect((await b.status('order-1'))?.lease).toEqual(held);
      expect((await b.listTasks()).tasks.map((task) => task.lease?.owner)).toEqual(['worker-a']);
      // Renewed while the run lives: still refused well past one TTL.
      await delay(1.5 * TTL);
      expect((await current.store.readLease('order-1'))?.owner).toBe('worker-a');
      expect((await b.recover()).leased).toEqual([{ taskId: 'order-1', owner: 'worker-a' }]);
      // Once it ended (released or lapsed), the task is anyone's (here, a finished one).
      release();
      await expect(run.result).resolves.toBeDefined();
      await vi.waitFor(async () =>
        expect(await current?.store.readLease('order-1')).toBeUndefined(),
      );
      // A finished task runs nowhere: the lease taken to read it is released at once (well
      // within its 30 s TTL).
      const c = createRuntime({ store: current.store, workflows: [workflow], lease: {} });
      expect((await c.resume('order-1')).taskId).toBe('order-1');
      await vi.waitFor(async () =>
        expect(await current?.store.readLease('order-1')).toBeUndefined(),
      );
      expect((await c.status('order-1'))?.lease).toBeUndefined();
      await c.close();
      await a.close();
      await b.close();
    },
  );

  it.each(['memory', 'file'] as const)(
    'the runtime running a task reports its lease as another runtime does, renewals included (%s store)',
    async (kind) => {
      current = await STORES[kind]();
      const { store } = current;
      const { workflow, release } = blockingWorkflow({}, 'leased');
      const { a, b } = await twoWorkers(workflow);
      const run = await a.start(workflow, { n: 1 }, { taskId: 'order-9' });
      // The holder (status and listTasks) and another runtime both say what the store says.
      // Retried when a renewal (every TTL / 3) landed between the reads.
      const leaseEverywhere = async (): Promise<number> => {
        const stored = await store.readLease('order-9');
        const [here, listedHere, there, listedThere] = await Promise.all([
          a.status('order-9'),
          a.listTasks(),
          b.status('order-9'),
          b.listTasks(),
        ]);
        expect(stored?.owner).toBe('worker-a');
        expect(here?.lease).toStrictEqual(stored);
        expect(listedHere.tasks.map((task) => task.lease)).toStrictEqual([stored]);
        expect(there?.lease).toStrictEqual(stored);
        expect(listedThere.tasks.map((task) => task.lease)).toStrictEqual([stored]);
        return stored?.expiresAt ?? 0;
      };
      const claimed = await vi.waitFor(leaseEverywhere, { timeout: 3 * TTL });
      // Once a renewal landed, the holder reports the store's new expiry.
      await vi.waitFor(async () => expect(await leaseEverywhere()).toBeGreaterThan(claimed), {
        timeout: 3 * TTL,
      });
      release();
      await expect(run.result).resolves.toBeDefined();
      expect((await a.status('order-9'))?.lease).toBeUndefined();
      await a.close();
      await b.close();
    },
  );

  it('starting a task another runtime holds the lease of is refused, and nothing is written', async () => {
    current = await STORES.memory();
    const { store } = current;
    await store.claimLease('order-2', 'worker-b', 60_000);
    const a = createRuntime({ store, lease: { owner: 'worker-a' } });
    const { workflow } = blockingWorkflow({}, 'leased');
    const refused = await rejectionOf(a.start(workflow, { n: 1 }, { taskId: 'order-2' }));
    expect(isOrchestrationError(refused, 'TASK_LEASED')).toBe(true);
    expect(await store.head('order-2')).toBe(0);
    expect((await store.readLease('order-2'))?.owner).toBe('worker-b');
    await a.close();
  });

  it('after a crash another runtime takes the task once the lease lapses; steps done stay done', async () => {
    current = await STORES.memory();
    const calls: Calls = {};
    const { workflow } = blockingWorkflow(calls, 'leased');
    const crashed = killable(current.store);
    const a = createRuntime({
      store: crashed.store,
      workflows: [workflow],
      lease: { owner: 'worker-a', ttlMs: TTL },
    });
    await a.start(workflow, { n: 1 }, { taskId: 'order-3' });
    await vi.waitFor(() => expect(calls.first).toBe(1));
    crashed.kill(); // worker-a dies with 'second' in flight
    const b = createRuntime({
      store: current.store,
      workflows: [workflow],
      lease: { owner: 'worker-b', ttlMs: TTL },
    });
    expect((await b.recover()).leased).toEqual([{ taskId: 'order-3', owner: 'worker-a' }]);
    await delay(TTL + 50);
    const { resumed, leased } = await b.recover();
    expect(leased).toEqual([]);
    expect(resumed.map((run) => run.taskId)).toEqual(['order-3']);
    const output = await resumed[0]?.result;
    expect(output?.data).toEqual({ trail: ['first', 'second', 'third'] });
    expect(calls).toEqual({ first: 1, second: 1, third: 1 });
    await b.close();
  });

  it('a worker that comes back with the same owner takes its tasks back at once', async () => {
    current = await STORES.memory();
    const { workflow } = blockingWorkflow({}, 'leased');
    const crashed = killable(current.store);
    const before = createRuntime({
      store: crashed.store,
      workflows: [workflow],
      lease: { owner: 'worker-a', ttlMs: 60_000 },
    });
    await before.start(workflow, { n: 1 }, { taskId: 'order-4' });
    crashed.kill();
    const after = createRuntime({
      store: current.store,
      workflows: [workflow],
      lease: { owner: 'worker-a', ttlMs: 60_000 },
    });
    const { resumed } = await after.recover();
    expect(resumed.map((run) => run.taskId)).toEqual(['order-4']);
    await expect(resumed[0]?.result).resolves.toBeDefined();
    await after.close();
  });

  it('a run whose lease another runtime took stops with LeaseLostError', async () => {
    current = await STORES.memory();
    const { store } = current;
    const { workflow, release } = blockingWorkflow({}, 'leased');
    const events: RuntimeEvent[] = [];
    const a = createRuntime({ store, lease: { owner: 'worker-a', ttlMs: TTL } });
    a.subscribe((event) => events.push(event));
    const run = await a.start(workflow, { n: 1 }, { taskId: 'order-5' });
    // As if worker-a had stalled past its lease and worker-b had taken the task.
    expect(await store.releaseLease('order-5', 'worker-a')).toBe(true);
    expect((await store.claimLease('order-5', 'worker-b', 60_000)).granted).toBe(true);
    const lost = await rejectionOf(run.result);
    expect(isOrchestrationError(lost, 'LEASE_LOST')).toBe(true);
    expect(lost).toMatchObject({ taskId: 'order-5', owner: 'worker-b' });
    expect(events.at(-1)).toMatchObject({ type: 'run.aborted', taskId: 'order-5' });
    const head = await store.head('order-5');
    release(); // the step in flight ends: nothing more is written here
    await delay(20);
    expect(await store.head('order-5')).toBe(head);
    expect((await store.readLease('order-5'))?.owner).toBe('worker-b');
    expect((await a.status('order-5'))?.live).toBe(false);
    await a.close();
  });

  it('a run that cannot renew its lease stops when the lease lapses, before anyone may take it', async () => {
    current = await STORES.memory();
    const { store } = current;
    let unreachable = false;
    // Lease calls fail while the store is "unreachable"; checkpoints still go through.
    const flaky = intercepted(store, (method) =>
      unreachable && method === 'claimLease'
        ? Promise.reject(new StorageError('memory', 'claimLease: unreachable'))
        : undefined,
    );
    const { workflow, release } = blockingWorkflow({}, 'leased');
    const a = createRuntime({ store: flaky, lease: { owner: 'worker-a', ttlMs: TTL } });
    const run = await a.start(workflow, { n: 1 }, { taskId: 'order-8' });
    await delay(TTL); // renewals land meanwhile
    expect((await a.status('order-8'))?.live).toBe(true);
    const { expiresAt } = (await store.readLease('order-8')) ?? { expiresAt: 0 };
    unreachable = true;
    const lost = await rejectionOf(run.result);
    const stoppedAt = Date.now();
    expect(isOrchestrationError(lost, 'LEASE_LOST')).toBe(true);
    expect(lost).toMatchObject({ taskId: 'order-8', owner: undefined });
    // It stopped when its lease lapsed in the store: not at the first failed renewal (a third of
    // a TTL after the last one landed), nor long after.
    expect(stoppedAt).toBeGreaterThanOrEqual(expiresAt - 25);
    expect(stoppedAt).toBeLessThanOrEqual(expiresAt + TTL);
    release();
    await a.close();
  });

  it('a run whose lease lapses while its final checkpoint is written completes', async () => {
    current = await STORES.memory();
    const { store } = current;
    let finalWrite = false;
    const slowFinal = new Proxy(store, {
      get(target, key, receiver) {
        const value = Reflect.get(target, key, receiver);
        if (typeof value !== 'function') return value;
        if (key === 'claimLease' && finalWrite) {
          return () => Promise.reject(new StorageError('memory', 'claimLease: unreachable'));
        }
        if (key !== 'save') return value.bind(target);
        return async (...args: Parameters<CheckpointStore['save']>) => {
          if (args[0].body.includes('"status":"completed"')) {
            finalWrite = true; // from now on renewals fail, and this write outlasts the lease
            await delay(1.5 * TTL);
          }
          return store.save(...args);
        };
      },
    });
    const workflow = defineWorkflow({
      id: 'finishing',
      version: '1',
      steps: [{ stepId: 'a', run: () => createContext('A', { a: 1 }) }],
    });
    const a = createRuntime({ store: slowFinal, lease: { owner: 'worker-a', ttlMs: TTL } });
    const events: RuntimeEvent[] = [];
    a.subscribe((e) => events.push(e));
    const run = await a.start(workflow, { n: 1 }, { taskId: 'order-9' });
    // The final write is conditional: the task is over whether it lands or loses.
    await expect(run.result).resolves.toMatchObject({ data: { a: 1 } });
    expect(events.filter((e) => e.type === 'run.aborted')).toEqual([]);
    expect(run.status().status).toBe('completed');
    await a.close();
  });

  it('a run that ends releases its lease, and close releases the leases of the runs it stops', async () => {
    current = await STORES.memory();
    const { store } = current;
    const { workflow } = blockingWorkflow({}, 'leased');
    const quick = defineWorkflow({
      id: 'quick',
      version: '1',
      steps: [{ stepId: 'only', run: () => createContext('Done', {}) }],
    });
    // TTLs of 30 s: a lease gone within the test was released, not lapsed.
    const a = createRuntime({ store, workflows: [workflow], lease: { owner: 'worker-a' } });
    await (await a.start(quick, { n: 1 }, { taskId: 'order-7' })).result;
    await vi.waitFor(async () => expect(await store.readLease('order-7')).toBeUndefined());
    await a.start(workflow, { n: 1 }, { taskId: 'order-6' });
    expect((await store.readLease('order-6'))?.owner).toBe('worker-a');
    await a.close();
    expect(await store.readLease('order-6')).toBeUndefined();
    const b = createRuntime({ store, workflows: [workflow], lease: { owner: 'worker-b' } });
    expect((await b.recover()).resumed.map((run) => run.taskId)).toEqual(['order-6']);
    await b.close();
  });

  it('a hand-written machine holds its lease while suspended, and releases it when done', async () => {
    current = await STORES.memory();
    const { store } = current;
    const workflow = reviewMachineWorkflow();
    const a = createRuntime({ store, workflows: [workflow], lease: { owner: 'worker-a' } });
    const b = createRuntime({ store, workflows: [workflow], lease: { owner: 'worker-b' } });
    const run = await a.start(workflow, { text: 'doc' }, { taskId: 'review-1' });
    await vi.waitFor(async () => expect((await a.status('review-1'))?.status).toBe('suspended'));
    expect((await store.readLease('review-1'))?.owner).toBe('worker-a');
    expect((await b.recover()).leased).toEqual([{ taskId: 'review-1', owner: 'worker-a' }]);
    await a.send('review-1', { type: 'approve', data: { ok: true } });
    await run.result;
    await vi.waitFor(async () => expect(await store.readLease('review-1')).toBeUndefined());
    await a.close();
    await b.close();
  });

  it('a damaged lease makes its task unreadable in listings and refused by resume', async () => {
    const temp = await makeTempDir('damaged-lease');
    const store = createFileStore({ directory: temp.dir });
    current = { store, reopen: async () => store, cleanup: () => store.close().then(temp.remove) };
    const { workflow } = blockingWorkflow({}, 'leased');
    const a = createRuntime({ store, workflows: [workflow] });
    await a.start(workflow, { n: 1 }, { taskId: 'order-9' });
    await a.close();
    await writeFile(join(temp.dir, 'tasks', 'order-9', 'lease.json'), 'not json');
    const b = createRuntime({ store, workflows: [workflow], lease: {} });
    const listing = await b.listTasks();
    expect(listing.tasks).toEqual([]);
    const codes = listing.unreadable.map(({ taskId, error }) => [
      taskId,
      (error as OrchestrationError).code,
    ]);
    expect(codes).toEqual([['order-9', 'CORRUPT_RECORD']]);
    expect(isOrchestrationError(await rejectionOf(b.resume('order-9')), 'CORRUPT_RECORD')).toBe(
      true,
    );
    expect((await b.recover()).failed.map(({ taskId }) => taskId)).toEqual(['order-9']);
    await b.close();
  });

  it('refuses a bad owner or TTL when the runtime is created', () => {
    expect(() => createRuntime({ lease: { owner: 'a/b' } })).toThrow(/lease owner/);
    expect(() => createRuntime({ lease: { ttlMs: 2 } })).toThrow(TypeError);
    expect(() => createRuntime({ lease: { ttlMs: 1.5 } })).toThrow(TypeError);
  });
});
