import { CheckpointManager, type CheckpointStore, createRuntime } from 'mcp-orchestration';
import { afterEach, describe, expect, it } from 'vitest';
import { basicWorkflow, newTaskId, STORES, type TestStore } from './helpers.js';

// On a store without appendsOnSave (the file store), the runtime appends a task's lineage beside
// its checkpoints. A task deleted (by another manager or process) just before such an append must
// not get its lineage log again: the append asks for a head (`requireHead`), and one refused at
// the length it named is not tried again at the deleted log's length 0.

let test: TestStore | undefined;

afterEach(async () => {
  await test?.cleanup();
  test = undefined;
});

/** `inner` behind a proxy that calls `before` ahead of each lineage append with entries. */
function beforeLineageAppends(inner: CheckpointStore, before: () => Promise<void>) {
  const appends: Promise<unknown>[] = [];
  const store = new Proxy(inner, {
    get(target, key) {
      const value = Reflect.get(target, key, target) as unknown;
      if (typeof value !== 'function') return value;
      if (key !== 'appendLog' && key !== 'appendLogAt') return value.bind(target);
      return (...args: unknown[]) => {
        const entries = (key === 'appendLog' ? args[2] : args[3]) as readonly string[];
        const ahead = args[1] === 'lineage' && entries.length > 0 ? before() : Promise.resolve();
        const append = ahead.then(() => Reflect.apply(value, target, args) as Promise<unknown>);
        appends.push(append.catch(() => undefined));
        return append;
      };
    },
  }) as CheckpointStore;
  return { store, settled: () => Promise.all(appends) };
}

describe('a task deleted just before the runtime appends its lineage (file store)', () => {
  it('does not get its lineage log again', async () => {
    test = await STORES.file();
    const inner = test.store;
    const taskId = newTaskId('lineage-deleted');
    let appends = 0;
    const { store, settled } = beforeLineageAppends(inner, async () => {
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
