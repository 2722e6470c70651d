import {
  type Context,
  ContextRouter,
  createContext,
  createRuntime,
  defineAgent,
  defineTool,
  defineWorkerPool,
  defineWorkflow,
  getCheckpointManager,
  isOrchestrationError,
  type Step,
  type WorkflowMachineContext,
} from 'mcp-orchestration';
import { createMemoryStore } from 'mcp-orchestration/memory';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { gate } from '../support/gate.js';

let counter = 0;
const newTaskId = (prefix: string) => `${prefix}-${++counter}`;

/** The seed's basic workflow, every step routed by the type of the lane's context. */
const basic = defineWorkflow({
  id: 'routed-basic',
  version: '1',
  steps: [
    { stepId: 'parse', route: true, action: 'parse' },
    { stepId: 'process', route: true, action: 'process' },
    { stepId: 'generate', route: true, action: 'generate' },
  ],
});

const parser = defineTool({
  id: 'input_parser',
  call: (context) =>
    createContext('ParsedContext', {
      words: String((context.data as { text: string }).text).split(' '),
    }),
});
const counter_pool = defineWorkerPool({
  id: 'data_processor',
  size: 2,
  handler: (context) =>
    createContext('ProcessedContext', {
      count: (context.data as { words: string[] }).words.length,
    }),
});
const writer = defineAgent({
  id: 'result_generator',
  initialState: { reports: 0 },
  process: (context, state) => ({
    result: createContext('ResultContext', {
      summary: `${(context.data as { count: number }).count} words`,
      report: state.reports + 1,
    }),
    state: { reports: state.reports + 1 },
  }),
});

function basicRules(): ContextRouter {
  return new ContextRouter({
    typeBasedRules: {
      InputContext: { targetType: 'tool', targetId: 'input_parser', priority: 1 },
      ParsedContext: { targetType: 'worker_pool', targetId: 'data_processor', priority: 1 },
      ProcessedContext: { targetType: 'agent_type', targetId: 'result_generator', priority: 1 },
    },
  });
}

describe('routed steps', () => {
  it('are typed as one kind: route instead of run, never both', () => {
    expectTypeOf<{ stepId: 'a'; route: true }>().toExtend<Step>();
    // @ts-expect-error a step is exactly one kind
    const both: Step = { stepId: 'a', route: true, run: (context: Context) => context };
    expect(() => defineWorkflow({ id: 'bad', version: '1', steps: [both] })).toThrow(
      /exactly one of run, route/,
    );
  });

  it('have their route.availableTargets checked when the workflow is defined, as rule targets are', () => {
    const define =
      (route: unknown, inRegion = false) =>
      () => {
        const step = { stepId: 's', route } as Step;
        const steps: Step[] = inRegion ? [{ stepId: 'g', parallel: { r: [step] } }] : [step];
        return defineWorkflow({ id: 'checked', version: '1', steps });
      };
    const typeError = (message: string) =>
      new TypeError(`Step s: route.availableTargets${message}`);
    expect(define({ availableTargets: 'tool1' })).toThrow(
      typeError(' must be an array of target ids or { targetType, targetId }, not "tool1"'),
    );
    expect(define({ availableTargets: [null] })).toThrow(
      typeError('[0] must be a target id or { targetType, targetId }, not null'),
    );
    expect(define({ availableTargets: [{ targetType: 'tool' }] })).toThrow(
      typeError('[0].targetId must be a string, not undefined'),
    );
    expect(
      define({ availableTargets: ['ok', { targetType: 'robot', targetId: 'tool1' }] }),
    ).toThrow(typeError('[1].targetType must be agent_type, tool or worker_pool, not "robot"'));
    expect(define({ availableTargets: ['bad id!'] }, true)).toThrow(
      expect.objectContaining({
        code: 'INVALID_ID',
        message: expect.stringMatching(
          /^Invalid target id \(Step s, route\.availableTargets\[0\]\) "bad id!": /,
        ),
      }),
    );
    expect(define({ availableTargets: [{ targetType: 'tool', targetId: '../x' }] })).toThrow(
      expect.objectContaining({
        code: 'INVALID_ID',
        message: expect.stringContaining('(Step s, route.availableTargets[0].targetId) "../x"'),
      }),
    );
    expect(
      define({ availableTargets: ['tool1', { targetType: 'tool', targetId: 'tool2' }] }),
    ).not.toThrow();
    expect(define({ availableTargets: [] }, true)).not.toThrow();
    expect(define({})).not.toThrow();
  });

  it('send the lane context to the target the router picks; its result is the step result', async () => {
    const runtime = createRuntime({
      store: createMemoryStore(),
      router: basicRules(),
      targets: [parser, counter_pool, writer],
    });
    const run = await runtime.start(basic, { text: 'the cat sat' }, { taskId: newTaskId('basic') });
    const result = await run.result;
    expect(result.contextType).toBe('ResultContext');
    expect(result.data).toEqual({ summary: '3 words', report: 1 });
    // The agent keeps its state across workflows of one runtime.
    const second = await runtime.start(basic, { text: 'a b' }, { taskId: newTaskId('basic') });
    expect((await second.result).data).toEqual({ summary: '2 words', report: 2 });
    await runtime.close();
    // Closed, the runtime starts its router again for the next routed run.
    const third = await runtime.start(basic, { text: 'a b c d' }, { taskId: newTaskId('basic') });
    expect((await third.result).data).toMatchObject({ summary: '4 words' });
    await runtime.close();
  });

  it('record why each context went where it went in the lineage', async () => {
    const store = createMemoryStore();
    const runtime = createRuntime({
      store,
      router: basicRules(),
      targets: [parser, counter_pool, writer],
    });
    const taskId = newTaskId('lineage');
    const run = await runtime.start(basic, { text: 'x y' }, { taskId });
    const result = await run.result;
    await runtime.close();
    const lineage = await createRuntime({ store }).lineage(taskId); // read back from the store

    const [made] = lineage.getContextHistory(result.contextId);
    expect(made?.componentName).toBe('agent_type_result_generator');
    expect(made?.operation).toBe('generate');
    expect(made?.metadata.route).toEqual({
      targetType: 'agent_type',
      targetId: 'result_generator',
      priority: 1,
      ruleId: 'type:ProcessedContext',
      reason: expect.stringContaining('ProcessedContext'),
    });
    const components = lineage.getFullTransitionLog().map((t) => t.componentName);
    expect(components).toEqual([
      'WorkflowRuntime',
      'tool_input_parser',
      'worker_pool_data_processor',
      'agent_type_result_generator',
    ]);
  });

  it('record the decision of a target that passes the context on unchanged, once', async () => {
    const validator = defineTool({ id: 'validator', call: (context) => context });
    const router = new ContextRouter({
      typeBasedRules: { Order: { targetType: 'tool', targetId: 'validator', priority: 1 } },
    });
    const store = createMemoryStore();
    const runtime = createRuntime({ store, router, targets: [validator] });
    const taskId = newTaskId('pass-through');
    const workflow = defineWorkflow({
      id: 'routed-pass-through',
      version: '1',
      steps: [
        { stepId: 'make', run: () => createContext('Order', { n: 1 }, { contextId: 'order_1' }) },
        { stepId: 'check', route: true, action: 'validate' },
        { stepId: 'after', run: (context) => createContext('Done', { from: context.contextId }) },
      ],
    });
    const result = await (await runtime.start(workflow, {}, { taskId })).result;
    await runtime.close();
    const lineage = await createRuntime({ store }).lineage(taskId);
    const log = lineage.getFullTransitionLog();
    // The order went to the validator and came back as itself: one transition says so and why.
    const checked = log.filter((t) => t.componentName === 'tool_validator');
    expect(checked).toHaveLength(1);
    expect(checked[0]).toMatchObject({
      toContextId: 'order_1',
      fromContextIds: ['order_1'],
      operation: 'validate',
      metadata: { stepId: 'check', route: { targetId: 'validator', ruleId: 'type:Order' } },
    });
    expect(log.map((t) => t.componentName)).toEqual([
      'WorkflowRuntime',
      'make',
      'tool_validator',
      'after',
    ]);
    expect(lineage.findOriginatingContexts(result.contextId)).toEqual([`${taskId}_input`]);
  });

  it('log a routed region that made a new context once, while the other regions finish', async () => {
    // Regions done before the last one sat at their gates while the lanes changed around them,
    // and were logged a second time, from their result to itself, as if passed on unchanged.
    const maker = defineTool({
      id: 'maker',
      call: (_context, { stepId }) => createContext('Found', { stepId }),
    });
    const router = new ContextRouter({
      fallback: { targetType: 'tool', targetId: 'maker', priority: 0 },
    });
    const runtime = createRuntime({ store: createMemoryStore(), router, targets: [maker] });
    const taskId = newTaskId('routed-regions');
    const regions = Object.fromEntries(
      ['r1', 'r2', 'r3'].map((id) => [id, [{ stepId: id, route: true as const }]]),
    );
    const workflow = defineWorkflow({
      id: 'routed-regions',
      version: '1',
      steps: [{ stepId: 'g', parallel: regions }],
    });
    await (await runtime.start(workflow, { q: 1 }, { taskId })).result;
    const log = (await runtime.lineage(taskId)).getFullTransitionLog();
    await runtime.close();
    expect(log.filter((t) => t.fromContextIds.includes(t.toContextId))).toEqual([]);
    expect(log.map((t) => `${t.operation} ${t.metadata.stepId ?? ''}`.trim()).sort()).toEqual([
      'input',
      'merge g',
      'task r1',
      'task r2',
      'task r3',
    ]);
  });

  it('keep the decision in the checkpoint: a resumed workflow goes to the same target after the rules changed', async () => {
    const store = createMemoryStore();
    const held = gate();
    const calls: string[] = [];
    const slowTool = (id: string) =>
      defineTool({
        id,
        call: async (context) => {
          calls.push(id);
          if (id === 'old_target') await held.opened;
          return createContext('Done', { by: id, from: context.contextId });
        },
      });
    const targets = [slowTool('old_target'), slowTool('new_target')];
    const workflow = defineWorkflow({
      id: 'sticky-route',
      version: '1',
      steps: [{ stepId: 'handle', route: true }],
    });
    const rulesTo = (targetId: string) =>
      new ContextRouter({
        typeBasedRules: { InputContext: { targetType: 'tool', targetId, priority: 1 } },
      });

    const first = createRuntime({
      store,
      router: rulesTo('old_target'),
      targets,
      workflows: [workflow],
    });
    const taskId = newTaskId('sticky');
    const run = await first.start(workflow, { job: 1 }, { taskId });
    run.result.catch(() => {});
    await expect.poll(() => calls).toEqual(['old_target']); // decided, checkpointed, running
    const manager = await getCheckpointManager(store);
    const saved = await manager.loadLatestCheckpoint(taskId);
    const snapshot = saved?.snapshot as unknown as { context: WorkflowMachineContext };
    const routes = snapshot.context.routes;
    expect(routes?.handle).toMatchObject({
      target: { targetType: 'tool', targetId: 'old_target' },
      ruleId: 'type:InputContext',
    });
    await first.close(); // the process dies with the call in flight

    // A runtime without the decided target refuses to resume, writing nothing: once the target
    // is registered again the task goes on (restored without it, the step would fail for good).
    const without = createRuntime({
      store,
      router: rulesTo('new_target'),
      targets: [targets[1] as (typeof targets)[number]],
      workflows: [workflow],
    });
    const refused = await without.resume(taskId).catch((caught: unknown) => caught);
    expect(isOrchestrationError(refused, 'TARGET_NOT_FOUND')).toBe(true);
    expect((refused as Error).message).toBe(
      `Task ${taskId} cannot resume: its step handle was routed to the tool target "old_target", which is not registered; register it to resume (nothing was written)`,
    );
    expect((await manager.loadLatestCheckpoint(taskId))?.checkpoint).toEqual(saved?.checkpoint);
    expect(calls).toEqual(['old_target']);
    await without.close();

    held.open();
    const second = createRuntime({
      store,
      router: rulesTo('new_target'),
      targets,
      workflows: [workflow],
    });
    const resumed = await second.resume(taskId);
    const output = await resumed.result;
    expect(output.data).toMatchObject({ by: 'old_target' });
    expect(calls).toEqual(['old_target', 'old_target']); // the step ran again, on the same target
    const [made] = (await second.lineage(taskId)).getContextHistory(output.contextId);
    expect(made?.metadata.route).toMatchObject({
      targetId: 'old_target',
      ruleId: 'type:InputContext',
    });
    await second.close();
  });

  // The decision was saved only when the policy saved that gate: a crash mid-call then routed
  // again, to the new rules' target, after the old one had run.
  it.each([
    ['on-suspend', 'on-suspend'],
    ['every 5', { every: 5 }],
  ] as const)(
    'keep the decision in a checkpoint under checkpointPolicy %s too, and no more',
    async (_, policy) => {
      const store = createMemoryStore();
      const held = gate();
      const calls: string[] = [];
      const tool = (id: string) =>
        defineTool({
          id,
          call: async () => {
            calls.push(id);
            if (id === 'old_target' && calls.length === 1) await held.opened;
            return createContext('Done', { by: id });
          },
        });
      const targets = [tool('old_target'), tool('new_target')];
      const workflow = defineWorkflow({
        id: 'sticky-route-policy',
        version: '1',
        steps: [
          { stepId: 'prepare', run: (context) => context },
          { stepId: 'handle', route: true },
          { stepId: 'finish', run: (context) => context },
        ],
      });
      const rulesTo = (targetId: string) =>
        new ContextRouter({
          typeBasedRules: { InputContext: { targetType: 'tool', targetId, priority: 1 } },
        });
      const runtime = (targetId: string) =>
        createRuntime({
          store,
          router: rulesTo(targetId),
          targets,
          workflows: [workflow],
          checkpointPolicy: policy,
        });
      const first = runtime('old_target');
      const taskId = newTaskId('sticky_policy');
      (await first.start(workflow, { job: 1 }, { taskId })).result.catch(() => {});
      await expect.poll(() => calls).toEqual(['old_target']);
      const manager = await getCheckpointManager(store);
      // The first checkpoint (the start) and the decision's: the step before it was not saved.
      expect(await manager.listCheckpoints(taskId)).toHaveLength(2);
      await first.close(); // the process dies with the call in flight

      held.open();
      const second = runtime('new_target');
      const output = await (await second.resume(taskId)).result;
      expect(output.data).toMatchObject({ by: 'old_target' });
      expect(calls).toEqual(['old_target', 'old_target']);
      await second.close();
    },
  );

  it('fail the workflow with NoRouteError (as data) when no rule matches', async () => {
    const runtime = createRuntime({
      store: createMemoryStore(),
      router: new ContextRouter(),
      targets: [parser],
    });
    const run = await runtime.start(basic, { text: 'x' }, { taskId: newTaskId('noroute') });
    const error = await run.result.catch((caught: unknown) => caught);
    expect(isOrchestrationError(error, 'WORKFLOW_FAILED')).toBe(true);
    if (!isOrchestrationError(error, 'WORKFLOW_FAILED')) return;
    expect(error.failure).toMatchObject({
      stepId: 'parse',
      code: 'NO_ROUTE',
      name: 'NoRouteError',
    });
    expect(run.status().status).toBe('error');
    await runtime.close();
  });

  it('fail with NoRouterError when the runtime has no router', async () => {
    const runtime = createRuntime({ store: createMemoryStore() });
    const run = await runtime.start(basic, { text: 'x' }, { taskId: newTaskId('norouter') });
    const error = await run.result.catch((caught: unknown) => caught);
    expect(isOrchestrationError(error, 'WORKFLOW_FAILED') && error.failure.code).toBe('NO_ROUTER');
    await runtime.close();
  });

  it('keep the step retry and timeout: a flaky target is retried, a slow one times out', async () => {
    let tries = 0;
    const flaky = defineTool({
      id: 'flaky',
      call: (_context, helpers) => {
        tries += 1;
        if (helpers.attempt === 1) throw new Error('transient');
        return createContext('Ok', { attempt: helpers.attempt, key: helpers.idempotencyKey });
      },
    });
    let aborted = false;
    const stuck = defineTool({
      id: 'stuck',
      call: (_context, { signal }) =>
        new Promise<Context>(() => {
          signal.addEventListener('abort', () => {
            aborted = true;
          });
        }),
    });
    const router = new ContextRouter({
      typeBasedRules: {
        InputContext: { targetType: 'tool', targetId: 'flaky', priority: 1 },
        Ok: { targetType: 'tool', targetId: 'stuck', priority: 1 },
      },
    });
    const runtime = createRuntime({ store: createMemoryStore(), router, targets: [flaky, stuck] });
    const retried = defineWorkflow({
      id: 'routed-retry',
      version: '1',
      steps: [{ stepId: 'call', route: true, retry: { attempts: 2 } }],
    });
    const taskId = newTaskId('retry');
    const output = await (await runtime.start(retried, { a: 1 }, { taskId })).result;
    expect(output.data).toEqual({ attempt: 2, key: `${taskId}:call:2` });
    expect(tries).toBe(2);

    const timed = defineWorkflow({
      id: 'routed-timeout',
      version: '1',
      steps: [
        { stepId: 'first', route: true, retry: { attempts: 2 } },
        { stepId: 'second', route: { availableTargets: ['stuck'] }, timeoutMs: 50 },
      ],
    });
    const run = await runtime.start(timed, { a: 1 }, { taskId: newTaskId('timeout') });
    const error = await run.result.catch((caught: unknown) => caught);
    expect(isOrchestrationError(error, 'WORKFLOW_FAILED') && error.failure.code).toBe(
      'STEP_TIMEOUT',
    );
    await expect.poll(() => aborted).toBe(true); // the call was withdrawn from the tool
    await runtime.close();
  });

  it('refuse a timeoutMs a timer cannot take, and run with the longest one or Infinity', async () => {
    const define = (timeoutMs: number) =>
      defineWorkflow({
        id: 'routed-long-timeout',
        version: '1',
        steps: [{ stepId: 'call', route: true, timeoutMs }],
      });
    // 2^31 ms or more: Node would fire the timer after 1 ms and fail the step for good.
    for (const timeoutMs of [2_147_483_648, 1e10, 0]) {
      expect(() => define(timeoutMs)).toThrow(TypeError);
      expect(() => define(timeoutMs)).toThrow(
        /^Step call: timeoutMs must be a number of ms from 1 to 2147483647, or Infinity/,
      );
    }
    const slow = defineTool({
      id: 'slow',
      call: async () => {
        await new Promise((resolve) => setTimeout(resolve, 30));
        return createContext('Done', { ok: true });
      },
    });
    const router = new ContextRouter({
      fallback: { targetType: 'tool', targetId: 'slow', priority: 0 },
    });
    const runtime = createRuntime({ store: createMemoryStore(), router, targets: [slow] });
    for (const timeoutMs of [2_147_483_647, Number.POSITIVE_INFINITY]) {
      const run = await runtime.start(define(timeoutMs), {}, { taskId: newTaskId('long') });
      expect((await run.result).data).toEqual({ ok: true });
    }
    await runtime.close();
  });

  it('do not run a pool job again once its task is cancelled, even with the pool retry', async () => {
    const log: string[] = [];
    const charge = defineWorkerPool({
      id: 'charge',
      size: 1,
      retry: { attempts: 3, backoff: { initialMs: 1, maxMs: 1 } },
      handler: async (_context, { signal, idempotencyKey }) => {
        log.push(`start ${idempotencyKey}`);
        await new Promise((resolve, reject) => {
          const timer = setTimeout(resolve, 100);
          signal.addEventListener('abort', () => {
            clearTimeout(timer);
            reject(new Error('aborted'));
          });
        });
        log.push(`finished ${idempotencyKey}`);
        return createContext('Charged', { ok: true });
      },
    });
    const router = new ContextRouter({
      fallback: { targetType: 'worker_pool', targetId: 'charge', priority: 0 },
    });
    const pay = defineWorkflow({
      id: 'routed-pay',
      version: '1',
      steps: [{ stepId: 'charge', route: true }],
    });
    const runtime = createRuntime({ store: createMemoryStore(), router, targets: [charge] });
    const taskId = newTaskId('pay');
    const run = await runtime.start(pay, { amount: 5 }, { taskId });
    run.result.catch(() => {});
    await expect.poll(() => log).toEqual([`start ${taskId}:charge:1`]);
    await runtime.cancel(taskId);
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(log).toEqual([`start ${taskId}:charge:1`]);
    expect((await runtime.status(taskId))?.status).toBe('cancelled');
    await runtime.close();
  });

  it('route the steps of parallel regions too, each region to the target its context picks', async () => {
    let peak = 0;
    let running = 0;
    const chunks = defineWorkerPool({
      id: 'chunks',
      size: 2,
      handler: async (context) => {
        running += 1;
        peak = Math.max(peak, running);
        await new Promise((resolve) => setTimeout(resolve, 10));
        running -= 1;
        return createContext('ChunkDone', { [context.contextId]: true });
      },
    });
    const router = new ContextRouter({
      typeBasedRules: {
        InputContext: { targetType: 'worker_pool', targetId: 'chunks', priority: 1 },
      },
    });
    const fanOut = defineWorkflow({
      id: 'routed-fan-out',
      version: '1',
      steps: [
        {
          stepId: 'split',
          parallel: {
            a: [{ stepId: 'chunk_a', route: true }],
            b: [{ stepId: 'chunk_b', route: true }],
            c: [{ stepId: 'chunk_c', route: true }],
          },
        },
      ],
    });
    const runtime = createRuntime({ store: createMemoryStore(), router, targets: [chunks] });
    const run = await runtime.start(fanOut, { n: 3 }, { taskId: newTaskId('fan') });
    const merged = await run.result;
    expect(Object.keys(merged.data as object)).toHaveLength(1); // all regions had the same input
    expect(peak).toBeLessThanOrEqual(2);
    const routed = run.lineage
      .getFullTransitionLog()
      .filter((transition) => transition.componentName === 'worker_pool_chunks');
    expect(routed.map((transition) => transition.metadata.stepId).sort()).toEqual([
      'chunk_a',
      'chunk_b',
      'chunk_c',
    ]);
    await runtime.close();
  });
});
