import {
  type CheckpointStore,
  type Context,
  createContext,
  createRuntime,
  defineWorkflow,
  getCheckpointManager,
  type SaveRecordOptions,
} from 'mcp-orchestration';
import { createMemoryStore } from 'mcp-orchestration/memory';
import { describe, expect, it } from 'vitest';
import { LINEAGE_APPEND_BATCH } from '../../src/runtime/checkpoint-writer.js';

/**
 * `inner` seen as a store without `appendsOnSave`; with `hangLineage`, its lineage appends never
 * land (a process that dies before they do).
 */
function withoutAppendOnSave(inner: CheckpointStore, hangLineage: boolean): CheckpointStore {
  return Object.assign(Object.create(inner) as CheckpointStore, {
    appendsOnSave: false,
    appendLogAt: undefined, // every append goes through appendLog below
    appendLog(taskId: string, name: string, entries: readonly string[]) {
      if (hangLineage && name === 'lineage' && entries.length > 0) {
        return new Promise<number>(() => {});
      }
      return inner.appendLog(taskId, name, entries);
    },
  });
}

/** Steps s0…s3, each making a context from the last; a step named in `blocked` never ends. */
function chain(blocked: Set<string>) {
  return defineWorkflow({
    id: 'chain',
    version: '1',
    steps: Array.from({ length: 4 }, (_, i) => ({
      stepId: `s${i}`,
      run: async (context: Context) => {
        if (blocked.has(`s${i}`)) await new Promise(() => {});
        return createContext('Item', { i, prev: context.contextId });
      },
    })),
  });
}

const seqsIn = async (store: CheckpointStore, taskId: string) =>
  (await (await getCheckpointManager(store)).loadLineage(taskId)).map((t) => t.seq);

/** The seqs of every transition a run logged, in order: what a complete log holds. */
const allSeqsOf = (run: { readonly lineage: { readonly size: number } }) =>
  Array.from({ length: run.lineage.size }, (_, i) => i);

describe('lineage appended in the checkpoint write (appendsOnSave)', () => {
  it('goes with each checkpoint of a store that appends on save: no append of its own, none carried', async () => {
    const inner = createMemoryStore();
    let lineageAppends = 0;
    const appendedOnSave: number[] = [];
    const store = Object.assign(Object.create(inner) as CheckpointStore, {
      save(record: Parameters<CheckpointStore['save']>[0], options?: SaveRecordOptions) {
        if (options?.appendLog !== undefined) {
          expect(options.appendLog.name).toBe('lineage');
          appendedOnSave.push(options.appendLog.entries.length);
        }
        return inner.save(record, options);
      },
      appendLogAt: undefined, // every append goes through appendLog below
      appendLog(taskId: string, name: string, entries: readonly string[]) {
        if (name === 'lineage' && entries.length > 0) lineageAppends += 1;
        return inner.appendLog(taskId, name, entries);
      },
    });
    const run = await createRuntime({ store }).start(chain(new Set()), 0, { taskId: 't' });
    await run.result;
    expect(lineageAppends).toBe(0);
    const seqs = await seqsIn(store, 't');
    expect(seqs).toEqual(allSeqsOf(run));
    expect(appendedOnSave.reduce((a, b) => a + b, 0)).toBe(seqs.length);
    for (const meta of await inner.list('t')) {
      const body = JSON.parse((await inner.load('t', meta.checkpointId))?.body ?? '{}');
      expect(body.state.metadata.lineage).toBeUndefined();
    }
  });

  it('a resumed run carries the lineage its checkpoint held until the log has it, and a store that appends on save appends it with its first checkpoint', async () => {
    const inner = createMemoryStore();
    const blocked = new Set(['s1']);
    const workflows = [chain(blocked)];
    // A: s0 is checkpointed, its lineage never reaches the log, s1 hangs; A dies.
    const first = await createRuntime({ store: withoutAppendOnSave(inner, true), workflows }).start(
      workflows[0] as ReturnType<typeof chain>,
      0,
      { taskId: 't' },
    );
    await expect.poll(async () => (await inner.list('t')).length).toBe(2);
    const heldByA = first.lineage.size;
    expect(await seqsIn(inner, 't')).toEqual([]);
    // B resumes, checkpoints s1 (its lineage appends hang too), hangs in s2, and dies.
    blocked.clear();
    blocked.add('s2');
    const second = await createRuntime({
      store: withoutAppendOnSave(inner, true),
      workflows,
    }).resume('t');
    await expect.poll(async () => (await inner.list('t')).length).toBe(3);
    expect(second.lineage.size).toBeGreaterThan(heldByA);
    // B's checkpoint still carries A's transitions: nothing is lost though no append landed.
    const latest = JSON.parse((await inner.latest('t'))?.body ?? '{}');
    expect(latest.state.metadata.lineage.map((t: { seq: number }) => t.seq)).toEqual(
      Array.from({ length: second.lineage.size }, (_, i) => i),
    );
    const reader = createRuntime({ store: inner });
    expect((await reader.lineage('t')).size).toBe(second.lineage.size);
    // C resumes on the memory store itself: its first checkpoint appends everything once.
    blocked.clear();
    const third = await createRuntime({ store: inner, workflows }).resume('t');
    await third.result;
    const uninterrupted = await createRuntime({ store: createMemoryStore() }).start(
      chain(new Set()),
      0,
      { taskId: 'u' },
    );
    await uninterrupted.result;
    expect(await seqsIn(inner, 't')).toEqual(
      Array.from({ length: uninterrupted.lineage.size }, (_, i) => i),
    );
    expect(third.lineage.toJSON()).toMatchObject({ nextSeq: uninterrupted.lineage.size });
  });
});

describe('lineage appended beside the checkpoints (stores without appendsOnSave)', () => {
  /** A memory store without `appendsOnSave` that records the size of each lineage append. */
  function countingStore() {
    const inner = createMemoryStore();
    const appends: number[] = [];
    const store = Object.assign(Object.create(inner) as CheckpointStore, {
      appendsOnSave: false,
      appendLogAt: undefined, // every append goes through appendLog below
      appendLog(taskId: string, name: string, entries: readonly string[]) {
        if (name === 'lineage' && entries.length > 0) appends.push(entries.length);
        return inner.appendLog(taskId, name, entries);
      },
    });
    return { inner, store, appends };
  }

  const pendingIn = async (inner: CheckpointStore, taskId: string) => {
    const counts: number[] = [];
    for (const meta of await inner.list(taskId)) {
      const body = JSON.parse((await inner.load(taskId, meta.checkpointId))?.body ?? '{}');
      counts.push(body.state.metadata.lineage?.length ?? 0);
    }
    return counts;
  };

  it(`appends in batches of ${LINEAGE_APPEND_BATCH} while running, the checkpoints carrying the rest, and everything once the run ends`, async () => {
    const { inner, store, appends } = countingStore();
    const steps = 40;
    const workflow = defineWorkflow({
      id: 'long-chain',
      version: '1',
      steps: Array.from({ length: steps }, (_, i) => ({
        stepId: `s${i}`,
        run: (context: Context) => createContext('Item', { i, prev: context.contextId }),
      })),
    });
    const run = await createRuntime({ store }).start(workflow, 0, { taskId: 't' });
    await run.result;
    // Every transition reached the log, once and in order.
    expect(await seqsIn(store, 't')).toEqual(allSeqsOf(run));
    // In batches: no append for one step alone until the run ended.
    expect(appends.slice(0, -1).every((n) => n >= LINEAGE_APPEND_BATCH)).toBe(true);
    expect(appends.length).toBeLessThanOrEqual(Math.ceil(run.lineage.size / LINEAGE_APPEND_BATCH));
    // Until a batch lands, its transitions ride in every checkpoint.
    const pending = await pendingIn(inner, 't');
    expect(Math.max(...pending)).toBeGreaterThanOrEqual(LINEAGE_APPEND_BATCH - 1);
    expect(Math.max(...pending)).toBeLessThanOrEqual(2 * LINEAGE_APPEND_BATCH);
  });

  it('appends what is pending at a suspended checkpoint', async () => {
    const { store, appends } = countingStore();
    const workflow = defineWorkflow({
      id: 'wait',
      version: '1',
      steps: [
        {
          stepId: 'a',
          run: (context: Context) => createContext('Item', { prev: context.contextId }),
        },
        { stepId: 'approve', waitFor: { event: 'approval' } },
        {
          stepId: 'b',
          run: (context: Context) => createContext('Item', { prev: context.contextId }),
        },
      ],
    });
    const runtime = createRuntime({ store });
    const run = await runtime.start(workflow, 0, { taskId: 't' });
    await expect.poll(async () => (await runtime.status('t'))?.status).toBe('suspended');
    await expect.poll(() => seqsIn(store, 't')).toEqual(allSeqsOf(run));
    expect(appends.length).toBe(1);
    await runtime.send('t', { type: 'approval', data: { ok: true } });
    await run.result;
    expect(await seqsIn(store, 't')).toEqual(allSeqsOf(run));
  });
});
