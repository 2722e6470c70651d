import {
  type Context,
  createContext,
  createRuntime,
  defineWorkflow,
  getCheckpointManager,
} from 'mcp-orchestration';
import { afterEach, describe, expect, it } from 'vitest';
import { type Calls, newTaskId, STORES, type TestStore } from './helpers.js';

// A parallel group's input sits in the main lane, in each region's lane and in each region's step
// in flight: a checkpoint stores it once (format 2), and a resume from such a checkpoint ends as
// an uninterrupted run does.

const DOC = 'lorem ipsum '.repeat(2_000); // 24 KB

function fanOut(calls: Calls) {
  const agent = (name: string, ms: number) => ({
    stepId: name,
    run: async (context: Context) => {
      calls[name] = (calls[name] ?? 0) + 1;
      await new Promise((resolve) => setTimeout(resolve, ms));
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
      const run = await runtime.start(fanOut({}), { topic: 'x' }, { taskId });
      await run.result;
      await runtime.close();
      const metas = await store.store.list(taskId);
      const bodies = await Promise.all(
        metas.map(async (meta) => (await store?.store.load(taskId, meta.checkpointId))?.body ?? ''),
      );
      const inGroup = bodies.filter((body) => body.includes('"shared"'));
      // Four regions: up to nine places of the doc while they run; one copy in each body.
      expect(inGroup.length).toBeGreaterThanOrEqual(3);
      for (const body of inGroup) {
        expect(body.split(DOC).length - 1).toBe(1);
        expect(body.length).toBeLessThan(DOC.length + 8_000);
        expect(JSON.parse(body).v).toBe(2);
      }
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
        expect(docs.length).toBeGreaterThanOrEqual(2);
        for (const doc of docs) expect(doc).toBe(lanes.main);
        expect((lanes.main as Context).data).toMatchObject({ doc: DOC });
      }
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
  },
);
