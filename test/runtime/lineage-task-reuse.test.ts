import {
  CheckpointManager,
  type Context,
  createContext,
  createRuntime,
  defineWorkflow,
} from 'mcp-orchestration';
import { afterEach, describe, expect, it } from 'vitest';
import { LINEAGE_APPEND_BATCH } from '../../src/runtime/checkpoint-writer.js';
import { newTaskId, STORES, type TestStore } from './helpers.js';

/**
 * A task id used again after the task was deleted behind the runtime's manager's back (the CLI's
 * `checkpoints delete TASK --all` or `purge`, another worker's `purgeFinished`, another manager on
 * the same store): the manager's lineage writer still remembers the deleted log's last seq, and
 * the new run's lineage must reach the log whole all the same.
 */

let current: TestStore | undefined;
afterEach(async () => {
  await current?.cleanup();
  current = undefined;
});

/** More steps than a lineage batch, so the file store appends before the final checkpoint. */
const STEPS = LINEAGE_APPEND_BATCH + 4;

/** Steps s0…s(n-1), each making a context from the last; `holdAt` blocks until aborted. */
function chain(holdAt?: number) {
  return defineWorkflow({
    id: 'reuse',
    version: '1',
    steps: Array.from({ length: STEPS }, (_, i) => ({
      stepId: `s${i}`,
      run: (context: Context, _step: unknown, { signal }: { signal: AbortSignal }) => {
        if (i === holdAt) {
          return new Promise<Context>((_resolve, reject) => {
            signal.addEventListener('abort', () => reject(signal.reason));
          });
        }
        return createContext('Item', { i, prev: context.contextId });
      },
    })),
  });
}

/** The seqs a complete log of `size` transitions holds. */
const seqsUpTo = (size: number) => Array.from({ length: size }, (_, i) => i);

describe.each(['memory', 'file'] as const)('a task id used again (%s store)', (kind) => {
  it('keeps the new run’s lineage whole after the task was deleted by another manager', async () => {
    current = await STORES[kind]();
    const workflow = chain();
    const runtime = createRuntime({ store: current.store, workflows: [workflow] });
    const taskId = newTaskId('reuse');
    const first = await runtime.start(workflow, { n: 1 }, { taskId });
    await first.result;
    // The runtime's manager reads the log (and so remembers its last seq).
    expect((await runtime.lineage(taskId)).size).toBe(STEPS + 1);

    const other = new CheckpointManager(await current.reopen());
    expect(await other.deleteTask(taskId)).toBe(true);
    expect(await other.loadLineage(taskId)).toEqual([]);

    const second = await runtime.start(workflow, { n: 2 }, { taskId });
    await second.result;
    expect(second.lineage.size).toBe(STEPS + 1);
    const reader = new CheckpointManager(await current.reopen());
    const log = await reader.loadLineage(taskId);
    expect(log.map((t) => t.seq)).toEqual(seqsUpTo(STEPS + 1));
    expect(log[0]).toMatchObject({ operation: 'input' });
    const fresh = createRuntime({ store: await current.reopen(), workflows: [workflow] });
    expect((await fresh.lineage(taskId)).size).toBe(STEPS + 1);
    await fresh.close();
    await runtime.close();
  });

  it('appends a restored run’s lineage after the log it read, once the task was deleted and started again elsewhere', async () => {
    current = await STORES[kind]();
    const workflow = chain();
    const runtime = createRuntime({ store: current.store, workflows: [workflow] });
    const taskId = newTaskId('reuse-restored');
    await (await runtime.start(workflow, { n: 1 }, { taskId })).result;
    expect((await runtime.lineage(taskId)).size).toBe(STEPS + 1);

    // Elsewhere: the task is deleted, started again and paused at s3 (3 steps done).
    const elsewhereStore = await current.reopen();
    expect(await new CheckpointManager(elsewhereStore).deleteTask(taskId)).toBe(true);
    const held = chain(3);
    const elsewhere = createRuntime({ store: elsewhereStore, workflows: [held] });
    const started = await elsewhere.start(held, { n: 2 }, { taskId });
    await expect.poll(() => started.status().currentStepId).toBe('s3');
    await elsewhere.pause(taskId);
    await expect(started.result).rejects.toMatchObject({ code: 'WORKFLOW_PAUSED' });
    await elsewhere.close();

    const resumed = await runtime.resume(taskId);
    await resumed.result;
    const log = await new CheckpointManager(await current.reopen()).loadLineage(taskId);
    expect(log.map((t) => t.seq)).toEqual(seqsUpTo(STEPS + 1));
    await runtime.close();
  });
});
