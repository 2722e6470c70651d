import {
  CheckpointManager,
  type Context,
  ContextFlowManager,
  createWorkflowState,
  isOrchestrationError,
} from 'mcp-orchestration';
import { createMemoryStore } from 'mcp-orchestration/memory';
import { describe, expect, it } from 'vitest';

function context(contextId: string, contextType = 'TaskContext'): Context {
  return Object.freeze({ contextId, contextType, data: {}, metadata: Object.freeze({}) });
}

/** Logs a chain input → step-1 → … → step-n on `flow`, continuing from its last context. */
function logChain(flow: ContextFlowManager, from: number, to: number): void {
  for (let i = from; i <= to; i++) {
    flow.logTransition({
      toContext: context(`step-${i}`),
      componentName: 'StepExecutor',
      operation: `step_${i}`,
      fromContext: context(
        i === 1 ? 'input' : `step-${i - 1}`,
        i === 1 ? 'InputContext' : 'TaskContext',
      ),
      metadata: { index: i },
    });
  }
}

describe('lineage persisted with the workflow', () => {
  it('appends only new transitions and never rewrites the log', async () => {
    const store = createMemoryStore();
    const manager = new CheckpointManager(store);
    const flow = new ContextFlowManager({ workflowId: 'task-1' });
    flow.logTransition({ toContext: context('input', 'InputContext'), componentName: 'Loader' });
    logChain(flow, 1, 2);
    expect(await manager.saveLineage('task-1', flow)).toBe(3);
    const firstEntries = await store.readLog('task-1', 'lineage');
    expect(firstEntries).toHaveLength(3);
    expect(await manager.saveLineage('task-1', flow)).toBe(0);

    logChain(flow, 3, 4);
    expect(await manager.saveLineage('task-1', flow)).toBe(2);
    const entries = await store.readLog('task-1', 'lineage');
    expect(entries).toHaveLength(5);
    expect(entries.slice(0, 3)).toEqual(firstEntries);

    const loaded = await manager.loadLineage('task-1');
    expect(loaded).toEqual(flow.getFullTransitionLog());
    for (const source of [null, undefined, {}, 'flow']) {
      await expect(manager.saveLineage('task-1', source as never)).rejects.toThrow(
        /source must be a ContextFlowManager/,
      );
    }
    const restored = ContextFlowManager.fromTransitions('task-1', loaded);
    expect(restored.findOriginatingContext('step-4')).toBe('input');
    expect(restored.getContextHistory('step-3')).toEqual(flow.getContextHistory('step-3'));
  });

  it('resumes appending after a restart without duplicating', async () => {
    const store = createMemoryStore();
    const flow = new ContextFlowManager({ workflowId: 'task-1' });
    logChain(flow, 1, 3);
    await new CheckpointManager(store).saveLineage('task-1', flow);

    // A new process: the manager knows nothing; the flow manager is restored from the log.
    const manager = new CheckpointManager(store);
    const restored = ContextFlowManager.fromTransitions(
      'task-1',
      await manager.loadLineage('task-1'),
    );
    logChain(restored, 4, 5);
    expect(await manager.saveLineage('task-1', restored)).toBe(2);

    // Another fresh manager given the full log: only what is missing is written (nothing).
    const another = new CheckpointManager(store);
    expect(await another.saveLineage('task-1', restored)).toBe(0);
    expect(await another.saveLineage('task-1', restored.getFullTransitionLog())).toBe(0);
    const seqs = (await another.loadLineage('task-1')).map((t) => t.seq);
    expect(seqs).toEqual([0, 1, 2, 3, 4]);
  });

  it('serializes concurrent saves of one task', async () => {
    const store = createMemoryStore();
    const manager = new CheckpointManager(store);
    const flow = new ContextFlowManager({ workflowId: 'task-1' });
    logChain(flow, 1, 10);
    const counts = await Promise.all(
      Array.from({ length: 5 }, () => manager.saveLineage('task-1', flow)),
    );
    expect(counts.reduce((a, b) => a + b, 0)).toBe(10);
    expect(await store.readLog('task-1', 'lineage')).toHaveLength(10);
  });

  it('keeps the persisted lineage when the flow manager prunes', async () => {
    const manager = new CheckpointManager(createMemoryStore());
    const flow = new ContextFlowManager({ workflowId: 'task-1' });
    logChain(flow, 1, 6);
    await manager.saveLineage('task-1', flow);
    flow.prune({ keepLatest: 2 });
    logChain(flow, 7, 7);
    expect(await manager.saveLineage('task-1', flow)).toBe(1);
    expect((await manager.loadLineage('task-1')).map((t) => t.seq)).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('refuses transitions of another workflow, writing nothing', async () => {
    const store = createMemoryStore();
    const manager = new CheckpointManager(store);
    const other = new ContextFlowManager({ workflowId: 'task-2' });
    logChain(other, 1, 2);
    let error: unknown;
    try {
      await manager.saveLineage('task-1', other);
    } catch (caught) {
      error = caught;
    }
    expect(isOrchestrationError(error, 'CONTEXT_VALIDATION')).toBe(true);
    expect(await store.readLog('task-1', 'lineage')).toEqual([]);
    // The failure left nothing stale behind: a valid save still works.
    const own = new ContextFlowManager({ workflowId: 'task-1' });
    logChain(own, 1, 1);
    expect(await manager.saveLineage('task-1', own)).toBe(1);
  });

  it('reports a corrupt entry as CorruptRecordError', async () => {
    const store = createMemoryStore();
    const manager = new CheckpointManager(store);
    const flow = new ContextFlowManager({ workflowId: 'task-1' });
    logChain(flow, 1, 2);
    await manager.saveLineage('task-1', flow);
    await store.appendLog('task-1', 'lineage', ['{not json']);
    await expect(manager.loadLineage('task-1')).rejects.toMatchObject({
      code: 'CORRUPT_RECORD',
      recordId: 'lineage[2]',
    });
    await store.appendLog('task-2', 'lineage', [JSON.stringify({ seq: 0, workflowId: 'task-2' })]);
    await expect(manager.loadLineage('task-2')).rejects.toMatchObject({ code: 'CORRUPT_RECORD' });
    // A fresh manager cannot find where the log ends, and says so instead of guessing.
    logChain(flow, 3, 3);
    await expect(new CheckpointManager(store).saveLineage('task-1', flow)).rejects.toMatchObject({
      code: 'CORRUPT_RECORD',
    });
  });

  it('outlives checkpoint deletion and expiry, and goes with the task', async () => {
    let time = Date.now();
    const now = () => time;
    const store = createMemoryStore({ now });
    const manager = new CheckpointManager(store, { now });
    const flow = new ContextFlowManager({ workflowId: 'task-1' });
    logChain(flow, 1, 2);
    await manager.saveLineage('task-1', flow);
    await manager.saveCheckpoint(createWorkflowState({ taskId: 'task-1' }), { ttl: 1 });
    time += 1_000;
    expect(await manager.listCheckpoints('task-1')).toEqual([]);
    expect(await manager.loadLineage('task-1')).toHaveLength(2);
    expect(await manager.deleteTask('task-1')).toBe(true);
    expect(await manager.loadLineage('task-1')).toEqual([]);
    expect(await manager.deleteTask('task-1')).toBe(false);
    // The task can start over: a new flow's lineage (seq from 0 again) is written in full.
    const again = new ContextFlowManager({ workflowId: 'task-1' });
    logChain(again, 1, 1);
    expect(await manager.saveLineage('task-1', again)).toBe(1);
  });
});
