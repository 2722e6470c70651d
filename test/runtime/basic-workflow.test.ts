import { createRuntime, getCheckpointManager, isOrchestrationError } from 'mcp-orchestration';
import { afterEach, describe, expect, it } from 'vitest';
import {
  basicWorkflow,
  type Calls,
  checkpointsOf,
  newTaskId,
  recorder,
  STORES,
  type TestStore,
} from './helpers.js';

describe.each(['memory', 'file'] as const)(
  'runtime on the %s store: the basic workflow',
  (kind) => {
    let current: TestStore | undefined;
    afterEach(async () => {
      await current?.cleanup();
      current = undefined;
    });

    it('runs parse → process → generate end to end and checkpoints every step', async () => {
      current = await STORES[kind]();
      const { store } = current;
      const calls: Calls = {};
      const workflow = basicWorkflow(calls);
      const runtime = createRuntime({ store });
      const taskId = newTaskId('basic');
      const run = await runtime.start(workflow, { text: 'hello big world' }, { taskId });
      const output = await run.result;
      expect(output.contextType).toBe('ResultContext');
      expect(output.data).toEqual({ summary: '3 words: HELLO BIG WORLD' });
      expect(calls).toEqual({ parse: 1, process: 1, generate: 1 });

      const states = await checkpointsOf(store, taskId);
      // The start, one per step boundary, and the final one.
      expect(states.map((s) => s.status)).toEqual([
        'running',
        'running',
        'running',
        'running',
        'completed',
      ]);
      expect(states.map((s) => s.checkpoint?.seq)).toEqual([1, 2, 3, 4, 5]);
      expect(states.map((s) => s.currentStepIndex)).toEqual([0, 0, 1, 2, 2]);
      expect(states.map((s) => s.plan.map((step) => step.isComplete))).toEqual([
        [false, false, false],
        [true, false, false],
        [true, true, false],
        [true, true, true],
        [true, true, true],
      ]);
      for (const state of states) {
        expect(state.machine).toEqual({ id: 'basic-workflow', version: '1.0.0' });
        expect(state.snapshot).toBeDefined();
        expect(state.plan[0]).toMatchObject({ stepId: 'parse', toolName: 'input_parser' });
      }
      // Each checkpoint after the start holds the commit of one more step.
      expect(states.map((s) => s.checkpoint?.parentId)).toEqual([
        undefined,
        ...states.slice(0, -1).map((s) => s.checkpoint?.checkpointId),
      ]);

      const status = await runtime.status(taskId);
      expect(status).toMatchObject({
        taskId,
        workflowId: 'basic-workflow',
        status: 'completed',
        live: false,
        currentStepId: 'generate',
        currentStepIndex: 2,
        seq: 5,
        checkpointId: states.at(-1)?.checkpoint?.checkpointId,
      });
    });

    it('logs the lineage of every context and persists it with the checkpoints', async () => {
      current = await STORES[kind]();
      const { store } = current;
      const workflow = basicWorkflow();
      const runtime = createRuntime({ store });
      const taskId = newTaskId('lineage');
      const run = await runtime.start(workflow, { text: 'a b' }, { taskId });
      const output = await run.result;
      const log = run.lineage.getFullTransitionLog();
      expect(
        log.map((t) => [t.componentName, t.operation, t.fromContextIds, t.toContextId]),
      ).toEqual([
        ['WorkflowRuntime', 'input', [], `${taskId}_input`],
        ['input_parser', 'parse', [`${taskId}_input`], `${taskId}_step_0`],
        ['data_processor', 'process', [`${taskId}_step_0`], `${taskId}_step_1`],
        ['result_generator', 'generate', [`${taskId}_step_1`], `${taskId}_step_2`],
      ]);
      expect(run.lineage.findOriginatingContext(output.contextId)).toBe(`${taskId}_input`);
      // Persisted append-only beside the checkpoints, readable from another runtime.
      const manager = await getCheckpointManager(store);
      expect(await manager.loadLineage(taskId)).toEqual(log);
      const other = createRuntime({ store });
      const loaded = await other.lineage(taskId);
      expect(loaded.getFullTransitionLog()).toEqual(log);
    });

    it('reports progress: steps started and completed, checkpoints, status changes', async () => {
      current = await STORES[kind]();
      const runtime = createRuntime({ store: current.store });
      const { events, listener } = recorder();
      const unsubscribe = runtime.subscribe(listener);
      const taskId = newTaskId('progress');
      const run = await runtime.start(basicWorkflow(), { text: 'x' }, { taskId });
      await run.result;
      unsubscribe();
      const steps = events
        .filter((e) => e.type === 'step.started' || e.type === 'step.completed')
        .map((e) => `${e.type}:${'stepId' in e ? e.stepId : ''}`);
      expect(steps).toEqual([
        'step.started:parse',
        'step.completed:parse',
        'step.started:process',
        'step.completed:process',
        'step.started:generate',
        'step.completed:generate',
      ]);
      const saved = events.filter((e) => e.type === 'checkpoint.saved');
      expect(saved.map((e) => ('seq' in e ? e.seq : 0))).toEqual([1, 2, 3, 4, 5]);
      const statuses = events.flatMap((e) => (e.type === 'status.changed' ? [e.status] : []));
      expect(statuses).toEqual(['running', 'completed']);
      expect(events.every((e) => e.taskId === taskId)).toBe(true);
    });

    it('never starts a second copy of a task', async () => {
      current = await STORES[kind]();
      const runtime = createRuntime({ store: current.store });
      const workflow = basicWorkflow({}, { ms: 20 });
      const taskId = newTaskId('twice');
      const first = await runtime.start(workflow, { text: 'one' }, { taskId });
      // Running here: refused, or the same run with ifExists: 'resume'.
      const refused = await runtime.start(workflow, { text: 'two' }, { taskId }).catch((e) => e);
      expect(isOrchestrationError(refused, 'TASK_EXISTS')).toBe(true);
      expect(refused.running).toBe(true);
      expect(await runtime.start(workflow, { text: 'two' }, { taskId, ifExists: 'resume' })).toBe(
        first,
      );
      const output = await first.result;
      // It has checkpoints: another runtime refuses too, or resumes (here: the finished run).
      const other = createRuntime({ store: current.store });
      const again = await other.start(workflow, { text: 'three' }, { taskId }).catch((e) => e);
      expect(isOrchestrationError(again, 'TASK_EXISTS')).toBe(true);
      expect(again.running).toBe(false);
      const resumed = await other.start(
        workflow,
        { text: 'three' },
        { taskId, ifExists: 'resume' },
      );
      expect(await resumed.result).toEqual(output);
      expect(resumed.status().status).toBe('completed');
    });

    it('close stops the runs started while it closes; the runtime runs tasks again after', async () => {
      current = await STORES[kind]();
      const runtime = createRuntime({ store: current.store });
      const workflow = basicWorkflow({}, { ms: 20 });
      const before = await runtime.start(workflow, { text: 'one' }, { taskId: newTaskId('a') });
      const closing = runtime.close();
      const during = runtime.start(workflow, { text: 'two' }, { taskId: newTaskId('b') });
      await closing;
      for (const run of [before, await during]) {
        expect(run.status().live).toBe(false);
        await expect(run.result).rejects.toMatchObject({ code: 'TASK_NOT_RUNNING' });
      }
      // Their tasks stay resumable, here too.
      const resumed = await runtime.resume((await during).taskId);
      expect((await resumed.result).contextType).toBeDefined();
      await runtime.close();
    });
  },
);
