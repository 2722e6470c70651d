import { describe, expect, it } from 'vitest';
import {
  backoffDelay,
  type Context,
  defineWorkflow,
  type StepHelpers,
  StepTimeoutError,
  type TaskStep,
} from '../../src/index.js';
import { ctx, finished, newTaskId, start } from './helpers.js';

/** A step that fails `failures` times, then returns a context; records every call. */
function flaky(failures: number, calls: StepHelpers[]): TaskStep['run'] {
  return (context, _step, helpers) => {
    calls.push(helpers);
    if (calls.length <= failures) throw new Error(`attempt ${helpers.attempt} failed`);
    return ctx('Fetched', { attempt: helpers.attempt, from: context.contextId });
  };
}

describe('backoffDelay', () => {
  it('grows by the factor, stops at maxMs and spreads by the jitter', () => {
    const policy = { initialMs: 100, maxMs: 1000, jitter: 0 };
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(policy, n))).toEqual([100, 200, 400, 800, 1000]);
    expect(backoffDelay({ initialMs: 10, factor: 3, maxMs: 1000, jitter: 0 }, 3)).toBe(90);
    const jittered = { initialMs: 100, maxMs: 1000, jitter: 0.2 };
    expect(backoffDelay(jittered, 1, () => 0)).toBe(80);
    expect(backoffDelay(jittered, 1, () => 0.5)).toBe(100);
    expect(backoffDelay(jittered, 1, () => 0.999_999)).toBe(120);
    expect(backoffDelay(undefined, 3)).toBe(0);
  });
});

describe('defineWorkflow: retries', () => {
  it('retries with backoff until an attempt succeeds, with one idempotency key per attempt', async () => {
    const calls: StepHelpers[] = [];
    const times: number[] = [];
    const workflow = defineWorkflow({
      id: 'retrying',
      version: '1',
      steps: [
        {
          stepId: 'fetch',
          retry: { attempts: 3, backoff: { initialMs: 10, maxMs: 100, jitter: 0 } },
          run: (context, step, helpers) => {
            times.push(Date.now());
            return flaky(2, calls)(context, step, helpers);
          },
        },
      ],
    });
    const taskId = newTaskId('retry');
    const actor = start(workflow.machine, { taskId, input: ctx('In', {}) });
    const snapshot = await finished(actor);
    expect(snapshot.status).toBe('done');
    expect(calls.map((c) => c.attempt)).toEqual([1, 2, 3]);
    expect(calls.map((c) => c.idempotencyKey)).toEqual([
      `${taskId}:fetch:1`,
      `${taskId}:fetch:2`,
      `${taskId}:fetch:3`,
    ]);
    expect((snapshot.output as Context).data).toMatchObject({ attempt: 3 });
    // Backoff 10 ms, then 20 ms (timers may fire a millisecond early).
    expect((times[1] as number) - (times[0] as number)).toBeGreaterThanOrEqual(9);
    expect((times[2] as number) - (times[1] as number)).toBeGreaterThanOrEqual(19);
    expect(snapshot.context.attempts).toEqual({});
    expect(snapshot.context.deadlines).toEqual({});
  });

  it('holds the retry deadline in context and the attempt number while backing off', async () => {
    const calls: StepHelpers[] = [];
    const workflow = defineWorkflow({
      id: 'backoff-state',
      version: '1',
      steps: [
        {
          stepId: 'fetch',
          retry: { attempts: 2, backoff: { initialMs: 40, maxMs: 40, jitter: 0 } },
          run: flaky(1, calls),
        },
      ],
    });
    const actor = start(workflow.machine, { taskId: newTaskId(), input: ctx('In', {}) });
    const before = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 10));
    const snapshot = actor.getSnapshot();
    expect(snapshot.value).toEqual({ fetch: 'retrying' });
    expect(snapshot.context.attempts).toEqual({ fetch: 1 });
    const deadline = snapshot.context.deadlines.fetch as number;
    expect(deadline).toBeGreaterThanOrEqual(before + 30);
    expect(deadline).toBeLessThanOrEqual(Date.now() + 40);
    expect((await finished(actor)).status).toBe('done');
  });

  it("ends in failed with the error details when attempts run out and onError is 'fail'", async () => {
    const calls: StepHelpers[] = [];
    let laterRan = false;
    const workflow = defineWorkflow({
      id: 'exhausted',
      version: '1',
      steps: [
        { stepId: 'fetch', retry: { attempts: 2 }, run: flaky(5, calls) },
        {
          stepId: 'later',
          run: (c) => {
            laterRan = true;
            return c;
          },
        },
      ],
    });
    const snapshot = await finished(
      start(workflow.machine, { taskId: newTaskId(), input: ctx('In', {}) }),
    );
    expect(snapshot.status).toBe('done');
    expect(snapshot.value).toBe('failed');
    expect(snapshot.hasTag('error')).toBe(true);
    const error = { stepId: 'fetch', message: 'attempt 2 failed', name: 'Error', attempts: 2 };
    expect(snapshot.context.error).toEqual(error);
    expect(snapshot.output).toEqual({ error });
    expect(calls).toHaveLength(2);
    expect(laterRan).toBe(false);
  });

  it("continues with a StepError context when attempts run out and onError is 'continue'", async () => {
    const seen: Context[] = [];
    const workflow = defineWorkflow({
      id: 'continuing',
      version: '1',
      steps: [
        { stepId: 'fetch', retry: { attempts: 2 }, onError: 'continue', run: flaky(5, []) },
        {
          stepId: 'recover',
          run: (c) => {
            seen.push(c);
            return ctx('Recovered', { recovered: c.contextType });
          },
        },
      ],
    });
    const taskId = newTaskId('cont');
    const input = ctx('In', {});
    const snapshot = await finished(start(workflow.machine, { taskId, input }));
    expect(snapshot.value).toBe('done');
    expect(seen[0]).toEqual({
      contextId: `${taskId}.fetch.error`,
      contextType: 'StepError',
      data: { stepId: 'fetch', message: 'attempt 2 failed', name: 'Error', attempts: 2 },
      metadata: { stepId: 'fetch', from: input.contextId },
    });
    expect((snapshot.output as Context).data).toEqual({ recovered: 'StepError' });
    expect(snapshot.context.error).toBeUndefined();
  });
});

describe('defineWorkflow: timeouts', () => {
  it('aborts the signal and fails the attempt with StepTimeoutError', async () => {
    let abortReason: unknown;
    let attempts = 0;
    const workflow = defineWorkflow({
      id: 'timing-out',
      version: '1',
      steps: [
        {
          stepId: 'slow',
          timeoutMs: 15,
          retry: { attempts: 2 },
          run: (context, _step, { signal, attempt }) => {
            attempts = attempt;
            return new Promise<Context>((resolve, reject) => {
              const timer = setTimeout(() => resolve(context), 1000);
              signal.addEventListener('abort', () => {
                abortReason = signal.reason;
                clearTimeout(timer);
                reject(new Error('aborted by signal'));
              });
            });
          },
        },
      ],
    });
    const started = Date.now();
    const snapshot = await finished(
      start(workflow.machine, { taskId: newTaskId(), input: ctx('In', {}) }),
    );
    expect(Date.now() - started).toBeLessThan(500);
    expect(attempts).toBe(2);
    expect(abortReason).toBeInstanceOf(StepTimeoutError);
    expect(snapshot.value).toBe('failed');
    expect(snapshot.context.error).toEqual({
      stepId: 'slow',
      message: 'Step slow timed out after 15 ms',
      name: 'StepTimeoutError',
      code: 'STEP_TIMEOUT',
      attempts: 2,
    });
  });

  it('refuses a timeoutMs a timer cannot take (TypeError naming it): 1 to 2^31 − 1, or Infinity', () => {
    const run: TaskStep['run'] = (context) => context;
    const define = (timeoutMs: unknown) => () =>
      defineWorkflow({
        id: 'w',
        version: '1',
        steps: [{ stepId: 'a', run, timeoutMs } as TaskStep],
      });
    // Node fires a timer of 2^31 ms or more after 1 ms: the step would time out at once.
    const refused = [2_147_483_648, 1e10, 0, 0.5, -5, Number.NaN, Number.NEGATIVE_INFINITY, '100'];
    for (const timeoutMs of refused) {
      expect(define(timeoutMs)).toThrow(TypeError);
      expect(define(timeoutMs)).toThrow(
        `Step a: timeoutMs must be a number of ms from 1 to 2147483647, or Infinity for no timeout; got ${String(timeoutMs)}`,
      );
    }
    for (const timeoutMs of [1, 2_147_483_647, Number.POSITIVE_INFINITY]) {
      expect(define(timeoutMs)).not.toThrow();
    }
  });

  it('a step with the longest timeoutMs (2^31 − 1) or Infinity does not time out at once', async () => {
    for (const timeoutMs of [2_147_483_647, Number.POSITIVE_INFINITY]) {
      let aborted = false;
      const workflow = defineWorkflow({
        id: 'long-timeout',
        version: '1',
        steps: [
          {
            stepId: 'slowish',
            timeoutMs,
            run: async (context, _step, { signal }) => {
              signal.addEventListener('abort', () => {
                aborted = true;
              });
              await new Promise((resolve) => setTimeout(resolve, 30));
              return context;
            },
          },
        ],
      });
      const snapshot = await finished(
        start(workflow.machine, { taskId: newTaskId(), input: ctx('In', 1) }),
      );
      expect({ timeoutMs, value: snapshot.value, error: snapshot.context.error }).toEqual({
        timeoutMs,
        value: 'done',
        error: undefined,
      });
      expect(aborted).toBe(false);
    }
  });

  it('a step that finishes in time is not affected by its timeout', async () => {
    const workflow = defineWorkflow({
      id: 'in-time',
      version: '1',
      steps: [{ stepId: 'quick', timeoutMs: 200, run: async (c) => c }],
    });
    const snapshot = await finished(
      start(workflow.machine, { taskId: newTaskId(), input: ctx('In', 1) }),
    );
    expect(snapshot.value).toBe('done');
  });
});
