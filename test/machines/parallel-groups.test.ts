import { describe, expect, it } from 'vitest';
import { type Context, ContextMergeStrategy, defineWorkflow } from '../../src/index.js';
import { ctx, delay, finished, newTaskId, start } from './helpers.js';

type Data = Record<string, unknown>;
const data = (context: Context) => context.data as Data;

function analysisWorkflow(seen: Record<string, string>) {
  return defineWorkflow({
    id: 'analysis',
    version: '1',
    steps: [
      {
        stepId: 'split',
        run: (context, _step, { taskId }) =>
          ctx('Split', { n: data(context).n as number }, `${taskId}.split`),
      },
      {
        stepId: 'analyze',
        name: 'Analyze in parallel',
        merge: { strategy: ContextMergeStrategy.AppendList, contextType: 'Analysis' },
        parallel: {
          a: [
            {
              stepId: 'a1',
              run: async (context, _step, { taskId }) => {
                seen.a1 = context.contextId;
                await delay(5);
                return ctx('A', { results: (data(context).n as number) + 1 }, `${taskId}.a1`);
              },
            },
            {
              stepId: 'a2',
              run: (context, _step, { taskId }) => {
                seen.a2 = context.contextId;
                return ctx(
                  'A',
                  { results: (data(context).results as number) * 10 },
                  `${taskId}.a2`,
                );
              },
            },
          ],
          b: [
            {
              stepId: 'b1',
              run: (context, _step, { taskId }) => {
                seen.b1 = context.contextId;
                return ctx('B', { results: (data(context).n as number) * 2 }, `${taskId}.b1`);
              },
            },
          ],
          c: [
            {
              stepId: 'inner',
              parallel: {
                x: [
                  {
                    stepId: 'x1',
                    run: async () => {
                      await delay(3);
                      return ctx('X', { results: 'x', x: true });
                    },
                  },
                ],
                y: [
                  {
                    stepId: 'y1',
                    run: (context) => {
                      seen.y1 = context.contextId;
                      return ctx('Y', { y: true });
                    },
                  },
                ],
              },
            },
          ],
        },
      },
      {
        stepId: 'report',
        run: (context) => {
          seen.report = context.contextId;
          return ctx('Report', {
            merged: context.data,
            mergedFrom: context.metadata.mergedFrom ?? null,
          });
        },
      },
    ],
  });
}

describe('defineWorkflow: parallel groups', () => {
  it('runs three regions from the group input and merges them with AppendList', async () => {
    const seen: Record<string, string> = {};
    const workflow = analysisWorkflow(seen);
    const taskId = newTaskId('par');
    const actor = start(workflow.machine, { taskId, input: ctx('In', { n: 3 }) });
    expect(actor.getSnapshot().value).toEqual({ split: 'running' });
    const snapshot = await finished(actor);
    expect(snapshot.status).toBe('done');
    // Every region starts from the group's input context; a region's steps run in sequence.
    expect(seen.a1).toBe(`${taskId}.split`);
    expect(seen.b1).toBe(`${taskId}.split`);
    expect(seen.y1).toBe(`${taskId}.split`);
    expect(seen.a2).toBe(`${taskId}.a1`);
    expect(seen.report).toBe(`${taskId}.analyze.merged`);
    const output = snapshot.output as Context;
    expect(output.data).toEqual({
      merged: { results: [40, 6, 'x'], x: true, y: true },
      mergedFrom: [`${taskId}.a2`, `${taskId}.b1`, `${taskId}.inner.merged`],
    });
    // Region lanes are gone after the merge.
    expect(Object.keys(snapshot.context.lanes)).toEqual(['main']);
  });

  it('names the merged context deterministically and keeps the group input type by default', async () => {
    const captured: Context[] = [];
    const workflow = defineWorkflow({
      id: 'merge-default',
      version: '1',
      steps: [
        {
          stepId: 'fan',
          parallel: {
            left: [{ stepId: 'l', run: () => ctx('L', { profile: { name: 'ada' }, tags: ['a'] }) }],
            right: [{ stepId: 'r', run: () => ctx('R', { profile: { age: 36 }, tags: ['b'] }) }],
          },
        },
        {
          stepId: 'after',
          run: (context) => {
            captured.push(context);
            return context;
          },
        },
      ],
    });
    const taskId = newTaskId('merge');
    const snapshot = await finished(start(workflow.machine, { taskId, input: ctx('Start', {}) }));
    const merged = captured[0] as Context;
    expect(merged.contextId).toBe(`${taskId}.fan.merged`);
    expect(merged.contextType).toBe('Start');
    // RecursiveDictMerge is the default: objects merge deeply, the later list wins.
    expect(merged.data).toEqual({ profile: { name: 'ada', age: 36 }, tags: ['b'] });
    expect(merged.metadata).toMatchObject({ stepId: 'fan', mergeStrategy: 'recursive_dict_merge' });
    expect(snapshot.output).toEqual(merged);
  });

  it('flattens groups into the plan in document order, and the config nests regions', () => {
    const workflow = analysisWorkflow({});
    expect(workflow.plan.map((step) => [step.stepIndex, step.stepId, step.metadata?.kind])).toEqual(
      [
        [0, 'split', 'task'],
        [1, 'analyze', 'parallel'],
        [2, 'a1', 'task'],
        [3, 'a2', 'task'],
        [4, 'b1', 'task'],
        [5, 'inner', 'parallel'],
        [6, 'x1', 'task'],
        [7, 'y1', 'task'],
        [8, 'report', 'task'],
      ],
    );
    expect(workflow.plan.map((step) => step.metadata?.lane)).toEqual([
      'main',
      'main',
      'analyze.a',
      'analyze.a',
      'analyze.b',
      'analyze.c',
      'inner.x',
      'inner.y',
      'main',
    ]);
    const config = JSON.parse(JSON.stringify(workflow.machine.config));
    const regions = config.states.analyze.states.regions;
    expect(regions.type).toBe('parallel');
    expect(Object.keys(regions.states)).toEqual(['a', 'b', 'c']);
    expect(Object.keys(regions.states.a.states)).toEqual(['a1', 'a2', 'done']);
    expect(regions.states.c.states.inner.states.regions.type).toBe('parallel');
    expect(config.states.analyze.states.commit.tags).toEqual(['checkpoint']);
  });

  it('merges regions in key order: integer-like region ids first, ascending, then as written', async () => {
    const region = (id: string) => [{ stepId: `s${id}`, run: () => ctx('R', { who: id }) }];
    const workflow = defineWorkflow({
      id: 'merge-order',
      version: '1',
      steps: [
        {
          stepId: 'g',
          merge: { strategy: ContextMergeStrategy.AppendList },
          parallel: {
            b: region('b'),
            '2': region('2'),
            a: region('a'),
            '01': region('01'),
            '1': region('1'),
          },
        },
      ],
    });
    const snapshot = await finished(
      start(workflow.machine, { taskId: newTaskId('order'), input: ctx('In', {}) }),
    );
    expect((snapshot.output as Context).data).toEqual({ who: ['1', '2', 'b', 'a', '01'] });
    expect(workflow.plan.map((step) => step.stepId)).toEqual(['g', 's1', 's2', 'sb', 'sa', 's01']);
  });

  it('fails the workflow when the merge fails', async () => {
    const workflow = defineWorkflow({
      id: 'merge-fails',
      version: '1',
      steps: [
        {
          stepId: 'fan',
          merge: {
            strategy: ContextMergeStrategy.Custom,
            customMergeFunc: () => {
              throw new RangeError('the merge broke');
            },
          },
          parallel: { a: [{ stepId: 'a', run: (c) => c }], b: [{ stepId: 'b', run: (c) => c }] },
        },
        {
          stepId: 'never',
          run: () => {
            throw new Error('must not run');
          },
        },
      ],
    });
    const snapshot = await finished(
      start(workflow.machine, { taskId: newTaskId(), input: ctx('In', {}) }),
    );
    expect(snapshot.value).toBe('failed');
    expect(snapshot.context.error).toMatchObject({
      stepId: 'fan',
      name: 'MergeError',
      code: 'MERGE_FAILED',
      // Named by region, the function's own error named too.
      message: 'customMergeFunc threw while merging region b: RangeError: the merge broke',
    });
  });

  it('a failing region step with onError fail stops every region', async () => {
    let slowAborted = false;
    const workflow = defineWorkflow({
      id: 'region-fails',
      version: '1',
      steps: [
        {
          stepId: 'fan',
          parallel: {
            bad: [
              {
                stepId: 'bad',
                run: () => {
                  throw new TypeError('boom');
                },
              },
            ],
            slow: [
              {
                stepId: 'slow',
                run: (c, _s, { signal }) =>
                  new Promise<Context>((resolve) => {
                    signal.addEventListener('abort', () => {
                      slowAborted = true;
                      resolve(c);
                    });
                  }),
              },
            ],
          },
        },
      ],
    });
    const snapshot = await finished(
      start(workflow.machine, { taskId: newTaskId(), input: ctx('In', {}) }),
    );
    expect(snapshot.value).toBe('failed');
    expect(snapshot.context.error).toEqual({
      stepId: 'bad',
      message: 'boom',
      name: 'TypeError',
      attempts: 1,
    });
    expect(slowAborted).toBe(true);
  });
});
