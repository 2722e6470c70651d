import {
  createContext,
  createRuntime,
  defineWorkflow,
  getCheckpointManager,
  type Workflow,
} from 'mcp-orchestration';
import { createMemoryStore } from 'mcp-orchestration/memory';
import { afterEach, describe, expect, it } from 'vitest';
import { chainWorkflow } from './chain-workflow.js';
import {
  type Calls,
  dataOf,
  newTaskId,
  reviewWorkflow,
  STORES,
  type TestStore,
} from './helpers.js';

let current: TestStore | undefined;
afterEach(async () => {
  await current?.cleanup();
  current = undefined;
});

/** 4 steps, a group of 2 regions × 3 steps, 4 steps: 14 steps, 17 checkpoints in all. */
function chain(calls: Calls) {
  return chainWorkflow({
    before: 4,
    after: 4,
    regions: 2,
    perRegion: 3,
    onRun: (stepId) => {
      calls[stepId] = (calls[stepId] ?? 0) + 1;
    },
  });
}

/** The output items, checkpoints and lineage length of a run keeping every checkpoint. */
async function reference(workflow: Workflow) {
  const store = createMemoryStore();
  const runtime = createRuntime({ store });
  const taskId = newTaskId('reference');
  const run = await runtime.start(workflow, { items: [] }, { taskId });
  const items = (dataOf(await run.result) as { items: string[] }).items;
  const manager = await getCheckpointManager(store);
  const checkpoints = (await manager.listCheckpoints(taskId)).length;
  const lineage = (await manager.loadLineage(taskId)).length;
  await runtime.close();
  return { items: [...items].sort(), checkpoints, lineage };
}

describe('keepCheckpoints', () => {
  it.each(['memory', 'file'] as const)(
    'a task keeps its newest N checkpoints as it runs, and after it ends (%s store)',
    async (kind) => {
      current = await STORES[kind]();
      const store = current.store;
      const calls: Calls = {};
      const workflow = chain(calls);
      const expected = await reference(workflow);
      expect(expected.checkpoints).toBe(17);
      const runtime = createRuntime({ store, keepCheckpoints: 3 });
      const taskId = newTaskId('keep');
      let deleted = 0;
      let prunedWhileRunning = 0;
      let finished = false;
      runtime.subscribe((event) => {
        if (event.type === 'checkpoint.saved' && event.status === 'completed') finished = true;
        if (event.type === 'checkpoints.pruned') {
          deleted += event.deleted;
          if (!finished) prunedWhileRunning += 1;
        }
      });
      const run = await runtime.start(workflow, { items: [] }, { taskId });
      const items = (dataOf(await run.result) as { items: string[] }).items;
      expect([...items].sort()).toEqual(expected.items);
      const manager = await getCheckpointManager(store);
      const left = await manager.listCheckpointInfo(taskId);
      // The final prune is done when the result settles: the three newest are left.
      expect(left.map((meta) => meta.seq)).toEqual([17, 16, 15]);
      expect((await manager.loadLatestCheckpoint(taskId))?.status).toBe('completed');
      expect(await store.head(taskId)).toBe(17);
      expect(deleted).toBe(14); // each prune reported
      // Pruned as it ran (due every three saves; a prune does not hold up the steps, so on a slow
      // store it may land a few saves later), not only at the end.
      expect(prunedWhileRunning).toBeGreaterThanOrEqual(1);
      // The lineage is whole.
      expect(await manager.loadLineage(taskId)).toHaveLength(expected.lineage);
      await runtime.close();
    },
  );

  it('a task cut short resumes from what was kept, to the same result', async () => {
    current = await STORES.file();
    const calls: Calls = {};
    const workflow = chain(calls);
    const expected = await reference(workflow);
    const first = createRuntime({ store: current.store, keepCheckpoints: 1 });
    const taskId = newTaskId('keep-resume');
    let closing: Promise<void> | undefined;
    first.subscribe((event) => {
      if (event.type === 'checkpoint.saved' && event.seq === 8) closing = first.close();
    });
    await (await first.start(workflow, { items: [] }, { taskId })).result.catch(() => {});
    await closing;
    const store = await current.reopen();
    const manager = await getCheckpointManager(store);
    expect((await manager.listCheckpointInfo(taskId)).length).toBeLessThanOrEqual(2);

    const second = createRuntime({ store, workflows: [workflow], keepCheckpoints: 1 });
    const resumed = await second.resume(taskId);
    const items = (dataOf(await resumed.result) as { items: string[] }).items;
    expect([...items].sort()).toEqual(expected.items);
    expect((await manager.listCheckpointInfo(taskId)).map((meta) => meta.seq)).toEqual([17]);
    expect(await manager.loadLineage(taskId)).toHaveLength(expected.lineage);
    await second.close();
  });

  it('a failed prune is reported and tried again; the run goes on', async () => {
    current = await STORES.memory();
    const inner = current.store;
    let failures = 1;
    const store = {
      ...inner,
      name: inner.name,
      deleteOld: (taskId: string, keep: number) => {
        if (failures-- > 0) return Promise.reject(new Error('disk on fire'));
        return inner.deleteOld(taskId, keep);
      },
    };
    const workflow = chain({});
    const expected = await reference(workflow);
    const runtime = createRuntime({ store, keepCheckpoints: 4 });
    const taskId = newTaskId('keep-fails');
    const failed: string[] = [];
    runtime.subscribe((event) => {
      if (event.type === 'checkpoints.pruneFailed') failed.push(event.error.message);
    });
    const run = await runtime.start(workflow, { items: [] }, { taskId });
    const items = (dataOf(await run.result) as { items: string[] }).items;
    expect([...items].sort()).toEqual(expected.items);
    expect(failed).toEqual(['disk on fire']);
    expect((await inner.list(taskId)).map((meta) => meta.seq)).toEqual([17, 16, 15, 14]);
    await runtime.close();
  });

  // Each run below saves fewer than `keep` checkpoints, so no prune is ever due by count within
  // one run: a restored run prunes at its first save (what earlier runs left is not known).
  const KEEP = 3;
  const CYCLES = 25;
  const APPROVAL = { type: 'approval', data: { ok: true, reviewer: 'ana' } } as const;

  it.each(['memory', 'file'] as const)(
    'a task paused and resumed again and again stays bounded (%s store)',
    async (kind) => {
      current = await STORES[kind]();
      const store = current.store;
      const workflow = reviewWorkflow();
      const runtime = createRuntime({ store, workflows: [workflow], keepCheckpoints: KEEP });
      const taskId = newTaskId('keep-pause');
      const first = await runtime.start(workflow, 'text', { taskId });
      first.result.catch(() => {});
      await expect.poll(async () => (await runtime.status(taskId))?.status).toBe('suspended');
      const head = await store.head(taskId);
      const counts: number[] = [];
      for (let cycle = 0; cycle < CYCLES; cycle++) {
        // Each cycle saves two checkpoints (the pause's, the resume's `suspended` one).
        await runtime.pause(taskId);
        counts.push((await store.list(taskId)).length);
        const resumed = await runtime.resume(taskId);
        resumed.result.catch(() => {});
      }
      expect(await store.head(taskId)).toBe(head + 2 * CYCLES);
      // The resume's first save prunes (a pause waits for it): the newest `keep`, and the pause.
      expect(Math.max(...counts)).toBeLessThanOrEqual(KEEP + 1);
      await runtime.send(taskId, APPROVAL);
      await expect.poll(async () => (await runtime.status(taskId))?.status).toBe('completed');
      await runtime.close();
      expect((await store.list(taskId)).length).toBe(KEEP);
    },
  );

  it.each(['memory', 'file'] as const)(
    'a task whose runs are cut short again and again stays bounded (%s store)',
    async (kind) => {
      current = await STORES[kind]();
      const steps = 3 * CYCLES;
      const workflow = defineWorkflow({
        id: 'counting',
        version: '1',
        steps: Array.from({ length: steps }, (_, index) => ({
          stepId: `step${index}`,
          run: async () => {
            await new Promise((resolve) => setTimeout(resolve, 1));
            return createContext('Count', { index });
          },
        })),
      });
      const taskId = newTaskId('keep-cut');
      const counts: number[] = [];
      let store = current.store;
      for (let cycle = 0; cycle < CYCLES; cycle++) {
        // Each run is closed at its second save (fewer than `keep`), a step in flight.
        const runtime = createRuntime({ store, workflows: [workflow], keepCheckpoints: KEEP });
        let saves = 0;
        let closing: Promise<void> | undefined;
        runtime.subscribe((event) => {
          if (event.type === 'checkpoint.saved' && ++saves === 2) closing = runtime.close();
        });
        const run =
          cycle === 0
            ? await runtime.start(workflow, {}, { taskId })
            : await runtime.resume(taskId);
        await run.result.catch(() => {});
        await closing;
        store = await current.reopen();
        counts.push((await store.list(taskId)).length);
      }
      // Closed, a run has waited for its prune: the newest `keep`, and the save after the prune.
      expect(Math.max(...counts)).toBeLessThanOrEqual(KEEP + 1);
      expect(await store.head(taskId)).toBeGreaterThanOrEqual(2 * CYCLES);
      const runtime = createRuntime({ store, workflows: [workflow], keepCheckpoints: KEEP });
      const resumed = await runtime.resume(taskId);
      expect(dataOf(await resumed.result)).toEqual({ index: steps - 1 });
      await runtime.close();
      expect((await store.list(taskId)).length).toBe(KEEP);
    },
  );

  it('a task paused by runtimes that do not run it stays bounded', async () => {
    current = await STORES.file();
    const workflow = reviewWorkflow();
    const taskId = newTaskId('keep-elsewhere');
    const counts: number[] = [];
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      // A runtime runs the task up to its wait and closes; another one, with no run of the task,
      // pauses it in the store (it prunes nothing); the next resumes it.
      const runner = createRuntime({
        store: await current.reopen(),
        workflows: [workflow],
        keepCheckpoints: KEEP,
      });
      const run =
        cycle === 0
          ? await runner.start(workflow, 'text', { taskId })
          : await runner.resume(taskId);
      run.result.catch(() => {});
      await expect.poll(async () => (await runner.status(taskId))?.status).toBe('suspended');
      await runner.close();
      const pauser = createRuntime({
        store: await current.reopen(),
        workflows: [workflow],
        keepCheckpoints: KEEP,
      });
      await pauser.pause(taskId);
      await pauser.close();
      counts.push((await current.store.list(taskId)).length);
    }
    // Two saves a cycle (the resume's, the pause elsewhere), none pruned but by the resume.
    expect(await current.store.head(taskId)).toBeGreaterThanOrEqual(2 * CYCLES);
    expect(Math.max(...counts)).toBeLessThanOrEqual(KEEP + 1);
    // A cancel elsewhere adds one more, final: nothing runs the task again.
    const canceller = createRuntime({ store: await current.reopen(), workflows: [workflow] });
    await canceller.cancel(taskId);
    await canceller.close();
    expect((await current.store.list(taskId)).length).toBeLessThanOrEqual(KEEP + 2);
  });

  it('must be an integer ≥ 1', () => {
    for (const keepCheckpoints of [0, -1, 1.5, Number.NaN]) {
      expect(() => createRuntime({ keepCheckpoints })).toThrow(TypeError);
    }
  });
});
