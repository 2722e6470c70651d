import {
  type CheckpointStore,
  type Context,
  createContext,
  createRuntime,
  defineMachineWorkflow,
  defineWorkflow,
  getCheckpointManager,
  isOrchestrationError,
  type Runtime,
  type Step,
  UnknownTaskError,
  type WorkflowMigrate,
  type WorkflowRun,
} from 'mcp-orchestration';
import { createMemoryStore } from 'mcp-orchestration/memory';
import { describe, expect, it } from 'vitest';
import { type AnyStateMachine, assign, fromPromise, setup, spawnChild } from 'xstate';
import { checkpointsOf, delay, newTaskId } from './helpers.js';

/** Resolves once `task`'s latest checkpoint has `status`. */
function checkpointed(runtime: Runtime, taskId: string, status: string): Promise<void> {
  return new Promise((resolve) =>
    runtime.subscribe((e) => {
      if (e.type === 'checkpoint.saved' && e.taskId === taskId && e.status === status) resolve();
    }),
  );
}

/** `run.result` settled, or `'pending'` after `ms`: a hung run shows as pending. */
function settledWithin(run: WorkflowRun, ms: number): Promise<unknown> {
  return Promise.race([
    run.result.then(
      () => 'completed',
      (e: unknown) => e,
    ),
    delay(ms).then(() => 'pending'),
  ]);
}

/** The latest checkpoint's seq and status, to show that a refusal wrote nothing. */
async function head(store: CheckpointStore, taskId: string) {
  const manager = await getCheckpointManager(store);
  const state = await manager.loadLatestCheckpoint(taskId, { snapshot: false });
  return { seq: state?.checkpoint?.seq, status: state?.status };
}

describe('resume refuses a checkpoint it cannot restore as it was', () => {
  it('a migrate hook that drops the snapshot is a WorkflowMismatchError: no fresh start', async () => {
    let charges = 0;
    const payWorkflow = (version: string, migrate?: WorkflowMigrate) =>
      defineMachineWorkflow({
        id: 'pay',
        version,
        ...(migrate === undefined ? {} : { migrate }),
        machine: setup({
          actors: {
            charge: fromPromise(async () => {
              charges += 1;
              return 1;
            }),
          },
        }).createMachine({
          // A static context: a fresh start would not fail, it would charge again.
          context: { charged: 0 },
          initial: 'charging',
          states: {
            charging: {
              invoke: {
                src: 'charge',
                onDone: {
                  target: 'review',
                  actions: assign({ charged: ({ event }) => event.output as number }),
                },
              },
            },
            review: { tags: ['suspended'], on: { approve: 'done' } },
            done: { type: 'final' },
          },
        }),
      });
    const store = createMemoryStore();
    const v1 = payWorkflow('1');
    const first = createRuntime({ store, workflows: [v1] });
    const taskId = newTaskId('pay');
    const suspended = checkpointed(first, taskId, 'suspended');
    await first.start(v1, {}, { taskId });
    await suspended;
    await first.close();
    expect(charges).toBe(1);
    const before = await head(store, taskId);

    const dropped: WorkflowMigrate = (state) => ({ ...state, snapshot: undefined });
    const second = createRuntime({ store, workflows: [payWorkflow('2', dropped)] });
    const error = await second.resume(taskId).catch((e: unknown) => e);
    expect(isOrchestrationError(error, 'WORKFLOW_MISMATCH')).toBe(true);
    expect(error).toMatchObject({ taskId, workflowId: 'pay', workflowVersion: '2' });
    expect((error as Error).message).toContain('no snapshot');
    await delay(20);
    expect(charges).toBe(1);
    expect(await head(store, taskId)).toEqual(before);
    expect(before.status).toBe('suspended');
    await second.close();
  });

  it.each([
    ['with a step', [{ stepId: 'c1', run: (context: Context) => context }]],
    ['empty', []],
  ])(
    'a parallel group that gained a region (%s) under the same version: refused, nothing written',
    async (_, region) => {
      const groupWorkflow = (extra: boolean) => {
        const regions: Record<string, readonly Step[]> = {
          a: [{ stepId: 'a1', run: (context) => context }],
          b: [{ stepId: 'b1', waitFor: { event: 'go' } }],
        };
        if (extra) regions.c = region as Step[];
        return defineWorkflow({
          id: 'grown',
          version: '1',
          steps: [{ stepId: 'g', parallel: regions }],
        });
      };
      const store = createMemoryStore();
      const v1 = groupWorkflow(false);
      const first = createRuntime({ store, workflows: [v1] });
      const taskId = newTaskId('grown');
      const suspended = checkpointed(first, taskId, 'suspended');
      await first.start(v1, { n: 1 }, { taskId });
      await suspended;
      await first.close();
      const before = await head(store, taskId);
      // XState restored the new region at its initial state without entering it: the run hung
      // (no step started there) or failed for good (no lane g.c), whichever version ran it next.
      const second = createRuntime({ store, workflows: [groupWorkflow(true)] });
      const error = await second.resume(taskId).catch((e: unknown) => e);
      expect(isOrchestrationError(error, 'WORKFLOW_MISMATCH')).toBe(true);
      expect((error as Error).message).toContain('"g.regions.c"');
      expect(await head(store, taskId)).toEqual(before);
      await second.close();
      // The workflow as it was still resumes it.
      const third = createRuntime({ store, workflows: [v1] });
      const run = await third.resume(taskId);
      await third.send(taskId, { type: 'go' });
      await expect(run.result).resolves.toMatchObject({ contextType: expect.any(String) });
      await third.close();
    },
  );

  describe('a child whose src the machine no longer registers', () => {
    const slow = fromPromise(() => delay(150).then(() => 1));
    const fetchWorkflow = (actor: string, version: string, migrate?: WorkflowMigrate) =>
      defineMachineWorkflow({
        id: 'fetcher',
        version,
        ...(migrate === undefined ? {} : { migrate }),
        machine: setup({ actors: { [actor]: slow } }).createMachine({
          initial: 'fetching',
          states: {
            fetching: { invoke: { id: 'fetch', src: actor, onDone: 'done' } },
            done: { type: 'final' },
          },
        }),
      });

    /** Starts `workflow` and stops its runtime while the invoked actor is in flight. */
    async function crashInFlight(store: CheckpointStore, workflow: AnyWorkflow, taskId: string) {
      const runtime = createRuntime({ store, workflows: [workflow] });
      await runtime.start(workflow, {}, { taskId });
      await delay(20);
      await runtime.close();
    }
    type AnyWorkflow = Parameters<Runtime['start']>[0];

    it('is refused with WorkflowMismatchError naming the child and its src, not a hang', async () => {
      for (const [version, migrate] of [
        ['2', (state) => state], // renamed under a new version, the state tree unchanged
        ['1', undefined], // renamed under the same version
      ] as const satisfies readonly (readonly [string, WorkflowMigrate | undefined])[]) {
        const store = createMemoryStore();
        const taskId = newTaskId('renamed');
        await crashInFlight(store, fetchWorkflow('fetchV1', '1'), taskId);
        const before = await head(store, taskId);
        const runtime = createRuntime({
          store,
          workflows: [fetchWorkflow('fetch', version, migrate)],
        });
        const resumed = await runtime.resume(taskId).catch((e: unknown) => e);
        const outcome =
          resumed instanceof Error ? resumed : await settledWithin(resumed as WorkflowRun, 500);
        expect(isOrchestrationError(outcome, 'WORKFLOW_MISMATCH')).toBe(true);
        expect((outcome as Error).message).toContain("child actor 'fetch' (src 'fetchV1')");
        expect(await head(store, taskId)).toEqual(before);
        await runtime.close();
      }
    });

    it('is found in a child machine too, as is a child machine that cannot be restored', async () => {
      const childMachine = (actor: string, state: string) =>
        setup({ actors: { [actor]: slow } }).createMachine({
          initial: state,
          states: {
            [state]: { invoke: { id: 'inner', src: actor, onDone: 'done' } },
            done: { type: 'final' },
          },
        });
      const nested = (child: AnyStateMachine) =>
        defineMachineWorkflow({
          id: 'nested',
          version: '1',
          machine: setup({ actors: { child } }).createMachine({
            initial: 'outer',
            states: {
              outer: { invoke: { id: 'kid', src: 'child', onDone: 'done' } },
              done: { type: 'final' },
            },
          }),
        });
      const cases = [
        [childMachine('work', 'run'), undefined],
        [childMachine('work2', 'run'), "child actor 'kid/inner' (src 'work')"],
        [childMachine('work', 'running'), "child actor 'kid' (src 'child') cannot be restored"],
      ] as const;
      for (const [child, refusal] of cases) {
        const store = createMemoryStore();
        const taskId = newTaskId('nested');
        await crashInFlight(store, nested(childMachine('work', 'run')), taskId);
        const runtime = createRuntime({ store, workflows: [nested(child)] });
        const resumed = await runtime.resume(taskId).catch((e: unknown) => e);
        const outcome =
          resumed instanceof Error ? resumed : await settledWithin(resumed as WorkflowRun, 500);
        if (refusal === undefined) {
          expect(outcome).toBe('completed');
        } else {
          expect(isOrchestrationError(outcome, 'WORKFLOW_MISMATCH')).toBe(true);
          expect((outcome as Error).message).toContain(refusal);
        }
        await runtime.close();
      }
    });

    it('a finished spawned child whose src is gone does not block the resume', async () => {
      const helperWorkflow = (actor: string) =>
        defineMachineWorkflow({
          id: 'spawner',
          version: '1',
          machine: setup({ actors: { [actor]: fromPromise(async () => 1) } }).createMachine({
            initial: 'spawning',
            entry: spawnChild(actor, { id: 'helper' }),
            states: {
              spawning: { after: { 30: 'review' } },
              review: { tags: ['suspended'], on: { approve: 'done' } },
              done: { type: 'final' },
            },
          }),
        });
      const store = createMemoryStore();
      const taskId = newTaskId('spawner');
      const first = createRuntime({ store });
      const suspended = checkpointed(first, taskId, 'suspended');
      await first.start(helperWorkflow('helperV1'), {}, { taskId });
      await suspended;
      await first.close();
      // The finished child is still listed in the checkpoint (what this test is about).
      const manager = await getCheckpointManager(store);
      const saved = (await manager.loadLatestCheckpoint(taskId))?.snapshot as unknown as {
        children: Record<string, { snapshot: { status: string } }>;
      };
      expect(saved.children.helper?.snapshot.status).toBe('done');

      const runtime = createRuntime({ store, workflows: [helperWorkflow('helper')] });
      const run = await runtime.resume(taskId);
      await runtime.send(taskId, { type: 'approve' });
      expect(await settledWithin(run, 500)).toBe('completed');
      await runtime.close();
    });

    it('holds for defineWorkflow tasks (their step actors are children), without false alarms', async () => {
      const calls: string[] = [];
      let release: () => void = () => {};
      const workflow = defineWorkflow({
        id: 'two-steps',
        version: '1',
        steps: [
          {
            stepId: 'first',
            run: async (context) => {
              calls.push('first');
              if (calls.length === 1) await new Promise<void>((r) => (release = r));
              return createContext('Out', { from: context.contextId });
            },
          },
          { stepId: 'second', run: (context) => context },
        ],
      });
      const store = createMemoryStore();
      const taskId = newTaskId('defined');
      const first = createRuntime({ store, workflows: [workflow] });
      await first.start(workflow, 1, { taskId });
      await delay(20);
      await first.close(); // the step is in flight: a child of the checkpoint
      release();
      const before = await head(store, taskId);

      // A checkpoint whose step actor names a src the machine does not have is refused...
      const renamed: WorkflowMigrate = (state) => {
        const snapshot = structuredClone(state.snapshot) as unknown as {
          children: Record<string, { src: string }>;
        };
        const ids = Object.keys(snapshot.children);
        expect(ids).toHaveLength(1);
        for (const id of ids) snapshot.children[id] = { ...snapshot.children[id], src: 'gone' };
        return { ...state, snapshot: snapshot as never };
      };
      const refusing = createRuntime({
        store,
        workflows: [{ ...workflow, version: '2', migrate: renamed }],
      });
      const error = await refusing.resume(taskId).catch((e: unknown) => e);
      expect(isOrchestrationError(error, 'WORKFLOW_MISMATCH')).toBe(true);
      expect((error as Error).message).toContain("(src 'gone')");
      expect(await head(store, taskId)).toEqual(before);
      await refusing.close();

      // ...and the checkpoint as it is resumes: the step in flight runs again.
      const runtime = createRuntime({ store, workflows: [workflow] });
      const run = await runtime.resume(taskId);
      expect(await settledWithin(run, 1000)).toBe('completed');
      expect(calls).toEqual(['first', 'first']);
      await runtime.close();
    });
  });

  it('a migrate hook that throws is a WorkflowMismatchError with its error as cause', async () => {
    const wait = (version: string, migrate?: WorkflowMigrate) =>
      defineMachineWorkflow({
        id: 'waiter',
        version,
        ...(migrate === undefined ? {} : { migrate }),
        machine: setup({}).createMachine({
          initial: 'waiting',
          states: { waiting: { tags: ['suspended'], on: { go: 'done' } }, done: { type: 'final' } },
        }),
      });
    const store = createMemoryStore();
    const taskId = newTaskId('migrate');
    const first = createRuntime({ store });
    const suspended = checkpointed(first, taskId, 'suspended');
    await first.start(wait('1'), {}, { taskId });
    await suspended;
    await first.close();
    const before = await head(store, taskId);

    const boom = new Error('boom');
    const throwing = createRuntime({
      store,
      workflows: [
        wait('2', () => {
          throw boom;
        }),
      ],
    });
    const error = await throwing.resume(taskId).catch((e: unknown) => e);
    expect(isOrchestrationError(error, 'WORKFLOW_MISMATCH')).toBe(true);
    expect(error).toMatchObject({ taskId, workflowId: 'waiter', workflowVersion: '2' });
    expect((error as Error).cause).toBe(boom);
    expect((error as Error).message).toContain('migrate hook (from version 1) threw: boom');
    expect(await head(store, taskId)).toEqual(before);
    await throwing.close();

    // A hook's own orchestration error says why itself: passed on as it is.
    const refusal = new UnknownTaskError('elsewhere');
    const refusing = createRuntime({
      store,
      workflows: [
        wait('2', async () => {
          throw refusal;
        }),
      ],
    });
    expect(await refusing.resume(taskId).catch((e: unknown) => e)).toBe(refusal);
    expect(await head(store, taskId)).toEqual(before);
    await refusing.close();
  });
});

describe('a hand-written machine that fails computing its first state', () => {
  it('fails the start with WORKFLOW_FAILED and its error as cause; nothing is written', async () => {
    const broken = defineMachineWorkflow({
      id: 'broken-start',
      version: '1',
      machine: setup({}).createMachine({
        context: () => {
          throw new Error('payment API rejected the card');
        },
        initial: 'idle',
        states: { idle: {} },
      }),
    });
    const store = createMemoryStore();
    const runtime = createRuntime({ store });
    const taskId = newTaskId('broken');
    const error = await runtime.start(broken, {}, { taskId }).catch((e: unknown) => e);
    expect(isOrchestrationError(error, 'WORKFLOW_FAILED')).toBe(true);
    expect((error as Error).message).toContain('payment API rejected the card');
    expect((error as Error).cause).toMatchObject({ message: 'payment API rejected the card' });
    expect(await store.head(taskId)).toBe(0);
    expect(await runtime.status(taskId)).toBeUndefined();
    await runtime.close();
  });
});

describe("a hand-written machine's hooks", () => {
  /** Waits at `w` for `go`, then is done with output `{ n: 1 }`. */
  const waitMachine = () =>
    setup({}).createMachine({
      initial: 'w',
      context: { n: 1 },
      states: { w: { tags: ['suspended'], on: { go: 'd' } }, d: { type: 'final' } },
      output: ({ context }) => ({ n: context.n }),
    });

  /** Starts `workflow`, sends `go` once suspended; the run and its runtime. */
  async function runToGo(workflow: AnyWorkflow, store: CheckpointStore) {
    const runtime = createRuntime({ store, workflows: [workflow] });
    const taskId = newTaskId('hook');
    const suspended = checkpointed(runtime, taskId, 'suspended');
    const run = await runtime.start(workflow, {}, { taskId });
    await suspended;
    await runtime.send(taskId, { type: 'go' });
    return { runtime, run, taskId };
  }
  type AnyWorkflow = Parameters<Runtime['start']>[0];

  /** The task failed for good: final error checkpoint, no recover, resume rejects the same. */
  async function expectFailedForGood(store: CheckpointStore, runtime: Runtime, taskId: string) {
    const states = await checkpointsOf(store, taskId);
    expect(states.at(-1)?.status).toBe('error');
    expect(states.at(-1)?.snapshot).toBeUndefined();
    const report = await runtime.recover();
    expect(report.resumed.map((r) => r.taskId)).not.toContain(taskId);
    const again = await createRuntime({ store }).resume(taskId);
    await expect(again.result).rejects.toMatchObject({ code: 'WORKFLOW_FAILED' });
    return states;
  }

  it('an output hook that throws fails the task (WORKFLOW_FAILED with the cause), for good', async () => {
    const boom = new Error('hook boom');
    const workflow = defineMachineWorkflow({
      id: 'output-throws',
      version: '1',
      machine: waitMachine(),
      output: () => {
        throw boom;
      },
    });
    const store = createMemoryStore();
    const { runtime, run, taskId } = await runToGo(workflow, store);
    const error = await run.result.catch((e: unknown) => e);
    expect(isOrchestrationError(error, 'WORKFLOW_FAILED')).toBe(true);
    expect((error as Error).cause).toBe(boom);
    expect(error).toMatchObject({ failure: { message: 'hook boom' } });
    expect(await runtime.status(taskId)).toMatchObject({ status: 'error', waitingFor: [] });
    await expectFailedForGood(store, runtime, taskId);
    await runtime.close();
  });

  it('an output hook that gives no context fails the task instead of completing it', async () => {
    for (const given of [{ foo: 1 }, 'hello', undefined]) {
      const workflow = defineMachineWorkflow({
        id: 'output-plain',
        version: '1',
        machine: waitMachine(),
        output: () => given as never,
      });
      const store = createMemoryStore();
      const { runtime, run, taskId } = await runToGo(workflow, store);
      const error = await run.result.catch((e: unknown) => e);
      expect(isOrchestrationError(error, 'WORKFLOW_FAILED')).toBe(true);
      expect(error).toMatchObject({ failure: { code: 'CONTEXT_VALIDATION' } });
      expect(isOrchestrationError((error as Error).cause, 'CONTEXT_VALIDATION')).toBe(true);
      await expectFailedForGood(store, runtime, taskId);
      await runtime.close();
    }
  });

  it('an output hook that gives a context completes, and the result reads back the same', async () => {
    const workflow = defineMachineWorkflow({
      id: 'output-context',
      version: '1',
      machine: waitMachine(),
      output: (output, taskId) => ({
        contextId: `${taskId}_mapped`,
        contextType: 'Mapped',
        data: output as { n: number },
        metadata: {},
      }),
    });
    const store = createMemoryStore();
    const { runtime, run, taskId } = await runToGo(workflow, store);
    const result = await run.result;
    expect(result).toMatchObject({ contextType: 'Mapped', data: { n: 1 } });
    const again = await createRuntime({ store }).resume(taskId);
    expect(await again.result).toEqual(result);
    await runtime.close();
  });

  it('a suspended or contexts hook that throws fails the task for good', async () => {
    for (const hook of ['suspended', 'contexts'] as const) {
      let armed = false;
      const boom = new Error(`${hook} boom`);
      const workflow = defineMachineWorkflow({
        id: `hook-${hook}`,
        version: '1',
        // `go` leads to a state that is not final (hooks see active snapshots).
        machine: setup({}).createMachine({
          initial: 'w',
          states: {
            w: { tags: ['suspended'], on: { go: 'next' } },
            next: { tags: ['suspended'], on: { go: 'd' } },
            d: { type: 'final' },
          },
        }),
        [hook]: (snapshot: { hasTag(tag: string): boolean }) => {
          if (armed) throw boom;
          return hook === 'suspended' ? snapshot.hasTag('suspended') : {};
        },
      });
      const store = createMemoryStore();
      const runtime = createRuntime({ store, workflows: [workflow] });
      const taskId = newTaskId(hook);
      const suspended = checkpointed(runtime, taskId, 'suspended');
      const run = await runtime.start(workflow, {}, { taskId });
      await suspended;
      armed = true;
      await runtime.send(taskId, { type: 'go' });
      const error = await run.result.catch((e: unknown) => e);
      expect(isOrchestrationError(error, 'WORKFLOW_FAILED')).toBe(true);
      expect((error as Error).cause).toBe(boom);
      armed = false;
      await expectFailedForGood(store, runtime, taskId);
      await runtime.close();
    }
  });
});

describe('runtime.send with a wrong event argument', () => {
  it('is a TypeError naming the argument, for either kind of workflow', async () => {
    const defined = defineWorkflow({
      id: 'send-defined',
      version: '1',
      steps: [{ stepId: 'w', waitFor: { event: 'go' } }],
    });
    const machine = defineMachineWorkflow({
      id: 'send-machine',
      version: '1',
      machine: setup({}).createMachine({
        initial: 'w',
        states: { w: { tags: ['suspended'], on: { go: 'd' } }, d: { type: 'final' } },
      }),
    });
    const runtime = createRuntime({ store: createMemoryStore() });
    for (const workflow of [defined, machine]) {
      const taskId = newTaskId('send');
      const suspended = checkpointed(runtime, taskId, 'suspended');
      await runtime.start(workflow, 1, { taskId });
      await suspended;
      for (const [event, says] of [
        [null, /^event must be an object .*not null/],
        ['go', /^event must be an object .*not string/],
        [[], /^event must be an object .*not an array/],
        [{ type: 5 }, /^event\.type must be a string, not number/],
        // An XState-style payload beside `type` would be dropped unseen.
        [{ type: 'go', approved: true, by: 'ann' }, /put its payload in data.*"approved", "by"/],
      ] as const) {
        const error = await runtime.send(taskId, event as never).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(TypeError);
        expect((error as Error).message).toMatch(says);
      }
      // Still waiting: the right event goes through.
      await runtime.send(taskId, { type: 'go' });
    }
    await runtime.close();
  });
});
