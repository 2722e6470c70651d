import 'fake-indexeddb/auto';
import { createStore } from 'idb-keyval';
import {
  CheckpointManager,
  type CheckpointStore,
  type Context,
  createContext,
  createRuntime,
  defineWorkflow,
  type RuntimeEvent,
} from 'mcp-orchestration';
import { createFileStore } from 'mcp-orchestration/file';
import { createMemoryStore } from 'mcp-orchestration/memory';
import { createRedisStore } from 'mcp-orchestration/redis';
import { afterEach, describe, expect, it } from 'vitest';
import { createIndexedDbStore } from '../../adapters/indexeddb.js';
import { closeConnection, deleteDatabase, uniqueDbName } from '../browser/indexeddb-harness.js';
import { makeTempDir } from '../support/file-temp-dir.js';
import { gate } from '../support/gate.js';
import {
  createTestClient,
  deleteKeysUnder,
  randomPrefix,
  redisAvailable,
} from '../support/redis.js';
import { checkpointsOf, newTaskId } from './helpers.js';

// A task deleted (by another process) while a run of it is live, and started again under the
// same id by another runtime: the new task numbers its checkpoints from 1 again, so a save
// conditional on the old run's head seq alone lands once the new task's head reaches it (ABA),
// and the old run writes on into the new task while the new run loses. Saves also expect the
// checkpoint id the run knows at its head (`expectedId`): the old run's next write is refused,
// it ends with UnknownTaskError (its task was deleted), and the new run completes with only its
// own checkpoints. Deterministic: the steps wait at gates the test opens. Runs on the four
// stores, two store instances on one backend where a store has them (IndexedDB under
// fake-indexeddb; Redis under a random key prefix, skipped loudly when Redis is missing unless
// CI is set).

/** Two store instances on one backend (one for each runtime), and their cleanup. */
interface TwoStores {
  readonly a: CheckpointStore;
  readonly b: CheckpointStore;
  cleanup(): Promise<void>;
}

const KINDS: Record<string, () => Promise<TwoStores>> = {
  async memory() {
    const store = createMemoryStore();
    return { a: store, b: store, cleanup: () => store.close() };
  },
  async file() {
    const temp = await makeTempDir('task-replaced');
    const a = await createFileStore({ directory: temp.dir });
    const b = await createFileStore({ directory: temp.dir });
    return {
      a,
      b,
      async cleanup() {
        await a.close();
        await b.close();
        await temp.remove();
      },
    };
  },
  async redis() {
    const prefix = randomPrefix();
    const clientA = createTestClient();
    const clientB = createTestClient();
    const a = createRedisStore({ client: clientA, prefix });
    const b = createRedisStore({ client: clientB, prefix });
    return {
      a,
      b,
      async cleanup() {
        await a.close();
        await b.close();
        await deleteKeysUnder(clientA, prefix);
        await clientA.quit();
        await clientB.quit();
      },
    };
  },
  async indexeddb() {
    const dbName = uniqueDbName();
    const idbA = createStore(dbName, 'checkpoints');
    const idbB = createStore(dbName, 'checkpoints');
    const a = createIndexedDbStore({ store: idbA });
    const b = createIndexedDbStore({ store: idbB });
    return {
      a,
      b,
      async cleanup() {
        await a.close();
        await b.close();
        await closeConnection(idbA);
        await closeConnection(idbB);
        await deleteDatabase(dbName);
      },
    };
  },
};

let stores: TwoStores | undefined;
afterEach(async () => {
  await stores?.cleanup();
  stores = undefined;
});

const STEPS = 6;
/** The step at which each run waits for its gate. */
const HOLD_AT = 2;

/**
 * Steps s0…s5 making `{ by, i }` contexts; step {@link HOLD_AT} tells `reached` it runs, then
 * waits for `release`. The same workflow (id and version) for both runtimes, by a different hand.
 */
function handWorkflow(by: string, reached: () => void, release: Promise<void>) {
  return defineWorkflow({
    id: 'replaced',
    version: '1',
    steps: Array.from({ length: STEPS }, (_, i) => ({
      stepId: `s${i}`,
      run: async (context: Context) => {
        if (i === HOLD_AT) {
          reached();
          await release;
        }
        const prev = (context.data as { i?: number }).i ?? null;
        return createContext('Hand', { by, i, prev });
      },
    })),
  });
}

describe.each(Object.keys(KINDS))(
  'a task deleted and started again elsewhere (%s store)',
  (kind) => {
    const it_ = kind === 'redis' ? it.skipIf(!redisAvailable) : it;

    it_(
      'ends the old run (UnknownTaskError) without a write into the new task, which completes with its own checkpoints',
      async () => {
        stores = await (KINDS[kind] as () => Promise<TwoStores>)();
        const { a: storeA, b: storeB } = stores;
        const taskId = newTaskId('replaced');
        const reachedA = gate();
        const releaseA = gate();
        const reachedB = gate();
        const releaseB = gate();
        const workflowA = handWorkflow('A', reachedA.open, releaseA.opened);
        const workflowB = handWorkflow('B', reachedB.open, releaseB.opened);
        const runtimeA = createRuntime({ store: storeA, workflows: [workflowA] });
        const runtimeB = createRuntime({ store: storeB, workflows: [workflowB] });
        const eventsA: RuntimeEvent[] = [];
        runtimeA.subscribe((event) => eventsA.push(event));

        // Run A reaches its held step: its head is the seq it expects at its next save.
        const runA = await runtimeA.start(workflowA, { by: 'A', i: -1 }, { taskId });
        await reachedA.opened;
        const headA = await storeA.head(taskId);
        expect(headA).toBeGreaterThan(0);
        const savedByA = eventsA.filter((event) => event.type === 'checkpoint.saved').length;

        // Another process deletes the task, and runtime B starts it again: at its held step, the
        // new task's head is where A's was (the same steps before it).
        expect(await new CheckpointManager(storeB).deleteTask(taskId)).toBe(true);
        const runB = await runtimeB.start(workflowB, { by: 'B', i: -1 }, { taskId });
        await reachedB.opened;
        expect(await storeB.head(taskId)).toBe(headA);

        // A's step ends: its save, conditional on seq headA, finds B's checkpoint there.
        releaseA.open();
        const failure = await runA.result.then(
          () => undefined,
          (error: unknown) => error,
        );
        expect(failure).toMatchObject({ code: 'TASK_NOT_FOUND', taskId });
        expect((failure as Error).message).toMatch(/deleted and started again elsewhere/);
        expect((failure as Error).cause).toMatchObject({
          code: 'CHECKPOINT_CONFLICT',
          expectedSeq: headA,
          actualSeq: headA,
        });
        expect(eventsA.filter((event) => event.type === 'checkpoint.saved')).toHaveLength(savedByA);
        expect(eventsA).toContainEqual(expect.objectContaining({ type: 'run.aborted', taskId }));
        expect(await storeA.head(taskId)).toBe(headA);

        // B goes on from its own head and completes, with only its own checkpoints.
        releaseB.open();
        const result = await runB.result;
        expect(result.data).toEqual({ by: 'B', i: STEPS - 1, prev: STEPS - 2 });
        const metas = await storeB.list(taskId);
        expect(metas.map((meta) => meta.seq)).toEqual(
          Array.from({ length: metas.length }, (_, i) => metas.length - i),
        );
        const states = await checkpointsOf(storeB, taskId);
        expect(states.length).toBe(metas.length);
        expect(states.map((state) => state.status)).toEqual([
          ...Array.from({ length: states.length - 1 }, () => 'running'),
          'completed',
        ]);
        for (const state of states) {
          const json = JSON.stringify(state.snapshot);
          expect(json).not.toContain('"by":"A"');
          expect(json).toContain('"by":"B"');
        }
        expect((await runtimeB.status(taskId))?.status).toBe('completed');
        await runtimeA.close();
        await runtimeB.close();
      },
    );
  },
);
