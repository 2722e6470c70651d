import { describe, expect, it } from 'vitest';
import {
  type Context,
  createContext,
  defineWorkerPool,
  isOrchestrationError,
  type PoolChildContext,
  startRouter,
} from '../../src/index.js';
import { gate } from '../support/gate.js';

const job = (n: number) => createContext('Job', { n });

describe('a worker pool under the router', () => {
  it('runs at most `size` contexts at once and answers every one', async () => {
    let running = 0;
    let peak = 0;
    const pool = defineWorkerPool({
      id: 'crunch',
      size: 4,
      handler: async (context) => {
        running += 1;
        peak = Math.max(peak, running);
        await new Promise((resolve) => setTimeout(resolve, 5));
        running -= 1;
        const { n } = context.data as { n: number };
        return createContext('Square', { n, square: n * n });
      },
    });
    const router = startRouter({ targets: [pool] });
    const submit = router.getWorkerPool('crunch').submit;
    const results = await Promise.all(Array.from({ length: 20 }, (_, n) => submit(job(n))));
    expect(results.map((result) => (result.data as { square: number }).square)).toEqual(
      Array.from({ length: 20 }, (_, n) => n * n),
    );
    expect(peak).toBe(4);
    router.stop();
  });

  it('spawns `size` worker actors under the pool child', async () => {
    const pool = defineWorkerPool({ id: 'two', size: 2, handler: (context) => context });
    const router = startRouter({ targets: [pool] });
    await router.getWorkerPool('two').submit(job(1));
    const child = router.actor.getSnapshot().children['target:worker_pool:two'];
    const workers = Object.keys((child?.getSnapshot() as { children?: object })?.children ?? {});
    expect(workers.sort()).toEqual(['worker-0', 'worker-1']);
    router.stop();
  });

  it('refuses a context with PoolSaturatedError when queueLimit contexts already wait (back-pressure)', async () => {
    const held = gate();
    let started = 0;
    const pool = defineWorkerPool({
      id: 'narrow',
      size: 1,
      queueLimit: 2,
      handler: async (context) => {
        started += 1;
        await held.opened;
        return context;
      },
    });
    const router = startRouter({ targets: [pool] });
    const submit = router.getWorkerPool('narrow').submit;
    const accepted = [submit(job(1)), submit(job(2)), submit(job(3))]; // 1 running, 2 queued
    const refused = submit(job(4));
    await expect(refused).rejects.toSatisfy(
      (error) => isOrchestrationError(error, 'POOL_SATURATED') && error.queueLimit === 2,
    );
    expect(started).toBe(1);
    held.open();
    await expect(Promise.all(accepted)).resolves.toHaveLength(3);
    await expect(submit(job(5))).resolves.toMatchObject({ data: { n: 5 } }); // room again
    router.stop();
  });

  it('retries a crashing job per its policy on its worker while the other jobs are unaffected', async () => {
    const attempts = new Map<number, number>();
    const pool = defineWorkerPool({
      id: 'shaky',
      size: 3,
      retry: { attempts: 3, backoff: { initialMs: 5, maxMs: 20, jitter: 0 } },
      handler: async (context, helpers) => {
        const { n } = context.data as { n: number };
        const attempt = (attempts.get(n) ?? 0) + 1;
        attempts.set(n, attempt);
        await new Promise((resolve) => setTimeout(resolve, 2));
        if (n === 2 && attempt < 3) throw new Error(`worker crashed on job 2 (try ${attempt})`);
        return createContext('Done', { n, attempt, key: helpers.idempotencyKey });
      },
    });
    const router = startRouter({ targets: [pool] });
    const submit = router.getWorkerPool('shaky').submit;
    const results = await Promise.all([0, 1, 2, 3, 4].map((n) => submit(job(n))));
    expect(results.map((result) => (result.data as { attempt: number }).attempt)).toEqual([
      1, 1, 3, 1, 1,
    ]);
    expect(attempts.get(2)).toBe(3);
    router.stop();
  });

  it('fails the job with the handler error once its attempts are used up', async () => {
    let calls = 0;
    const pool = defineWorkerPool({
      id: 'broken',
      size: 2,
      retry: { attempts: 2 },
      handler: (context) => {
        calls += 1;
        if ((context.data as { n: number }).n === 0) throw new Error('always fails');
        return context;
      },
    });
    const router = startRouter({ targets: [pool] });
    const submit = router.getWorkerPool('broken').submit;
    await expect(submit(job(0))).rejects.toThrow('always fails');
    expect(calls).toBe(2);
    await expect(submit(job(1))).resolves.toMatchObject({ data: { n: 1 } });
    router.stop();
  });

  it('keeps its queue in the persisted snapshot; a restored pool runs the jobs it held again', async () => {
    const held = gate();
    const ran: number[] = [];
    const pool = defineWorkerPool({
      id: 'durable',
      size: 1,
      handler: async (context: Context) => {
        ran.push((context.data as { n: number }).n);
        await held.opened;
        return context;
      },
    });
    const router = startRouter({ targets: [pool] });
    const submit = router.getWorkerPool('durable').submit;
    for (const n of [1, 2]) submit(job(n), { requestId: `job-${n}` }).catch(() => {});
    await expect.poll(() => ran).toEqual([1]);
    const saved = JSON.parse(JSON.stringify(router.getPersistedSnapshot()));
    router.stop();
    const child = saved.children['target:worker_pool:durable'].snapshot;
    const poolContext = child.context as PoolChildContext;
    expect(poolContext.running.map((entry) => entry?.requestId ?? null)).toEqual(['job-1']);
    expect(poolContext.queue.map((entry) => entry.requestId)).toEqual(['job-2']);

    const restored = startRouter({ targets: [pool], snapshot: saved });
    const again = restored.getWorkerPool('durable');
    const answers = [1, 2].map((n) => again.submit(job(n), { requestId: `job-${n}` }));
    held.open();
    await expect(Promise.all(answers)).resolves.toHaveLength(2);
    expect(ran).toEqual([1, 1, 2]); // job 1 ran again (at least once), job 2 once
    restored.stop();
  });

  it('keeps a persisted snapshot as it was while the jobs it held run on (the queue is updated in place)', async () => {
    const held = gate();
    const ran: number[] = [];
    const pool = defineWorkerPool({
      id: 'fifo',
      size: 1,
      handler: async (context: Context) => {
        ran.push((context.data as { n: number }).n);
        await held.opened;
        return context;
      },
    });
    const router = startRouter({ targets: [pool] });
    const submit = router.getWorkerPool('fifo').submit;
    const answers = Array.from({ length: 300 }, (_, n) => submit(job(n)));
    await expect.poll(() => ran).toEqual([0]);
    const saved = router.getPersistedSnapshot() as unknown as {
      children: Record<string, { snapshot: { context: PoolChildContext } }>;
    };
    held.open();
    await Promise.all(answers);
    expect(ran).toEqual(Array.from({ length: 300 }, (_, n) => n)); // first in, first out
    const held0 = saved.children['target:worker_pool:fifo']?.snapshot.context;
    expect(held0?.running.map((entry) => entry?.requestId ?? null)).toHaveLength(1);
    expect(held0?.queue).toHaveLength(299); // taken before the jobs ran: unchanged by them
    router.stop();
  });

  it('withdraws a waiting job without running it, and aborts the signal a running job reads late', async () => {
    const held = gate();
    const ran: number[] = [];
    const aborted: Record<number, boolean> = {};
    const pool = defineWorkerPool({
      id: 'cancels',
      size: 1,
      handler: async (context: Context, helpers) => {
        const { n } = context.data as { n: number };
        ran.push(n);
        await held.opened;
        aborted[n] = helpers.signal.aborted; // read after the cancel: made already aborted
        return context;
      },
    });
    const router = startRouter({ targets: [pool] });
    const submit = router.getWorkerPool('cancels').submit;
    const running = new AbortController();
    const waiting = new AbortController();
    const first = submit(job(1), { signal: running.signal });
    const second = submit(job(2), { signal: waiting.signal });
    const third = submit(job(3));
    await expect.poll(() => ran).toEqual([1]);
    waiting.abort(new Error('not needed'));
    running.abort(new Error('too late'));
    await expect(second).rejects.toThrow('not needed');
    await expect(first).rejects.toThrow('too late');
    held.open();
    await expect(third).resolves.toMatchObject({ data: { n: 3 } });
    expect(ran).toEqual([1, 3]); // job 2 never ran
    expect(aborted).toEqual({ 1: true, 3: false });
    router.stop();
  });

  it('never retries nor runs again a running job its caller withdrew; its worker frees when the handler settles', async () => {
    const ran: number[] = [];
    const settled: number[] = [];
    const pool = defineWorkerPool({
      id: 'withdrawn',
      size: 1,
      retry: { attempts: 3, backoff: { initialMs: 1, maxMs: 1 } },
      handler: async (context: Context, { signal }) => {
        const { n } = context.data as { n: number };
        ran.push(n);
        // Job 1 takes a while to notice its signal, then throws: no retry may follow.
        await new Promise((resolve) => setTimeout(resolve, n === 1 ? 50 : 0));
        settled.push(n);
        if (signal.aborted) throw new Error(`job ${n} aborted`);
        return context;
      },
    });
    const router = startRouter({ targets: [pool] });
    const submit = router.getWorkerPool('withdrawn').submit;
    const caller = new AbortController();
    const first = submit(job(1), { signal: caller.signal });
    await expect.poll(() => ran).toEqual([1]);
    caller.abort(new Error('withdrawn'));
    await expect(first).rejects.toThrow('withdrawn');
    const second = submit(job(2));
    await expect(second).resolves.toMatchObject({ data: { n: 2 } });
    expect(settled).toEqual([1, 2]); // job 2 waited for job 1's handler to settle
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(ran).toEqual([1, 2]); // job 1 ran once
    router.stop();
  });

  it('does not call the handler again when its job is withdrawn during the backoff before a retry', async () => {
    const ran: number[] = [];
    const pool = defineWorkerPool({
      id: 'backoff',
      size: 1,
      retry: { attempts: 2, backoff: { initialMs: 60_000, maxMs: 60_000, jitter: 0 } },
      handler: (context: Context) => {
        const { n } = context.data as { n: number };
        ran.push(n);
        if (n === 1) throw new Error('crashed');
        return context;
      },
    });
    const router = startRouter({ targets: [pool] });
    const submit = router.getWorkerPool('backoff').submit;
    const caller = new AbortController();
    const first = submit(job(1), { signal: caller.signal });
    await expect.poll(() => ran).toEqual([1]); // failed once: its worker waits 60 s to retry
    caller.abort(new Error('withdrawn'));
    await expect(first).rejects.toThrow('withdrawn');
    await expect(submit(job(2))).resolves.toMatchObject({ data: { n: 2 } }); // at once
    expect(ran).toEqual([1, 2]);
    router.stop();
  });

  it('waits out a backoff longer than a timer takes instead of retrying at once', async () => {
    const ran: number[] = [];
    const pool = defineWorkerPool({
      id: 'long_backoff',
      size: 1,
      // 2^31 ms or more in one timer would fire after 1 ms: the retry would come at once.
      retry: { attempts: 2, backoff: { initialMs: 1e10, maxMs: 1e10, jitter: 0 } },
      handler: (context: Context) => {
        ran.push((context.data as { n: number }).n);
        throw new Error('crashed');
      },
    });
    const router = startRouter({ targets: [pool] });
    const caller = new AbortController();
    const first = router.getWorkerPool('long_backoff').submit(job(1), { signal: caller.signal });
    await expect.poll(() => ran).toEqual([1]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(ran).toEqual([1]); // still backing off
    caller.abort(new Error('withdrawn'));
    await expect(first).rejects.toThrow('withdrawn');
    expect(ran).toEqual([1]);
    router.stop();
  });

  it('does not run a withdrawn job again after a restore: its worker is free', async () => {
    const held = gate();
    const ran: number[] = [];
    const pool = defineWorkerPool({
      id: 'restored',
      size: 1,
      handler: async (context: Context) => {
        ran.push((context.data as { n: number }).n);
        await held.opened; // ignores its signal
        return context;
      },
    });
    const router = startRouter({ targets: [pool] });
    const caller = new AbortController();
    const first = router.getWorkerPool('restored').submit(job(1), { signal: caller.signal });
    await expect.poll(() => ran).toEqual([1]);
    caller.abort(new Error('withdrawn'));
    await expect(first).rejects.toThrow('withdrawn');
    const saved = router.getPersistedSnapshot();
    router.stop();

    const restored = startRouter({ targets: [pool], snapshot: saved });
    held.open();
    await expect(restored.getWorkerPool('restored').submit(job(2))).resolves.toMatchObject({
      data: { n: 2 },
    });
    expect(ran).toEqual([1, 2]);
    restored.stop();
  });

  it('passes a context made by createContext on as it is, and copies and freezes any other result', async () => {
    const made = createContext('Made', { n: 1 });
    const plain = { contextId: 'plain_1', contextType: 'Plain', data: { list: [1] }, metadata: {} };
    const pool = defineWorkerPool({
      id: 'results',
      size: 2,
      handler: (context) => ((context.data as { n: number }).n === 1 ? made : (plain as Context)),
    });
    const router = startRouter({ targets: [pool] });
    const submit = router.getWorkerPool('results').submit;
    expect(await submit(job(1))).toBe(made);
    const copied = await submit(job(2));
    expect(copied).not.toBe(plain);
    expect(copied).toEqual(plain);
    expect(Object.isFrozen(copied.data)).toBe(true);
    plain.data.list.push(2); // the caller's object changes; the result does not
    expect(copied.data).toEqual({ list: [1] });
    router.stop();
  });
});
