import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import {
  type Context,
  createWorkflowState,
  defineWorkflow,
  isOrchestrationError,
  type TaskStep,
} from '../../src/index.js';
import { ctx, finished, newTaskId, start } from './helpers.js';

// The seed's "Basic Workflow Management": parse → process → generate.
function documentPipeline(calls: string[] = []) {
  return defineWorkflow({
    id: 'document-pipeline',
    version: '1.0.0',
    name: 'Document pipeline',
    description: 'Parse, process and generate',
    steps: [
      {
        stepId: 'parse',
        toolName: 'input_parser',
        action: 'parse',
        name: 'Parse Input',
        description: 'Parse and validate input data',
        run: (context, step, { taskId }) => {
          calls.push(step.stepId);
          const text = String((context.data as { text: string }).text);
          return ctx('ParsedContext', { words: text.split(' ') }, `${taskId}.parsed`);
        },
      },
      {
        stepId: 'process',
        toolName: 'data_processor',
        action: 'process',
        name: 'Process Data',
        description: 'Process the validated data',
        run: async (context, step, { taskId }) => {
          calls.push(step.stepId);
          const { words } = context.data as { words: string[] };
          return ctx(
            'ProcessedContext',
            { count: words.length, upper: words.map((w) => w.toUpperCase()) },
            `${taskId}.processed`,
          );
        },
      },
      {
        stepId: 'generate',
        toolName: 'result_generator',
        action: 'generate',
        name: 'Generate Result',
        description: 'Generate the final result',
        run: (context, step) => {
          calls.push(step.stepId);
          const { count, upper } = context.data as { count: number; upper: string[] };
          return ctx('ResultContext', {
            summary: `${count} words: ${upper.join(' ')}`,
            from: context.contextId,
          });
        },
      },
    ],
  });
}

describe('defineWorkflow: a sequential workflow', () => {
  it('runs parse → process → generate and outputs the final context', async () => {
    const calls: string[] = [];
    const workflow = documentPipeline(calls);
    const taskId = newTaskId();
    const actor = start(workflow.machine, {
      taskId,
      input: ctx('InputContext', { text: 'hello big world' }),
    });
    const snapshot = await finished(actor);
    expect(snapshot.status).toBe('done');
    expect(snapshot.value).toBe('done');
    expect(calls).toEqual(['parse', 'process', 'generate']);
    const output = snapshot.output as Context;
    expect(output.contextType).toBe('ResultContext');
    expect(output.data).toEqual({
      summary: '3 words: HELLO BIG WORLD',
      from: `${taskId}.processed`,
    });
    // Nothing of the finished steps is left behind in the machine context.
    expect(snapshot.context.attempts).toEqual({});
    expect(snapshot.context.deadlines).toEqual({});
    expect(Object.keys(snapshot.context.lanes)).toEqual(['main']);
  });

  it('flattens the plan with stepIndex in order', () => {
    const workflow = documentPipeline();
    expect(workflow.id).toBe('document-pipeline');
    expect(workflow.version).toBe('1.0.0');
    expect(workflow.plan).toEqual([
      {
        stepId: 'parse',
        name: 'Parse Input',
        description: 'Parse and validate input data',
        toolName: 'input_parser',
        action: 'parse',
        stepIndex: 0,
        isComplete: false,
        metadata: { kind: 'task', lane: 'main' },
      },
      {
        stepId: 'process',
        name: 'Process Data',
        description: 'Process the validated data',
        toolName: 'data_processor',
        action: 'process',
        stepIndex: 1,
        isComplete: false,
        metadata: { kind: 'task', lane: 'main' },
      },
      {
        stepId: 'generate',
        name: 'Generate Result',
        description: 'Generate the final result',
        toolName: 'result_generator',
        action: 'generate',
        stepIndex: 2,
        isComplete: false,
        metadata: { kind: 'task', lane: 'main' },
      },
    ]);
    // The plan is shared by every run: it cannot be marked complete by accident.
    expect(Object.isFrozen(workflow.plan)).toBe(true);
    expect(Object.isFrozen(workflow.plan[0])).toBe(true);
    // It is a valid seed plan.
    expect(createWorkflowState({ taskId: 't', plan: [...workflow.plan] }).plan).toHaveLength(3);
  });

  it('has a JSON-serializable config whose state keys are the step ids, with description and meta', () => {
    const workflow = documentPipeline();
    const config = JSON.parse(JSON.stringify(workflow.machine.config));
    expect(config.id).toBe('document-pipeline');
    expect(Object.keys(config.states)).toEqual(['parse', 'process', 'generate', 'done', 'failed']);
    expect(config.states.parse.description).toBe('Parse Input: Parse and validate input data');
    expect(config.states.process.meta.step).toMatchObject({
      stepId: 'process',
      stepIndex: 1,
      kind: 'task',
    });
    expect(config.states.parse.states.running.invoke.src).toBe('runStep');
    expect(config.states.parse.states.commit.tags).toEqual(['checkpoint']);
    expect(config.states.failed.tags).toEqual(['error']);
    // Every actor the config names is registered, so persisted snapshots can be restored.
    expect(Object.keys(workflow.machine.implementations.actors).sort()).toEqual([
      'routeStep',
      'runStep',
      'sleepUntil',
    ]);
  });

  it('exposes step meta on the snapshot while a step runs', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const workflow = defineWorkflow({
      id: 'meta-demo',
      version: '1',
      steps: [
        {
          stepId: 'slow',
          name: 'Slow step',
          run: async (context) => {
            await gate;
            return context;
          },
        },
      ],
    });
    const actor = start(workflow.machine, { taskId: newTaskId(), input: ctx('In', 1) });
    expect(actor.getSnapshot().value).toEqual({ slow: 'running' });
    const meta: Record<string, unknown> = actor.getSnapshot().getMeta();
    expect(meta['meta-demo.slow']).toMatchObject({ step: { stepId: 'slow', name: 'Slow step' } });
    release();
    expect((await finished(actor)).status).toBe('done');
  });

  it('fails a step whose result is not a context with JSON data, with a typed error', async () => {
    const workflow = defineWorkflow({
      id: 'bad-result',
      version: '1',
      steps: [
        {
          stepId: 'bad',
          run: (context) =>
            ({ ...context, contextId: 'x1', data: { when: new Date() } }) as unknown as Context,
        },
      ],
    });
    const snapshot = await finished(
      start(workflow.machine, { taskId: newTaskId(), input: ctx('In', 1) }),
    );
    expect(snapshot.value).toBe('failed');
    expect(snapshot.hasTag('error')).toBe(true);
    expect(snapshot.context.error).toMatchObject({
      stepId: 'bad',
      name: 'NonJsonValueError',
      code: 'NON_JSON_VALUE',
      attempts: 1,
    });
    expect(snapshot.output).toEqual({ error: snapshot.context.error });
  });

  it('refuses a bad input context and bad definitions', () => {
    const run: TaskStep['run'] = (context) => context;
    const workflow = defineWorkflow({
      id: 'input-check',
      version: '1',
      steps: [{ stepId: 'a', run }],
    });
    const actor = createActor(workflow.machine, {
      input: { taskId: 'ok', input: { contextId: 'x', contextType: 'T' } as unknown as Context },
    });
    let failure: unknown;
    actor.subscribe({ error: (error) => (failure = error) });
    actor.start();
    expect(actor.getSnapshot().status).toBe('error');
    expect(isOrchestrationError(failure, 'CONTEXT_VALIDATION')).toBe(true);

    const define = (steps: unknown) => () =>
      defineWorkflow({ id: 'w', version: '1', steps: steps as TaskStep[] });
    expect(
      define([
        { stepId: 'a', run },
        { stepId: 'a', run },
      ]),
    ).toThrow(/another step already uses it/);
    expect(define([{ stepId: 'a.b', run }])).toThrow(/no "\."/);
    expect(define([{ stepId: 'done', run }])).toThrow(/reserved/);
    expect(define([{ stepId: 'a', run, sleep: { ms: 1 } }])).toThrow(/exactly one/);
    expect(define([{ stepId: 'a' }])).toThrow(/exactly one/);
    expect(
      define([
        { stepId: 'g', parallel: { r: [{ stepId: 'a', run }] } },
        { stepId: 'a', run },
      ]),
    ).toThrow(/another step/);
    expect(define([{ stepId: 'a', run, retry: { attempts: 0 } }])).toThrow(/attempts/);
    expect(define([{ stepId: 'w', waitFor: { event: 'xstate.init' } }])).toThrow(/reserved/);
    expect(define([{ stepId: 'w', waitFor: { event: 'ok', contextType: 'a b' } }])).toThrow(
      /Invalid context type/,
    );
    expect(define([{ stepId: 'w', waitFor: { event: 'ok', schema: {} } }])).toThrow(
      /Standard Schema/,
    );
    expect(define([{ stepId: 'g', parallel: { r: [] }, merge: { contextType: '../x' } }])).toThrow(
      /Invalid context type/,
    );
    expect(define([{ stepId: 'g', parallel: {} }])).toThrow(/no regions/);
    const typo = { strategy: 'apend_list' } as never;
    expect(define([{ stepId: 'g', parallel: { r: [] }, merge: typo }])).toThrow(
      /merge.strategy must be one of overwrite, append_list.*got "apend_list"/,
    );
    expect(define([{ stepId: 'g', parallel: { r: [] }, merge: { strategy: 'custom' } }])).toThrow(
      /needs customMergeFunc/,
    );
    expect(define([{ stepId: 'g', parallel: { 'r.1': [] } }])).toThrow(/Invalid region id/);
    expect(define([{ stepId: 'a', run, timeoutMs: 0 }])).toThrow(/timeoutMs/);
    expect(define([{ stepId: 's', sleep: { ms: -1 } }])).toThrow(/sleep.ms/);
    expect(() => defineWorkflow({ id: 'failed', version: '1', steps: [] })).toThrow(/reserved/);
  });

  it('refuses unknown options, in a step and in its option objects, naming them', () => {
    const run: TaskStep['run'] = (context) => context;
    const define = (steps: unknown) => () =>
      defineWorkflow({ id: 'w', version: '1', steps: steps as TaskStep[] });
    const unknown = (where: string, key: string) =>
      new RegExp(`^${where}: unknown option "${key}" \\(known: `);
    // Typos that would otherwise be ignored: no timeout, no retry, every target, a default merge.
    expect(define([{ stepId: 'a', run, timeout: 500 }])).toThrow(unknown('Step a', 'timeout'));
    expect(define([{ stepId: 'a', run, retries: 3 }])).toThrow(unknown('Step a', 'retries'));
    expect(define([{ stepId: 'a', run, retry: { attempt: 3 } }])).toThrow(
      unknown('Step a: retry', 'attempt'),
    );
    expect(
      define([{ stepId: 'a', run, retry: { attempts: 2, backoff: { initialMs: 1, max: 9 } } }]),
    ).toThrow(unknown('Step a: retry.backoff', 'max'));
    expect(
      define([{ stepId: 'a', run, retry: { attempts: 2, backoff: { initialMs: 1 } } }]),
    ).toThrow(/retry.backoff.maxMs is required/);
    expect(define([{ stepId: 'r', route: { availableTarget: ['x'] } }])).toThrow(
      unknown('Step r: route', 'availableTarget'),
    );
    expect(define([{ stepId: 'r', route: 'yes' }])).toThrow(/route must be true or an options/);
    expect(define([{ stepId: 'g', parallel: { r: [] }, merge: { stratgy: 'overwrite' } }])).toThrow(
      unknown('Group g: merge', 'stratgy'),
    );
    expect(define([{ stepId: 'g', parallel: { r: [] }, retry: { attempts: 2 } }])).toThrow(
      unknown('Step g', 'retry'),
    );
    expect(define([{ stepId: 's', sleep: { ms: 5, until: 9 } }])).toThrow(
      unknown('Step s: sleep', 'until'),
    );
    expect(define([{ stepId: 'w', waitFor: { event: 'ok', shema: {} } }])).toThrow(
      unknown('Step w: waitFor', 'shema'),
    );
    expect(define([{ stepId: 'a', run, timeout: 1, retries: 2 }])).toThrow(
      /unknown options "timeout", "retries"/,
    );
    expect(() =>
      defineWorkflow({ id: 'w', version: '1', steps: [], descripton: 'x' } as never),
    ).toThrow(unknown('Workflow w', 'descripton'));
    // Every documented option is still taken.
    expect(() =>
      defineWorkflow({
        id: 'w',
        version: '1',
        name: 'W',
        description: 'd',
        steps: [
          {
            stepId: 'a',
            name: 'A',
            description: 'a',
            toolName: 't',
            action: 'act',
            metadata: { k: 1 },
            run,
            retry: { attempts: 2, backoff: { initialMs: 1, maxMs: 2, factor: 2, jitter: 0 } },
            timeoutMs: 10,
            onError: 'continue',
          },
          { stepId: 'r', route: { availableTargets: ['x'] }, retry: { attempts: 1 } },
          {
            stepId: 'g',
            parallel: { r1: [{ stepId: 'b', run }] },
            merge: { strategy: 'overwrite', contextType: 'M' },
          },
          { stepId: 's', sleep: { ms: 1 } },
          { stepId: 'u', sleepUntil: () => 0 },
          { stepId: 'w', waitFor: { event: 'ok', contextType: 'Ok' } },
        ],
      }),
    ).not.toThrow();
  });
});
