import {
  type Context,
  ContextFlowManager,
  createContext,
  createRuntime,
  createWorkflowState,
  defineMachineWorkflow,
  defineTool,
  defineWorkflow,
  getCheckpointManager,
  isOrchestrationError,
  type ToolTarget,
  type WorkflowMigrate,
} from 'mcp-orchestration';
import { createMemoryStore } from 'mcp-orchestration/memory';
import { afterEach, describe, expect, it } from 'vitest';
import { assign, setup } from 'xstate';
import { newTaskId, reviewWorkflow, STORES, type TestStore } from './helpers.js';

let current: TestStore | undefined;
afterEach(async () => {
  await current?.cleanup();
  current = undefined;
});

/** A task of review v1 left suspended at its approval step, its runtime closed. */
async function suspendedReview(store: TestStore): Promise<string> {
  const runtime = createRuntime({ store: store.store });
  const taskId = newTaskId('v1');
  const suspended = new Promise<void>((resolve) => {
    runtime.subscribe((e) => {
      if (e.type === 'checkpoint.saved' && e.status === 'suspended') resolve();
    });
  });
  const run = await runtime.start(reviewWorkflow({}, '1.0.0'), 'text', { taskId });
  await suspended;
  await runtime.close();
  await run.result.catch(() => undefined);
  return taskId;
}

describe('unknown task ids', () => {
  it('resume, send, cancel and lineage refuse one with a typed error; status is undefined', async () => {
    current = await STORES.memory();
    const runtime = createRuntime({ store: current.store });
    for (const attempt of [
      runtime.resume('ghost'),
      runtime.send('ghost', { type: 'x' }),
      runtime.cancel('ghost'),
      runtime.lineage('ghost'),
    ]) {
      const error = await attempt.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isOrchestrationError(error, 'TASK_NOT_FOUND')).toBe(true);
      expect((error as Error).message).toContain('ghost');
    }
    expect(await runtime.status('ghost')).toBeUndefined();
    const invalid = await runtime.resume('../etc').catch((e) => e);
    expect(isOrchestrationError(invalid, 'INVALID_ID')).toBe(true);
  });

  it("refuses to start, pause or cancel under a router actor's task id (router.*)", async () => {
    current = await STORES.memory();
    const runtime = createRuntime({ store: current.store });
    // A persisted router's checkpoint: only its router writes there.
    await current.store.save({
      taskId: 'router.router',
      checkpointId: 'r1',
      createdAt: 1,
      body: '{}',
    });
    const calls = [
      () => runtime.start(reviewWorkflow({}, '1.0.0'), 'text', { taskId: 'router.router' }),
      () => runtime.pause('router.router'),
      () => runtime.cancel('router.router'),
    ];
    for (const call of calls) {
      const refused = await call().catch((e) => e);
      expect(isOrchestrationError(refused, 'INVALID_ID')).toBe(true);
      expect((refused as Error).message).toContain('persisted router actors');
    }
    expect(await current.store.head('router.router')).toBe(1);
    await runtime.close();
  });
});

describe('the input of a run', () => {
  it('is a context only with the four fields of one; JSON with contextId/contextType fields is data', async () => {
    const runtime = createRuntime({ store: createMemoryStore() });
    const echo = defineWorkflow({
      id: 'echo',
      version: '1',
      steps: [{ stepId: 's', run: (context: Context) => context }],
    });
    const data = { contextId: 'ctx-from-upstream', contextType: 'chat', text: 'hello' };
    const run = await runtime.start(echo, data, { taskId: newTaskId('input') });
    await expect(run.result).resolves.toMatchObject({ contextType: 'InputContext', data });
    // A context carried as JSON (not frozen) is still taken as the context it is.
    const carried = JSON.parse(JSON.stringify(createContext('Chat', { text: 'hi' })));
    const again = await runtime.start(echo, carried, { taskId: newTaskId('input') });
    await expect(again.result).resolves.toMatchObject({
      contextId: carried.contextId,
      contextType: 'Chat',
    });
    await runtime.close();
  });
});

describe('a task whose checkpoints were all deleted', () => {
  // It keeps its sequence and lineage (the store contract), so it can be neither resumed nor
  // started again: start said "already has checkpoints; resume it", and resume that it was unknown.
  it('start refuses it, ifExists resume too, naming deleteTask; once deleted it starts again', async () => {
    current = await STORES.memory();
    const taskId = await suspendedReview(current);
    const manager = await getCheckpointManager(current.store);
    expect(await manager.deleteOldCheckpoints(taskId, { keepLatest: 0 })).toBeGreaterThan(0);
    const runtime = createRuntime({ store: current.store });
    const workflow = reviewWorkflow({}, '1.0.0');
    for (const ifExists of ['fail', 'resume'] as const) {
      const refused = await runtime.start(workflow, 'text', { taskId, ifExists }).catch((e) => e);
      expect(isOrchestrationError(refused, 'TASK_EXISTS')).toBe(true);
      expect(refused).toMatchObject({ taskId, running: false, hasCheckpoints: false });
      expect((refused as Error).message).toBe(
        `Task ${taskId} has no checkpoint left to resume (deleted or expired), but its records remain (its lineage or sequence); delete the task (CheckpointManager.deleteTask) to start it again, or use another task id`,
      );
    }
    expect(await current.store.head(taskId)).toBeGreaterThan(0); // nothing written
    expect(await manager.deleteTask(taskId)).toBe(true);
    const run = await runtime.start(workflow, 'text', { taskId });
    expect(run.taskId).toBe(taskId);
    await runtime.close();
    await run.result.catch(() => undefined);
  });

  it('a task whose checkpoints expired keeps its lineage: refused too, until deleted', async () => {
    // A new run's lineage starts at seq 0 again: appended after the old one, the log repeated
    // seqs (CorruptRecordError at the next resume) or lost the new transitions.
    let clock = Date.now();
    const store = createMemoryStore({ now: () => clock });
    const manager = await getCheckpointManager(store);
    const taskId = newTaskId('expired');
    await manager.saveCheckpoint(createWorkflowState({ taskId }), { ttl: 60 });
    const flow = new ContextFlowManager({ workflowId: taskId });
    flow.logTransition({
      toContext: createContext('Text', 'old'),
      componentName: 'loader',
      operation: 'input',
    });
    expect(await manager.saveLineage(taskId, flow)).toBe(1);
    clock += 61_000;
    expect(await store.head(taskId)).toBe(0);
    const runtime = createRuntime({ store });
    const workflow = reviewWorkflow({}, '1.0.0');
    for (const ifExists of ['fail', 'resume'] as const) {
      const refused = await runtime.start(workflow, 'text', { taskId, ifExists }).catch((e) => e);
      expect(refused).toMatchObject({ code: 'TASK_EXISTS', running: false, hasCheckpoints: false });
    }
    expect(await store.head(taskId)).toBe(0); // nothing written
    expect(await manager.deleteTask(taskId)).toBe(true);
    const run = await runtime.start(workflow, 'text', { taskId });
    await runtime.close();
    await run.result.catch(() => undefined);
    expect((await manager.loadLineage(taskId))[0]).toMatchObject({ seq: 0, operation: 'input' });
  });

  it('a task with checkpoints is still refused as one to resume', async () => {
    current = await STORES.memory();
    const taskId = await suspendedReview(current);
    const runtime = createRuntime({ store: current.store });
    const refused = await runtime
      .start(reviewWorkflow({}, '1.0.0'), 'text', { taskId })
      .catch((e) => e);
    expect(refused).toMatchObject({ code: 'TASK_EXISTS', running: false, hasCheckpoints: true });
    expect((refused as Error).message).toContain('already has checkpoints; resume it');
    await runtime.close();
  });
});

describe('workflow versions', () => {
  it('refuses a checkpoint of another version, naming both', async () => {
    current = await STORES.memory();
    const taskId = await suspendedReview(current);
    const runtime = createRuntime({
      store: current.store,
      workflows: [reviewWorkflow({}, '2.0.0')],
    });
    const error = await runtime.resume(taskId).catch((e) => e);
    expect(isOrchestrationError(error, 'WORKFLOW_VERSION')).toBe(true);
    expect(error).toMatchObject({
      workflowId: 'review',
      checkpointVersion: '1.0.0',
      workflowVersion: '2.0.0',
    });
    expect(error.message).toContain('1.0.0');
    expect(error.message).toContain('2.0.0');
    // Nothing was written.
    expect((await runtime.status(taskId))?.seq).toBe(3);
  });

  it('a migrate hook on the runtime or on the workflow upgrades it', async () => {
    current = await STORES.memory();
    const seen: unknown[] = [];
    const migrate: WorkflowMigrate = (state, versions) => {
      seen.push(versions);
      return state; // the snapshot fits v2: the states did not change
    };
    for (const where of ['runtime', 'workflow'] as const) {
      const taskId = await suspendedReview(current);
      const v2 = reviewWorkflow({}, '2.0.0');
      const runtime =
        where === 'runtime'
          ? createRuntime({ store: current.store, workflows: [v2], migrate })
          : createRuntime({ store: current.store, workflows: [{ ...v2, migrate }] });
      const run = await runtime.resume(taskId);
      await runtime.send(taskId, { type: 'approval', data: { ok: true, reviewer: where } });
      expect((await run.result).data).toEqual({ published: true, reviewer: where });
      const manager = await getCheckpointManager(current.store);
      expect((await manager.loadLatestCheckpoint(taskId))?.machine).toEqual({
        id: 'review',
        version: '2.0.0',
      });
    }
    expect(seen).toEqual([
      { from: '1.0.0', to: '2.0.0', workflowId: 'review' },
      { from: '1.0.0', to: '2.0.0', workflowId: 'review' },
    ]);
  });

  it('refuses a checkpoint its machine cannot restore, and a migrate that changes the task id', async () => {
    current = await STORES.memory();
    const taskId = await suspendedReview(current);
    const v1 = reviewWorkflow({}, '1.0.0');
    // The step the checkpoint waits at renamed under the same version.
    const renamed = defineWorkflow({
      id: 'review',
      version: '1.0.0',
      steps: v1.steps.map((step) =>
        step.stepId === 'approve' ? { ...step, stepId: 'approval' } : step,
      ),
    });
    const error = await createRuntime({ store: current.store, workflows: [renamed] })
      .resume(taskId)
      .catch((e) => e);
    expect(isOrchestrationError(error, 'WORKFLOW_MISMATCH')).toBe(true);
    expect(error).toMatchObject({ taskId, workflowId: 'review', workflowVersion: '1.0.0' });
    expect(error.message).toContain("'approve'");

    const moved: WorkflowMigrate = (state) => ({ ...state, taskId: 'another_task' });
    const v2 = { ...reviewWorkflow({}, '2.0.0'), migrate: moved };
    const runtime = createRuntime({ store: current.store, workflows: [v2] });
    const refused = await runtime.resume(taskId).catch((e) => e);
    expect(isOrchestrationError(refused, 'CONTEXT_VALIDATION')).toBe(true);
    expect(refused.message).toContain('$.taskId');
    // Nothing was written, and the task is as it was.
    expect(await runtime.status(taskId)).toMatchObject({ taskId, status: 'suspended', seq: 3 });
    await runtime.close();
  });

  it('refuses a checkpoint whose workflow is not registered', async () => {
    current = await STORES.memory();
    const taskId = await suspendedReview(current);
    const error = await createRuntime({ store: current.store })
      .resume(taskId)
      .catch((e) => e);
    expect(isOrchestrationError(error, 'WORKFLOW_NOT_FOUND')).toBe(true);
    expect(error.workflowId).toBe('review');
  });
});

describe('a step returning a non-JSON value', () => {
  it('fails the workflow with a typed error recorded in the error checkpoint', async () => {
    current = await STORES.memory();
    const workflow = defineWorkflow({
      id: 'non-json',
      version: '1',
      steps: [
        { stepId: 'ok', run: (c) => c },
        {
          stepId: 'bad',
          run: (c) =>
            ({ ...c, contextId: 'bad-result', data: { when: new Date(0) } }) as unknown as Context,
        },
        { stepId: 'never', run: (c) => c },
      ],
    });
    const runtime = createRuntime({ store: current.store, now: () => 1234 });
    const taskId = newTaskId('nonjson');
    const run = await runtime.start(workflow, { a: 1 }, { taskId });
    const error = await run.result.catch((e) => e);
    expect(isOrchestrationError(error, 'WORKFLOW_FAILED')).toBe(true);
    expect(error.failure).toMatchObject({
      stepId: 'bad',
      name: 'NonJsonValueError',
      code: 'NON_JSON_VALUE',
      attempts: 1,
    });
    const manager = await getCheckpointManager(current.store);
    const state = await manager.loadLatestCheckpoint(taskId);
    expect(state?.status).toBe('error');
    expect(state?.currentStepIndex).toBe(1);
    expect(state?.metadata).toMatchObject({
      error: error.failure.message,
      errorTime: 1234,
      failure: { stepId: 'bad', code: 'NON_JSON_VALUE' },
    });
    expect(await runtime.status(taskId)).toMatchObject({
      status: 'error',
      currentStepId: 'bad',
      error: { stepId: 'bad', code: 'NON_JSON_VALUE' },
    });
    // Resuming a failed task gives its failure again, and runs nothing.
    const again = await runtime.resume(taskId);
    await expect(again.result).rejects.toMatchObject({ code: 'WORKFLOW_FAILED' });
  });
});

describe('a step result the store cannot hold', () => {
  it('fails the task at that step, so that recover does not run it into the same error again', async () => {
    const store = createMemoryStore({ maxRecordBytes: 20_000 });
    current = { store, reopen: async () => store, cleanup: () => store.close() };
    const calls: Record<string, number> = {};
    const count = (stepId: string) => (c: Context) => {
      calls[stepId] = (calls[stepId] ?? 0) + 1;
      return stepId === 'big' ? createContext('Big', { text: 'x'.repeat(50_000) }) : c;
    };
    const workflow = defineWorkflow({
      id: 'too-big',
      version: '1',
      steps: ['small', 'big', 'never'].map((stepId) => ({ stepId, run: count(stepId) })),
    });
    const runtime = createRuntime({ store, workflows: [workflow] });
    const taskId = newTaskId('big');
    const run = await runtime.start(workflow, { a: 1 }, { taskId });
    const error = await run.result.catch((e) => e);
    expect(isOrchestrationError(error, 'WORKFLOW_FAILED')).toBe(true);
    expect(error.failure).toMatchObject({ stepId: 'big', code: 'RECORD_TOO_LARGE', attempts: 1 });
    const manager = await getCheckpointManager(store);
    const state = await manager.loadLatestCheckpoint(taskId);
    expect(state?.status).toBe('error');
    expect(state?.snapshot).toBeUndefined();
    expect(state?.metadata).toMatchObject({ failure: { stepId: 'big', code: 'RECORD_TOO_LARGE' } });
    const report = await runtime.recover();
    expect(report.resumed).toEqual([]);
    expect(calls).toEqual({ small: 1, big: 1 });
    await runtime.close();
  });

  it('fails a hand-written machine whose context takes a value JSON cannot carry', async () => {
    current = await STORES.memory();
    const machine = setup({
      types: { context: {} as { n: number; when?: Date }, events: {} as { type: 'go' } },
    }).createMachine({
      id: 'dated',
      context: { n: 1 },
      initial: 'idle',
      states: {
        idle: {
          tags: ['suspended'],
          on: { go: { target: 'dated', actions: assign({ when: () => new Date(0) }) } },
        },
        dated: { tags: ['suspended'], on: { go: 'done' } },
        done: { type: 'final' },
      },
    });
    const workflow = defineMachineWorkflow({ id: 'dated', version: '1', machine });
    const runtime = createRuntime({ store: current.store });
    const taskId = newTaskId('dated');
    const run = await runtime.start(workflow, { a: 1 }, { taskId });
    await expect.poll(async () => (await runtime.status(taskId))?.status).toBe('suspended');
    await runtime.send(taskId, { type: 'go' });
    const error = await run.result.catch((e) => e);
    expect(isOrchestrationError(error, 'WORKFLOW_FAILED')).toBe(true);
    expect(error.failure).toMatchObject({ stepId: 'dated', code: 'NON_JSON_VALUE' });
    expect(error.failure.message).toContain('$.snapshot.context.when is a Date');
    expect(await runtime.status(taskId)).toMatchObject({ status: 'error', live: false });
    const again = await runtime.resume(taskId);
    await expect(again.result).rejects.toMatchObject({ code: 'WORKFLOW_FAILED' });
    await runtime.close();
  });
});

describe('options', () => {
  it('refuses a bad checkpoint policy and a bad ifExists', async () => {
    expect(() => createRuntime({ checkpointPolicy: { every: 0 } })).toThrow(TypeError);
    expect(() => createRuntime({ checkpointPolicy: 'sometimes' as 'every-step' })).toThrow(
      TypeError,
    );
    current = await STORES.memory();
    const runtime = createRuntime({ store: current.store });
    await expect(
      runtime.start(reviewWorkflow(), 1, { taskId: 't', ifExists: 'replace' as 'fail' }),
    ).rejects.toThrow(TypeError);
  });

  // Both were accepted, and refused only at the first start() that needed them.
  it('refuses bad recorder bounds and bad targets or router limits when created', () => {
    expect(() => createRuntime({ record: { maxEvents: 0 } })).toThrow(
      /^maxEvents must be an integer ≥ 1$/,
    );
    expect(() => createRuntime({ record: { maxBytes: 1.5 } })).toThrow(TypeError);
    expect(() => createRuntime({ record: 'yes' as unknown as boolean })).toThrow(TypeError);
    expect(() => createRuntime({ record: { maxEvents: 5 } })).not.toThrow();
    const tool = defineTool({ id: 'lookup', call: (context) => context });
    expect(() => createRuntime({ targets: [tool, tool] })).toThrow(/registered twice/);
    const handMade = { targetType: 'tool', targetId: 'bare' } as unknown as ToolTarget;
    expect(() => createRuntime({ targets: [handMade] })).toThrow(TypeError);
    expect(() => createRuntime({ targets: [tool], routerActor: { maxChildren: 0 } })).toThrow(
      /maxChildren/,
    );
    expect(() => createRuntime({ routerActor: { idleTimeoutMs: 0 } })).toThrow(/idleTimeoutMs/);
    // Beyond what a timer takes, the router's idle sweep would fire every ms.
    expect(() => createRuntime({ routerActor: { idleTimeoutMs: 1e12 } })).toThrow(
      /^idleTimeoutMs must be a number of ms from 1 to 2147483647, or Infinity/,
    );
    for (const idleTimeoutMs of [2_147_483_647, Number.POSITIVE_INFINITY]) {
      expect(() => createRuntime({ routerActor: { idleTimeoutMs } })).not.toThrow();
    }
  });
});
