import { createRuntime, defineWorkflow } from 'mcp-orchestration';
import { createMemoryStore } from 'mcp-orchestration/memory';
import { describe, expect, it } from 'vitest';
import { delay, newTaskId } from './helpers.js';

describe('a durable sleep across a crash', () => {
  it('resumed by a new runtime, wakes at the original deadline', async () => {
    let wokeAt = 0;
    const workflow = defineWorkflow({
      id: 'nap',
      version: '1',
      steps: [
        { stepId: 'nap', sleep: { ms: 400 } },
        {
          stepId: 'wake',
          run: (c) => {
            wokeAt = Date.now();
            return c;
          },
        },
      ],
    });
    const store = createMemoryStore();
    const first = createRuntime({ store, workflows: [workflow] });
    const taskId = newTaskId('nap');
    const startedAt = Date.now();
    const run = await first.start(workflow, 'zz', { taskId });
    await delay(150);
    await first.close(); // the "process" dies mid-sleep
    await run.result.catch(() => undefined);
    expect(wokeAt).toBe(0);
    const second = createRuntime({ store, workflows: [workflow] });
    const resumed = await second.resume(taskId);
    expect(resumed.status()).toMatchObject({ currentStepId: 'nap', status: 'running' });
    expect((await resumed.result).data).toBe('zz');
    // Not restarted from zero (that would wake ≥ 550 ms after the start).
    expect(wokeAt - startedAt).toBeGreaterThanOrEqual(395);
    expect(wokeAt - startedAt).toBeLessThan(530);
  });
});
