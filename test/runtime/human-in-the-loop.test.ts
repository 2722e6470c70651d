import {
  type Context,
  createContext,
  createRuntime,
  defineWorkflow,
  isOrchestrationError,
  type Step,
} from 'mcp-orchestration';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type Calls,
  checkpointsOf,
  delay,
  newTaskId,
  reviewWorkflow,
  STORES,
  type TestStore,
} from './helpers.js';

describe.each(['memory', 'file'] as const)('human in the loop on the %s store', (kind) => {
  let store: TestStore | undefined;
  afterEach(async () => {
    await store?.cleanup();
    store = undefined;
  });

  it('suspends with a checkpoint, resumes in a new runtime, and continues on a valid event', async () => {
    store = await STORES[kind]();
    const calls: Calls = {};
    const workflow = reviewWorkflow(calls);
    const first = createRuntime({ store: store.store, workflows: [workflow] });
    const taskId = newTaskId('review');
    const suspended = new Promise<void>((resolve) => {
      first.subscribe((e) => {
        if (e.type === 'checkpoint.saved' && e.status === 'suspended') resolve();
      });
    });
    const run = await first.start(workflow, 'the report', { taskId });
    await suspended;
    expect(run.status()).toMatchObject({
      status: 'suspended',
      currentStepId: 'approve',
      waitingFor: ['approval'],
    });
    await first.close();
    await expect(run.result).rejects.toMatchObject({ code: 'TASK_NOT_RUNNING' });

    // Another runtime (another process) sees it suspended in the store.
    const second = createRuntime({ store: await store.reopen(), workflows: [workflow] });
    expect(await second.status(taskId)).toMatchObject({
      status: 'suspended',
      live: false,
      currentStepId: 'approve',
      waitingFor: ['approval'],
    });
    const notRunning = await second.send(taskId, { type: 'approval' }).catch((e) => e);
    expect(isOrchestrationError(notRunning, 'TASK_NOT_RUNNING')).toBe(true);

    const resumed = await second.resume(taskId);
    expect(resumed.status()).toMatchObject({ status: 'suspended', live: true });
    const wrongType = await second.send(taskId, { type: 'rejection' }).catch((e) => e);
    expect(isOrchestrationError(wrongType, 'EVENT_NOT_ACCEPTED')).toBe(true);
    expect(wrongType.expected).toEqual(['approval']);
    const badData = await second
      .send(taskId, { type: 'approval', data: { ok: 'yes' } })
      .catch((e) => e);
    expect(isOrchestrationError(badData, 'EVENT_NOT_ACCEPTED')).toBe(true);
    const notJson = await second
      .send(taskId, { type: 'approval', data: { ok: true, at: new Date() } as never })
      .catch((e) => e);
    expect(isOrchestrationError(notJson, 'NON_JSON_VALUE')).toBe(true);
    expect(notJson.path).toBe('$.data.at');
    const reserved = await second.send(taskId, { type: 'workflow.committed' }).catch((e) => e);
    expect(isOrchestrationError(reserved, 'EVENT_NOT_ACCEPTED')).toBe(true);
    // Nothing changed.
    expect(resumed.status()).toMatchObject({ status: 'suspended', currentStepId: 'approve' });

    await second.send(taskId, { type: 'approval', data: { ok: true, reviewer: 'ana' } });
    const output = await resumed.result;
    expect(output.data).toEqual({ published: true, reviewer: 'ana' });
    expect(calls).toEqual({ draft: 1, publish: 1 });
    const statuses = (await checkpointsOf(store.store, taskId)).map((s) => s.status);
    expect(statuses).toEqual([
      'running',
      'running',
      'suspended',
      'running',
      'running',
      'completed',
    ]);
    // The event's context is in the lineage, from the draft.
    const lineage = resumed.lineage.getFullTransitionLog();
    expect(lineage.map((t) => [t.operation, t.fromContextIds])).toEqual([
      ['input', []],
      ['task', [`${taskId}_input`]],
      ['waitFor', [`${taskId}_draft`]],
      ['task', [lineage[2]?.toContextId]],
    ]);
  });

  it('saves a workflow whose first step waits as suspended, with the event it waits for', async () => {
    store = await STORES[kind]();
    const workflow = defineWorkflow({
      id: 'first-wait',
      version: '1',
      steps: [
        { stepId: 'approve', waitFor: { event: 'approved' } },
        { stepId: 'after', run: (c) => c },
      ],
    });
    const runtime = createRuntime({ store: store.store, workflows: [workflow] });
    const taskId = newTaskId('first-wait');
    const saved: string[] = [];
    runtime.subscribe((e) => {
      if (e.type === 'checkpoint.saved') saved.push(e.status);
    });
    const run = await runtime.start(workflow, 'x', { taskId });
    const other = createRuntime({ store: await store.reopen(), workflows: [workflow] });
    expect(await other.status(taskId)).toMatchObject({
      status: 'suspended',
      waitingFor: ['approved'],
    });
    expect(saved).toEqual(['suspended']);
    await runtime.send(taskId, { type: 'approved' });
    await run.result;
    // Each step's result is saved before the next step starts, then the final state.
    expect((await checkpointsOf(store.store, taskId)).map((s) => s.status)).toEqual([
      'suspended',
      'running',
      'running',
      'completed',
    ]);
    await runtime.close();
    await other.close();
  });
});

/**
 * A group whose region `a` runs three steps of `ms` each while region `h` waits for `approval`,
 * then `after`. `log` gets `start a1`, `end a1` (or `abort a1`)… as the steps run.
 */
function regionWaitWorkflow(log: string[], ms = 60) {
  const slow = (stepId: string): Step => ({
    stepId,
    run: async (context: Context, _step, { signal }) => {
      log.push(`start ${stepId}`);
      await delay(ms);
      log.push(`${signal.aborted ? 'abort' : 'end'} ${stepId}`);
      return createContext('R', { ...(context.data as object), [stepId]: true });
    },
  });
  return defineWorkflow({
    id: 'region-wait',
    version: '1',
    steps: [
      {
        stepId: 'g',
        parallel: {
          a: [slow('a1'), slow('a2'), slow('a3')],
          h: [{ stepId: 'approve', waitFor: { event: 'approval' } }],
        },
      },
      { stepId: 'after', run: (context: Context) => context },
    ],
  });
}

const ALL_STEPS = ['start a1', 'end a1', 'start a2', 'end a2', 'start a3', 'end a3'];

describe.each(['memory', 'file'] as const)(
  'a wait beside regions that still work (%s store)',
  (kind) => {
    let store: TestStore | undefined;
    afterEach(async () => {
      await store?.cleanup();
      store = undefined;
    });

    it('is running (waiting for its event) until the other regions are done, then suspends with one checkpoint', async () => {
      store = await STORES[kind]();
      const log: string[] = [];
      const workflow = regionWaitWorkflow(log);
      const runtime = createRuntime({ store: store.store, workflows: [workflow] });
      const taskId = newTaskId('region-wait');
      const statuses: string[] = [];
      /** What the steps had done when each checkpoint was saved. */
      const saved: string[] = [];
      runtime.subscribe((e) => {
        if (e.type === 'status.changed') statuses.push(e.status);
        if (e.type === 'checkpoint.saved') saved.push(`${e.status} after ${log.length}`);
      });
      const run = await runtime.start(workflow, { in: 1 }, { taskId });
      // a1 runs: the run is not suspended, though it waits for approval too.
      expect(run.status()).toMatchObject({ status: 'running', waitingFor: ['approval'] });
      expect(await runtime.status(taskId)).toMatchObject({
        status: 'running',
        waitingFor: ['approval'],
      });
      await expect.poll(() => saved).toContain('suspended after 6');
      expect(log).toEqual(ALL_STEPS);
      expect(run.status()).toMatchObject({ status: 'suspended', waitingFor: ['approval'] });
      // One suspended checkpoint, once a3's completion is saved and nothing else goes on.
      expect(saved).toEqual([
        'running after 0',
        'running after 2',
        'running after 4',
        'running after 6',
        'suspended after 6',
      ]);
      const other = createRuntime({ store: await store.reopen(), workflows: [workflow] });
      expect(await other.status(taskId)).toMatchObject({
        status: 'suspended',
        live: false,
        waitingFor: ['approval'],
      });
      await runtime.close();
      await expect(run.result).rejects.toMatchObject({ code: 'TASK_NOT_RUNNING' });

      // Resumed at rest, it is suspended at once, and the event takes it on.
      const resumed = await other.resume(taskId);
      expect(resumed.status()).toMatchObject({ status: 'suspended', waitingFor: ['approval'] });
      await other.send(taskId, { type: 'approval', data: { ok: true } });
      expect((await resumed.result).data).toEqual({
        in: 1,
        a1: true,
        a2: true,
        a3: true,
        ok: true,
      });
      expect(log).toEqual(ALL_STEPS);
      expect(statuses).toEqual(['running', 'suspended']);
      await other.close();
    });

    it('takes its event while the other regions work, and never suspends', async () => {
      store = await STORES[kind]();
      const log: string[] = [];
      const workflow = regionWaitWorkflow(log);
      const runtime = createRuntime({ store: store.store, workflows: [workflow] });
      const taskId = newTaskId('early-event');
      const run = await runtime.start(workflow, { in: 2 }, { taskId });
      await runtime.send(taskId, { type: 'approval', data: { early: true } });
      expect(run.status()).toMatchObject({ status: 'running', waitingFor: [] });
      expect((await run.result).data).toEqual({ in: 2, a1: true, a2: true, a3: true, early: true });
      expect(log).toEqual(ALL_STEPS);
      const statuses = (await checkpointsOf(store.store, taskId)).map((s) => s.status);
      expect(statuses).not.toContain('suspended');
      await runtime.close();
    });

    it('resumed after a crash mid-region, runs the region on and suspends once it is done', async () => {
      store = await STORES[kind]();
      const log: string[] = [];
      const workflow = regionWaitWorkflow(log, 150);
      const first = createRuntime({ store: store.store, workflows: [workflow] });
      const taskId = newTaskId('crash-mid-region');
      const run = await first.start(workflow, { in: 3 }, { taskId });
      await expect.poll(() => log).toContain('start a2');
      await first.close(); // the process dies with a2 in flight
      await run.result.catch(() => undefined);
      // Its cut step ends in the background (it ignores its signal); then it is the new run's.
      await expect.poll(() => log).toContain('abort a2');
      const cut = log.length;
      const latest = (await checkpointsOf(store.store, taskId)).map((s) => s.status);
      expect(latest).toEqual(['running', 'running']);

      const second = createRuntime({ store: await store.reopen(), workflows: [workflow] });
      const saved: string[] = [];
      second.subscribe((e) => {
        if (e.type === 'checkpoint.saved') saved.push(e.status);
      });
      const resumed = await second.resume(taskId);
      expect(resumed.status()).toMatchObject({ status: 'running', waitingFor: ['approval'] });
      await expect.poll(() => saved, { timeout: 5_000 }).toContain('suspended');
      expect(log.slice(cut)).toEqual(['start a2', 'end a2', 'start a3', 'end a3']);
      expect(saved).toEqual(['running', 'running', 'suspended']);
      await second.send(taskId, { type: 'approval', data: { ok: true } });
      expect((await resumed.result).data).toMatchObject({ a1: true, a2: true, a3: true });
      await second.close();
    });

    it('is running while a durable sleep beside it runs, as a lone sleep is, and suspends once it ended', async () => {
      store = await STORES[kind]();
      const workflow = defineWorkflow({
        id: 'sleep-wait',
        version: '1',
        steps: [
          {
            stepId: 'g',
            parallel: {
              s: [{ stepId: 'nap', sleep: { ms: 200 } }],
              h: [{ stepId: 'approve', waitFor: { event: 'approval' } }],
            },
          },
        ],
      });
      const runtime = createRuntime({ store: store.store, workflows: [workflow] });
      const taskId = newTaskId('sleep-wait');
      const saved: string[] = [];
      runtime.subscribe((e) => {
        if (e.type === 'checkpoint.saved') saved.push(e.status);
      });
      const startedAt = Date.now();
      const run = await runtime.start(workflow, 'x', { taskId });
      expect(run.status()).toMatchObject({ status: 'running', waitingFor: ['approval'] });
      await expect.poll(() => saved).toContain('suspended');
      expect(Date.now() - startedAt).toBeGreaterThanOrEqual(195);
      // The first checkpoint holds the sleep's deadline; the sleep's end; then the suspension.
      expect(saved).toEqual(['running', 'running', 'suspended']);
      await runtime.send(taskId, { type: 'approval' });
      await run.result;
      await runtime.close();
    });
  },
);

describe('send: bad input', () => {
  it('refuses an unknown task, and an event to a workflow that waits for none', async () => {
    const { store, cleanup } = await STORES.memory();
    const runtime = createRuntime({ store });
    const unknown = await runtime.send('nobody', { type: 'approval' }).catch((e) => e);
    expect(isOrchestrationError(unknown, 'TASK_NOT_FOUND')).toBe(true);
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const workflow = defineWorkflow({
      id: 'busy',
      version: '1',
      steps: [
        {
          stepId: 'work',
          run: async (c) => {
            await gate;
            return c;
          },
        },
      ],
    });
    const taskId = newTaskId('busy');
    const run = await runtime.start(workflow, 1, { taskId });
    const refused = await runtime.send(taskId, { type: 'approval' }).catch((e) => e);
    expect(isOrchestrationError(refused, 'EVENT_NOT_ACCEPTED')).toBe(true);
    expect(refused.expected).toEqual([]);
    release();
    expect((await run.result).data).toBe(1);
    await cleanup();
  });
});
