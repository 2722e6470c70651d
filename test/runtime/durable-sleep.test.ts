import {
  type CheckpointPolicy,
  type Context,
  createRuntime,
  defineWorkflow,
  getCheckpointManager,
  type Step,
} from 'mcp-orchestration';
import { createMemoryStore } from 'mcp-orchestration/memory';
import { describe, expect, it } from 'vitest';
import { delay, newTaskId } from './helpers.js';

/** When `wake` ran, in ms since the epoch (0 until it runs). */
let wokeAt = 0;
const wake: Step = {
  stepId: 'wake',
  run: (c: Context) => {
    wokeAt = Date.now();
    return c;
  },
};
const prep: Step = { stepId: 'prep', run: (c: Context) => c };

/**
 * Starts `steps` on a memory store, closes the runtime (the "process" dies) `crashAfterMs` later,
 * resumes the task in a new runtime and waits for its result. Returns the deadline the store
 * held for `sleepId` at the crash, and when the second runtime resumed (its current step: `at`).
 */
async function crashMidSleep(
  steps: Step[],
  sleepId: string,
  {
    crashAfterMs = 150,
    checkpointPolicy,
    at = sleepId,
  }: { crashAfterMs?: number; checkpointPolicy?: CheckpointPolicy; at?: string } = {},
) {
  wokeAt = 0;
  const workflow = defineWorkflow({ id: 'nap', version: '1', steps });
  const store = createMemoryStore();
  const options = {
    store,
    workflows: [workflow],
    ...(checkpointPolicy ? { checkpointPolicy } : {}),
  };
  const first = createRuntime(options);
  const taskId = newTaskId('nap');
  const startedAt = Date.now();
  const run = await first.start(workflow, 'zz', { taskId });
  await delay(crashAfterMs);
  await first.close();
  await run.result.catch(() => undefined);
  expect(wokeAt).toBe(0);
  const saved = await (await getCheckpointManager(store)).loadLatestCheckpoint(taskId);
  const context = (saved!.snapshot as unknown as { context: { deadlines: Record<string, number> } })
    .context;
  const deadline = context.deadlines[sleepId];
  const second = createRuntime(options);
  const resumedAt = Date.now();
  const resumed = await second.resume(taskId);
  expect(resumed.status()).toMatchObject({ currentStepId: at, status: 'running' });
  expect((await resumed.result).data).toBe('zz');
  await second.close();
  return { startedAt, resumedAt, deadline };
}

describe('a durable sleep across a crash', () => {
  it('resumed by a new runtime, wakes at the original deadline', async () => {
    const { startedAt, deadline } = await crashMidSleep(
      [{ stepId: 'nap', sleep: { ms: 400 } }, wake],
      'nap',
    );
    expect(deadline).toBeGreaterThanOrEqual(startedAt + 400);
    // Not restarted from zero (that would wake ≥ 550 ms after the start).
    expect(wokeAt).toBeGreaterThanOrEqual(deadline!);
    expect(wokeAt - startedAt).toBeLessThan(530);
  });

  // A sleep entered after a step was not checkpointed until it ended: restored from the gate
  // before it, it slept again from zero.
  it.each([
    ['after a step', [prep, { stepId: 'nap', sleep: { ms: 400 } }, wake]],
    [
      'computed by sleepUntil after a step',
      [prep, { stepId: 'nap', sleepUntil: () => Date.now() + 400 }, wake],
    ],
    [
      'in a parallel region',
      [
        prep,
        {
          stepId: 'group',
          parallel: {
            a: [{ stepId: 'nap', sleep: { ms: 400 } }],
            b: [{ stepId: 'quick', run: (c: Context) => c }],
          },
        },
        wake,
      ],
    ],
  ] as [string, Step[]][])(
    '%s, the deadline is checkpointed when set and kept',
    async (_, steps) => {
      const at = steps[1]?.stepId === 'group' ? 'group' : 'nap';
      const { resumedAt, deadline } = await crashMidSleep(steps, 'nap', { at });
      expect(deadline).toBeTypeOf('number');
      expect(wokeAt).toBeGreaterThanOrEqual(deadline!);
      // Slept from zero again, it would wake ≥ 400 ms after the resume.
      expect(wokeAt - resumedAt).toBeLessThan(360);
    },
  );

  it('is checkpointed under the on-suspend and every-N policies too', async () => {
    for (const checkpointPolicy of ['on-suspend', { every: 10 }] as const) {
      const { resumedAt, deadline } = await crashMidSleep(
        [prep, { stepId: 'nap', sleep: { ms: 400 } }, wake],
        'nap',
        { checkpointPolicy },
      );
      expect(deadline).toBeTypeOf('number');
      expect(wokeAt - resumedAt).toBeLessThan(360);
    }
  });
});

describe('a retry backoff across a crash', () => {
  it('resumes waiting for the backoff, then runs the next attempt, not the failed one again', async () => {
    const attempts: number[] = [];
    let retriedAt = 0;
    const steps: Step[] = [
      prep,
      {
        stepId: 'flaky',
        retry: { attempts: 3, backoff: { initialMs: 400, maxMs: 400, jitter: 0 } },
        run: (c: Context, _step, { attempt }) => {
          attempts.push(attempt);
          if (attempt === 1) throw new Error('first attempt fails');
          retriedAt = Date.now();
          return c;
        },
      },
    ];
    const { resumedAt, deadline } = await crashMidSleep(steps, 'flaky');
    expect(attempts).toEqual([1, 2]);
    expect(deadline).toBeTypeOf('number');
    expect(retriedAt).toBeGreaterThanOrEqual(deadline!);
    expect(retriedAt - resumedAt).toBeLessThan(360);
  });
});
