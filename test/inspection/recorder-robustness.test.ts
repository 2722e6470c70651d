import {
  ContextFlowManager,
  createContext,
  createRunRecorder,
  createRuntime,
  defineMachineWorkflow,
  defineWorkflow,
  type RecordedEvent,
  readRecording,
  renderInspectionHtml,
} from 'mcp-orchestration';
import { createMemoryStore } from 'mcp-orchestration/memory';
import { describe, expect, it } from 'vitest';
import { type AnyStateMachine, assign, createActor, fromPromise, setup } from 'xstate';
import { collectGarbage } from '../support/gc.js';

/** A `defineMachineWorkflow` whose invoked actor resolves with `output()`; keeps `status` only. */
function fetcher(output: () => unknown) {
  const machine = setup({
    actors: { fetchIt: fromPromise(async () => output()) },
  }).createMachine({
    id: 'fetcher',
    context: { status: 0 },
    initial: 'fetching',
    states: {
      fetching: {
        invoke: {
          src: 'fetchIt',
          onDone: {
            target: 'done',
            actions: assign({
              status: ({ event }) => (event.output as { status: number }).status,
            }),
          },
        },
      },
      done: { type: 'final' },
    },
    output: ({ context }) => ({ status: context.status }),
  });
  return defineMachineWorkflow({ id: 'fetcher', version: '1', machine });
}

/** The `xstate.done.actor` event the recording kept for the invoked actor. */
function doneEvent(events: readonly RecordedEvent[]): Record<string, unknown> | undefined {
  return events.find(
    (e) => e.type === '@xstate.event' && String(e.event?.type).startsWith('xstate.done.actor'),
  )?.event;
}

/** The output of the `xstate.done.actor` event the recording kept for the invoked actor. */
function doneOutput(events: readonly RecordedEvent[]): unknown {
  return doneEvent(events)?.output;
}

/** Runs `workflow` with recording on (as `record`, or through `recorder.inspect`); its events. */
async function recordRun(
  workflow: ReturnType<typeof fetcher>,
  via: 'record' | 'inspect',
  onError?: (error: unknown) => void,
) {
  const store = createMemoryStore();
  const recorder = createRunRecorder(store, { onError });
  const runtime = createRuntime(
    via === 'record'
      ? { store, record: { onError }, workflows: [workflow] }
      : { store, inspect: recorder.inspect, workflows: [workflow] },
  );
  const run = await runtime.start(workflow, {}, { taskId: 'f1' });
  const result = await run.result;
  await runtime.close();
  await recorder.end('f1');
  const [session] = (await readRecording(store, 'f1')).sessions;
  return { result, events: session?.events ?? [], session };
}

describe('recording never fails the run (values that cannot be serialized)', () => {
  class WithThrowingGetter {
    status = 200;
    constructor() {
      Object.defineProperty(this, 'body', {
        enumerable: true,
        get() {
          throw new Error('body already consumed');
        },
      });
    }
  }
  class WithThrowingToJson {
    status = 200;
    toJSON(): never {
      throw new Error('cannot be serialized');
    }
  }
  const revoked = () => {
    const { proxy, revoke } = Proxy.revocable({ status: 200 }, {});
    const value = { status: 200, handle: proxy };
    revoke();
    return value;
  };

  for (const via of ['record', 'inspect'] as const) {
    it(`a throwing getter: the run completes and the value is recorded as unserializable (${via})`, async () => {
      const errors: unknown[] = [];
      const { result, events } = await recordRun(
        fetcher(() => new WithThrowingGetter()),
        via,
        (error) => errors.push(error),
      );
      expect(result.data).toEqual({ status: 200 });
      expect(doneOutput(events)).toEqual({
        status: 200,
        body: '[Unserializable: body already consumed]',
      });
      expect(errors).toEqual([]);
    });
  }

  it('a throwing toJSON(): the run completes, the value is recorded as unserializable', async () => {
    const { result, events } = await recordRun(
      fetcher(() => new WithThrowingToJson()),
      'record',
    );
    expect(result.data).toEqual({ status: 200 });
    expect(doneOutput(events)).toBe('[Unserializable: cannot be serialized]');
  });

  it('a revoked proxy: the run completes, the proxy is recorded as unserializable', async () => {
    const { result, events } = await recordRun(fetcher(revoked), 'inspect');
    expect(result.data).toEqual({ status: 200 });
    expect(doneOutput(events)).toEqual({
      status: 200,
      handle: expect.stringMatching(/^\[Unserializable: .*revoked/),
    });
  });

  it('a recorder option that throws is reported to onError, never to the run', async () => {
    const errors: unknown[] = [];
    const store = createMemoryStore();
    const recorder = createRunRecorder(store, {
      taskIdOf: () => {
        throw new Error('taskIdOf failed');
      },
      onError: (error) => errors.push(error),
    });
    const workflow = fetcher(() => ({ status: 200 }));
    const runtime = createRuntime({ store, inspect: recorder.inspect, workflows: [workflow] });
    const run = await runtime.start(workflow, {}, { taskId: 'f2' });
    expect((await run.result).data).toEqual({ status: 200 });
    await runtime.close();
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.every((e) => (e as Error).message === 'taskIdOf failed')).toBe(true);

    const failing = createRuntime({
      store,
      record: {
        now: () => {
          throw new Error('clock failed');
        },
        onError: (error) => errors.push(error),
      },
      workflows: [workflow],
    });
    const second = await failing.start(workflow, {}, { taskId: 'f3' });
    expect((await second.result).data).toEqual({ status: 200 });
    await failing.close();
    expect(errors.some((e) => (e as Error).message === 'clock failed')).toBe(true);
  });
});

describe('bounding a large value reads only the part of it that fits', () => {
  it('a 100,000-item output is stored as { $truncated } after reading a bounded part of it', async () => {
    let reads = 0;
    const items = Array.from({ length: 100_000 }, (_, i) => ({ id: i, name: `item ${i}` }));
    const counted = new Proxy(items, {
      get(target, key, receiver) {
        reads += 1;
        return Reflect.get(target, key, receiver);
      },
    });
    const { result, events } = await recordRun(
      fetcher(() => ({ status: 200, items: counted })),
      'record',
    );
    expect(result.data).toEqual({ status: 200 });
    expect(doneEvent(events)).toEqual({
      $truncated: expect.stringMatching(/bytes, over 16384$/),
      type: 'xstate.done.actor.0.fetcher.fetching',
    });
    // Several events carry it (the promise's resolution, the done event, the snapshots after
    // them), each conversion stopping past 16 KiB of JSON (under 1,000 of these items): a few
    // thousand reads in all, where converting it whole reads 100,000 items each time.
    expect(reads).toBeGreaterThan(0);
    expect(reads).toBeLessThan(10_000);
  });

  it('small values are recorded exactly as before, and kept up to exactly maxValueBytes', async () => {
    class Point {
      constructor(
        readonly x: number,
        readonly y?: number,
      ) {}
    }
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    const value = {
      status: 200,
      text: 'héllo "quoted" \u{1F600} \ud800',
      when: new Date(0),
      error: new TypeError('bad'),
      fn: function named() {},
      missing: undefined,
      numbers: [1.5, Number.NaN, Number.POSITIVE_INFINITY, -0, undefined],
      big: 10n,
      point: new Point(1),
      map: new Map([[1, 2]]),
      bytes: new Uint8Array([1, 2]),
      cyclic,
      frozen: Object.freeze({ list: Object.freeze([1, 'two', null]) }),
    };
    const expected = {
      status: 200,
      text: 'héllo "quoted" \u{1F600} \ud800',
      when: '1970-01-01T00:00:00.000Z',
      error: { name: 'TypeError', message: 'bad' },
      fn: '[Function named]',
      numbers: [1.5, 'NaN', 'Infinity', 0, null],
      big: '10',
      point: { x: 1 },
      map: {},
      bytes: { '0': 1, '1': 2 },
      cyclic: { name: 'loop', self: '[Circular]' },
      frozen: { list: [1, 'two', null] },
    };
    const { events } = await recordRun(
      fetcher(() => value),
      'record',
    );
    expect(doneOutput(events)).toEqual(expected);

    // The bound is exact: an event of exactly maxValueBytes is kept, one byte more is not.
    // (This and the above held before the byte budget too: the same JSON, the same bound.)
    const event = doneEvent(events);
    const size = new TextEncoder().encode(JSON.stringify(event)).length;
    for (const [maxValueBytes, kept] of [
      [size, true],
      [size - 1, false],
    ] as const) {
      const store = createMemoryStore();
      const workflow = fetcher(() => value);
      const runtime = createRuntime({ store, record: { maxValueBytes }, workflows: [workflow] });
      await (await runtime.start(workflow, {}, { taskId: 'f1' })).result;
      await runtime.close();
      const [session] = (await readRecording(store, 'f1')).sessions;
      expect(doneEvent(session?.events ?? [])).toEqual(
        kept ? event : { $truncated: expect.stringMatching(/bytes, over \d+$/), type: event?.type },
      );
    }
  });

  it('a frozen value read again in later events is recorded as it is then (a getter is not cached)', async () => {
    let current = 'first';
    const shared = Object.freeze({
      fixed: Object.freeze({ a: 1 }),
      get now() {
        return current;
      },
    });
    const machine = setup({}).createMachine({
      id: 'getter',
      context: ({ input }: { input: { taskId: string } }) => ({ taskId: input.taskId, shared }),
      initial: 'a',
      states: { a: { on: { next: 'b' } }, b: { on: { next: 'c' } }, c: { type: 'final' } },
    });
    const store = createMemoryStore();
    const recorder = createRunRecorder(store);
    const actor = createActor(machine, { input: { taskId: 'g1' }, inspect: recorder.inspect });
    actor.start();
    current = 'second';
    actor.send({ type: 'next' });
    current = 'third';
    actor.send({ type: 'next' });
    await recorder.end('g1');
    const [session] = (await readRecording(store, 'g1')).sessions;
    const seen = (session?.events ?? []).flatMap((e) =>
      e.type === '@xstate.snapshot' && e.actorId === e.rootId
        ? [(e.snapshot?.context as { shared?: { now?: string } } | undefined)?.shared?.now]
        : [],
    );
    expect(seen).toEqual(['first', 'second', 'third']);
  });
});

describe('recorder.inspect does not hold the events of actors without a task', () => {
  const big = setup({}).createMachine({
    context: () => ({ big: Array.from({ length: 1000 }, (_, i) => ({ i })) }),
    initial: 'a',
    states: {
      a: { on: { go: 'b', grow: { actions: assign({ big: () => [{ i: -1 }] }) } } },
      b: { type: 'final' },
    },
  });

  it('releases the events of root actors that end without a task', async () => {
    const recorder = createRunRecorder(createMemoryStore());
    const contexts: WeakRef<object>[] = [];
    const start = (machine: AnyStateMachine, stop: 'done' | 'stopped') => {
      const actor = createActor(machine, { inspect: recorder.inspect }).start();
      contexts.push(new WeakRef(actor.getSnapshot().context as object));
      if (stop === 'done') actor.send({ type: 'go' });
      else actor.stop();
    };
    for (let i = 0; i < 20; i++) start(big, i % 2 === 0 ? 'done' : 'stopped');
    await collectGarbage();
    expect(contexts.filter((ref) => ref.deref() !== undefined)).toHaveLength(0);
  });

  it('holds no events of a long-lived root without a task, nor of many unstarted ones', async () => {
    const recorder = createRunRecorder(createMemoryStore());
    const actor = createActor(big, { inspect: recorder.inspect }).start();
    const replaced = new WeakRef(actor.getSnapshot().context as object);
    actor.send({ type: 'grow' }); // a new context: the first is no longer the actor's
    // Created, never started: only their creation is seen (no snapshot, never a task).
    const inputs: WeakRef<object>[] = [];
    for (let i = 0; i < 200; i++) {
      const input = { payload: Array.from({ length: 100 }, (_, j) => j) };
      inputs.push(new WeakRef(input));
      createActor(big, { input, inspect: recorder.inspect });
    }
    await collectGarbage();
    expect(replaced.deref()).toBeUndefined();
    // At most a bounded number of unstarted roots are held (64), not all 200.
    expect(inputs.filter((ref) => ref.deref() !== undefined).length).toBeLessThanOrEqual(64);
    expect(actor.getSnapshot().status).toBe('active');
  });

  it('still records a root named by its context at its first snapshot, with its children before it', async () => {
    const machine = setup({
      actors: { child: fromPromise(async () => 1) },
    }).createMachine({
      id: 'parent',
      context: { taskId: 'ctx_task' },
      initial: 'working',
      states: {
        working: { invoke: { id: 'kid', src: 'child', onDone: 'done' } },
        done: { type: 'final' },
      },
    });
    const store = createMemoryStore();
    const recorder = createRunRecorder(store);
    const actor = createActor(machine, { inspect: recorder.inspect }).start();
    await new Promise<void>((resolve) => {
      actor.subscribe({ complete: () => resolve() });
    });
    await recorder.end('ctx_task');
    const events = (await readRecording(store, 'ctx_task')).sessions[0]?.events ?? [];
    const names = events.flatMap((e) => (e.type === '@xstate.actor' ? [e.name] : []));
    expect(names).toEqual(['parent', 'kid']);
    expect(events.at(-1)?.snapshot?.status).toBe('done');
  });
});

describe('pictures of long lineages and workflows (no stack overflow)', () => {
  it('draws a lineage of 20,000 chained contexts, one per layer', () => {
    const flow = new ContextFlowManager({ workflowId: 'w1' });
    let previous = createContext('T', {}, { contextId: 'c0' });
    flow.logTransition({ toContext: previous, componentName: 'load' });
    for (let i = 1; i < 20_000; i++) {
      const next = createContext('T', {}, { contextId: `c${i}` });
      flow.logTransition({ toContext: next, fromContext: previous, componentName: `step${i}` });
      previous = next;
    }
    const html = renderInspectionHtml({ title: 'long', lineage: flow });
    const ys = [0, 19_999].map((i) => {
      const at = html.indexOf(`<g data-context="c${i}">`);
      return Number(/<rect x="[^"]+" y="([^"]+)"/.exec(html.slice(at))?.[1]);
    });
    expect(ys[0]).toBeLessThan(ys[1] as number);
    expect(ys[1]).toBe((ys[0] as number) + 19_999 * 96);
  });

  it('draws the state chart of a workflow of 8,000 steps', () => {
    const workflow = defineWorkflow({
      id: 'long',
      version: '1',
      steps: Array.from({ length: 8_000 }, (_, i) => ({
        stepId: `s${i}`,
        run: (context) => context,
      })),
    });
    const html = renderInspectionHtml({ title: 'long', workflow });
    expect(html).toContain('<g data-state="s7999">');
  }, 60_000);
});
