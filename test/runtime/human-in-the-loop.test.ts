import { createRuntime, defineWorkflow, isOrchestrationError } from 'mcp-orchestration';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type Calls,
  checkpointsOf,
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
