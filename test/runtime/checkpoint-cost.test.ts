import {
  type CheckpointStore,
  createContext,
  createRuntime,
  defineWorkflow,
  getCheckpointManager,
  type Step,
} from 'mcp-orchestration';
import { createMemoryStore } from 'mcp-orchestration/memory';
import { describe, expect, it } from 'vitest';
import { LINEAGE_APPEND_BATCH } from '../../src/runtime/checkpoint-writer.js';

/** A memory store seen as a store without `appendsOnSave` (lineage appended after saves). */
function appendingAfterSave(inner: CheckpointStore): CheckpointStore {
  return Object.assign(Object.create(inner) as CheckpointStore, { appendsOnSave: false });
}

describe('checkpoint cost', () => {
  it.each([
    ['appends on save', false],
    ['appends after saves', true],
  ])(
    'stays flat over a long run: same bytes per checkpoint early and late, few lineage entries (a store that %s)',
    async (_, after) => {
      const steps: Step[] = Array.from({ length: 400 }, (_, i) => ({
        stepId: `s${i}`,
        run: (_c, _s, { taskId }) =>
          createContext('Item', { i, pad: 'x'.repeat(200) }, { contextId: `${taskId}_${i}` }),
      }));
      const workflow = defineWorkflow({ id: 'long', version: '1', steps });
      const inner = createMemoryStore();
      const store = after ? appendingAfterSave(inner) : inner;
      const run = await createRuntime({ store }).start(workflow, 0, { taskId: 'long-run' });
      await run.result;
      const list = await store.list('long-run'); // newest first
      expect(list).toHaveLength(402);
      const body = async (seq: number) => {
        const meta = list.find((m) => m.seq === seq);
        const record = meta && (await store.load('long-run', meta.checkpointId));
        return record?.body ?? '';
      };
      // A checkpoint's bytes but the lineage riding in it until the log has it (at most a batch).
      const withoutLineage = async (seq: number) => {
        const text = await body(seq);
        const lineage = JSON.parse(text).state.metadata.lineage;
        return text.length - (lineage === undefined ? 0 : JSON.stringify(lineage).length);
      };
      // Only the step numbers and ids differ: a few bytes, not the history.
      expect(Math.abs((await withoutLineage(390)) - (await withoutLineage(20)))).toBeLessThan(40);
      for (const seq of [20, 100, 200, 300, 390]) {
        const state = JSON.parse(await body(seq)).state;
        expect(state.plan).toEqual([]);
        // Lineage the log does not hold yet rides in the checkpoint: none when the save appends it.
        if (after)
          expect(state.metadata.lineage.length).toBeLessThanOrEqual(2 * LINEAGE_APPEND_BATCH);
        else expect(state.metadata.lineage).toBeUndefined();
      }
      // The whole lineage is in the log nonetheless.
      expect(run.lineage.size).toBe(401);
      expect(await (await getCheckpointManager(store)).loadLineage('long-run')).toHaveLength(401);
    },
  );

  it('writes a short plan into every checkpoint, a long one only into the first and last; all load', async () => {
    const stepsOf = (n: number): Step[] =>
      Array.from({ length: n }, (_, i) => ({
        stepId: `s${i}`,
        run: (c) => createContext('Item', { i, prev: c.contextId }),
      }));
    const store = createMemoryStore();
    const manager = await getCheckpointManager(store);
    const runtime = createRuntime({ store, planInCheckpoints: 5 });
    for (const n of [4, 8]) {
      const workflow = defineWorkflow({ id: `plan-${n}`, version: '1', steps: stepsOf(n) });
      const taskId = `plan-${n}`;
      await (await runtime.start(workflow, 0, { taskId })).result;
      const ids = (await manager.listCheckpoints(taskId)).reverse(); // oldest first
      expect(ids).toHaveLength(n + 2);
      for (const [k, id] of ids.entries()) {
        const state = await manager.loadCheckpoint(taskId, id);
        const withPlan = n <= 5 || k === 0 || k === ids.length - 1;
        expect(state?.plan).toHaveLength(withPlan ? n : 0);
        if (!withPlan) expect(state?.metadata.planOmitted).toBe(n);
        // A prefix of the steps is complete: up to the current one (done once it is at its
        // commit gate), growing from checkpoint to checkpoint, all of them at the end.
        const plan = state?.plan ?? [];
        const count = plan.filter((step) => step.isComplete).length;
        for (const step of plan) expect(step.isComplete).toBe(step.stepIndex < count);
        if (withPlan && k > 0 && k < ids.length - 1) {
          expect(count - (state?.currentStepIndex ?? 0)).toBe(1);
        }
        if (k === ids.length - 1) expect(count).toBe(n);
      }
    }
    await runtime.close();
  });
});

describe('lineage appends beside checkpoints', () => {
  it('do not hold checkpoints back: one append in flight, later ones coalesced, the log whole and in order', async () => {
    const inner = createMemoryStore();
    let inFlight = 0;
    let most = 0;
    let appends = 0;
    let release: () => void = () => {};
    let held = new Promise<void>((resolve) => {
      release = resolve;
    });
    // Appends wait until released; checkpoints go through at once.
    const store = Object.assign(Object.create(inner), {
      appendsOnSave: false,
      appendLogAt: undefined, // every append goes through appendLog below
      async appendLog(taskId: string, name: string, entries: readonly string[]) {
        if (entries.length > 0) {
          appends += 1;
          inFlight += 1;
          most = Math.max(most, inFlight);
          await held;
          inFlight -= 1;
        }
        return inner.appendLog(taskId, name, entries);
      },
    }) as typeof inner;
    const steps: Step[] = Array.from({ length: 12 }, (_, i) => ({
      stepId: `s${i}`,
      run: (c) => createContext('Item', { i, prev: c.contextId }),
    }));
    const workflow = defineWorkflow({ id: 'slow-log', version: '1', steps });
    const run = await createRuntime({ store }).start(workflow, 0, { taskId: 'slow-log' });
    // Every step completes and is checkpointed while the first append is still held.
    await expect.poll(async () => (await inner.list('slow-log')).length).toBe(14);
    expect(appends).toBe(1);
    release();
    held = Promise.resolve();
    await run.result;
    expect(most).toBe(1);
    expect(appends).toBeLessThan(14);
    const logged = await (await getCheckpointManager(store)).loadLineage('slow-log');
    expect(logged.map((t) => t.seq)).toEqual(Array.from({ length: 13 }, (_, i) => i));
  });
});
