import {
  type Context,
  createContext,
  createRuntime,
  defineWorkflow,
  getCheckpointManager,
  type Runtime,
} from 'mcp-orchestration';
import { afterEach, describe, expect, it } from 'vitest';
import { closeAfterHold, HELD_DOC, heldFanOut, watchContextAppends } from './held-fan-out.js';
import { type Calls, newTaskId, STORES, type TestStore } from './helpers.js';

// A parallel group's input sits in the main lane, in each region's lane and in each region's step
// in flight: a checkpoint stores it once (format 2); once it has been in two checkpoints it is
// stored in the task's contexts log and checkpoints name it (format 3). A resume from either kind
// of checkpoint ends as an uninterrupted run does.

const DOC = HELD_DOC; // 24 KB

/**
 * Lets the group's steps end one checkpoint apart: each waits until a checkpoint was saved since
 * the one before it ended (on a loaded machine, slow saves otherwise let several regions end
 * within one save, and the group had fewer checkpoints than the test looks at).
 */
interface Paced {
  turn(): Promise<void>;
}

function paced(runtime: Runtime): Paced {
  let saved = 0;
  let next = 0;
  runtime.subscribe((event) => {
    if (event.type === 'checkpoint.saved') saved += 1;
  });
  let queue: Promise<void> = Promise.resolve();
  return {
    turn() {
      queue = queue.then(async () => {
        while (saved < next) await new Promise((resolve) => setTimeout(resolve, 1));
        next = saved + 1;
      });
      return queue;
    },
  };
}

function fanOut(calls: Calls, paced?: Paced) {
  const agent = (name: string, ms: number) => ({
    stepId: name,
    run: async (context: Context) => {
      calls[name] = (calls[name] ?? 0) + 1;
      await new Promise((resolve) => setTimeout(resolve, ms));
      await paced?.turn();
      const doc = (context.data as { doc?: string }).doc ?? '';
      return createContext('Finding', { [name]: `${name} read ${doc.length} characters` });
    },
  });
  return defineWorkflow({
    id: 'shared-fan-out',
    version: '1',
    steps: [
      {
        stepId: 'plan',
        run: () => {
          calls.plan = (calls.plan ?? 0) + 1;
          return createContext('Doc', { doc: DOC });
        },
      },
      {
        stepId: 'fanout',
        parallel: {
          a: [agent('a1', 5), agent('a2', 5)],
          b: [agent('b1', 20)],
          c: [agent('c1', 35)],
          d: [agent('d1', 50)],
        },
      },
      { stepId: 'write', run: (context: Context) => createContext('Report', context.data) },
    ],
  });
}

describe.each(['memory', 'file'] as const)(
  'contexts stored once per checkpoint (%s store)',
  (kind) => {
    let store: TestStore | undefined;
    afterEach(async () => {
      await store?.cleanup();
      store = undefined;
    });

    it('writes the group input once per checkpoint and reads back every copy', async () => {
      store = await STORES[kind]();
      const runtime = createRuntime({ store: store.store });
      const taskId = newTaskId('shared');
      const run = await runtime.start(fanOut({}, paced(runtime)), { topic: 'x' }, { taskId });
      await run.result;
      await runtime.close();
      const metas = await store.store.list(taskId);
      const bodies = await Promise.all(
        metas.map(async (meta) => (await store?.store.load(taskId, meta.checkpointId))?.body ?? ''),
      );
      const inGroup = bodies.filter((body) => body.includes('"shared"'));
      // Four regions: up to nine places of the doc while they run; at most one copy in each
      // body, none once the doc is in the contexts log.
      expect(inGroup.length).toBeGreaterThanOrEqual(3);
      const formats = inGroup.map((body) => JSON.parse(body).v);
      for (const [i, body] of inGroup.entries()) {
        expect(body.split(DOC).length - 1).toBe(formats[i] === 3 ? 0 : 1);
        expect(body.length).toBeLessThan(DOC.length + 8_000);
      }
      expect(formats).toContain(2);
      expect(formats).toContain(3);
      // Stored once for the whole task.
      const log = await store.store.readLog(taskId, 'contexts');
      expect(log.filter((entry) => entry.includes(DOC))).toHaveLength(1);
      const manager = await getCheckpointManager(store.store);
      for (const [i, meta] of metas.entries()) {
        if (!bodies[i]?.includes('"shared"')) continue;
        const state = await manager.loadCheckpoint(taskId, meta.checkpointId);
        const snapshot = state?.snapshot as unknown as {
          context: { lanes: Record<string, Context> };
          children: Record<string, { snapshot: { input: { context: Context } } }>;
        };
        const { lanes } = snapshot.context;
        // Every place holds the doc again, as one object.
        const docs = [
          lanes.main,
          ...Object.entries(lanes)
            .filter(
              ([lane, context]) => lane.startsWith('fanout.') && context.contextType === 'Doc',
            )
            .map(([, context]) => context),
          ...Object.values(snapshot.children)
            .map((child) => child.snapshot.input.context)
            .filter((context) => context.contextType === 'Doc'),
        ];
        // Held twice or more, or stored in the log (then it may be held once).
        expect(docs.length).toBeGreaterThanOrEqual(state?.checkpoint?.v === 3 ? 1 : 2);
        for (const doc of docs) expect(doc).toBe(lanes.main);
        expect((lanes.main as Context).data).toMatchObject({ doc: DOC });
      }
    });

    it('a pause from a runtime that does not run the task keeps naming the stored context', async () => {
      store = await STORES[kind]();
      const { workflow, release } = heldFanOut(() => {});
      const watched = watchContextAppends(store.store);
      const first = createRuntime({ store: watched.store, workflows: [workflow] });
      const taskId = newTaskId('paused-named');
      const run = await first.start(workflow, { topic: 'x' }, { taskId });
      await expect
        .poll(async () => (await store?.store.readLog(taskId, 'contexts'))?.length)
        .toBe(1);
      await watched.landed();
      const closed = closeAfterHold(first);
      release();
      await expect(run.result).rejects.toMatchObject({ code: 'TASK_NOT_RUNNING' });
      await closed;
      const second = createRuntime({ store: await store.reopen(), workflows: [workflow] });
      await second.pause(taskId);
      const paused = (await store.store.latest(taskId))?.body ?? '';
      expect(JSON.parse(paused)).toMatchObject({ v: 3, status: 'paused' });
      expect(paused).not.toContain(DOC);
      const output = await (await second.resume(taskId)).result;
      await second.close();
      expect(output.data).toEqual({ a1: DOC.length, b3: 'Finding'.length });
      expect(await store.store.readLog(taskId, 'contexts')).toHaveLength(1);
    });

    it('with keepCheckpoints, adds nothing to the contexts log (it is never pruned)', async () => {
      store = await STORES[kind]();
      const runtime = createRuntime({ store: store.store, keepCheckpoints: 3 });
      const taskId = newTaskId('kept');
      await (await runtime.start(fanOut({}), { topic: 'x' }, { taskId })).result;
      await runtime.close();
      expect(await store.store.readLog(taskId, 'contexts')).toEqual([]);
      expect(await store.store.list(taskId)).toHaveLength(3);
    });

    it('a new runtime resumes from a checkpoint that shares contexts and ends as a whole run does', async () => {
      store = await STORES[kind]();
      const reference = createRuntime({ store: store.store });
      const expected = (
        await (
          await reference.start(fanOut({}), { topic: 'x' }, { taskId: newTaskId('ref') })
        ).result
      ).data;
      await reference.close();

      const calls: Calls = {};
      const workflow = fanOut(calls);
      const first = createRuntime({ store: store.store, workflows: [workflow] });
      const taskId = newTaskId('shared-crash');
      let closing: Promise<void> | undefined;
      first.subscribe((event) => {
        // Stop the first runtime (as a crash would) right after the first checkpoint made while
        // the regions run.
        if (event.type === 'checkpoint.saved' && event.seq === 3) closing ??= first.close();
      });
      const run = await first.start(workflow, { topic: 'x' }, { taskId });
      await expect(run.result).rejects.toMatchObject({ code: 'TASK_NOT_RUNNING' });
      await closing;
      const latest = await (await getCheckpointManager(store.store)).loadLatestCheckpoint(taskId);
      expect(latest?.checkpoint?.v).toBe(2);

      const second = createRuntime({ store: await store.reopen(), workflows: [workflow] });
      const output = await (await second.resume(taskId)).result;
      expect(output.data).toEqual(expected);
      expect(calls.plan).toBe(1); // its result was checkpointed: it never ran again
      for (const step of ['a1', 'a2', 'b1', 'c1', 'd1']) {
        expect(calls[step] ?? 0, step).toBeGreaterThanOrEqual(1);
      }
      await second.close();
    });

    /**
     * Runs {@link heldFanOut} in a runtime closed (as a crash would) right after `hold`'s
     * completion is saved, in a checkpoint that names the doc from the contexts log.
     */
    async function stoppedNamingTheDoc(test: TestStore) {
      const calls: Calls = {};
      const { workflow, release } = heldFanOut((stepId) => {
        calls[stepId] = (calls[stepId] ?? 0) + 1;
      });
      const watched = watchContextAppends(test.store);
      const first = createRuntime({ store: watched.store, workflows: [workflow] });
      const taskId = newTaskId('stored');
      const run = await first.start(workflow, { topic: 'x' }, { taskId });
      // `a1` done: the doc was in two checkpoints, and goes to the contexts log.
      await expect
        .poll(async () => (await test.store.readLog(taskId, 'contexts')).length, {
          timeout: 5_000,
        })
        .toBe(1);
      await watched.landed(); // so the checkpoints from here on name it
      const closed = closeAfterHold(first);
      release();
      await expect(run.result).rejects.toMatchObject({ code: 'TASK_NOT_RUNNING' });
      await closed;
      return { calls, workflow, taskId };
    }

    it('a new runtime resumes from a checkpoint that names a stored context, and stores it no more', async () => {
      store = await STORES[kind]();
      const { calls, workflow, taskId } = await stoppedNamingTheDoc(store);
      const manager = await getCheckpointManager(store.store);
      const latest = await manager.loadLatestCheckpoint(taskId);
      expect(latest?.checkpoint?.v).toBe(3);
      // `hold` passed its input on as it is: region b's lane names the same entry as the main one.
      expect((await store.store.latest(taskId))?.body).not.toContain(DOC);
      const lanes = (latest!.snapshot as unknown as { context: { lanes: Record<string, Context> } })
        .context.lanes;
      expect(lanes.main?.data).toEqual({ doc: DOC }); // read back from the log
      expect(lanes['fanout.b']).toBe(lanes.main);

      const second = createRuntime({ store: await store.reopen(), workflows: [workflow] });
      const output = await (await second.resume(taskId)).result;
      await second.close();
      expect(output.data).toEqual({ a1: DOC.length, b3: 'Finding'.length });
      expect(calls).toMatchObject({ a1: 1, hold: 1, b2: 1, b3: 1 });
      // The resumed run named the entry it read in each checkpoint while the group ran (the doc
      // stayed in the main lane), and the log still holds the doc once.
      const resumedAt = latest?.checkpoint?.seq ?? 0;
      const after = (await store.store.list(taskId)).filter((meta) => meta.seq > resumedAt);
      expect(after.length).toBeGreaterThanOrEqual(3);
      for (const meta of after) {
        expect((await store.store.load(taskId, meta.checkpointId))?.body).not.toContain(DOC);
      }
      expect(await store.store.readLog(taskId, 'contexts')).toHaveLength(1);
    });

    it('status, listTasks and lineage do not read the contexts log; a resume that cannot read it fails, typed, and nothing is lost', async () => {
      store = await STORES[kind]();
      const { calls, workflow, taskId } = await stoppedNamingTheDoc(store);
      // The same store, but its contexts log reads as empty (entries lost or not readable here),
      // and every read of it counted.
      const backing = await store.reopen();
      let contextReads = 0;
      const lossy = Object.assign(Object.create(backing), {
        readLog: (id: string, name: string, options?: { from?: number; limit?: number }) => {
          if (name !== 'contexts') return backing.readLog(id, name, options);
          contextReads += 1;
          return Promise.resolve([]);
        },
      });
      const runtime = createRuntime({ store: lossy, workflows: [workflow] });
      expect(await runtime.status(taskId)).toMatchObject({ status: 'running', live: false });
      const listing = await runtime.listTasks();
      expect(listing.tasks.map((task) => task.taskId)).toContain(taskId);
      expect(listing.unreadable).toEqual([]);
      expect((await runtime.lineage(taskId)).size).toBeGreaterThan(0);
      expect(contextReads).toBe(0);
      const manager = await getCheckpointManager(lossy);
      const summary = await manager.loadLatestCheckpoint(taskId, { snapshot: false });
      expect(summary).toMatchObject({ status: 'running', checkpoint: { v: 3 } });
      expect(summary?.snapshot).toBeUndefined();
      expect(contextReads).toBe(0);
      // A resume needs the doc: a typed error naming the checkpoint, and nothing ran or changed.
      const latestId = summary?.checkpoint?.checkpointId;
      const failed = await runtime.resume(taskId).catch((error: unknown) => error);
      expect(failed).toMatchObject({ code: 'CORRUPT_RECORD', taskId, recordId: latestId });
      expect(contextReads).toBeGreaterThan(0);
      await runtime.close();
      expect(calls).toMatchObject({ a1: 1, hold: 1 });
      expect(calls.b2).toBeUndefined();
      // Where the log reads again, the task resumes and ends as a whole run does.
      const healthy = createRuntime({ store: backing, workflows: [workflow] });
      const output = await (await healthy.resume(taskId)).result;
      await healthy.close();
      expect(output.data).toEqual({ a1: HELD_DOC.length, b3: 'Finding'.length });
    });

    it('a task deleted and started again stores its contexts in its new log', async () => {
      store = await STORES[kind]();
      // One context object returned by every run (a step's result is copied: each run has its own).
      const constant = createContext('Doc', { doc: DOC });
      const slow = (stepId: string) => ({
        stepId,
        run: async () => {
          await new Promise((resolve) => setTimeout(resolve, 5));
          return createContext('Finding', { stepId });
        },
      });
      const workflow = defineWorkflow({
        id: 'constant-fan-out',
        version: '1',
        steps: [
          { stepId: 'plan', run: () => constant },
          { stepId: 'fanout', parallel: { a: [slow('a1'), slow('a2')], b: [slow('b1')] } },
        ],
      });
      const runtime = createRuntime({ store: store.store, workflows: [workflow] });
      const taskId = newTaskId('again');
      await (await runtime.start(workflow, {}, { taskId })).result;
      expect(await store.store.readLog(taskId, 'contexts')).toHaveLength(1);
      await runtime.purgeFinished({ olderThanMs: 0 });
      // The new log's entry 0 is something else: a checkpoint naming the old entry would be lost.
      await store.store.appendLog(taskId, 'contexts', [JSON.stringify({ unrelated: true })]);
      await (await runtime.start(workflow, {}, { taskId })).result;
      await runtime.close();
      const manager = await getCheckpointManager(store.store);
      const metas = await store.store.list(taskId);
      expect(metas.length).toBeGreaterThanOrEqual(4);
      for (const meta of metas) {
        await expect(manager.loadCheckpoint(taskId, meta.checkpointId)).resolves.toBeDefined();
      }
      const log = await store.store.readLog(taskId, 'contexts');
      expect(log).toHaveLength(2);
      expect(log[1]).toContain(DOC);
    });
  },
);
