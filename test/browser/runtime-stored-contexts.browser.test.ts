import { createStore } from 'idb-keyval';
import { createContext, createRuntime, getCheckpointManager } from 'mcp-orchestration';
import { createIndexedDbStore } from 'mcp-orchestration/indexeddb';
import { expect, it } from 'vitest';
import {
  growingTranscript,
  runUntilCheckpoint,
  transcriptAfter,
} from '../runtime/growing-transcript.js';
import { closeAfterHold, HELD_DOC, heldFanOut } from '../runtime/held-fan-out.js';
import { closeConnection, deleteDatabase, uniqueDbName } from './indexeddb-harness.js';

// In Chromium on real IndexedDB: a group's 24 KB input goes to the task's contexts log once it
// has been in two checkpoints, later checkpoints name it (format 3), and a new runtime (a page
// reloaded) resumes from such a checkpoint to the same result, its contexts deep-frozen. And a
// transcript that grows at every step is spliced from a base in the log (format 4).

it('a page resumes on IndexedDB from a checkpoint that names a stored context', async () => {
  const dbName = uniqueDbName();
  const idb = createStore(dbName, 'checkpoints');
  const store = createIndexedDbStore({ store: idb });
  try {
    const frozen: boolean[] = [];
    const { workflow, release } = heldFanOut((_, context) => {
      frozen.push(Object.isFrozen(context.data));
    });
    const first = createRuntime({ store, workflows: [workflow] });
    const taskId = 'browser-stored-1';
    const run = await first.start(workflow, createContext('Topic', { topic: 'x' }), { taskId });
    await expect.poll(async () => (await store.readLog(taskId, 'contexts')).length).toBe(1);
    const closed = closeAfterHold(first);
    release();
    await expect(run.result).rejects.toMatchObject({ code: 'TASK_NOT_RUNNING' });
    await closed;
    const latest = await (await getCheckpointManager(store)).loadLatestCheckpoint(taskId);
    expect(latest?.checkpoint?.v).toBe(3);
    expect((await store.latest(taskId))?.body).not.toContain(HELD_DOC);

    const second = createRuntime({ store, workflows: [workflow] });
    const output = await (await second.resume(taskId)).result;
    await second.close();
    expect(output.data).toEqual({ a1: HELD_DOC.length, b3: 'Finding'.length });
    expect(frozen.length).toBeGreaterThanOrEqual(4);
    expect(frozen.every(Boolean)).toBe(true); // live and restored contexts alike
    expect(await store.readLog(taskId, 'contexts')).toHaveLength(1);
  } finally {
    await store.close();
    await closeConnection(idb);
    await deleteDatabase(dbName);
  }
});

it('a page resumes on IndexedDB from a checkpoint that splices a growing context', async () => {
  const dbName = uniqueDbName();
  const idb = createStore(dbName, 'checkpoints');
  const store = createIndexedDbStore({ store: idb });
  try {
    const steps = 40;
    const workflow = growingTranscript(steps, () => {});
    const first = createRuntime({ store, workflows: [workflow] });
    const taskId = 'browser-growing-1';
    await runUntilCheckpoint(first, workflow, taskId, 25);
    const latest = await (await getCheckpointManager(store)).loadLatestCheckpoint(taskId);
    expect(latest?.checkpoint?.v).toBe(4);
    const body = (await store.latest(taskId))?.body ?? '';
    expect(body.length).toBeLessThan(JSON.stringify(transcriptAfter(24)).length / 2);

    const second = createRuntime({ store, workflows: [workflow] });
    const output = await (await second.resume(taskId)).result;
    await second.close();
    expect(output.data).toEqual(transcriptAfter(steps));
  } finally {
    await store.close();
    await closeConnection(idb);
    await deleteDatabase(dbName);
  }
});
