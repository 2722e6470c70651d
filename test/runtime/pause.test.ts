import {
  type Context,
  createContext,
  createRuntime,
  defineWorkflow,
  isOrchestrationError,
  type RuntimeEvent,
} from 'mcp-orchestration';
import { afterEach, describe, expect, it } from 'vitest';
import { reviewMachineWorkflow } from './custom-machine.js';
import {
  type Calls,
  checkpointsOf,
  dataOf,
  delay,
  newTaskId,
  reviewWorkflow,
  STORES,
  type TestStore,
  trailStep,
} from './helpers.js';

let current: TestStore | undefined;
afterEach(async () => {
  await current?.cleanup();
  current = undefined;
});

/**
 * A review task suspended at its approval in one runtime (`live`, on the file store), then
 * paused or cancelled (`status`) by a second runtime over the same files (`other`).
 */
async function stoppedElsewhereWhileSuspended(status: 'paused' | 'cancelled') {
  current = await STORES.file();
  const workflow = reviewWorkflow();
  const live = createRuntime({ store: current.store, workflows: [workflow] });
  const taskId = newTaskId('stopped-elsewhere');
  const run = await live.start(workflow, 'text', { taskId });
  await expect.poll(async () => (await live.status(taskId))?.status).toBe('suspended');
  const other = createRuntime({ store: await current.reopen(), workflows: [workflow] });
  await (status === 'cancelled' ? other.cancel(taskId) : other.pause(taskId));
  return { store: current.store, live, other, run, taskId };
}

/**
 * Three steps; `slow` waits for `release()` (or its signal) the first time it is called (unless
 * `wait` is false). Each step counts its completed calls; `slow` records its idempotency keys.
 */
function slowWorkflow(calls: Calls, keys: string[], wait = true) {
  let waited = !wait;
  let started: () => void = () => {};
  let release: () => void = () => {};
  const startedSlow = new Promise<void>((resolve) => {
    started = resolve;
  });
  const aborted: string[] = [];
  const step = (name: string) => trailStep(calls, name);
  const workflow = defineWorkflow({
    id: 'slow',
    version: '1',
    steps: [
      { stepId: 'first', run: step('first') },
      {
        stepId: 'slow',
        run: (context, _step, { signal, idempotencyKey }) => {
          keys.push(idempotencyKey);
          if (waited) return step('slow')(context);
          waited = true;
          started();
          return new Promise<Context>((resolve, reject) => {
            release = () => resolve(step('slow')(context));
            signal.addEventListener('abort', () => {
              aborted.push(idempotencyKey);
              reject(signal.reason);
            });
          });
        },
      },
      { stepId: 'last', run: step('last') },
    ],
  });
  return { workflow, startedSlow, aborted, release: () => release() };
}

describe('pause', () => {
  it.each(['memory', 'file'] as const)(
    'stops a live run mid-step and resume continues it to the same result (%s store)',
    async (kind) => {
      current = await STORES[kind]();
      const calls: Calls = {};
      const keys: string[] = [];
      const { workflow, startedSlow, aborted } = slowWorkflow(calls, keys);
      const events: RuntimeEvent[] = [];
      const first = createRuntime({ store: current.store, workflows: [workflow] });
      first.subscribe((event) => events.push(event));
      const taskId = newTaskId('pause');
      const run = await first.start(workflow, { trail: [] }, { taskId });
      await startedSlow;
      await first.pause(taskId);

      await expect(run.result).rejects.toMatchObject({ code: 'WORKFLOW_PAUSED', taskId });
      expect(aborted).toEqual([`${taskId}:slow:1`]); // the step in flight saw its signal
      const states = await checkpointsOf(current.store, taskId);
      const paused = states.at(-1);
      expect(paused).toMatchObject({ status: 'paused', currentStepIndex: 1 });
      expect(typeof paused?.metadata.pausedAt).toBe('number');
      expect(await first.status(taskId)).toMatchObject({ status: 'paused', live: false });
      expect(events.filter((e) => e.type === 'status.changed').at(-1)).toMatchObject({
        status: 'paused',
        previous: 'running',
      });
      // Paused, not running: events are refused; pausing again changes nothing.
      await expect(first.send(taskId, { type: 'anything' })).rejects.toMatchObject({
        code: 'TASK_NOT_RUNNING',
      });
      await first.pause(taskId);
      expect(await checkpointsOf(current.store, taskId)).toHaveLength(states.length);
      await first.close();

      // Another runtime (another process, for the file store) resumes it.
      const second = createRuntime({ store: await current.reopen(), workflows: [workflow] });
      const resumedEvents: string[] = [];
      second.subscribe((event) => {
        if (event.type === 'step.started' || event.type === 'step.completed') {
          resumedEvents.push(`${event.type}:${event.stepId}:${event.stepIndex}`);
        }
      });
      const resumed = await second.resume(taskId);
      // The store says it runs again as soon as resume returns, before any step completes.
      expect((await checkpointsOf(current.store, taskId)).at(-1)?.status).toBe('running');
      expect(dataOf(await resumed.result)).toEqual({ trail: ['first', 'slow', 'last'] });
      expect(calls).toEqual({ first: 1, slow: 1, last: 1 });
      // The step in flight starts again here, so this runtime's subscribers hear it start.
      expect(resumedEvents).toEqual([
        'step.started:slow:1',
        'step.completed:slow:1',
        'step.started:last:2',
        'step.completed:last:2',
      ]);
      // The aborted attempt ran again with the same idempotency key.
      expect(keys).toEqual([`${taskId}:slow:1`, `${taskId}:slow:1`]);
      expect((await checkpointsOf(current.store, taskId)).at(-1)?.status).toBe('completed');
      await second.close();
    },
  );

  it('pauses a task that runs nowhere; a runtime still running it stops at its next write', async () => {
    current = await STORES.file();
    const calls: Calls = {};
    const keys: string[] = [];
    const { workflow, startedSlow, release } = slowWorkflow(calls, keys);
    const live = createRuntime({ store: current.store, workflows: [workflow] });
    const taskId = newTaskId('pause-elsewhere');
    const run = await live.start(workflow, { trail: [] }, { taskId });
    await startedSlow;

    // A second process pauses the task from its checkpoints.
    const other = createRuntime({ store: await current.reopen(), workflows: [workflow] });
    await other.pause(taskId);
    expect(await other.status(taskId)).toMatchObject({ status: 'paused', live: false });
    const statuses: string[] = [];
    live.subscribe((event) => {
      if (event.type === 'status.changed') statuses.push(event.status);
      if (event.type === 'run.aborted') statuses.push('aborted');
    });
    release();
    // It lost its write to the paused checkpoint: it stopped as paused, not aborted.
    await expect(run.result).rejects.toMatchObject({ code: 'WORKFLOW_PAUSED' });
    expect(statuses).toEqual(['paused']);
    expect((await checkpointsOf(current.store, taskId)).at(-1)?.status).toBe('paused');
    await live.close();

    const resumed = await other.resume(taskId);
    expect(dataOf(await resumed.result)).toEqual({ trail: ['first', 'slow', 'last'] });
    expect(calls.first).toBe(1);
    expect(calls.last).toBe(1);
    await other.close();
  });

  it('cancelled from another process, the runtime running it stops as cancelled', async () => {
    current = await STORES.file();
    const { workflow, startedSlow, release } = slowWorkflow({}, []);
    const live = createRuntime({ store: current.store, workflows: [workflow] });
    const taskId = newTaskId('cancel-elsewhere');
    const run = await live.start(workflow, { trail: [] }, { taskId });
    await startedSlow;
    const other = createRuntime({ store: await current.reopen(), workflows: [workflow] });
    await other.cancel(taskId);
    release();
    await expect(run.result).rejects.toMatchObject({ code: 'WORKFLOW_CANCELLED' });
    expect(run.status()).toMatchObject({ status: 'cancelled', live: false });
    expect((await checkpointsOf(current.store, taskId)).at(-1)?.status).toBe('cancelled');
    await live.close();
    await other.close();
  });

  it.each(['cancelled', 'paused'] as const)(
    '%s from another process while suspended, a send to the runtime holding it is refused',
    async (status) => {
      const { store, live, other, run, taskId } = await stoppedElsewhereWhileSuspended(status);
      // The event is refused, not accepted and then dropped at the run's next write.
      const refused = await live
        .send(taskId, { type: 'approval', data: { ok: true, reviewer: 'r' } })
        .catch((e: unknown) => e);
      expect(isOrchestrationError(refused, 'TASK_NOT_RUNNING')).toBe(true);
      expect((refused as Error).message).toContain(`${status} by another runtime`);
      await expect(run.result).rejects.toMatchObject({
        code: status === 'cancelled' ? 'WORKFLOW_CANCELLED' : 'WORKFLOW_PAUSED',
      });
      expect(await live.status(taskId)).toMatchObject({ status, live: false });
      expect((await checkpointsOf(store, taskId)).at(-1)?.status).toBe(status);
      await live.close();
      await other.close();
    },
  );

  it('cancelled from another process while suspended, the runtime holding it says so', async () => {
    const { live, other, run, taskId } = await stoppedElsewhereWhileSuspended('cancelled');
    expect(await live.status(taskId)).toMatchObject({ status: 'cancelled', live: false });
    await expect(run.result).rejects.toMatchObject({ code: 'WORKFLOW_CANCELLED' });
    await live.close();
    await other.close();
  });

  it.each([
    ['pause', 'before'],
    ['cancel', 'before'],
    ['pause', 'after'],
    ['cancel', 'after'],
  ] as const)('close() waits for a %s asked for %s it to be written', async (stop, when) => {
    current = await STORES.file();
    const { workflow, startedSlow } = slowWorkflow({}, []);
    const runtime = createRuntime({ store: current.store, workflows: [workflow] });
    const taskId = newTaskId(`close-during-${stop}`);
    const run = await runtime.start(workflow, { trail: [] }, { taskId });
    run.result.catch(() => undefined);
    await startedSlow;
    const closing = when === 'after' ? runtime.close() : undefined;
    const stopping = runtime[stop](taskId);
    await (closing ?? runtime.close());
    // Like a process that exits once close() resolved: the stop is in the store already.
    const status = stop === 'pause' ? 'paused' : 'cancelled';
    expect((await checkpointsOf(current.store, taskId)).at(-1)?.status).toBe(status);
    await stopping;
  });

  it('a resume asked for while a pause is being written resumes the task once paused', async () => {
    current = await STORES.file();
    const { workflow, startedSlow } = slowWorkflow({}, []);
    const runtime = createRuntime({ store: current.store, workflows: [workflow] });
    const taskId = newTaskId('resume-while-pausing');
    const run = await runtime.start(workflow, { trail: [] }, { taskId });
    run.result.catch(() => undefined);
    await startedSlow;
    const pausing = runtime.pause(taskId);
    for (let i = 0; i < 20 && run.status().live; i++) await Promise.resolve();
    expect(run.status().live).toBe(false); // stopping: its paused checkpoint is being written
    const resumed = await runtime.resume(taskId);
    await pausing;
    expect(resumed).not.toBe(run);
    expect(dataOf(await resumed.result)).toEqual({ trail: ['first', 'slow', 'last'] });
    expect((await checkpointsOf(current.store, taskId)).at(-1)?.status).toBe('completed');
    await runtime.close();
  });

  it('pauses a suspended task; resumed, it waits for its event again', async () => {
    current = await STORES.memory();
    const runtime = createRuntime({ store: current.store, workflows: [reviewWorkflow()] });
    const taskId = newTaskId('pause-suspended');
    const suspended = new Promise<void>((resolve) => {
      runtime.subscribe((e) => {
        if (e.type === 'checkpoint.saved' && e.status === 'suspended') resolve();
      });
    });
    const run = await runtime.start(reviewWorkflow(), 'x', { taskId });
    await suspended;
    await runtime.pause(taskId);
    await expect(run.result).rejects.toMatchObject({ code: 'WORKFLOW_PAUSED' });
    const resumed = await runtime.resume(taskId);
    expect((await checkpointsOf(current.store, taskId)).at(-1)?.status).toBe('suspended');
    expect(resumed.status()).toMatchObject({ status: 'suspended', waitingFor: ['approval'] });
    await runtime.send(taskId, { type: 'approval', data: { ok: true, reviewer: 'ana' } });
    expect(dataOf(await resumed.result)).toEqual({ published: true, reviewer: 'ana' });
    await runtime.close();
  });

  it('a suspended task paused or cancelled where it does not run waits for nothing any more', async () => {
    for (const stop of ['pause', 'cancel'] as const) {
      current = await STORES.memory();
      const first = createRuntime({ store: current.store, workflows: [reviewWorkflow()] });
      const taskId = newTaskId(`${stop}-suspended-elsewhere`);
      const run = await first.start(reviewWorkflow(), 'x', { taskId });
      await expect.poll(() => run.status().status).toBe('suspended');
      await first.close(); // the task rests at its wait, run nowhere
      const other = createRuntime({ store: current.store, workflows: [reviewWorkflow()] });
      await other[stop](taskId);
      const status = stop === 'pause' ? 'paused' : 'cancelled';
      // It said "waiting for approval" from the suspended checkpoint it was written over.
      expect(await other.status(taskId)).toMatchObject({ status, waitingFor: [] });
      expect((await other.listTasks()).tasks.find((t) => t.taskId === taskId)).toMatchObject({
        status,
        waitingFor: [],
      });
      if (stop === 'pause') {
        const resumed = await other.resume(taskId);
        expect(resumed.status()).toMatchObject({ status: 'suspended', waitingFor: ['approval'] });
      }
      await other.close();
      await current.cleanup();
      current = undefined;
    }
  });

  it('pauses and resumes a hand-written machine', async () => {
    current = await STORES.memory();
    const calls: Calls = {};
    const workflow = reviewMachineWorkflow(calls, 20);
    const runtime = createRuntime({ store: current.store, workflows: [workflow] });
    const taskId = newTaskId('pause-machine');
    const run = await runtime.start(workflow, createContext('Text', { text: 'a' }), { taskId });
    await runtime.pause(taskId);
    await expect(run.result).rejects.toMatchObject({ code: 'WORKFLOW_PAUSED' });
    expect(await runtime.status(taskId)).toMatchObject({ status: 'paused', live: false });
    const resumed = await runtime.resume(taskId);
    await expect.poll(() => resumed.status().status).toBe('suspended');
    await runtime.send(taskId, { type: 'approve' });
    expect(dataOf(await resumed.result)).toMatchObject({ text: expect.any(String) });
    await runtime.close();
  });

  it('leaves a run that is finishing to finish', async () => {
    current = await STORES.memory();
    const inner = current.store;
    let finalSave: () => void = () => {};
    const finishing = new Promise<void>((resolve) => {
      finalSave = resolve;
    });
    // The final checkpoint's write takes a while: pause comes while it is in flight.
    const store = {
      ...inner,
      name: inner.name,
      save: async (...args: Parameters<typeof inner.save>) => {
        if (args[0].body.includes('"status":"completed"')) {
          finalSave();
          await delay(30);
        }
        return inner.save(...args);
      },
    };
    const { workflow } = slowWorkflow({}, [], false);
    const runtime = createRuntime({ store, workflows: [workflow] });
    const taskId = newTaskId('pause-finishing');
    const run = await runtime.start(workflow, { trail: [] }, { taskId });
    await finishing;
    await runtime.pause(taskId);
    expect(dataOf(await run.result)).toEqual({ trail: ['first', 'slow', 'last'] });
    expect(await runtime.status(taskId)).toMatchObject({ status: 'completed' });
    expect((await checkpointsOf(inner, taskId)).map((s) => s.status)).toEqual([
      'running',
      'running',
      'running',
      'running',
      'completed',
    ]);
    await runtime.close();
  });

  it('a cancel while a pause is in flight cancels the task once the pause has landed', async () => {
    current = await STORES.memory();
    const { workflow, startedSlow } = slowWorkflow({}, []);
    const runtime = createRuntime({ store: current.store, workflows: [workflow] });
    const taskId = newTaskId('pause-cancel');
    const run = await runtime.start(workflow, { trail: [] }, { taskId });
    await startedSlow;
    const pausing = runtime.pause(taskId);
    const cancelling = runtime.cancel(taskId);
    const pausingAgain = runtime.pause(taskId);
    await Promise.all([pausing, cancelling, pausingAgain]);
    await expect(run.result).rejects.toMatchObject({ code: 'WORKFLOW_PAUSED' });
    expect((await checkpointsOf(current.store, taskId)).map((s) => s.status).slice(-2)).toEqual([
      'paused',
      'cancelled',
    ]);
    expect(await runtime.status(taskId)).toMatchObject({ status: 'cancelled', live: false });
    // Final: resuming it runs nothing.
    await expect((await runtime.resume(taskId)).result).rejects.toMatchObject({
      code: 'WORKFLOW_CANCELLED',
    });
    await runtime.close();
  });

  it('does nothing to a finished task and refuses an unknown one', async () => {
    current = await STORES.memory();
    const workflow = slowWorkflow({}, [], false).workflow;
    const runtime = createRuntime({ store: current.store, workflows: [workflow] });
    const taskId = newTaskId('pause-done');
    await (await runtime.start(workflow, { trail: [] }, { taskId })).result;
    const before = await checkpointsOf(current.store, taskId);
    await runtime.pause(taskId);
    expect(await checkpointsOf(current.store, taskId)).toHaveLength(before.length);
    expect(await runtime.status(taskId)).toMatchObject({ status: 'completed' });
    await expect(runtime.pause(newTaskId('nobody'))).rejects.toMatchObject({
      code: 'TASK_NOT_FOUND',
    });
    await expect(runtime.pause('bad id')).rejects.toMatchObject({ code: 'INVALID_ID' });
    await runtime.close();
  });
});
