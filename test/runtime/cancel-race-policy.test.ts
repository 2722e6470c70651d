import {
  type CheckpointPolicy,
  type CheckpointStore,
  type Context,
  createRuntime,
  defineMachineWorkflow,
  defineWorkflow,
  isOrchestrationError,
  type Runtime,
  type RuntimeEvent,
  type WorkflowRun,
} from 'mcp-orchestration';
import { afterEach, describe, expect, it } from 'vitest';
import { fromPromise, setup } from 'xstate';
import { chainWorkflow } from './chain-workflow.js';
import {
  type Calls,
  checkpointsOf,
  delay,
  newTaskId,
  reviewWorkflow,
  STORES,
  type TestStore,
} from './helpers.js';

let current: TestStore | undefined;
afterEach(async () => {
  await current?.cleanup();
  current = undefined;
});

function chain(calls: Calls = {}) {
  return chainWorkflow({
    before: 6,
    after: 6,
    regions: 2,
    perRegion: 4,
    onRun: (stepId) => {
      calls[stepId] = (calls[stepId] ?? 0) + 1;
    },
  });
}

describe('cancel', () => {
  it('stops a running task (aborting its step) and writes a final cancelled checkpoint', async () => {
    current = await STORES.memory();
    let aborted = false;
    let started: () => void = () => {};
    const running = new Promise<void>((resolve) => {
      started = resolve;
    });
    const workflow = defineWorkflow({
      id: 'long',
      version: '1',
      steps: [
        { stepId: 'first', run: (c) => c },
        {
          stepId: 'forever',
          run: (c, _s, { signal }) =>
            new Promise((_, reject) => {
              started();
              signal.addEventListener('abort', () => {
                aborted = true;
                reject(new Error('aborted'));
              });
              void c;
            }),
        },
      ],
    });
    const runtime = createRuntime({ store: current.store });
    const taskId = newTaskId('cancel');
    const run = await runtime.start(workflow, {}, { taskId });
    await running;
    await runtime.cancel(taskId);
    await expect(run.result).rejects.toMatchObject({ code: 'WORKFLOW_CANCELLED' });
    expect(aborted).toBe(true);
    const states = await checkpointsOf(current.store, taskId);
    expect(states.map((s) => s.status)).toEqual(['running', 'running', 'cancelled']);
    expect(states.at(-1)?.currentStepIndex).toBe(1);
    expect(await runtime.status(taskId)).toMatchObject({ status: 'cancelled', live: false });
    // Cancelled for good: resume gives the cancellation, cancel again does nothing.
    await expect((await runtime.resume(taskId)).result).rejects.toMatchObject({
      code: 'WORKFLOW_CANCELLED',
    });
    await runtime.cancel(taskId);
    expect((await checkpointsOf(current.store, taskId)).length).toBe(3);
  });

  it('cancels a suspended task that runs nowhere, from its checkpoint', async () => {
    current = await STORES.memory();
    const first = createRuntime({ store: current.store });
    const taskId = newTaskId('cancel-suspended');
    const suspended = new Promise<void>((resolve) => {
      first.subscribe((e) => {
        if (e.type === 'checkpoint.saved' && e.status === 'suspended') resolve();
      });
    });
    await first.start(reviewWorkflow(), 'x', { taskId });
    await suspended;
    await first.close();
    const other = createRuntime({ store: current.store });
    await other.cancel(taskId);
    expect(await other.status(taskId)).toMatchObject({ status: 'cancelled', seq: 4 });
  });
});

describe('two runtimes racing on one task', () => {
  it.each(['memory', 'file'] as const)('exactly one continues (%s store)', async (kind) => {
    current = await STORES[kind]();
    const workflow = chain();
    // Leave the task mid-run, as a crashed process would.
    const first = createRuntime({ store: current.store, workflows: [workflow] });
    const taskId = newTaskId('race');
    let closing: Promise<void> | undefined;
    first.subscribe((e) => {
      if (e.type === 'checkpoint.saved' && e.seq === 4) closing = first.close();
    });
    await (await first.start(workflow, { items: [] }, { taskId })).result.catch(() => undefined);
    await closing;

    const events: RuntimeEvent[] = [];
    const runtimes = [
      createRuntime({ store: await current.reopen(), workflows: [workflow] }),
      createRuntime({ store: await current.reopen(), workflows: [workflow] }),
    ];
    for (const runtime of runtimes) runtime.subscribe((e) => events.push(e));
    const runs = await Promise.all(runtimes.map((runtime) => runtime.resume(taskId)));
    const outcomes = await Promise.allSettled(runs.map((run) => run.result));
    const won = outcomes.filter((o) => o.status === 'fulfilled');
    const lost = outcomes.filter((o) => o.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    const reason = (lost[0] as PromiseRejectedResult).reason;
    expect(isOrchestrationError(reason, 'CHECKPOINT_CONFLICT')).toBe(true);
    expect(events.filter((e) => e.type === 'run.aborted')).toHaveLength(1);
    // One linear history: seq 1, 2, 3… with no gap or fork, ending completed.
    const states = await checkpointsOf(current.store, taskId);
    expect(states.map((s) => s.checkpoint?.seq)).toEqual(states.map((_, i) => i + 1));
    expect(states.at(-1)?.status).toBe('completed');
    const steps = (won[0] as PromiseFulfilledResult<{ data: unknown }>).value.data;
    expect((steps as { items: string[] }).items).toContain('z06');
  });
});

describe('a stop from a runtime that does not run the task', () => {
  it.each(['cancelled', 'paused'] as const)(
    'reads again when the run writes first, and lands (%s)',
    async (status) => {
      current = await STORES.memory();
      const store = current.store;
      const workflow = defineWorkflow({
        id: 'steady',
        version: '1',
        steps: Array.from({ length: 100 }, (_, i) => ({
          stepId: `s${i}`,
          run: async (c: Context) => {
            await delay(2);
            return c;
          },
        })),
      });
      const worker = createRuntime({ store, workflows: [workflow] });
      const taskId = newTaskId('stop-races');
      let nextSave: () => void = () => {};
      worker.subscribe((e) => {
        if (e.type === 'checkpoint.saved') nextSave();
      });
      const run = await worker.start(workflow, 'x', { taskId });
      // The admin's first write waits until the worker has written after the admin's read.
      let delayed = false;
      const admin = createRuntime({
        store: new Proxy(store, {
          get(target, key) {
            const value = Reflect.get(target, key);
            if (key !== 'save' || typeof value !== 'function') {
              return typeof value === 'function' ? value.bind(target) : value;
            }
            return async (...args: Parameters<typeof store.save>) => {
              if (!delayed) {
                delayed = true;
                await new Promise<void>((resolve) => {
                  nextSave = resolve;
                });
              }
              return store.save(...args);
            };
          },
        }),
      });
      await (status === 'cancelled' ? admin.cancel(taskId) : admin.pause(taskId));
      expect(delayed).toBe(true);
      await expect(run.result).rejects.toMatchObject({
        code: status === 'cancelled' ? 'WORKFLOW_CANCELLED' : 'WORKFLOW_PAUSED',
      });
      expect((await checkpointsOf(store, taskId)).at(-1)?.status).toBe(status);
      await worker.close();
      await admin.close();
    },
  );
});

/**
 * A workflow that fails for good once `fail()` is called: a hand-written machine whose invoked
 * promise rejects (an error snapshot), or a step with no retries left that rejects.
 */
function failingWorkflow(kind: 'machine' | 'step') {
  let fail: () => void = () => {};
  const failing = new Promise<never>((_, reject) => {
    fail = () => reject(new Error('kaput'));
  });
  failing.catch(() => {});
  const workflow =
    kind === 'machine'
      ? defineMachineWorkflow({
          id: 'failing',
          version: '1',
          machine: setup({ actors: { boom: fromPromise(() => failing) } }).createMachine({
            initial: 'a',
            states: { a: { invoke: { src: 'boom' } } },
          }),
        })
      : defineWorkflow({
          id: 'failing',
          version: '1',
          steps: [{ stepId: 'a', run: () => failing }],
        });
  return { workflow, fail };
}

/**
 * `store` with the write of a final `error` checkpoint held: `reached` resolves when it comes,
 * and it goes on once `release()` is called. `otherSaved` resolves when another write has landed
 * after it came.
 */
function holdingErrorSave(store: CheckpointStore) {
  let reach: () => void = () => {};
  let release: () => void = () => {};
  let otherSave: () => void = () => {};
  const reached = new Promise<void>((resolve) => {
    reach = resolve;
  });
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  const otherSaved = new Promise<void>((resolve) => {
    otherSave = resolve;
  });
  let held = false;
  const holding = new Proxy(store, {
    get(target, key) {
      const value = Reflect.get(target, key);
      if (key !== 'save' || typeof value !== 'function') {
        return typeof value === 'function' ? value.bind(target) : value;
      }
      return async (...args: Parameters<typeof store.save>) => {
        if (!args[0].body.includes('"status":"error"')) {
          const saved = await store.save(...args);
          if (held) otherSave();
          return saved;
        }
        held = true;
        reach();
        await released;
        return store.save(...args);
      };
    },
  });
  return { store: holding, reached, otherSaved, release: () => release() };
}

/** The store, the runtime, the run and the runtime's events all say the task ended `status`. */
async function expectEndedAs(
  status: 'error' | 'cancelled',
  {
    store,
    runtime,
    run,
    events,
  }: {
    store: CheckpointStore;
    runtime: Runtime;
    run: WorkflowRun;
    events: readonly RuntimeEvent[];
  },
) {
  await expect(run.result).rejects.toMatchObject({
    code: status === 'error' ? 'WORKFLOW_FAILED' : 'WORKFLOW_CANCELLED',
  });
  expect((await checkpointsOf(store, run.taskId)).at(-1)?.status).toBe(status);
  expect(run.status()).toMatchObject({ status, live: false });
  expect(await runtime.status(run.taskId)).toMatchObject({ status, live: false });
  expect(events.filter((e) => e.type === 'status.changed').at(-1)).toMatchObject({ status });
  expect(events.filter((e) => e.type === 'run.aborted')).toEqual([]);
}

/** Starts a run on a fresh `kind` store and fails it; resolves once its `error` save is held. */
async function failWithErrorSaveHeld(failure: 'machine' | 'step', kind: 'memory' | 'file') {
  const stored = await STORES[kind]();
  current = stored;
  const held = holdingErrorSave(stored.store);
  const { workflow, fail } = failingWorkflow(failure);
  const runtime = createRuntime({ store: held.store, workflows: [workflow] });
  const events: RuntimeEvent[] = [];
  runtime.subscribe((e) => events.push(e));
  const taskId = newTaskId('cancel-failing');
  const run = await runtime.start(workflow, {}, { taskId });
  fail();
  await held.reached;
  return { stored, held, runtime, events, taskId, run };
}

describe('a cancel racing the final checkpoint of a failing run', () => {
  const cases = (['memory', 'file'] as const).flatMap((store) =>
    (['machine', 'step'] as const).map((failure) => [failure, store] as const),
  );

  it.each(cases)(
    'of the runtime running it does nothing: the failure is written and the task failed (%s, %s store)',
    async (failure, kind) => {
      const { stored, held, runtime, events, taskId, run } = await failWithErrorSaveHeld(
        failure,
        kind,
      );
      const cancelling = runtime.cancel(taskId);
      // A cancel that writes lands before the failure's checkpoint does.
      await Promise.race([held.otherSaved, delay(30)]);
      held.release();
      await cancelling;
      await expectEndedAs('error', { store: stored.store, runtime, run, events });
      await runtime.close();
    },
  );

  it.each(cases)(
    'from another runtime, landing first, stops the run as cancelled (%s, %s store)',
    async (failure, kind) => {
      const { stored, held, runtime, events, taskId, run } = await failWithErrorSaveHeld(
        failure,
        kind,
      );
      const admin = createRuntime({ store: await stored.reopen() });
      await admin.cancel(taskId);
      held.release();
      await expectEndedAs('cancelled', { store: stored.store, runtime, run, events });
      await runtime.close();
      await admin.close();
    },
  );
});

describe('two runtimes starting one new task at once', () => {
  it('one starts it, the other is refused with TaskExistsError and reports nothing', async () => {
    current = await STORES.memory();
    const store = current.store;
    const calls: Calls = {};
    const workflow = chain(calls);
    const runtimes = [createRuntime({ store }), createRuntime({ store })];
    const events = runtimes.map(() => [] as RuntimeEvent[]);
    for (const [i, runtime] of runtimes.entries()) runtime.subscribe((e) => events[i]?.push(e));
    const taskId = newTaskId('start-race');
    const outcomes = await Promise.allSettled(
      runtimes.map((runtime) => runtime.start(workflow, { items: [] }, { taskId })),
    );
    const started = outcomes.findIndex((o) => o.status === 'fulfilled');
    const refused = outcomes.findIndex((o) => o.status === 'rejected');
    expect(started).toBeGreaterThanOrEqual(0);
    expect(refused).toBeGreaterThanOrEqual(0);
    const reason = (outcomes[refused] as PromiseRejectedResult).reason;
    expect(isOrchestrationError(reason, 'TASK_EXISTS')).toBe(true);
    await (outcomes[started] as PromiseFulfilledResult<{ result: Promise<unknown> }>).value.result;
    expect(events[refused]).toEqual([]);
    expect(calls.a01).toBe(1);
  });
});

describe('checkpoint policy', () => {
  async function checkpointCount(policy: CheckpointPolicy) {
    const store = (current as TestStore).store;
    const runtime = createRuntime({ store, checkpointPolicy: policy });
    const taskId = newTaskId('policy');
    const run = await runtime.start(chain(), { items: [] }, { taskId });
    const output = await run.result;
    return { count: (await checkpointsOf(store, taskId)).length, output };
  }

  it("{ every: 5 } saves fewer checkpoints than 'every-step', 'on-suspend' only start and end", async () => {
    current = await STORES.memory();
    const every = await checkpointCount('every-step');
    const five = await checkpointCount({ every: 5 });
    const onSuspend = await checkpointCount('on-suspend');
    // 6 + 2 × 4 + 6 steps and one merge: at least 21 commits, each saved.
    expect(every.count).toBeGreaterThanOrEqual(23);
    expect(five.count).toBeLessThanOrEqual(2 + Math.ceil((every.count - 2) / 5) + 1);
    expect(five.count).toBeLessThan(every.count);
    expect(onSuspend.count).toBe(2);
    expect(five.output.data).toEqual(every.output.data);
    expect(onSuspend.output.data).toEqual(every.output.data);
  });

  it("'on-suspend' still saves when the workflow suspends", async () => {
    current = await STORES.memory();
    const runtime = createRuntime({ store: current.store, checkpointPolicy: 'on-suspend' });
    const taskId = newTaskId('policy-suspend');
    const run = await runtime.start(reviewWorkflow(), 'x', { taskId });
    await new Promise<void>((resolve) => {
      runtime.subscribe((e) => {
        if (e.type === 'checkpoint.saved' && e.status === 'suspended') resolve();
      });
    });
    await runtime.send(taskId, { type: 'approval', data: { ok: false, reviewer: 'bo' } });
    await run.result;
    const statuses = (await checkpointsOf(current.store, taskId)).map((s) => s.status);
    expect(statuses).toEqual(['running', 'suspended', 'completed']);
  });

  it('{ every: 5 }: a crash reruns at most the steps since the last checkpoint', async () => {
    current = await STORES.memory();
    const calls: Calls = {};
    const workflow = chain(calls);
    const first = createRuntime({
      store: current.store,
      workflows: [workflow],
      checkpointPolicy: { every: 5 },
    });
    const taskId = newTaskId('policy-crash');
    let closing: Promise<void> | undefined;
    first.subscribe((e) => {
      if (e.type === 'step.completed' && e.stepId === 'z02') closing = first.close();
    });
    await (await first.start(workflow, { items: [] }, { taskId })).result.catch(() => undefined);
    await closing;
    const second = createRuntime({ store: current.store, workflows: [workflow] });
    const output = await (await second.resume(taskId)).result;
    expect((output.data as { items: string[] }).items.at(-1)).toBe('z06');
    const reruns = Object.values(calls).filter((n) => n > 1).length;
    expect(reruns).toBeGreaterThanOrEqual(1);
    expect(reruns).toBeLessThanOrEqual(5);
  });
});

describe('long plans', () => {
  it('are written only in the first and final checkpoints beyond planInCheckpoints', async () => {
    current = await STORES.memory();
    const store = current.store;
    const workflow = chain();
    const taskId = newTaskId('long-plan');
    const first = createRuntime({ store, workflows: [workflow], planInCheckpoints: 5 });
    let closing: Promise<void> | undefined;
    first.subscribe((e) => {
      if (e.type === 'checkpoint.saved' && e.seq === 6) closing = first.close();
    });
    await (await first.start(workflow, { items: [] }, { taskId })).result.catch(() => undefined);
    await closing;
    const status = await first.status(taskId);
    expect(status).toMatchObject({ status: 'running', currentStepId: 'a05', currentStepIndex: 4 });
    const second = createRuntime({ store, workflows: [workflow], planInCheckpoints: 5 });
    await (await second.resume(taskId)).result;
    const states = await checkpointsOf(store, taskId);
    const planLength = workflow.plan.length;
    expect(states[0]?.plan).toHaveLength(planLength);
    expect(states.at(-1)?.plan).toHaveLength(planLength);
    expect(states.at(-1)?.plan.every((s) => s.isComplete)).toBe(true);
    for (const state of states.slice(1, -1)) {
      expect(state.plan).toEqual([]);
      expect(state.metadata.planOmitted).toBe(planLength);
    }
  });
});
