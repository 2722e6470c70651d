import {
  CheckpointManager,
  type CheckpointStore,
  type Context,
  createRuntime,
  defineWorkflow,
  getCheckpointManager,
  type RuntimeEvent,
} from 'mcp-orchestration';
import { afterEach, describe, expect, it } from 'vitest';
import { reviewMachineWorkflow } from './custom-machine.js';
import { type Calls, newTaskId, STORES, type TestStore, trailStep } from './helpers.js';

/**
 * A rollback: the newest checkpoints of an unfinished task deleted (`deleteCheckpoint`, as
 * `mcp-orch checkpoints delete TASK ID` offers). The store's head never goes back (no seq is
 * numbered twice), so the task's latest live checkpoint is behind its head; a resume, recover,
 * pause or cancel continues from that checkpoint, writing after the head.
 */

let current: TestStore | undefined;
afterEach(async () => {
  await current?.cleanup();
  current = undefined;
});

const STEPS = ['a', 'b', 'c', 'd', 'e'];

/**
 * Steps a…e, each adding its name to a `Trail` context and counting its completed calls; `c`
 * blocks the first time it runs until its signal aborts (the run is paused), then `started`
 * resolves when it blocks.
 */
function rollbackWorkflow(calls: Calls) {
  let blocked = false;
  let started: () => void = () => {};
  const inC = new Promise<void>((resolve) => {
    started = resolve;
  });
  const workflow = defineWorkflow({
    id: 'rollback',
    version: '1',
    steps: STEPS.map((name) => ({
      stepId: name,
      run: (context: Context, _step: unknown, { signal }: { signal: AbortSignal }) => {
        if (name !== 'c' || blocked) return trailStep(calls, name)(context);
        blocked = true;
        started();
        return new Promise<Context>((_resolve, reject) => {
          signal.addEventListener('abort', () => reject(signal.reason));
        });
      },
    })),
  });
  return { workflow, inC };
}

/**
 * Runs a task until `c` is in flight, pauses it, then deletes its two newest checkpoints (the
 * paused one and the one after `b`): the latest live checkpoint is the one after `a`, 2 behind
 * the head. Returns the head and the seqs of the lineage the log held.
 */
async function rollBack(
  store: CheckpointStore,
  workflow: ReturnType<typeof rollbackWorkflow>['workflow'],
  inC: Promise<void>,
) {
  const runtime = createRuntime({ store, workflows: [workflow] });
  const taskId = newTaskId('rollback');
  const run = await runtime.start(workflow, { trail: [] }, { taskId });
  await inC;
  await runtime.pause(taskId);
  await expect(run.result).rejects.toMatchObject({ code: 'WORKFLOW_PAUSED' });
  await runtime.close();
  const manager = await getCheckpointManager(store);
  const [paused, afterB] = await manager.listCheckpointInfo(taskId);
  expect(await manager.deleteCheckpoint(taskId, paused?.checkpointId ?? '')).toBe(true);
  expect(await manager.deleteCheckpoint(taskId, afterB?.checkpointId ?? '')).toBe(true);
  const head = await store.head(taskId);
  const latest = await manager.loadLatestCheckpoint(taskId, { snapshot: false });
  expect(latest?.status).toBe('running');
  expect(latest?.plan.filter((step) => step.isComplete).map((step) => step.stepId)).toEqual(['a']);
  expect(latest?.checkpoint?.seq).toBe(head - 2);
  const logged = (await manager.loadLineage(taskId)).map((t) => t.seq);
  return { taskId, head, logged };
}

/** The seqs of the `checkpoint.saved` events of `events`. */
const savedSeqs = (events: readonly RuntimeEvent[]) =>
  events.flatMap((e) => (e.type === 'checkpoint.saved' ? [e.seq] : []));

describe.each(['memory', 'file'] as const)('a rollback on the %s store', (kind) => {
  it('resumes from the latest live checkpoint, writing after the head; recover leaves it done', async () => {
    current = await STORES[kind]();
    const calls: Calls = {};
    const { workflow, inC } = rollbackWorkflow(calls);
    const { taskId, head, logged } = await rollBack(current.store, workflow, inC);
    expect(calls).toEqual({ a: 1, b: 1 });

    const runtime = createRuntime({ store: await current.reopen(), workflows: [workflow] });
    const events: RuntimeEvent[] = [];
    runtime.subscribe((event) => events.push(event));
    const run = await runtime.resume(taskId);
    const output = await run.result;
    expect(output.data).toEqual({ trail: STEPS });
    // b was rolled back and ran again; c ran (to completion) once, as did the rest.
    expect(calls).toEqual({ a: 1, b: 2, c: 1, d: 1, e: 1 });
    expect(events.some((e) => e.type === 'run.aborted')).toBe(false);
    const seqs = savedSeqs(events);
    expect(seqs[0]).toBe(head + 1);
    expect(seqs).toEqual(seqs.map((_, i) => head + 1 + i));
    expect(run.status()).toMatchObject({ status: 'completed', seq: seqs.at(-1) });
    const manager = await getCheckpointManager(current.store);
    const latest = await manager.loadLatestCheckpoint(taskId, { snapshot: false });
    expect(latest).toMatchObject({ status: 'completed', checkpoint: { seq: seqs.at(-1) } });

    // The log keeps what the rolled-back run logged; the resumed run's transitions follow it.
    const lineage = (await manager.loadLineage(taskId)).map((t) => t.seq);
    expect(lineage.slice(0, logged.length)).toEqual(logged);
    expect(lineage).toEqual(lineage.map((_, i) => i));
    expect(lineage.length).toBe(run.lineage.size);
    await runtime.close();

    const again = createRuntime({ store: current.store, workflows: [workflow] });
    expect((await again.recover()).resumed).toHaveLength(0);
    await again.close();
  });

  it('checkpoints after a rollback made elsewhere follow the one resumed from, in the runtime that saved the deleted ones too', async () => {
    current = await STORES[kind]();
    const calls: Calls = {};
    const { workflow, inC } = rollbackWorkflow(calls);
    const { store } = current;
    const runtime = createRuntime({ store, workflows: [workflow] });
    const taskId = newTaskId('rollback');
    const run = await runtime.start(workflow, { trail: [] }, { taskId });
    await inC;
    await runtime.pause(taskId);
    await expect(run.result).rejects.toMatchObject({ code: 'WORKFLOW_PAUSED' });
    // Another process rolls the task back; this runtime's manager remembers what it saved last.
    const elsewhere = new CheckpointManager(store);
    const [paused, afterB, afterA] = await elsewhere.listCheckpointInfo(taskId);
    for (const info of [paused, afterB]) {
      expect(await elsewhere.deleteCheckpoint(taskId, info?.checkpointId ?? '')).toBe(true);
    }
    const resumed = await runtime.resume(taskId);
    await expect(resumed.result).resolves.toMatchObject({ data: { trail: STEPS } });
    // Every live checkpoint's parent is the next older live one: none names a deleted one.
    const live = await elsewhere.listCheckpointInfo(taskId);
    const parents = await Promise.all(
      live.map(async ({ checkpointId }) => {
        const state = await elsewhere.loadCheckpoint(taskId, checkpointId, { snapshot: false });
        return state?.checkpoint?.parentId;
      }),
    );
    // Newest first: each follows the next in the list; the first checkpoint follows none.
    expect(parents).toEqual([...live.slice(1).map((info) => info.checkpointId), undefined]);
    expect(live.map((info) => info.checkpointId)).toContain(afterA?.checkpointId);
    await runtime.close();
  });

  it('a rollback of a run stopped mid-way keeps the lineage its deleted checkpoints carried', async () => {
    current = await STORES[kind]();
    const calls: Calls = {};
    const { workflow, inC } = rollbackWorkflow(calls);
    const runtime = createRuntime({ store: current.store, workflows: [workflow] });
    const taskId = newTaskId('rollback');
    await runtime.start(workflow, { trail: [] }, { taskId });
    await inC;
    // Stopped, not paused: on the file store the lineage still rides in the checkpoints.
    await runtime.close();
    const manager = new CheckpointManager(current.store);
    const seqsOf = async () => (await manager.loadLineage(taskId)).map((t) => t.seq);
    const [newest] = await manager.listCheckpointInfo(taskId);
    const carried = (await manager.loadCheckpoint(taskId, newest?.checkpointId ?? ''))?.metadata
      .lineage;
    const before = [
      ...new Set([
        ...(await seqsOf()),
        ...((carried ?? []) as { seq: number }[]).map((t) => t.seq),
      ]),
    ];
    expect(await manager.deleteCheckpoint(taskId, newest?.checkpointId ?? '')).toBe(true);
    expect(await seqsOf()).toEqual(before);
    const again = createRuntime({ store: await current.reopen(), workflows: [workflow] });
    const run = await again.resume(taskId);
    await expect(run.result).resolves.toMatchObject({ data: { trail: STEPS } });
    // Every seq once, in order, the rolled-back step's transition among them.
    const seqs = await seqsOf();
    expect(seqs).toEqual(seqs.map((_, i) => i));
    expect(seqs.slice(0, before.length)).toEqual(before);
    await again.close();
  });

  it('deleting every checkpoint of a run stopped mid-way keeps the lineage they carried', async () => {
    current = await STORES[kind]();
    const { workflow, inC } = rollbackWorkflow({});
    const runtime = createRuntime({ store: current.store, workflows: [workflow] });
    const taskId = newTaskId('rollback');
    await runtime.start(workflow, { trail: [] }, { taskId });
    await inC;
    await runtime.close();
    const manager = new CheckpointManager(current.store);
    const latest = await manager.loadLatestCheckpoint(taskId, { snapshot: false });
    const carried = ((latest?.metadata.lineage ?? []) as { seq: number }[]).map((t) => t.seq);
    const logged = (await manager.loadLineage(taskId)).map((t) => t.seq);
    const all = [...new Set([...logged, ...carried])];
    expect(await manager.deleteOldCheckpoints(taskId, { keepLatest: 0 })).toBeGreaterThan(0);
    expect((await manager.loadLineage(taskId)).map((t) => t.seq)).toEqual(all);
    // a, b and the input: whatever the store had appended by then.
    expect(all).toEqual([0, 1, 2]);
  });

  it('recover resumes a rolled-back task once, to its end', async () => {
    current = await STORES[kind]();
    const calls: Calls = {};
    const { workflow, inC } = rollbackWorkflow(calls);
    const { taskId } = await rollBack(current.store, workflow, inC);
    const runtime = createRuntime({ store: current.store, workflows: [workflow] });
    const report = await runtime.recover();
    expect(report.failed).toEqual([]);
    expect(report.resumed.map((run) => run.taskId)).toEqual([taskId]);
    await expect(report.resumed[0]?.result).resolves.toMatchObject({ data: { trail: STEPS } });
    expect((await runtime.recover()).resumed).toHaveLength(0);
    expect(calls).toEqual({ a: 1, b: 2, c: 1, d: 1, e: 1 });
    await runtime.close();
  });

  it.each(['paused', 'cancelled'] as const)(
    'a task rolled back and not running is %s in the store, after its head',
    async (status) => {
      current = await STORES[kind]();
      const calls: Calls = {};
      const { workflow, inC } = rollbackWorkflow(calls);
      const { taskId, head } = await rollBack(current.store, workflow, inC);
      const runtime = createRuntime({ store: current.store, workflows: [workflow] });
      const events: RuntimeEvent[] = [];
      runtime.subscribe((event) => events.push(event));
      await (status === 'paused' ? runtime.pause(taskId) : runtime.cancel(taskId));
      expect(savedSeqs(events)).toEqual([head + 1]);
      expect(await runtime.status(taskId)).toMatchObject({ status, seq: head + 1, live: false });
      if (status === 'paused') {
        // And resumed from there, it runs to its end.
        const run = await runtime.resume(taskId);
        await expect(run.result).resolves.toMatchObject({ data: { trail: STEPS } });
        expect(savedSeqs(events)[1]).toBe(head + 2);
      }
      await runtime.close();
    },
  );

  it('a save between its load and its first write makes the resume conflict, not fork', async () => {
    current = await STORES[kind]();
    const calls: Calls = {};
    const { workflow, inC } = rollbackWorkflow(calls);
    const { taskId, head } = await rollBack(current.store, workflow, inC);
    // Another writer saves right after the resume loaded the latest checkpoint (the head the
    // resume read before that load is now stale).
    const inner = current.store;
    const other = new CheckpointManager(inner);
    let armed = true;
    const store = Object.assign(Object.create(inner) as CheckpointStore, {
      async latest(id: string) {
        const record = await inner.latest(id);
        if (armed && id === taskId) {
          armed = false;
          const state = await other.loadLatestCheckpoint(taskId);
          const { checkpoint: _checkpoint, ...rest } = state ?? ({} as never);
          await other.saveCheckpoint(
            { ...rest, metadata: { ...rest.metadata, by: 'other' } },
            { expectedSeq: head },
          );
        }
        return record;
      },
    });
    const runtime = createRuntime({ store, workflows: [workflow] });
    const run = await runtime.resume(taskId);
    await expect(run.result).rejects.toMatchObject({ code: 'CHECKPOINT_CONFLICT' });
    const latest = await other.loadLatestCheckpoint(taskId, { snapshot: false });
    expect(latest).toMatchObject({ metadata: { by: 'other' }, checkpoint: { seq: head + 1 } });
    expect(await inner.head(taskId)).toBe(head + 1);
    await runtime.close();
  });

  it('a hand-written machine resumes from its latest live checkpoint too', async () => {
    current = await STORES[kind]();
    const calls: Calls = {};
    const workflow = reviewMachineWorkflow(calls);
    const first = createRuntime({ store: current.store, workflows: [workflow] });
    const taskId = newTaskId('rollback-machine');
    await first.start(workflow, { text: 'doc' }, { taskId });
    await expect.poll(async () => (await first.status(taskId))?.status).toBe('suspended');
    await first.close();
    const manager = await getCheckpointManager(current.store);
    const [suspended] = await manager.listCheckpointInfo(taskId);
    await manager.deleteCheckpoint(taskId, suspended?.checkpointId ?? '');
    const head = await current.store.head(taskId);
    expect((await manager.loadLatestCheckpoint(taskId, { snapshot: false }))?.status).toBe(
      'running',
    );

    const runtime = createRuntime({ store: current.store, workflows: [workflow] });
    const events: RuntimeEvent[] = [];
    runtime.subscribe((event) => events.push(event));
    const run = await runtime.resume(taskId);
    await expect.poll(() => run.status().status).toBe('suspended');
    await runtime.send(taskId, { type: 'approve', data: { ok: true } });
    await expect(run.result).resolves.toMatchObject({
      data: { text: 'summarize(left(fetch(doc))+right(fetch(doc)))' },
    });
    expect(savedSeqs(events)[0]).toBe(head + 1);
    await runtime.close();
  });
});
