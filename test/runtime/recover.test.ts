import {
  type CheckpointStore,
  createContext,
  createRuntime,
  defineWorkflow,
  isOrchestrationError,
  type RunStatus,
  StorageError,
} from 'mcp-orchestration';
import { createMemoryStore } from 'mcp-orchestration/memory';
import { afterEach, describe, expect, it } from 'vitest';
import {
  blockingWorkflow,
  type Calls,
  dataOf,
  delay,
  reviewWorkflow,
  STORES,
  type TestStore,
} from './helpers.js';

let current: TestStore | undefined;
afterEach(async () => {
  await current?.cleanup();
  current = undefined;
});

/** One step, at once. */
const quick = defineWorkflow({
  id: 'quick',
  version: '1',
  steps: [{ stepId: 'only', run: () => createContext('Done', {}) }],
});

const statusesOf = (tasks: readonly RunStatus[]) =>
  Object.fromEntries(tasks.map((task) => [task.taskId, task.status]));

describe('runtime.listTasks', () => {
  it.each(['memory', 'file'] as const)(
    'lists the tasks of the store with their status, in id order (%s store)',
    async (kind) => {
      current = await STORES[kind]();
      const review = reviewWorkflow();
      const { workflow } = blockingWorkflow({});
      const runtime = createRuntime({ store: current.store, workflows: [review, workflow, quick] });
      const done = await runtime.start(quick, { n: 1 }, { taskId: 'c-done' });
      await expect(done.result).resolves.toBeDefined();
      await runtime.start(review, 'essay', { taskId: 'b-waiting' });
      await runtime.start(workflow, { n: 2 }, { taskId: 'a-running' }); // blocks in 'second'
      await runtime.start(review, 'draft', { taskId: 'd-paused' });
      await runtime.pause('d-paused');
      await expect.poll(async () => (await runtime.status('b-waiting'))?.status).toBe('suspended');
      // A lineage without checkpoints is not a workflow task.
      await current.store.appendLog('e-log-only', 'lineage', ['{}']);

      const listing = await runtime.listTasks();
      expect(listing.tasks.map((task) => task.taskId)).toEqual([
        'a-running',
        'b-waiting',
        'c-done',
        'd-paused',
      ]);
      expect(statusesOf(listing.tasks)).toEqual({
        'a-running': 'running',
        'b-waiting': 'suspended',
        'c-done': 'completed',
        'd-paused': 'paused',
      });
      expect(listing.tasks.find((task) => task.taskId === 'a-running')?.live).toBe(true);
      expect(listing.unreadable).toEqual([]);
      expect(listing.next).toBeUndefined();

      const first = await runtime.listTasks({ limit: 2 });
      expect(first.tasks.map((task) => task.taskId)).toEqual(['a-running', 'b-waiting']);
      expect(first.next).toBe('b-waiting');
      const second = await runtime.listTasks({ limit: 2, after: 'b-waiting' });
      expect(second.tasks.map((task) => task.taskId)).toEqual(['c-done', 'd-paused']);
      await runtime.close();

      // From another runtime (another process): the same, none of them live.
      const other = createRuntime({ store: await current.reopen() });
      const seen = await other.listTasks();
      expect(statusesOf(seen.tasks)).toEqual(statusesOf(listing.tasks));
      expect(seen.tasks.every((task) => !task.live)).toBe(true);
      await other.close();
    },
  );

  it('lists a task whose latest checkpoint is corrupt as unreadable, and the others', async () => {
    const records = new Map<string, string>();
    const store = createMemoryStore({ records });
    current = { store, reopen: async () => store, cleanup: () => store.close() };
    const { workflow } = blockingWorkflow({});
    const runtime = createRuntime({ store, workflows: [workflow] });
    await runtime.start(workflow, {}, { taskId: 'broken' });
    await runtime.start(workflow, {}, { taskId: 'fine' });
    await runtime.close();
    const [latest] = await store.list('broken');
    records.set(`broken/${latest?.checkpointId}`, '!');
    const listing = await createRuntime({ store }).listTasks();
    expect(listing.tasks.map((task) => task.taskId)).toEqual(['fine']);
    expect(listing.unreadable.map((entry) => entry.taskId)).toEqual(['broken']);
    expect(isOrchestrationError(listing.unreadable[0]?.error, 'CORRUPT_RECORD')).toBe(true);
  });

  it('fails, rather than listing nothing, when the store fails', async () => {
    const store = createMemoryStore();
    current = { store, reopen: async () => store, cleanup: () => store.close() };
    const { workflow } = blockingWorkflow({});
    const runtime = createRuntime({ store, workflows: [workflow] });
    await runtime.start(workflow, {}, { taskId: 'one' });
    await runtime.close();
    const failing: CheckpointStore = {
      ...store,
      latest: async () => {
        throw new StorageError('memory', 'the backend is down');
      },
    };
    const error = await createRuntime({ store: failing })
      .listTasks()
      .catch((caught: unknown) => caught);
    expect(isOrchestrationError(error, 'STORAGE_FAILED')).toBe(true);
  });
});

describe('runtime.recover', () => {
  it.each(['memory', 'file'] as const)(
    'resumes the tasks a gone process left running or suspended, and nothing else (%s store)',
    async (kind) => {
      current = await STORES[kind]();
      const calls: Calls = {};
      const review = reviewWorkflow(calls);
      const blocking = blockingWorkflow(calls);
      const crashed = createRuntime({
        store: current.store,
        workflows: [review, blocking.workflow],
      });
      await crashed.start(blocking.workflow, {}, { taskId: 'running' }); // blocks in 'second'
      await crashed.start(review, 'essay', { taskId: 'waiting' });
      const done = await crashed.start(review, 'done', { taskId: 'finished' });
      await expect.poll(async () => (await crashed.status('finished'))?.status).toBe('suspended');
      await crashed.send('finished', { type: 'approval', data: { ok: true, reviewer: 'r' } });
      await done.result;
      await crashed.start(review, 'later', { taskId: 'paused' });
      await crashed.pause('paused');
      await expect.poll(async () => (await crashed.status('waiting'))?.status).toBe('suspended');
      await crashed.close(); // like a process exit: nothing more is written

      // A new process, with the workflows registered: recover resumes 'running' and 'waiting'.
      const store = await current.reopen();
      const restarted = createRuntime({ store, workflows: [review, blocking.workflow] });
      const report = await restarted.recover();
      expect(report.failed).toEqual([]);
      expect(report.resumed.map((run) => run.taskId).sort()).toEqual(['running', 'waiting']);
      const running = report.resumed.find((run) => run.taskId === 'running')!;
      expect(dataOf(await running.result)).toEqual({ trail: ['first', 'second', 'third'] });
      expect(calls.first).toBe(1); // checkpointed before the crash: not run again
      await restarted.send('waiting', { type: 'approval', data: { ok: true, reviewer: 'r' } });
      const waiting = report.resumed.find((run) => run.taskId === 'waiting')!;
      await expect(waiting.result).resolves.toBeDefined();
      expect((await restarted.status('paused'))?.status).toBe('paused');
      expect((await restarted.status('finished'))?.status).toBe('completed');

      // Nothing left to recover: live or finished.
      const again = await restarted.recover();
      expect(again.resumed).toEqual([]);
      await restarted.close();
    },
  );

  it('reports a task it cannot resume and resumes the others', async () => {
    const store = createMemoryStore();
    current = { store, reopen: async () => store, cleanup: () => store.close() };
    const calls: Calls = {};
    const blocking = blockingWorkflow(calls);
    const other = blockingWorkflow({});
    const otherWorkflow = defineWorkflow({
      id: 'unregistered',
      version: '1',
      steps: other.workflow.steps,
    });
    const crashed = createRuntime({ store, workflows: [blocking.workflow, otherWorkflow] });
    await crashed.start(blocking.workflow, {}, { taskId: 'known' });
    await crashed.start(otherWorkflow, {}, { taskId: 'orphan' });
    await crashed.close();
    const restarted = createRuntime({ store, workflows: [blocking.workflow] });
    const report = await restarted.recover();
    expect(report.resumed.map((run) => run.taskId)).toEqual(['known']);
    expect(report.failed.map((entry) => entry.taskId)).toEqual(['orphan']);
    expect(isOrchestrationError(report.failed[0]?.error, 'WORKFLOW_NOT_FOUND')).toBe(true);
    await report.resumed[0]?.result;
    await restarted.close();
  });
});

describe('runtime.purgeFinished', () => {
  it.each(['memory', 'file'] as const)(
    'deletes finished tasks older than the cutoff, and nothing else (%s store)',
    async (kind) => {
      current = await STORES[kind]();
      const review = reviewWorkflow();
      const failing = defineWorkflow({
        id: 'failing',
        version: '1',
        steps: [
          {
            stepId: 'boom',
            run: () => {
              throw new Error('boom');
            },
          },
        ],
      });
      const runtime = createRuntime({ store: current.store, workflows: [review, quick, failing] });
      await (await runtime.start(quick, {}, { taskId: 'old-done' })).result;
      await (await runtime.start(failing, {}, { taskId: 'old-failed' })).result.catch(() => {});
      await runtime.start(review, 'essay', { taskId: 'old-waiting' });
      await runtime.start(review, 'essay', { taskId: 'old-cancelled' });
      await runtime.cancel('old-cancelled');
      await runtime.start(review, 'essay', { taskId: 'old-paused' });
      await runtime.pause('old-paused');
      // Checkpoints are stamped with Date.now: real time, with wide margins.
      await delay(1_500);
      await (await runtime.start(quick, {}, { taskId: 'new-done' })).result;

      const report = await runtime.purgeFinished({ olderThanMs: 750 });
      expect([...report.deleted].sort()).toEqual(['old-cancelled', 'old-done', 'old-failed']);
      expect(report.failed).toEqual([]);
      for (const taskId of report.deleted) {
        expect(await runtime.status(taskId)).toBeUndefined();
        expect(await current.store.readLog(taskId, 'lineage')).toEqual([]);
      }
      const left = (await runtime.listTasks()).tasks.map((task) => task.taskId);
      expect(left).toEqual(['new-done', 'old-paused', 'old-waiting']);
      // A cutoff of 0 takes the new one too; the unfinished ones stay.
      expect((await runtime.purgeFinished({ olderThanMs: 0 })).deleted).toEqual(['new-done']);
      await expect(runtime.purgeFinished({ olderThanMs: -1 })).rejects.toThrow(TypeError);
      await runtime.close();
    },
  );

  it('keeps and reports a task whose latest checkpoint is corrupt', async () => {
    const records = new Map<string, string>();
    const store = createMemoryStore({ records });
    current = { store, reopen: async () => store, cleanup: () => store.close() };
    const runtime = createRuntime({ store, workflows: [quick] });
    await (await runtime.start(quick, {}, { taskId: 'broken' })).result;
    await (await runtime.start(quick, {}, { taskId: 'fine' })).result;
    const [latest] = await store.list('broken');
    records.set(`broken/${latest?.checkpointId}`, '!');
    const report = await runtime.purgeFinished({ olderThanMs: 0 });
    expect(report.deleted).toEqual(['fine']);
    expect(report.failed.map((entry) => entry.taskId)).toEqual(['broken']);
    expect(await store.head('broken')).toBeGreaterThan(0);
    await runtime.close();
  });
});
