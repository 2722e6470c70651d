import {
  ContextMergeStrategy,
  createContext,
  createRuntime,
  defineWorkflow,
  type Step,
} from 'mcp-orchestration';
import { createMemoryStore } from 'mcp-orchestration/memory';
import { describe, expect, it } from 'vitest';
import { newTaskId } from './helpers.js';

function tag(stepId: string): Step {
  return {
    stepId,
    run: (context, _s, { taskId }) =>
      createContext(
        'Tagged',
        { tags: [...(context.data as { tags: string[] }).tags, stepId] },
        {
          contextId: `${taskId}_${stepId}`,
        },
      ),
  };
}

describe('lineage of other workflow shapes', () => {
  it('a merge of regions that hand back the same context names that parent once', async () => {
    const passThrough = (stepId: string): Step => ({ stepId, run: (context) => context });
    const workflow = defineWorkflow({
      id: 'pass-through-merge',
      version: '1',
      steps: [
        tag('first'),
        {
          stepId: 'group',
          parallel: { a: [passThrough('a1')], b: [passThrough('b1')], c: [tag('c1')] },
        },
      ],
    });
    const runtime = createRuntime({ store: createMemoryStore() });
    const taskId = newTaskId('pass-through');
    const run = await runtime.start(workflow, createContext('Seed', { tags: [] }), { taskId });
    const output = await run.result;
    expect(output.metadata.mergedFrom).toEqual([
      `${taskId}_first`,
      `${taskId}_first`,
      `${taskId}_c1`,
    ]);
    const merge = run.lineage
      .getFullTransitionLog()
      .find((t) => t.toContextId === output.contextId);
    expect(merge?.fromContextIds).toEqual([`${taskId}_first`, `${taskId}_c1`]);
    await runtime.close();
  });

  it('takes a given context as the input, and follows nested groups and continued errors', async () => {
    const workflow = defineWorkflow({
      id: 'nested',
      version: '1',
      steps: [
        tag('first'),
        {
          stepId: 'outer',
          merge: { strategy: ContextMergeStrategy.AppendList },
          parallel: {
            left: [
              tag('l1'),
              {
                stepId: 'inner',
                merge: { strategy: ContextMergeStrategy.AppendList },
                parallel: { x: [tag('x1')], y: [tag('y1')] },
              },
            ],
            right: [
              {
                stepId: 'flaky',
                onError: 'continue',
                run: () => {
                  throw new Error('no luck');
                },
              },
            ],
          },
        },
      ],
    });
    const runtime = createRuntime({ store: createMemoryStore() });
    const taskId = newTaskId('nested');
    const input = createContext('Seed', { tags: [] }, { contextId: 'my-input' });
    const run = await runtime.start(workflow, input, { taskId });
    const output = await run.result;
    const byTarget = new Map(
      run.lineage.getFullTransitionLog().map((t) => [t.toContextId, t.fromContextIds]),
    );
    expect(byTarget.get('my-input')).toEqual([]);
    expect(byTarget.get(`${taskId}_first`)).toEqual(['my-input']);
    expect(byTarget.get(`${taskId}_l1`)).toEqual([`${taskId}_first`]);
    // The inner group's regions start from the inner group's input.
    expect(byTarget.get(`${taskId}_x1`)).toEqual([`${taskId}_l1`]);
    expect(byTarget.get(`${taskId}_y1`)).toEqual([`${taskId}_l1`]);
    const innerMerge = [...byTarget.entries()].find(([, from]) => from.includes(`${taskId}_x1`));
    expect(innerMerge?.[1]).toEqual([`${taskId}_x1`, `${taskId}_y1`]);
    // The failed step's error context comes from the group input of its region.
    const errorContext = [...byTarget.entries()].find(([id]) => id.includes('flaky'));
    expect(errorContext?.[1]).toEqual([`${taskId}_first`]);
    // The outer merge has both regions as parents; every path leads back to the input.
    expect(byTarget.get(output.contextId)).toEqual([innerMerge?.[0], errorContext?.[0]]);
    expect(run.lineage.findOriginatingContexts(output.contextId)).toEqual(['my-input']);
  });

  it('logs the input of a workflow whose first step is a group with nothing to run', async () => {
    const workflow = defineWorkflow({
      id: 'empty-first-group',
      version: '1',
      steps: [{ stepId: 'g', parallel: { a: [], b: [] } }, tag('after')],
    });
    const runtime = createRuntime({ store: createMemoryStore() });
    const taskId = newTaskId('empty-group');
    const input = createContext('Seed', { tags: [] }, { contextId: 'seed-input' });
    const run = await runtime.start(workflow, input, { taskId });
    const output = await run.result;
    await runtime.close();
    const log = run.lineage.getFullTransitionLog();
    expect(log.map((t) => [t.operation, t.fromContextIds, t.toContextId])).toEqual([
      ['input', [], 'seed-input'],
      ['merge', ['seed-input'], expect.any(String)],
      ['task', [log[1]?.toContextId], output.contextId],
    ]);
    expect(run.lineage.findOriginatingContexts(output.contextId)).toEqual(['seed-input']);
  });
});
