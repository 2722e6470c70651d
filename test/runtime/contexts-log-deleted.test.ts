import 'fake-indexeddb/auto';
import {
  CheckpointManager,
  type CheckpointStore,
  type Context,
  createContext,
  createRuntime,
  defineWorkflow,
} from 'mcp-orchestration';
import { afterEach, describe, expect, it } from 'vitest';
import { indexedDbHarness } from '../browser/indexeddb-harness.js';
import { openRedisStore, redisAvailable } from '../support/redis.js';
import { newTaskId, STORES } from './helpers.js';
import { trackLogAppends } from './log-appends.js';

// A task deleted (by another manager or process) while a run of it is live: the run ends with
// UnknownTaskError at its next write, and its appends to the task's contexts log, in flight or
// queued, must not make the deleted task's log again (a log-only task that runtime.listTasks does
// not show, purgeFinished never purges, and that makes a new start of the id fail with
// TaskExistsError). On every store an append is conditional on the length the run knows and on
// the task having a checkpoint (`appendLogAt` with `requireHead`), so one made after the deletion
// is refused, even at length 0 (the run's first append); the file store also refuses one that
// waited for the lock while the task was deleted. Runs on the four stores (IndexedDB under
// fake-indexeddb; Redis under a random key prefix, skipped loudly when Redis is missing unless CI
// is set).

const BIG = 'y'.repeat(5_000);

/**
 * Thirty steps; the even ones pass their (large) input on, so it is in two checkpoints in a row
 * and goes to the contexts log; the odd ones make a new large context: a run appends again and
 * again.
 */
const workflow = defineWorkflow({
  id: 'deleted-while-running',
  version: '1',
  steps: Array.from({ length: 30 }, (_, i) => ({
    stepId: `s${i}`,
    run: (context: Context) =>
      i % 2 === 0 ? context : createContext('Note', { text: 'z'.repeat(3_000), i }),
  })),
});

/** A store for one test, and its cleanup. */
interface OpenStore {
  readonly store: CheckpointStore;
  cleanup(): Promise<void>;
}

const KINDS: Record<string, () => Promise<OpenStore>> = {
  memory: STORES.memory,
  file: STORES.file,
  redis: () => openRedisStore(),
  indexeddb: () => indexedDbHarness.create({ now: Date.now }),
};

let test: OpenStore | undefined;

afterEach(async () => {
  await test?.cleanup();
  test = undefined;
});

/**
 * What the store holds of the task afterwards (its logs' lengths: their entries are large):
 * nothing, once it was deleted.
 */
async function leftOf(store: CheckpointStore, taskId: string) {
  return {
    head: await store.head(taskId),
    tasks: await store.listTasks(),
    contexts: (await store.readLog(taskId, 'contexts')).length,
    lineage: (await store.readLog(taskId, 'lineage')).length,
  };
}

const NOTHING = { head: 0, tasks: [], contexts: 0, lineage: 0 };

/** The store with the appends to the `contexts` log tracked (see `trackLogAppends`). */
const tracked = (inner: CheckpointStore, before?: () => Promise<void>) =>
  trackLogAppends(inner, 'contexts', before);

describe.each(Object.keys(KINDS))(
  'a task deleted while a run appends to its contexts log (%s store)',
  (kind) => {
    const open = KINDS[kind] as () => Promise<OpenStore>;
    const it_ = kind === 'redis' ? it.skipIf(!redisAvailable) : it;

    it_(
      'is not brought back by an append made after the deletion (a later append, at a length the log no longer has)',
      async () => {
        test = await open();
        const inner = test.store;
        const taskId = newTaskId('deleted');
        let appends = 0;
        // The run's second append to the contexts log finds the task deleted just before it goes.
        const { store, settled } = tracked(inner, async () => {
          appends += 1;
          if (appends === 2) await new CheckpointManager(inner).deleteTask(taskId);
        });
        const runtime = createRuntime({ store, workflows: [workflow] });
        const run = await runtime.start(workflow, { big: BIG }, { taskId });
        await expect(run.result).rejects.toMatchObject({ code: 'TASK_NOT_FOUND' });
        await runtime.close();
        await settled();
        expect(appends).toBe(2); // refused: it appends no more
        expect(await leftOf(inner, taskId)).toEqual(NOTHING);
      },
    );

    it_(
      'is not brought back by its first append (at length 0) made after the deletion; the id starts again',
      async () => {
        test = await open();
        const inner = test.store;
        const taskId = newTaskId('deleted');
        let appends = 0;
        // The run's first append to the contexts log (the log was empty, and is again) finds the
        // task deleted just before it goes: a condition on the length alone lets it through.
        const { store, settled } = tracked(inner, async () => {
          appends += 1;
          if (appends === 1) await new CheckpointManager(inner).deleteTask(taskId);
        });
        const runtime = createRuntime({ store, workflows: [workflow] });
        const run = await runtime.start(workflow, { big: BIG }, { taskId });
        await expect(run.result).rejects.toMatchObject({ code: 'TASK_NOT_FOUND' });
        await runtime.close();
        await settled();
        expect(appends).toBe(1); // refused: it appends no more
        expect(await leftOf(inner, taskId)).toEqual(NOTHING);
        // Nothing is left of the task, so its id can be started again (a log left behind would make
        // this a TaskExistsError).
        const again = createRuntime({ store: inner, workflows: [workflow] });
        const rerun = await again.start(workflow, { big: BIG }, { taskId });
        await rerun.result;
        await again.close();
        expect(await inner.head(taskId)).toBeGreaterThan(0);
      },
    );

    it_(
      'is not brought back by an append in flight when another manager deletes it',
      async () => {
        // The deletion waits for the lock a save holds; the append the save's checkpoint asks for
        // comes after it in the queue (as in about half of these tries without the fix).
        for (let i = 0; i < 10; i++) {
          test = await open();
          const { store, settled } = tracked(test.store);
          const taskId = newTaskId('deleted');
          const runtime = createRuntime({ store, workflows: [workflow] });
          const run = await runtime.start(workflow, { big: BIG }, { taskId });
          await new Promise((resolve) => setTimeout(resolve, i * 2));
          const existed = await new CheckpointManager(test.store).deleteTask(taskId);
          await run.result.catch(() => undefined);
          await runtime.close();
          await settled();
          const left = await leftOf(test.store, taskId);
          if (existed) expect({ try: i, ...left }).toEqual({ try: i, ...NOTHING });
          await test.cleanup();
          test = undefined;
        }
      },
      60_000,
    );

    it_('leaves a normal run its contexts log, each context stored once', async () => {
      test = await open();
      const { store } = test;
      const taskId = newTaskId('normal');
      const runtime = createRuntime({ store, workflows: [workflow] });
      const run = await runtime.start(workflow, { big: BIG }, { taskId });
      await run.result;
      await runtime.close();
      const entries = await store.readLog(taskId, 'contexts');
      expect(entries.length).toBeGreaterThanOrEqual(2);
      expect(entries.some((entry) => entry.includes(BIG))).toBe(true);
      expect(entries.filter((entry) => entry.includes(BIG))).toHaveLength(1);
    });
  },
);
