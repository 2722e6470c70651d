import {
  type CheckpointStore,
  type Context,
  createContext,
  createRuntime,
  defineWorkflow,
  getCheckpointManager,
  isOrchestrationError,
  type RuntimeEvent,
} from 'mcp-orchestration';
import { afterEach, describe, expect, it } from 'vitest';
import { rejectionOf } from '../support/rejection.js';
import { type Calls, delay, STORES, type TestStore, trailStep } from './helpers.js';

// A worker that holds a task's lease and stalls (a blocked event loop, SIGSTOP) past the lease's
// TTL while another worker takes the task over. Here the stall is the event loop blocked
// synchronously, or a store call held back, so no signal is needed.

let current: TestStore | undefined;
afterEach(async () => {
  await current?.cleanup();
  current = undefined;
});

/** Blocks the event loop for `ms`: no timer, no I/O callback runs meanwhile. */
function stallFor(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // busy
  }
}

/** The entries of a store call that appends to the `lineage` log (`undefined`: another call). */
function lineageAppended(key: string | symbol, args: readonly unknown[]): string[] | undefined {
  if (key !== 'appendLog' && key !== 'appendLogAt') return undefined;
  const entries = (key === 'appendLogAt' ? args[3] : args[2]) as string[];
  return args[1] === 'lineage' && entries.length > 0 ? entries : undefined;
}

/** The `seq`s of the task's lineage log, as stored (repeats included). */
async function loggedSeqs(store: CheckpointStore, taskId: string): Promise<number[]> {
  const entries = await store.readLog(taskId, 'lineage');
  return entries.map((entry) => (JSON.parse(entry) as { seq: number }).seq);
}

const increasing = (seqs: readonly number[]) =>
  seqs.every((seq, i) => i === 0 || seq > seqs[i - 1]!);

/** `count` steps, each counting its calls and adding a context to the lineage. */
function chain(calls: Calls, count: number, id = 'chain') {
  return defineWorkflow({
    id,
    version: '1',
    steps: Array.from({ length: count }, (_, i) => ({
      stepId: `s${i}`,
      run: trailStep(calls, `s${i}`),
    })),
  });
}

// Long enough that a loaded machine's slow fsyncs do not let the lease lapse before the stall
// (it is renewed every third of it), which would end the run before the moment under test.
const TTL = 400;

describe('a run that stalls past its lease', () => {
  it('does not open the next gate when it wakes: the next step never starts', async () => {
    current = await STORES.file();
    const calls: Calls = {};
    const a = createRuntime({ store: current.store, lease: { owner: 'worker-a', ttlMs: TTL } });
    const events: RuntimeEvent[] = [];
    a.subscribe((event) => {
      events.push(event);
      // Stalled while the save after s2 lands: its continuation runs before the lease's timer.
      if (event.type === 'checkpoint.saved' && calls.s2 === 1 && calls.s3 === undefined) {
        stallFor(TTL + 100);
      }
    });
    const run = await a.start(chain(calls, 6), { n: 1 }, { taskId: 'stall-gate' });
    const lost = await rejectionOf(run.result);
    expect(isOrchestrationError(lost, 'LEASE_LOST')).toBe(true);
    expect(lost).toMatchObject({ taskId: 'stall-gate', owner: undefined });
    // Another worker may have taken the task over (and run s3) by then: this one must not.
    expect(calls).toEqual({ s0: 1, s1: 1, s2: 1 });
    const head = await current.store.head('stall-gate');
    await delay(50);
    expect(calls.s3).toBeUndefined();
    expect(await current.store.head('stall-gate')).toBe(head);
    expect(events.filter((e) => e.type === 'run.aborted')).toHaveLength(1);
    await a.close();
  });

  it('does not save a step that completed during the stall', async () => {
    current = await STORES.file();
    const calls: Calls = {};
    const saved: number[] = [];
    let savedBefore = -1;
    const workflow = defineWorkflow({
      id: 'slow-step',
      version: '1',
      steps: [
        { stepId: 'first', run: trailStep(calls, 'first') },
        {
          stepId: 'stalling',
          run: (context: Context) => {
            savedBefore = saved.length;
            stallFor(TTL + 100); // the step itself blocks the event loop past the lease
            return trailStep(calls, 'stalling')(context);
          },
        },
        { stepId: 'last', run: trailStep(calls, 'last') },
      ],
    });
    const a = createRuntime({ store: current.store, lease: { owner: 'worker-a', ttlMs: TTL } });
    a.subscribe((event) => {
      if (event.type === 'checkpoint.saved') saved.push(event.seq);
    });
    const run = await a.start(workflow, { n: 1 }, { taskId: 'stall-save' });
    const lost = await rejectionOf(run.result);
    expect(isOrchestrationError(lost, 'LEASE_LOST')).toBe(true);
    expect(calls).toEqual({ first: 1, stalling: 1 });
    // Nothing was written after the stall: the latest checkpoint is the one before the step.
    await delay(50);
    expect(saved.length).toBe(savedBefore);
    expect(await current.store.head('stall-save')).toBe(saved.at(-1));
    await a.close();
  });

  it('does not append the lineage of the checkpoint it saved before the stall', async () => {
    current = await STORES.file();
    const inner = current.store;
    const appends: number[][] = [];
    const store = new Proxy(inner, {
      get(target, key, receiver) {
        const value = Reflect.get(target, key, receiver);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          const entries = lineageAppended(key, args);
          if (entries !== undefined) {
            appends.push(entries.map((entry) => (JSON.parse(entry) as { seq: number }).seq));
          }
          return Reflect.apply(value, target, args);
        };
      },
    });
    const calls: Calls = {};
    const workflow = defineWorkflow({
      id: 'suspends',
      version: '1',
      steps: [
        { stepId: 'first', run: trailStep(calls, 'first') },
        { stepId: 'approve', waitFor: { event: 'approved' } },
        { stepId: 'last', run: trailStep(calls, 'last') },
      ],
    });
    const a = createRuntime({ store, lease: { owner: 'worker-a', ttlMs: TTL } });
    a.subscribe((event) => {
      // A suspended checkpoint appends its lineage right after it is saved: stalled in between.
      if (event.type === 'checkpoint.saved' && event.status === 'suspended') stallFor(TTL + 100);
    });
    const run = await a.start(workflow, { n: 1 }, { taskId: 'stall-append' });
    const lost = await rejectionOf(run.result);
    expect(isOrchestrationError(lost, 'LEASE_LOST')).toBe(true);
    await delay(50);
    expect(appends).toEqual([]);
    // The suspended checkpoint still carries the lineage: nothing is lost.
    const b = createRuntime({
      store: inner,
      workflows: [workflow],
      lease: { owner: 'worker-b', ttlMs: 60_000 },
    });
    const resumed = await b.resume('stall-append');
    b.send('stall-append', { type: 'approved', data: { ok: true } });
    await resumed.result;
    const flow = await b.lineage('stall-append');
    expect(await loggedSeqs(inner, 'stall-append')).toEqual(
      flow.getFullTransitionLog().map((t) => t.seq),
    );
    await a.close();
    await b.close();
  });
});

describe('a lineage append of a stalled worker that lands after the new holder appended', () => {
  it('is not made again (file store): the log never repeats a seq', async () => {
    current = await STORES.file();
    const calls: Calls = {};
    let blockLast = true;
    const workflow = defineWorkflow({
      id: 'overtaken',
      version: '1',
      steps: [
        ...Array.from({ length: 10 }, (_, i) => ({
          stepId: `s${i}`,
          run: trailStep(calls, `s${i}`),
        })),
        {
          stepId: 'last',
          run: async (context: Context, _step: unknown, { signal }: { signal: AbortSignal }) => {
            if (blockLast) {
              await new Promise((_resolve, reject) =>
                signal.addEventListener('abort', () => reject(signal.reason)),
              );
            }
            return createContext('Done', { from: context.contextId });
          },
        },
      ],
    });
    // Worker A's first lineage append is held back (A stalled right as it made it), and from
    // then on its lease renewals never return: its lease lapses.
    let stalled = false;
    let wake: () => void = () => {};
    const woken = new Promise<void>((resolve) => {
      wake = resolve;
    });
    const inflight = new Set<Promise<unknown>>();
    const inner = current.store;
    const storeA = new Proxy(inner, {
      get(target, key, receiver) {
        const value = Reflect.get(target, key, receiver);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          if (!stalled && lineageAppended(key, args) !== undefined) {
            stalled = true;
            const late = woken.then(() => Reflect.apply(value, target, args));
            inflight.add(late);
            late.then(
              () => inflight.delete(late),
              () => inflight.delete(late),
            );
            return late;
          }
          if (stalled && key === 'claimLease') return new Promise(() => {});
          const call = Reflect.apply(value, target, args) as Promise<unknown>;
          inflight.add(call);
          call.then(
            () => inflight.delete(call),
            () => inflight.delete(call),
          );
          return call;
        };
      },
    });
    const a = createRuntime({ store: storeA, lease: { owner: 'worker-a', ttlMs: TTL } });
    const runA = await a.start(workflow, { n: 1 }, { taskId: 'overtaken' });
    const lostA = await rejectionOf(runA.result);
    expect(lostA).toMatchObject({ code: 'LEASE_LOST' });
    expect(stalled).toBe(true);
    expect(await inner.readLog('overtaken', 'lineage')).toEqual([]);
    // Worker B takes the task over and finishes it: it appends the whole lineage.
    blockLast = false;
    const b = createRuntime({
      store: await current.reopen(),
      workflows: [workflow],
      lease: { owner: 'worker-b', ttlMs: 60_000 },
    });
    // Once A's lease has lapsed by the store's clock too.
    let runB: Awaited<ReturnType<typeof b.resume>> | undefined;
    while (runB === undefined) {
      runB = await b.resume('overtaken').catch(async (error: unknown) => {
        if (!isOrchestrationError(error, 'TASK_LEASED')) throw error;
        await delay(20);
        return undefined;
      });
    }
    await runB.result;
    const appendedByB = await loggedSeqs(inner, 'overtaken');
    expect(appendedByB.length).toBeGreaterThan(10);
    // A wakes: its append lands now, after B's.
    wake();
    while (inflight.size > 0) await Promise.allSettled([...inflight]);
    await delay(20);
    while (inflight.size > 0) await Promise.allSettled([...inflight]);
    const seqs = await loggedSeqs(inner, 'overtaken');
    expect(seqs).toEqual(appendedByB);
    expect(increasing(seqs)).toBe(true);
    const c = createRuntime({ store: await current.reopen(), workflows: [workflow] });
    expect((await c.lineage('overtaken')).size).toBe(seqs.length);
    await expect((await c.resume('overtaken')).result).resolves.toMatchObject({
      contextType: 'Done',
    });
    await a.close();
    await b.close();
    await c.close();
  });
});

describe('a lineage log that repeats transitions (written by a stalled worker before the fix)', () => {
  /** Appends the entries `[from, to]` of the task's lineage log again, at its end. */
  async function repeat(store: CheckpointStore, taskId: string, from: number, to: number) {
    const entries = await store.readLog(taskId, 'lineage');
    await store.appendLog(taskId, 'lineage', entries.slice(from, to + 1));
  }

  it('is read without the repeats: lineage, resume of a finished task, and recover', async () => {
    current = await STORES.file();
    const { store } = current;
    const calls: Calls = {};
    const workflow = chain(calls, 12);
    const first = createRuntime({ store });
    const done = await first.start(workflow, { n: 1 }, { taskId: 'finished' });
    const result = await done.result;
    const expected = done.lineage.getFullTransitionLog().map((t) => t.seq);
    await repeat(store, 'finished', 3, 6);
    expect((await loggedSeqs(store, 'finished')).length).toBe(expected.length + 4);
    const reader = createRuntime({ store: await current.reopen(), workflows: [workflow] });
    const flow = await reader.lineage('finished');
    expect(flow.getFullTransitionLog().map((t) => t.seq)).toEqual(expected);
    await expect((await reader.resume('finished')).result).resolves.toEqual(result);

    // An unfinished task: suspended at a wait, its log damaged, then recovered and finished.
    const waiting = defineWorkflow({
      id: 'waiting',
      version: '1',
      steps: [
        ...Array.from({ length: 10 }, (_, i) => ({
          stepId: `w${i}`,
          run: trailStep(calls, `w${i}`),
        })),
        { stepId: 'approve', waitFor: { event: 'approved' } },
        { stepId: 'after', run: trailStep(calls, 'after') },
      ],
    });
    const owner = createRuntime({ store, workflows: [waiting] });
    const suspended = new Promise<void>((resolve) =>
      owner.subscribe((event) => {
        if (event.type === 'status.changed' && event.status === 'suspended') resolve();
      }),
    );
    await owner.start(waiting, { n: 1 }, { taskId: 'suspended' });
    await suspended;
    await owner.close();
    const before = await loggedSeqs(store, 'suspended');
    expect(before.length).toBeGreaterThan(8);
    await repeat(store, 'suspended', 2, 5);
    const recovering = createRuntime({ store: await current.reopen(), workflows: [waiting] });
    const report = await recovering.recover();
    expect(report.failed).toEqual([]);
    expect(report.resumed.map((r) => r.taskId)).toEqual(['suspended']);
    recovering.send('suspended', { type: 'approved', data: { ok: true } });
    await report.resumed[0]!.result;
    const history = (await recovering.lineage('suspended'))
      .getFullTransitionLog()
      .map((t) => t.seq);
    expect(history).toEqual(Array.from({ length: history.length }, (_, i) => i));
    // The new appends went after the highest seq: the log repeats only what it repeated.
    const after = await loggedSeqs(store, 'suspended');
    expect(after.slice(0, before.length + 4)).toEqual([...before, 2, 3, 4, 5]);
    expect(increasing(after.slice(before.length + 4))).toBe(true);
    expect(after.slice(before.length + 4)[0]).toBe(Math.max(...before) + 1);
    await reader.close();
    await recovering.close();
    await first.close();
  });

  it('a new writer of a log whose last line repeats appends after its highest seq', async () => {
    current = await STORES.file();
    const { store } = current;
    const done = await createRuntime({ store }).start(chain({}, 6), { n: 1 }, { taskId: 'tail' });
    await done.result;
    const transitions = done.lineage.getFullTransitionLog();
    const top = transitions.at(-1)!.seq;
    await repeat(store, 'tail', 1, 2);
    // A manager that has never seen the task reads the log's tail: the highest seq, not the last.
    const manager = await getCheckpointManager(await current.reopen());
    expect(await manager.saveLineage('tail', transitions)).toBe(0);
    const next = { ...transitions.at(-1)!, seq: top + 1 };
    expect(await manager.saveLineage('tail', [...transitions, next])).toBe(1);
    expect((await loggedSeqs(store, 'tail')).slice(-4)).toEqual([top, 1, 2, top + 1]);
    expect((await manager.loadLineage('tail')).map((t) => t.seq)).toEqual(
      Array.from({ length: top + 2 }, (_, i) => i),
    );
  });

  it('a repeated seq with other content is still a CorruptRecordError', async () => {
    current = await STORES.file();
    const { store } = current;
    const done = await createRuntime({ store }).start(chain({}, 4), { n: 1 }, { taskId: 'forked' });
    await done.result;
    const [entry] = await store.readLog('forked', 'lineage', { from: 2, limit: 1 });
    const changed = { ...(JSON.parse(entry!) as Record<string, unknown>), componentName: 'other' };
    await store.appendLog('forked', 'lineage', [JSON.stringify(changed)]);
    const manager = await getCheckpointManager(store);
    const error = await rejectionOf(manager.loadLineage('forked'));
    expect(isOrchestrationError(error, 'CORRUPT_RECORD')).toBe(true);
    expect(String(error)).toContain('repeats seq 2 with other content');
  });
});
