import { CheckpointManager, createRuntime } from 'mcp-orchestration';
import { afterEach, describe, expect, it } from 'vitest';
import { basicWorkflow, newTaskId, STORES, type TestStore } from './helpers.js';
import { trackLogAppends } from './log-appends.js';

// On a store without appendsOnSave (the file store), the runtime appends a task's lineage beside
// its checkpoints. A task deleted (by another manager or process) just before such an append must
// not get its lineage log again: the append asks for a head (`requireHead`), and one refused at
// the length it named is not tried again at the deleted log's length 0.

let test: TestStore | undefined;

afterEach(async () => {
  await test?.cleanup();
  test = undefined;
});

describe('a task deleted just before the runtime appends its lineage (file store)', () => {
  it('does not get its lineage log again', async () => {
    test = await STORES.file();
    const inner = test.store;
    const taskId = newTaskId('lineage-deleted');
    let appends = 0;
    const { store, settled } = trackLogAppends(inner, 'lineage', async () => {
      appends += 1;
      if (appends === 1) await new CheckpointManager(inner).deleteTask(taskId);
    });
    const workflow = basicWorkflow();
    const runtime = createRuntime({ store, workflows: [workflow] });
    const run = await runtime.start(workflow, { text: 'a b c' }, { taskId });
    await run.result.catch(() => undefined);
    await runtime.close();
    await settled();
    expect(appends).toBeGreaterThanOrEqual(1);
    expect({
      head: await inner.head(taskId),
      tasks: await inner.listTasks(),
      lineage: (await inner.readLog(taskId, 'lineage')).length,
    }).toEqual({ head: 0, tasks: [], lineage: 0 });
  });
});
