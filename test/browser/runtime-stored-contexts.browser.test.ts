import { createStore } from 'idb-keyval';
import {
  type Context,
  createContext,
  createRuntime,
  defineWorkflow,
  getCheckpointManager,
} from 'mcp-orchestration';
import { createIndexedDbStore } from 'mcp-orchestration/indexeddb';
import { expect, it } from 'vitest';
import { closeConnection, deleteDatabase, uniqueDbName } from './indexeddb-harness.js';

// In Chromium on real IndexedDB: a group's 24 KB input goes to the task's contexts log once it
// has been in two checkpoints, later checkpoints name it (format 3), and a new runtime (a page
// reloaded) resumes from such a checkpoint to the same result, its contexts deep-frozen.

const DOC = 'lorem ipsum '.repeat(2_000);

function heldFanOut(held: Promise<void>, frozen: boolean[]) {
  const read = (name: string) => async (context: Context) => {
    frozen.push(Object.isFrozen(context.data));
    if (name === 'hold') {
      await held;
      return context;
    }
    const doc = (context.data as { doc?: string }).doc ?? '';
    return createContext('Finding', { [name]: doc.length });
  };
  return defineWorkflow({
    id: 'browser-stored',
    version: '1',
    steps: [
      { stepId: 'plan', run: () => createContext('Doc', { doc: DOC }) },
      {
        stepId: 'fanout',
        parallel: {
          a: [{ stepId: 'a1', run: read('a1') }],
          b: [
            { stepId: 'hold', run: read('hold') },
            { stepId: 'b2', run: read('b2') },
          ],
        },
      },
    ],
  });
}

it('a page resumes on IndexedDB from a checkpoint that names a stored context', async () => {
  const dbName = uniqueDbName();
  const idb = createStore(dbName, 'checkpoints');
  const store = createIndexedDbStore({ store: idb });
  try {
    let release: () => void = () => {};
    const frozen: boolean[] = [];
    const workflow = heldFanOut(
      new Promise<void>((resolve) => {
        release = resolve;
      }),
      frozen,
    );
    const first = createRuntime({ store, workflows: [workflow] });
    const taskId = 'browser-stored-1';
    const run = await first.start(workflow, { topic: 'x' }, { taskId });
    await expect.poll(async () => (await store.readLog(taskId, 'contexts')).length).toBe(1);
    let holdDone = false;
    let closing: Promise<void> | undefined;
    first.subscribe((event) => {
      if (event.type === 'step.completed' && event.stepId === 'hold') holdDone = true;
      if (event.type === 'checkpoint.saved' && holdDone) closing ??= first.close();
    });
    release();
    await expect(run.result).rejects.toMatchObject({ code: 'TASK_NOT_RUNNING' });
    await closing;
    const latest = await (await getCheckpointManager(store)).loadLatestCheckpoint(taskId);
    expect(latest?.checkpoint?.v).toBe(3);
    const body = (await store.latest(taskId))?.body ?? '';
    expect(body).not.toContain(DOC);

    const second = createRuntime({ store, workflows: [workflow] });
    const output = await (await second.resume(taskId)).result;
    await second.close();
    expect(output.data).toEqual({ a1: DOC.length, b2: DOC.length });
    expect(frozen.every(Boolean)).toBe(true); // live and restored contexts alike
    expect(await store.readLog(taskId, 'contexts')).toHaveLength(1);
  } finally {
    await store.close();
    await closeConnection(idb);
    await deleteDatabase(dbName);
  }
});
