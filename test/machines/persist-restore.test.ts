import { describe, expect, it } from 'vitest';
import { createActor, waitFor } from 'xstate';
import { z } from 'zod';
import {
  type Context,
  ContextMergeStrategy,
  defineWorkflow,
  type StepHelpers,
} from '../../src/index.js';
import { ctx, delay, finished, newTaskId, persisted, restore, start } from './helpers.js';

// Every test persists a running actor with a JSON round trip, stops it (as a crash would end
// it), and restores a new actor from the snapshot alone: createActor(machine, { snapshot }).

describe('persist and restore: durable timers', () => {
  it('restored during a sleep, waits only the remaining time', async () => {
    let finishedAt = 0;
    const workflow = defineWorkflow({
      id: 'sleepy',
      version: '1',
      steps: [
        { stepId: 'nap', sleep: { ms: 300 } },
        {
          stepId: 'wake',
          run: (c) => {
            finishedAt = Date.now();
            return c;
          },
        },
      ],
    });
    const first = start(workflow.machine, { taskId: newTaskId(), input: ctx('In', {}) });
    const deadline = first.getSnapshot().context.deadlines.nap as number;
    await delay(150);
    const snapshot = persisted(first);
    // The deadline is in the persisted context and in the timer's persisted input.
    expect(snapshot.context.deadlines).toEqual({ nap: deadline });
    expect(snapshot).toMatchObject({
      children: {
        'sleepUntil.nap': { src: 'sleepUntil', snapshot: { input: { until: deadline } } },
      },
    });
    const second = restore(first, workflow.machine);
    expect(second.getSnapshot().value).toEqual({ nap: 'sleeping' });
    expect((await finished(second)).value).toBe('done');
    // Not lost, not restarted from zero: it woke at the original deadline (a restart from zero
    // would wake 150 ms after it).
    expect(finishedAt).toBeGreaterThanOrEqual(deadline - 1);
    expect(finishedAt - deadline).toBeLessThan(100);
  });

  it('a deadline that passed while nothing ran fires at once after restore', async () => {
    const workflow = defineWorkflow({
      id: 'overdue',
      version: '1',
      steps: [{ stepId: 'nap', sleep: { ms: 40 } }],
    });
    const first = start(workflow.machine, { taskId: newTaskId(), input: ctx('In', {}) });
    const snapshot = persisted(first);
    first.stop();
    await delay(60); // the "process" is down past the deadline
    const resumed = createActor(workflow.machine, { snapshot }).start();
    const restoredAt = Date.now();
    expect((await finished(resumed)).value).toBe('done');
    expect(Date.now() - restoredAt).toBeLessThan(30);
  });

  it('restored during a retry backoff, retries at the original deadline without re-running the failed attempt', async () => {
    const calls: { attempt: number; key: string; at: number }[] = [];
    const workflow = defineWorkflow({
      id: 'backoff-restore',
      version: '1',
      steps: [
        {
          stepId: 'call',
          retry: { attempts: 3, backoff: { initialMs: 300, maxMs: 1000, jitter: 0 } },
          run: (_c, _s, { attempt, idempotencyKey }: StepHelpers) => {
            calls.push({ attempt, key: idempotencyKey, at: Date.now() });
            if (attempt === 1) throw new Error('transient');
            return ctx('Ok', { attempt });
          },
        },
      ],
    });
    const taskId = newTaskId('bo');
    const first = start(workflow.machine, { taskId, input: ctx('In', {}) });
    await waitFor(first, (s) => s.matches({ call: 'retrying' }));
    const deadline = first.getSnapshot().context.deadlines.call as number;
    await delay(150);
    const second = restore(first, workflow.machine);
    expect(second.getSnapshot().value).toEqual({ call: 'retrying' });
    const snapshot = await finished(second);
    expect((snapshot.output as Context).data).toEqual({ attempt: 2 });
    expect(calls.map((c) => c.key)).toEqual([`${taskId}:call:1`, `${taskId}:call:2`]);
    const retryAt = calls[1]?.at as number;
    expect(retryAt).toBeGreaterThanOrEqual(deadline - 1);
    // A restarted backoff would retry 150 ms after the deadline.
    expect(retryAt - deadline).toBeLessThan(100);
  });
});

describe('persist and restore: parallel groups', () => {
  function fanOut(runs: Record<string, number>) {
    return defineWorkflow({
      id: 'fan-out',
      version: '1',
      steps: [
        {
          stepId: 'fan',
          merge: { strategy: ContextMergeStrategy.AppendList, contextType: 'Fanned' },
          parallel: {
            quick: [
              {
                stepId: 'quick',
                run: (c, _s, { taskId }) => {
                  runs.quick = (runs.quick ?? 0) + 1;
                  return ctx('Q', { items: ['quick'], n: c.data }, `${taskId}.quick`);
                },
              },
            ],
            slow: [
              {
                stepId: 'slow1',
                run: async (c, _s, { taskId }) => {
                  runs.slow1 = (runs.slow1 ?? 0) + 1;
                  await delay(40);
                  return ctx('S', { items: ['slow1'], n: c.data }, `${taskId}.slow1`);
                },
              },
              {
                stepId: 'slow2',
                run: (c, _s, { taskId }) =>
                  ctx(
                    'S',
                    { items: [...(c.data as { items: string[] }).items, 'slow2'] },
                    `${taskId}.slow2`,
                  ),
              },
            ],
          },
        },
        {
          stepId: 'summarize',
          run: (c, _s, { taskId }) =>
            ctx(
              'Summary',
              { merged: c.data, from: c.metadata.mergedFrom ?? null },
              `${taskId}.summary`,
            ),
        },
      ],
    });
  }

  it('restored with one region finished and one running, ends with the same merged result', async () => {
    const taskId = newTaskId('fan');
    const input = ctx('In', 7, 'fan-input');
    const uninterrupted = await finished(start(fanOut({}).machine, { taskId, input }));

    const runs: Record<string, number> = {};
    const workflow = fanOut(runs);
    const first = start(workflow.machine, { taskId, input });
    const mid = await waitFor(first, (s) =>
      s.matches({ fan: { regions: { quick: 'done', slow: { slow1: 'running' } } } }),
    );
    expect(Object.keys(mid.context.lanes).sort()).toEqual(['fan.quick', 'fan.slow', 'main']);
    const second = restore(first, workflow.machine);
    const snapshot = await finished(second);
    expect(snapshot.value).toBe('done');
    expect(snapshot.output).toEqual(uninterrupted.output);
    expect((snapshot.output as Context).data).toEqual({
      merged: { items: ['quick', 'slow1', 'slow2'], n: 7 },
      from: [`${taskId}.quick`, `${taskId}.slow2`],
    });
    // The finished region did not run again; the in-flight step ran again (at least once).
    expect(runs).toEqual({ quick: 1, slow1: 2 });
  });
});

describe('persist and restore: commit gates and suspension', () => {
  it('restored at a gated commit, proceeds on workflow.committed without re-running the step', async () => {
    const runs = { one: 0, two: 0 };
    const workflow = defineWorkflow({
      id: 'gated',
      version: '1',
      steps: [
        {
          stepId: 'one',
          run: (c) => {
            runs.one += 1;
            return ctx('One', { from: c.contextId });
          },
        },
        {
          stepId: 'two',
          run: (c) => {
            runs.two += 1;
            return ctx('Two', { from: c.contextId });
          },
        },
      ],
    });
    const first = start(workflow.machine, {
      taskId: newTaskId(),
      input: ctx('In', {}),
      gated: true,
    });
    await waitFor(first, (s) => s.hasTag('checkpoint'));
    const second = restore(first, workflow.machine);
    expect(second.getSnapshot().value).toEqual({ one: 'commit' });
    expect(second.getSnapshot().hasTag('checkpoint')).toBe(true);
    await delay(10);
    expect(runs).toEqual({ one: 1, two: 0 });
    second.send({ type: 'workflow.committed' });
    await waitFor(second, (s) => s.matches({ two: 'commit' }));
    second.send({ type: 'workflow.committed' });
    const snapshot = await finished(second);
    expect(snapshot.value).toBe('done');
    expect(runs).toEqual({ one: 1, two: 1 });
    expect((snapshot.output as Context).contextType).toBe('Two');
  });

  it('restored while suspended in waitFor, resumes on a valid event and refuses an invalid one', async () => {
    const workflow = defineWorkflow({
      id: 'suspend',
      version: '1',
      steps: [
        {
          stepId: 'approve',
          waitFor: { event: 'approval', schema: z.object({ ok: z.literal(true) }) },
        },
        { stepId: 'ship', run: (c) => ctx('Shipped', { approval: c.data }) },
      ],
    });
    const first = start(workflow.machine, { taskId: newTaskId(), input: ctx('In', {}) });
    expect(first.getSnapshot().hasTag('suspended')).toBe(true);
    const second = restore(first, workflow.machine);
    const restored = second.getSnapshot();
    expect(restored.hasTag('suspended')).toBe(true);
    expect(restored.can({ type: 'approval', data: { ok: false } })).toBe(false);
    second.send({ type: 'approval', data: { ok: false } });
    expect(second.getSnapshot().value).toEqual({ approve: 'waiting' });
    expect(second.getSnapshot().can({ type: 'approval', data: { ok: true } })).toBe(true);
    second.send({ type: 'approval', data: { ok: true } });
    const snapshot = await finished(second);
    expect((snapshot.output as Context).data).toEqual({ approval: { ok: true } });
  });
});

describe('the machine context stays small', () => {
  it('the persisted snapshot does not grow with the number of steps run', async () => {
    const steps = Array.from({ length: 200 }, (_, i) => ({
      stepId: `s${i + 1}`,
      run: (c: Context, _s: unknown, { taskId }: StepHelpers) =>
        ctx(
          'Counter',
          { count: (c.data as { count: number }).count + 1, note: 'constant-size' },
          `${taskId}.s${i + 1}`,
        ),
    }));
    const workflow = defineWorkflow({ id: 'long', version: '1', steps });
    const actor = start(workflow.machine, {
      taskId: newTaskId('long'),
      input: ctx('Counter', { count: 0, note: 'constant-size' }),
      gated: true,
    });
    const sizes: Record<number, number> = {};
    for (let step = 1; step <= 200; step++) {
      const snapshot = await waitFor(actor, (s) => s.matches({ [`s${step}`]: 'commit' }));
      if (step === 10 || step === 200) {
        sizes[step] = JSON.stringify(actor.getPersistedSnapshot()).length;
        expect(snapshot.context.lanes.main?.data).toEqual({ count: step, note: 'constant-size' });
      }
      actor.send({ type: 'workflow.committed' });
    }
    expect(persisted(actor)).toMatchObject({ status: 'done' });
    const at10 = sizes[10] as number;
    const at200 = sizes[200] as number;
    // Only the step ids and counters differ in length ("s10" vs "s200").
    expect(Math.abs(at200 - at10)).toBeLessThan(32);
    expect(at200).toBeLessThan(2000);
  }, 20_000);
});
