import { createRuntime } from 'mcp-orchestration';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type Calls,
  checkpointsOf,
  newTaskId,
  parallelWorkflow,
  STORES,
  type TestStore,
} from './helpers.js';

const ITEMS = [1, 2, 3, 4, 5, 6, 7];
const SQUARES = ITEMS.map((n) => n * n);

describe.each(['memory', 'file'] as const)(
  'runtime on the %s store: parallel processing',
  (kind) => {
    let current: TestStore | undefined;
    afterEach(async () => {
      await current?.cleanup();
      current = undefined;
    });

    it('runs the regions concurrently, merges with AppendList and continues', async () => {
      current = await STORES[kind]();
      const calls: Calls = {};
      const runtime = createRuntime({ store: current.store });
      const taskId = newTaskId('par');
      const run = await runtime.start(parallelWorkflow(calls), { items: ITEMS }, { taskId });
      const output = await run.result;
      expect(output.contextType).toBe('TotalContext');
      expect(output.data).toEqual({
        sorted: [...SQUARES].sort((a, b) => a - b),
        sum: SQUARES.reduce((a, b) => a + b, 0),
      });
      expect(Object.values(calls).every((n) => n === 1)).toBe(true);
      expect(Object.keys(calls)).toHaveLength(7);

      const states = await checkpointsOf(current.store, taskId);
      expect(states.at(-1)?.status).toBe('completed');
      expect(states.slice(0, -1).every((s) => s.status === 'running')).toBe(true);
      // The start, six region steps (some may share a checkpoint), the merge, total, the end.
      expect(states.length).toBeGreaterThanOrEqual(4);
      expect(states.length).toBeLessThanOrEqual(10);
      expect(states.at(-1)?.plan.every((step) => step.isComplete)).toBe(true);
      const seqs = states.map((s) => s.checkpoint?.seq);
      expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    });

    it('logs a region step from the group input and the merge as one transition with every region as parent', async () => {
      current = await STORES[kind]();
      const runtime = createRuntime({ store: current.store });
      const taskId = newTaskId('merge');
      const run = await runtime.start(parallelWorkflow({}, 3), { items: ITEMS }, { taskId });
      const output = await run.result;
      const log = run.lineage.getFullTransitionLog();
      const input = `${taskId}_input`;
      for (let i = 0; i < 3; i++) {
        expect(run.lineage.getContextHistory(`${taskId}_chunk_${i}`)).toMatchObject([
          { componentName: 'DataSplitter', operation: 'split', fromContextIds: [input] },
        ]);
      }
      const merges = log.filter((t) => t.operation === 'merge');
      expect(merges).toHaveLength(1);
      expect(merges[0]).toMatchObject({
        componentName: 'ResultMerger',
        toContextType: 'ResultContext',
        fromContextIds: [`${taskId}_result_0`, `${taskId}_result_1`, `${taskId}_result_2`],
        fromContextTypes: ['ChunkResult', 'ChunkResult', 'ChunkResult'],
        metadata: { stepId: 'fanout', strategy: 'append_list' },
      });
      expect(run.lineage.findOriginatingContexts(output.contextId)).toEqual([input]);
      // Persisted and restored the same.
      const loaded = await createRuntime({ store: current.store }).lineage(taskId);
      expect(loaded.getFullTransitionLog()).toEqual(log);
    });
  },
);
