import {
  type Context,
  createContext,
  createRuntime,
  defineMachineWorkflow,
  getCheckpointManager,
  InlineActorError,
  isOrchestrationError,
  type Runtime,
  sleepUntil,
  type WorkflowRun,
} from 'mcp-orchestration';
import { createMemoryStore } from 'mcp-orchestration/memory';
import { afterEach, describe, expect, it } from 'vitest';
import { assign, createMachine, fromPromise, setup, spawnChild } from 'xstate';
import { makeWaitUseMachine, reviewMachineWorkflow } from './custom-machine.js';
import {
  type Calls,
  checkpointsOf,
  crashTrials,
  delay,
  newTaskId,
  recorder,
  STORES,
  type TestStore,
} from './helpers.js';

/** Approves the task whenever it suspends (subscribe before start or resume). */
function autoApprove(runtime: Runtime, taskId: string): void {
  runtime.subscribe((event) => {
    if (
      event.type === 'status.changed' &&
      event.taskId === taskId &&
      event.status === 'suspended'
    ) {
      void runtime.send(taskId, { type: 'approve', data: { ok: true } }).catch(() => {});
    }
  });
}

async function referenceOutput(store: TestStore): Promise<{ output: Context; saves: number }> {
  const workflow = reviewMachineWorkflow();
  const runtime = createRuntime({ store: store.store, workflows: [workflow] });
  const taskId = newTaskId('ref');
  autoApprove(runtime, taskId);
  const run = await runtime.start(workflow, { text: 'doc' }, { taskId });
  const output = await run.result;
  return { output, saves: run.status().seq ?? 0 };
}

describe.each(['memory', 'file'] as const)('a hand-written machine on the %s store', (kind) => {
  let store: TestStore | undefined;
  afterEach(async () => {
    await store?.cleanup();
    store = undefined;
  });

  it('runs to completion with checkpoints of the right statuses and lineage', async () => {
    store = await STORES[kind]();
    const calls: Calls = {};
    const workflow = reviewMachineWorkflow(calls);
    const runtime = createRuntime({ store: store.store, workflows: [workflow] });
    const { events, listener } = recorder();
    runtime.subscribe(listener);
    const taskId = newTaskId('custom');
    const suspended = new Promise<void>((resolve) =>
      runtime.subscribe((e) => {
        if (e.type === 'checkpoint.saved' && e.status === 'suspended') resolve();
      }),
    );
    const run = await runtime.start(workflow, { text: 'doc' }, { taskId });
    await suspended;
    expect(run.status()).toMatchObject({
      status: 'suspended',
      currentStepId: 'review',
      currentStepIndex: 2,
      waitingFor: ['approve'],
    });
    expect(await runtime.status(taskId)).toMatchObject({ status: 'suspended', live: true });
    await runtime.send(taskId, { type: 'approve', data: { ok: true } });
    const output = await run.result;
    expect(output).toMatchObject({
      contextId: `${taskId}_summarize`,
      data: { text: 'summarize(left(fetch(doc))+right(fetch(doc)))' },
    });
    expect(calls).toEqual({ fetch: 1, left: 1, right: 1, summarize: 1 });

    const states = await checkpointsOf(store.store, taskId);
    const statuses = states.map((s) => s.status);
    expect(statuses[0]).toBe('running');
    expect(statuses).toContain('suspended');
    expect(statuses.at(-1)).toBe('completed');
    expect(statuses.filter((s) => s === 'completed')).toHaveLength(1);
    expect(states.map((s) => s.checkpoint?.seq)).toEqual(states.map((_, i) => i + 1));
    for (const state of states) {
      expect(state.machine).toEqual({ id: 'review-machine', version: '1' });
      expect(state.snapshot).toBeDefined();
    }
    const last = states.at(-1);
    expect(last?.plan.every((step) => step.isComplete)).toBe(true);
    expect((await runtime.status(taskId))?.status).toBe('completed');
    const saved = events.filter((e) => e.type === 'checkpoint.saved');
    expect(saved).toHaveLength(states.length);

    // Lineage: each new context, from the previous one at its key (or an origin).
    for (const flow of [run.lineage, await createRuntime({ store: store.store }).lineage(taskId)]) {
      const from = (id: string) => flow.getContextHistory(id).map((t) => [...t.fromContextIds]);
      const input = flow.getFullTransitionLog()[0];
      expect(input).toMatchObject({ operation: 'input', fromContextIds: [] });
      expect(from(`${taskId}_fetch`)).toEqual([[input?.toContextId]]);
      expect(from(`${taskId}_left`)).toEqual([[]]);
      expect(from(`${taskId}_right`)).toEqual([[]]);
      expect(from(`${taskId}_approval`)).toEqual([[]]);
      expect(from(`${taskId}_summarize`)).toEqual([[`${taskId}_fetch`]]);
      expect(flow.size).toBe(6);
    }
  });

  it('crashes at a random checkpoint; a new runtime resumes to the same output', async () => {
    const current = await STORES[kind]();
    store = current;
    const { output: expected, saves } = await referenceOutput(current);
    await crashTrials(saves, 4, async (crashAt, trial) => {
      const calls: Calls = {};
      const workflow = reviewMachineWorkflow(calls);
      const first = createRuntime({ store: current.store, workflows: [workflow] });
      const taskId = newTaskId(`crash${trial}`);
      autoApprove(first, taskId);
      let seq = 0;
      const crashed = new Promise<void>((resolve) =>
        first.subscribe((e) => {
          if (e.type !== 'checkpoint.saved') return;
          seq = e.seq;
          if (e.seq >= crashAt) resolve();
        }),
      );
      const run = await first.start(workflow, { text: 'doc' }, { taskId });
      await Promise.race([crashed, run.result.catch(() => undefined)]);
      if (seq < crashAt) {
        // This run completed in fewer checkpoints than the one drawn.
        expect((await first.status(taskId))?.status).toBe('completed');
        return seq;
      }
      await first.close();
      await run.result.catch(() => undefined);

      const second = createRuntime({ store: await current.reopen(), workflows: [workflow] });
      autoApprove(second, taskId);
      const resumed: WorkflowRun = await second.resume(taskId);
      const output = await resumed.result;
      expect(output.contextId).toBe(`${taskId}_summarize`);
      expect(output.data).toEqual(expected.data);
      for (const name of ['fetch', 'left', 'right', 'summarize']) {
        expect(calls[name] ?? 0, name).toBeGreaterThanOrEqual(1);
        expect(calls[name] ?? 0, name).toBeLessThanOrEqual(2); // at least once, not more
      }
      expect((await second.status(taskId))?.status).toBe('completed');
      // The lineage is whole: every context logged once, none lost or duplicated by the crash.
      const flow = await createRuntime({ store: await current.reopen() }).lineage(taskId);
      const ids = flow.getFullTransitionLog().map((t) => t.toContextId);
      expect(new Set(ids).size).toBe(6);
      expect(ids).toHaveLength(6);
      // A finished task resumes as a settled run with the same output.
      const settled = await createRuntime({ store: await current.reopen() }).resume(taskId);
      expect((await settled.result).data).toEqual(expected.data);
      return undefined;
    });
  });
});

describe('a hand-written machine: refusals and policies', () => {
  it('refuses an event the machine cannot take now with EventNotAcceptedError', async () => {
    const store = createMemoryStore();
    const workflow = reviewMachineWorkflow({}, 20);
    const runtime = createRuntime({ store, workflows: [workflow] });
    const taskId = newTaskId('refuse');
    const run = await runtime.start(workflow, { text: 'doc' }, { taskId });
    // Still fetching: `approve` is not handled there; `nope` nowhere.
    for (const type of ['approve', 'nope', 'xstate.init']) {
      const error = await runtime.send(taskId, { type }).catch((e: unknown) => e);
      expect(isOrchestrationError(error, 'EVENT_NOT_ACCEPTED')).toBe(true);
      expect(error).toMatchObject({ taskId, eventType: type });
    }
    expect(run.status().status).toBe('running');
    await runtime.cancel(taskId);
    await expect(run.result).rejects.toMatchObject({ code: 'WORKFLOW_CANCELLED' });
    const manager = await getCheckpointManager(store);
    expect((await manager.loadLatestCheckpoint(taskId))?.status).toBe('cancelled');
  });

  it("saves only on suspend and at the end with 'on-suspend'", async () => {
    const store = createMemoryStore();
    const workflow = reviewMachineWorkflow();
    const runtime = createRuntime({ store, workflows: [workflow], checkpointPolicy: 'on-suspend' });
    const taskId = newTaskId('policy');
    runtime.subscribe((e) => {
      if (e.type === 'checkpoint.saved' && e.status === 'suspended') {
        void runtime.send(taskId, { type: 'approve', data: { ok: true } });
      }
    });
    await (await runtime.start(workflow, { text: 'doc' }, { taskId })).result;
    const statuses = (await checkpointsOf(store, taskId)).map((s) => s.status);
    expect(statuses).toEqual(['running', 'suspended', 'completed']);
  });

  it('saves after every N snapshot changes with { every: N }, and still resumes', async () => {
    const counts: number[] = [];
    for (const checkpointPolicy of ['every-step', { every: 3 }] as const) {
      const store = createMemoryStore();
      const workflow = reviewMachineWorkflow();
      const runtime = createRuntime({ store, workflows: [workflow], checkpointPolicy });
      const taskId = newTaskId('every');
      autoApprove(runtime, taskId);
      const output = await (await runtime.start(workflow, { text: 'doc' }, { taskId })).result;
      expect(output.contextId).toBe(`${taskId}_summarize`);
      const states = await checkpointsOf(store, taskId);
      expect(states.at(-1)?.status).toBe('completed');
      counts.push(states.length);
    }
    expect(counts[1]).toBeLessThan(counts[0] ?? 0);
  });

  it('an error snapshot writes an error checkpoint; a non-context output is wrapped', async () => {
    const machine = setup({
      actors: { boom: fromPromise<number>(async () => Promise.reject(new Error('kaput'))) },
    }).createMachine({ initial: 'a', states: { a: { invoke: { src: 'boom' } } } });
    const store = createMemoryStore();
    const failing = defineMachineWorkflow({ id: 'failing', version: '1', machine });
    const runtime = createRuntime({ store });
    const taskId = newTaskId('boom');
    const run = await runtime.start(failing, {}, { taskId });
    await expect(run.result).rejects.toMatchObject({ code: 'WORKFLOW_FAILED' });
    expect(await runtime.status(taskId)).toMatchObject({
      status: 'error',
      error: { message: 'kaput' },
    });

    const plain = defineMachineWorkflow({
      id: 'plain',
      version: '1',
      machine: createMachine({ initial: 'x', states: { x: { type: 'final' } }, output: { n: 7 } }),
    });
    const done = await runtime.start(plain, {}, { taskId: newTaskId('plain') });
    const output = await done.result;
    expect(output).toMatchObject({ contextType: 'OutputContext', data: { n: 7 } });
    const settled = await createRuntime({ store }).resume(done.taskId);
    expect((await settled.result).data).toEqual({ n: 7 });
  });

  it('inline actor logic is a typed InlineActorError, not a crash', async () => {
    const inlineInvoke = createMachine({
      initial: 'a',
      states: { a: { invoke: { src: fromPromise(async () => 1) } } },
    });
    expect(() =>
      defineMachineWorkflow({ id: 'inline', version: '1', machine: inlineInvoke }),
    ).toThrow(InlineActorError);

    // A spawned inline child is found at the first save: nothing is written.
    const inlineSpawn = createMachine({
      initial: 'a',
      context: { n: 0 },
      entry: spawnChild(
        fromPromise(async () => 1),
        { id: 'worker' },
      ),
      states: { a: { on: { go: { actions: assign({ n: 1 }) } } } },
    });
    const workflow = defineMachineWorkflow({
      id: 'inline-spawn',
      version: '1',
      machine: inlineSpawn,
    });
    const store = createMemoryStore();
    const runtime = createRuntime({ store });
    const taskId = newTaskId('inline');
    const error = await runtime.start(workflow, {}, { taskId }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InlineActorError);
    expect(error).toMatchObject({ workflowId: 'inline-spawn', actorIds: ['worker'] });
    expect(isOrchestrationError(error, 'INLINE_ACTOR')).toBe(true);
    expect(String((error as Error).message)).toMatch(/setup\(\{ actors \}\)/);
    expect(await runtime.status(taskId)).toBeUndefined();

    // One spawned later fails the task there: saving that state again would meet it again.
    const lateSpawn = createMachine({
      initial: 'a',
      states: {
        a: {
          tags: ['suspended'],
          on: {
            go: {
              target: 'b',
              actions: spawnChild(
                fromPromise(async () => 1),
                { id: 'late' },
              ),
            },
          },
        },
        b: { tags: ['suspended'] },
      },
    });
    const late = defineMachineWorkflow({ id: 'late-spawn', version: '1', machine: lateSpawn });
    const lateId = newTaskId('late');
    const run = await runtime.start(late, {}, { taskId: lateId });
    await expect.poll(async () => (await runtime.status(lateId))?.status).toBe('suspended');
    await runtime.send(lateId, { type: 'go' });
    await expect(run.result).rejects.toMatchObject({
      code: 'WORKFLOW_FAILED',
      failure: { stepId: 'b', code: 'INLINE_ACTOR' },
    });
    expect(await runtime.status(lateId)).toMatchObject({ status: 'error', live: false });
  });

  it('checks the plan at definition (a frozen copy), and names a large waiting context from the log', async () => {
    const plan = [
      {
        stepId: 'making',
        name: 'Make',
        description: 'Make',
        stepIndex: 0,
        isComplete: false,
        metadata: {},
      },
    ];
    const bad = [{ ...plan[0], metadata: { when: new Date(0) } }] as never;
    const machineOf = (text: string) =>
      makeWaitUseMachine({
        id: 'waits-on-a-doc',
        make: () => createContext('Doc', { text }),
        waits: 2,
      });
    expect(() =>
      defineMachineWorkflow({ id: 'bad-plan', version: '1', machine: machineOf(''), plan: bad }),
    ).toThrow(expect.objectContaining({ code: 'NON_JSON_VALUE' }));
    const text = 'd'.repeat(4_000);
    const workflow = defineMachineWorkflow({
      id: 'waits-on-a-doc',
      version: '1',
      machine: machineOf(text),
      plan,
    });
    plan[0]!.name = 'changed afterwards';
    expect(workflow.plan[0]?.name).toBe('Make');
    expect(Object.isFrozen(workflow.plan[0])).toBe(true);

    const store = createMemoryStore();
    const runtime = createRuntime({ store, workflows: [workflow] });
    const taskId = newTaskId('doc-waits');
    const run = await runtime.start(workflow, {}, { taskId });
    await expect.poll(() => run.status().status).toBe('suspended');
    await runtime.send(taskId, { type: 'go' });
    // The doc was in two checkpoints in a row (waiting, again): it goes to the contexts log.
    await expect.poll(async () => (await store.readLog(taskId, 'contexts')).length).toBe(1);
    await runtime.send(taskId, { type: 'go' });
    const output = await run.result;
    await runtime.close();
    expect(output.data).toEqual({ text });
    const bodies = await Promise.all(
      (await store.list(taskId)).map(
        async (meta) => (await store.load(taskId, meta.checkpointId))?.body ?? '',
      ),
    );
    const named = bodies.filter((body) => JSON.parse(body).v === 3);
    expect(named.length).toBeGreaterThanOrEqual(1);
    for (const body of named) expect(body).not.toContain(text);
  });
});

/**
 * A hand-written machine whose parallel state waits for `approve` in one region (tagged
 * `suspended`) while the other works: `job` (a promise, 80 ms) or `timer` (the durable
 * `sleepUntil`, 150 ms), then ends.
 */
function waitBesideMachine(beside: 'job' | 'timer', log: string[]) {
  return setup({
    types: { context: {} as { until: number } },
    actors: {
      job: fromPromise(async ({ signal }) => {
        log.push('start job');
        await delay(80);
        log.push(signal.aborted ? 'abort job' : 'end job');
        return 1;
      }),
      sleepUntil,
    },
  }).createMachine({
    context: () => ({ until: Date.now() + 150 }),
    initial: 'both',
    states: {
      both: {
        type: 'parallel',
        states: {
          work: {
            initial: 'busy',
            states: {
              busy: {
                invoke:
                  beside === 'job'
                    ? { src: 'job', onDone: 'over' }
                    : {
                        src: 'sleepUntil',
                        input: ({ context }) => ({ until: context.until }),
                        onDone: 'over',
                      },
              },
              over: { type: 'final' },
            },
          },
          review: {
            initial: 'waiting',
            states: {
              waiting: { tags: ['suspended'], on: { approve: 'approved' } },
              approved: { type: 'final' },
            },
          },
        },
        onDone: 'finished',
      },
      finished: { type: 'final' },
    },
  });
}

describe('a hand-written machine waiting beside a region that still works', () => {
  it.each([
    ['job', 'the default hook'],
    ['job', 'its own suspended hook'],
    ['timer', 'the default hook'],
  ] as const)('is running while its %s runs (%s), then suspends once', async (beside, hook) => {
    const log: string[] = [];
    const workflow = defineMachineWorkflow({
      id: `wait-beside-${beside}`,
      version: '1',
      machine: waitBesideMachine(beside, log),
      ...(hook === 'the default hook'
        ? {}
        : { suspended: (snapshot) => snapshot.matches({ both: { review: 'waiting' } }) }),
    });
    const store = createMemoryStore();
    const runtime = createRuntime({ store, workflows: [workflow] });
    const taskId = newTaskId('wait-beside');
    const saved: string[] = [];
    runtime.subscribe((e) => {
      if (e.type === 'checkpoint.saved') saved.push(e.status);
    });
    const startedAt = Date.now();
    const run = await runtime.start(workflow, {}, { taskId });
    expect(run.status()).toMatchObject({ status: 'running', waitingFor: ['approve'] });
    await expect.poll(() => saved).toContain('suspended');
    if (beside === 'job') expect(log).toEqual(['start job', 'end job']);
    else expect(Date.now() - startedAt).toBeGreaterThanOrEqual(145);
    expect(saved.indexOf('suspended')).toBe(saved.length - 1);
    expect(saved.slice(0, -1).every((status) => status === 'running')).toBe(true);
    expect(run.status()).toMatchObject({ status: 'suspended', waitingFor: ['approve'] });
    await runtime.send(taskId, { type: 'approve' });
    await run.result;
    expect(saved.at(-1)).toBe('completed');
    await runtime.close();
  });

  it('is running while an actor it spawned runs, and saves its suspension once that one ends', async () => {
    const log: string[] = [];
    const machine = setup({
      actors: {
        job: fromPromise(async () => {
          await delay(80);
          log.push('job done');
          return 1;
        }),
      },
    }).createMachine({
      initial: 'waiting',
      states: {
        // The job's end changes no state: the snapshot object stays, now at rest.
        waiting: {
          tags: ['suspended'],
          entry: spawnChild('job', { id: 'job' }),
          on: { go: 'done' },
        },
        done: { type: 'final' },
      },
    });
    const workflow = defineMachineWorkflow({ id: 'spawns-beside', version: '1', machine });
    const store = createMemoryStore();
    const runtime = createRuntime({ store, workflows: [workflow] });
    const taskId = newTaskId('spawns');
    const run = await runtime.start(workflow, {}, { taskId });
    expect(run.status()).toMatchObject({ status: 'running', waitingFor: ['go'] });
    await expect
      .poll(async () => (await checkpointsOf(store, taskId)).map((state) => state.status))
      .toEqual(['running', 'suspended']);
    expect(log).toEqual(['job done']);
    expect(run.status().status).toBe('suspended');
    await runtime.send(taskId, { type: 'go' });
    await run.result;
    await runtime.close();
  });
});
