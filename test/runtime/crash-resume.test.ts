import { createRuntime, getCheckpointManager, type Workflow } from 'mcp-orchestration';
import { afterEach, describe, expect, it } from 'vitest';
import { chainStepIds, chainWorkflow } from './chain-workflow.js';
import { type Calls, crashTrials, newTaskId, STORES, type TestStore } from './helpers.js';

// An in-process crash: the first runtime is closed (its actors stop, nothing more is written,
// as if the process died) at a random moment; a NEW runtime on the same store resumes the task.

function counted(calls: Calls, onRun?: (stepId: string, count: number) => void) {
  return chainWorkflow({
    before: 4,
    after: 4,
    regions: 3,
    perRegion: 3,
    ms: (stepId) => (stepId.startsWith('r') ? 1 + Number(stepId[1]) * 2 : 1),
    onRun: (stepId) => {
      calls[stepId] = (calls[stepId] ?? 0) + 1;
      onRun?.(stepId, calls[stepId] ?? 0);
    },
  });
}

async function reference(store: TestStore): Promise<{ items: unknown; checkpoints: number }> {
  const runtime = createRuntime({ store: store.store });
  const taskId = newTaskId('reference');
  const run = await runtime.start(counted({}), { items: [] }, { taskId });
  const output = await run.result;
  return { items: output.data, checkpoints: run.status().seq ?? 0 };
}

/** The steps the task's latest checkpoint records as complete. */
async function committedSteps(store: TestStore, taskId: string): Promise<Set<string>> {
  const manager = await getCheckpointManager(store.store);
  const state = await manager.loadLatestCheckpoint(taskId);
  return new Set(state?.plan.filter((s) => s.isComplete).map((s) => s.stepId));
}

async function resumeAndCheck(
  store: TestStore,
  workflow: Workflow,
  taskId: string,
  calls: Calls,
  expected: unknown,
) {
  const committed = await committedSteps(store, taskId);
  const before = { ...calls };
  const second = createRuntime({ store: await store.reopen(), workflows: [workflow] });
  const run = await second.resume(taskId);
  const output = await run.result;
  expect(output.data).toEqual(expected);
  const steps = chainStepIds(workflow);
  for (const stepId of steps) {
    // Every step ran at least once...
    expect(calls[stepId] ?? 0, stepId).toBeGreaterThanOrEqual(1);
    // ...and a step whose completion was checkpointed never ran again.
    if (committed.has(stepId)) expect(calls[stepId], stepId).toBe(before[stepId]);
    else expect(calls[stepId] ?? 0, stepId).toBeLessThanOrEqual((before[stepId] ?? 0) + 1);
  }
  // Only steps in flight at the crash ran twice: at most one per lane.
  const twice = steps.filter((stepId) => (calls[stepId] ?? 0) > 1);
  expect(twice.length).toBeLessThanOrEqual(3);
  return { run, twice };
}

describe.each(['memory', 'file'] as const)('crash and resume on the %s store', (kind) => {
  let store: TestStore | undefined;
  afterEach(async () => {
    await store?.cleanup();
    store = undefined;
  });

  it('stopped right after a random checkpoint, a new runtime finishes with the same output', async () => {
    const current = await STORES[kind]();
    store = current;
    const { items, checkpoints } = await reference(current);
    await crashTrials(checkpoints, 4, async (crashAt, trial) => {
      const calls: Calls = {};
      const workflow = counted(calls);
      const first = createRuntime({ store: current.store, workflows: [workflow] });
      let saved = 0;
      let closing: Promise<void> | undefined;
      first.subscribe((event) => {
        if (event.type === 'checkpoint.saved' && ++saved === crashAt) closing = first.close();
      });
      const taskId = newTaskId(`crash-${trial}`);
      const run = await first.start(workflow, { items: [] }, { taskId });
      const ended = await run.result.then(
        () => 'completed',
        (error: unknown) => error,
      );
      if (ended === 'completed') {
        // Stopped after its last checkpoint, or never: no more checkpoints than the one drawn.
        await closing;
        expect(saved).toBeLessThanOrEqual(crashAt);
        return saved;
      }
      expect(ended).toMatchObject({ code: 'TASK_NOT_RUNNING' });
      await closing;
      expect((await first.status(taskId))?.live).toBe(false);
      await resumeAndCheck(current, workflow, taskId, calls, items);
      return undefined;
    });
  });

  it('stopped while a random step is in flight, that step runs again and nothing else does', async () => {
    store = await STORES[kind]();
    const { items } = await reference(store);
    const steps = chainStepIds(counted({}));
    for (let trial = 0; trial < 4; trial++) {
      const victim = steps[Math.floor(Math.random() * steps.length)] as string;
      const calls: Calls = {};
      let first: ReturnType<typeof createRuntime> | undefined;
      let closing: Promise<void> | undefined;
      const workflow = counted(calls, (stepId, count) => {
        if (stepId === victim && count === 1) closing = first?.close();
      });
      first = createRuntime({ store: store.store, workflows: [workflow] });
      const taskId = newTaskId(`inflight-${trial}`);
      const run = await first.start(workflow, { items: [] }, { taskId });
      await expect(run.result).rejects.toMatchObject({ code: 'TASK_NOT_RUNNING' });
      await closing;
      const { twice } = await resumeAndCheck(store, workflow, taskId, calls, items);
      expect(twice).toContain(victim);
    }
  });

  it('lineage survives the crash: one origin, every step logged, the merge with three parents', async () => {
    store = await STORES[kind]();
    const calls: Calls = {};
    let first: ReturnType<typeof createRuntime> | undefined;
    let closing: Promise<void> | undefined;
    const workflow = counted(calls, (stepId, count) => {
      if (stepId === 'z02' && count === 1) closing = first?.close();
    });
    first = createRuntime({ store: store.store, workflows: [workflow] });
    const taskId = newTaskId('crash-lineage');
    const run = await first.start(workflow, { items: [] }, { taskId });
    await run.result.catch(() => undefined);
    await closing;
    const second = createRuntime({ store: await store.reopen(), workflows: [workflow] });
    const output = await (await second.resume(taskId)).result;
    const lineage = await second.lineage(taskId);
    const log = lineage.getFullTransitionLog();
    const produced = log.map((t) => t.toContextId);
    for (const stepId of chainStepIds(workflow)) {
      expect(produced, stepId).toContain(`${taskId}_${stepId}`);
    }
    expect(lineage.findOriginatingContexts(output.contextId)).toEqual([`${taskId}_input`]);
    const merge = log.find((t) => t.operation === 'merge');
    expect(merge?.fromContextIds).toEqual([
      `${taskId}_r0s03`,
      `${taskId}_r1s03`,
      `${taskId}_r2s03`,
    ]);
    // The seqs are contiguous: nothing lost, nothing forked.
    expect(log.map((t) => t.seq)).toEqual(log.map((_, i) => i));
  });
});
