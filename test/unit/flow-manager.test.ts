import {
  type Context,
  ContextFlowManager,
  type ContextTransition,
  ContextValidationError,
  InvalidIdError,
  NonJsonValueError,
} from 'mcp-orchestration';
import { describe, expect, it } from 'vitest';

function ctx(contextId: string, contextType = 'TaskContext'): Context {
  return Object.freeze({ contextId, contextType, data: {}, metadata: Object.freeze({}) });
}

function clock(start = 1_000): () => number {
  let t = start;
  return () => t++;
}

describe('ContextFlowManager: logging', () => {
  it('validates the workflow id', () => {
    for (const workflowId of ['', 'has space', 'a:b', '../x', '.hidden']) {
      expect(() => new ContextFlowManager({ workflowId })).toThrow(InvalidIdError);
    }
    expect(() => new ContextFlowManager({ workflowId: 42 as unknown as string })).toThrow(
      InvalidIdError,
    );
    expect(new ContextFlowManager({ workflowId: 'workflow_123' }).workflowId).toBe('workflow_123');
  });

  it('returns the frozen transition it logged, with seq and the injected clock', () => {
    const flow = new ContextFlowManager({ workflowId: 'wf', now: clock(500) });
    const original = ctx('context_123', 'InputContext');
    const processed = ctx('context_456', 'SummaryContext');
    const metadata = { processing_time: 0.25, tags: ['a'] };
    const first = flow.logTransition({ toContext: original, componentName: 'Loader' });
    const second = flow.logTransition({
      toContext: processed,
      componentName: 'TextProcessor',
      operation: 'summarize',
      fromContext: original,
      metadata,
    });
    expect(first).toEqual({
      seq: 0,
      workflowId: 'wf',
      toContextId: 'context_123',
      toContextType: 'InputContext',
      fromContextIds: [],
      fromContextTypes: [],
      componentName: 'Loader',
      timestamp: 500,
      metadata: {},
    });
    expect('operation' in first).toBe(false);
    expect(second).toMatchObject({
      seq: 1,
      toContextId: 'context_456',
      fromContextIds: ['context_123'],
      fromContextTypes: ['InputContext'],
      operation: 'summarize',
      timestamp: 501,
      metadata: { processing_time: 0.25, tags: ['a'] },
    });
    expect(Object.isFrozen(second)).toBe(true);
    expect(Object.isFrozen(second.metadata.tags)).toBe(true);
    expect(Object.isFrozen(second.fromContextIds)).toBe(true);
    // The metadata was copied: changing the caller's object does not change the log.
    metadata.tags.push('b');
    expect(flow.getContextHistory('context_456')[0]?.metadata).toEqual({
      processing_time: 0.25,
      tags: ['a'],
    });
    expect(flow.nextSeq).toBe(2);
    expect(flow.size).toBe(2);
  });

  it('accepts refs and several parents (a merge)', () => {
    const flow = new ContextFlowManager({ workflowId: 'wf' });
    const merged = flow.logTransition({
      toContext: { contextId: 'merged', contextType: 'ResultContext' },
      componentName: 'Merger',
      fromContext: [ctx('left', 'PartContext'), { contextId: 'right', contextType: 'PartContext' }],
    });
    expect(merged.fromContextIds).toEqual(['left', 'right']);
    expect(merged.fromContextTypes).toEqual(['PartContext', 'PartContext']);
  });

  it('refuses bad input with typed errors and writes nothing', () => {
    const flow = new ContextFlowManager({ workflowId: 'wf' });
    const to = ctx('to');
    const bad: [unknown, new (...args: never[]) => Error, RegExp?][] = [
      [{ toContext: to, componentName: 'C', metadata: { when: new Date() } }, NonJsonValueError],
      [{ toContext: to, componentName: 'C', metadata: { f: () => 1 } }, NonJsonValueError],
      [{ toContext: to, componentName: 'C', metadata: { n: Number.NaN } }, NonJsonValueError],
      [{ toContext: to, componentName: 'C', metadata: ['x'] }, ContextValidationError],
      [{ toContext: to, componentName: '' }, ContextValidationError],
      [{ toContext: to, componentName: 'C', operation: 7 }, ContextValidationError],
      [{ toContext: ctx('bad id'), componentName: 'C' }, InvalidIdError],
      [
        { toContext: { contextId: 'x', contextType: '' }, componentName: 'C' },
        ContextValidationError,
      ],
      [{ toContext: to, componentName: 'C', fromContext: [ctx('ok'), ctx('a/b')] }, InvalidIdError],
      [{ toContext: to, componentName: 'C', fromContext: [null] }, ContextValidationError],
      [null, ContextValidationError],
    ];
    for (const [input, errorClass] of bad) {
      expect(() => flow.logTransition(input as never)).toThrow(errorClass);
    }
    try {
      flow.logTransition({
        toContext: to,
        componentName: 'C',
        // @ts-expect-error a Date is not JSON, and the types say so too
        metadata: { deep: { when: new Date() } },
      });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(NonJsonValueError);
      expect((error as NonJsonValueError).path).toBe('$.metadata.deep.when');
    }
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() =>
      flow.logTransition({ toContext: to, componentName: 'C', metadata: cyclic as never }),
    ).toThrow(NonJsonValueError);
    expect(flow.size).toBe(0);
    expect(flow.nextSeq).toBe(0);
    expect(flow.getContextHistory('to')).toEqual([]);
    expect(flow.findOriginatingContext('to')).toBeUndefined();
  });

  it('refuses a clock that returns a non-finite time', () => {
    const flow = new ContextFlowManager({ workflowId: 'wf', now: () => Number.NaN });
    expect(() => flow.logTransition({ toContext: ctx('a'), componentName: 'C' })).toThrow(
      ContextValidationError,
    );
    expect(flow.size).toBe(0);
  });
});

describe('ContextFlowManager: history and log', () => {
  it('returns the transitions that produced a context, by id, as a new array', () => {
    const flow = new ContextFlowManager({ workflowId: 'wf' });
    const a = ctx('a');
    const b = ctx('b');
    flow.logTransition({ toContext: a, componentName: 'Start' });
    const t1 = flow.logTransition({ toContext: b, componentName: 'P', fromContext: a });
    flow.logTransition({ toContext: ctx('c'), componentName: 'Q', fromContext: b });
    const t3 = flow.logTransition({ toContext: b, componentName: 'Executor', operation: 'begin' });
    expect(flow.getContextHistory('b')).toEqual([t1, t3]);
    const copy = flow.getContextHistory('b');
    copy.pop();
    expect(flow.getContextHistory('b')).toHaveLength(2);
    expect(flow.getContextHistory('unknown')).toEqual([]);
    expect(flow.getFullTransitionLog().map((t) => t.seq)).toEqual([0, 1, 2, 3]);
    expect(flow.getFullTransitionLog().map((t) => t.componentName)).toEqual([
      'Start',
      'P',
      'Q',
      'Executor',
    ]);
  });

  it('answers lookups made between writes, and after a prune, as a manager looked up after every write', () => {
    // The index is brought up to date at the first lookup after writes: interleave them.
    const chain = (flow: ContextFlowManager, from: number, to: number) => {
      for (let i = from; i < to; i++) {
        flow.logTransition({
          toContext: ctx(`c${i}`, i % 3 === 0 ? 'Plan' : 'Step'),
          componentName: `s${i}`,
          ...(i === 0
            ? {}
            : { fromContext: ctx(`c${i - 1}`, (i - 1) % 3 === 0 ? 'Plan' : 'Step') }),
        });
      }
    };
    const lazy = new ContextFlowManager({ workflowId: 'wf', now: clock() });
    chain(lazy, 0, 4);
    expect(lazy.findOriginatingContext('c3')).toBe('c0');
    chain(lazy, 4, 9);
    expect(lazy.getContextHistory('c8').map((t) => t.componentName)).toEqual(['s8']);
    expect(lazy.findOriginatingContext('c8', { targetType: 'Plan' })).toBe('c6');
    chain(lazy, 9, 12);
    // Pruned with transitions no lookup has seen yet.
    expect(lazy.prune({ keepLatest: 4 })).toBe(8);
    chain(lazy, 12, 14);

    // The same writes with a lookup after each one.
    const eager = new ContextFlowManager({ workflowId: 'wf', now: clock() });
    for (let i = 0; i < 12; i++) {
      chain(eager, i, i + 1);
      eager.getContextHistory(`c${i}`);
    }
    eager.prune({ keepLatest: 4 });
    chain(eager, 12, 14);
    expect(lazy.toJSON()).toEqual(eager.toJSON());
    expect(lazy.findOriginatingContext('c13')).toBe('c0');
    expect(lazy.findOriginatingContexts('c13')).toEqual(eager.findOriginatingContexts('c13'));
    for (const i of [9, 11, 13]) {
      expect(lazy.getContextHistory(`c${i}`).map((t) => t.componentName)).toEqual([`s${i}`]);
    }
    expect(lazy.toMermaid()).toBe(eager.toMermaid());
  });

  it('transitionsSince returns the transitions with seq >= the given one', () => {
    const flow = new ContextFlowManager({ workflowId: 'wf' });
    for (let i = 0; i < 5; i++) flow.logTransition({ toContext: ctx(`c${i}`), componentName: 'C' });
    expect(flow.transitionsSince(0).map((t) => t.seq)).toEqual([0, 1, 2, 3, 4]);
    expect(flow.transitionsSince(3).map((t) => t.seq)).toEqual([3, 4]);
    expect(flow.transitionsSince(5)).toEqual([]);
    expect(flow.transitionsSince(-10)).toHaveLength(5);
  });
});

describe('ContextFlowManager: origins', () => {
  function chain(): ContextFlowManager {
    // input -> parsed -> processed -> result; result logged again with no parent.
    const flow = new ContextFlowManager({ workflowId: 'wf' });
    const input = ctx('input', 'InputContext');
    const parsed = ctx('parsed', 'ParsedContext');
    const processed = ctx('processed', 'ProcessedContext');
    const result = ctx('result', 'ResultContext');
    flow.logTransition({ toContext: input, componentName: 'Executor' });
    flow.logTransition({ toContext: parsed, componentName: 'Parser', fromContext: input });
    flow.logTransition({ toContext: processed, componentName: 'Proc', fromContext: parsed });
    flow.logTransition({ toContext: result, componentName: 'Gen', fromContext: processed });
    flow.logTransition({ toContext: result, componentName: 'Executor', operation: 'begin' });
    return flow;
  }

  it('walks back to the origin; an origin is its own origin; unknown is undefined', () => {
    const flow = chain();
    expect(flow.findOriginatingContext('result')).toBe('input');
    expect(flow.findOriginatingContext('parsed')).toBe('input');
    expect(flow.findOriginatingContext('input')).toBe('input');
    expect(flow.findOriginatingContext('nope')).toBeUndefined();
    expect(flow.findOriginatingContexts('nope')).toEqual([]);
  });

  it('stops at the nearest context of targetType (itself included), by name or definition', () => {
    const flow = chain();
    expect(flow.findOriginatingContext('result', { targetType: 'ParsedContext' })).toBe('parsed');
    expect(
      flow.findOriginatingContext('result', { targetType: { name: 'ProcessedContext' } }),
    ).toBe('processed');
    expect(flow.findOriginatingContext('parsed', { targetType: 'ParsedContext' })).toBe('parsed');
    expect(flow.findOriginatingContext('parsed', { targetType: 'ResultContext' })).toBeUndefined();
    expect(flow.findOriginatingContexts('result', { targetType: 'ParsedContext' })).toEqual([
      'parsed',
    ]);
    expect(() =>
      flow.findOriginatingContext('result', { targetType: {} as { name: string } }),
    ).toThrow(ContextValidationError);
  });

  it('follows the first parent of a merge; findOriginatingContexts finds every origin once', () => {
    // Diamond with two origins: a -> x, a -> y, b -> y, (x, y) -> m
    const flow = new ContextFlowManager({ workflowId: 'wf' });
    const [a, b, x, y, m] = ['a', 'b', 'x', 'y', 'm'].map((id) => ctx(id));
    flow.logTransition({ toContext: x!, componentName: 'C', fromContext: a });
    flow.logTransition({ toContext: y!, componentName: 'C', fromContext: [a!, b!] });
    flow.logTransition({ toContext: m!, componentName: 'Merge', fromContext: [y!, x!] });
    expect(flow.findOriginatingContext('m')).toBe('a');
    expect(flow.findOriginatingContexts('m')).toEqual(['a', 'b']);
    expect(flow.findOriginatingContexts('x')).toEqual(['a']);
    expect(flow.findOriginatingContexts('a')).toEqual(['a']);
    // The first parent of b's branch decides: make b the first parent of a new merge.
    flow.logTransition({ toContext: ctx('n'), componentName: 'Merge', fromContext: [b!, x!] });
    expect(flow.findOriginatingContext('n')).toBe('b');
  });

  it('terminates on cycles and returns the context whose first parent closes the cycle', () => {
    const flow = new ContextFlowManager({ workflowId: 'wf' });
    const a = ctx('A');
    const b = ctx('B', 'Other');
    flow.logTransition({ toContext: b, componentName: 'C', fromContext: a });
    flow.logTransition({ toContext: a, componentName: 'C', fromContext: b });
    expect(flow.findOriginatingContext('A')).toBe('B');
    expect(flow.findOriginatingContext('B')).toBe('A');
    expect(flow.findOriginatingContexts('A')).toEqual([]);
    expect(flow.findOriginatingContext('A', { targetType: 'Missing' })).toBeUndefined();
    expect(flow.findOriginatingContext('A', { targetType: 'Other' })).toBe('B');
    // A self loop.
    flow.logTransition({ toContext: ctx('S'), componentName: 'C', fromContext: ctx('S') });
    expect(flow.findOriginatingContext('S')).toBe('S');
    // A cycle with a way out: X from O, Y from X, X from Y.
    flow.logTransition({ toContext: ctx('X'), componentName: 'C', fromContext: ctx('O') });
    flow.logTransition({ toContext: ctx('Y'), componentName: 'C', fromContext: ctx('X') });
    flow.logTransition({ toContext: ctx('X'), componentName: 'C', fromContext: ctx('Y') });
    expect(flow.findOriginatingContext('Y')).toBe('O');
    expect(flow.findOriginatingContexts('Y')).toEqual(['O']);
  });

  it('handles a chain of 100,000 transitions without recursion, and a cycle closing it', () => {
    const flow = new ContextFlowManager({ workflowId: 'wf', now: () => 0 });
    const n = 100_000;
    let previous = { contextId: 'c0', contextType: 'InputContext' };
    flow.logTransition({ toContext: previous, componentName: 'Start' });
    for (let i = 1; i < n; i++) {
      const next = { contextId: `c${i}`, contextType: 'StepContext' };
      flow.logTransition({ toContext: next, componentName: 'Step', fromContext: previous });
      previous = next;
    }
    const last = `c${n - 1}`;
    expect(flow.size).toBe(n);
    expect(flow.findOriginatingContext(last)).toBe('c0');
    expect(flow.findOriginatingContext(last, { targetType: 'InputContext' })).toBe('c0');
    expect(flow.findOriginatingContexts(last)).toEqual(['c0']);
    expect(flow.getContextHistory('c50000')[0]?.fromContextIds).toEqual(['c49999']);
    // Close the loop: c0 from the last one. Every walk must still end.
    flow.logTransition({
      toContext: { contextId: 'c0', contextType: 'InputContext' },
      componentName: 'Loop',
      fromContext: previous,
    });
    expect(flow.findOriginatingContext(last)).toBe('c0');
    expect(flow.findOriginatingContext('c0')).toBe('c1');
    expect(flow.findOriginatingContexts(last)).toEqual([]);
  }, 60_000);
});

describe('ContextFlowManager: store', () => {
  it('exposes an @xstate/store store and a subscribe convenience', () => {
    const flow = new ContextFlowManager({ workflowId: 'wf', now: clock() });
    const seen: ContextTransition[] = [];
    const emitted: number[] = [];
    const snapshots: number[] = [];
    const unsubscribe = flow.subscribe((t) => seen.push(t));
    const onLogged = flow.store.on('logged', (event) => emitted.push(event.transition.seq));
    const sub = flow.store.subscribe((snapshot) => snapshots.push(snapshot.context.size));
    const t0 = flow.logTransition({ toContext: ctx('a'), componentName: 'C' });
    const t1 = flow.logTransition({
      toContext: ctx('b'),
      componentName: 'C',
      fromContext: ctx('a'),
    });
    unsubscribe();
    flow.logTransition({ toContext: ctx('c'), componentName: 'C' });
    expect(seen).toEqual([t0, t1]);
    expect(emitted).toEqual([0, 1, 2]);
    expect(snapshots).toEqual([1, 2, 3]);
    expect(flow.store.getSnapshot().context).toMatchObject({
      workflowId: 'wf',
      size: 3,
      firstSeq: 0,
      nextSeq: 3,
      last: { seq: 2, toContextId: 'c' },
    });
    const pruned: { removed: number; firstSeq: number }[] = [];
    flow.store.on('pruned', (event) =>
      pruned.push({ removed: event.removed, firstSeq: event.firstSeq }),
    );
    flow.prune({ keepLatest: 1 });
    expect(pruned).toEqual([{ removed: 2, firstSeq: 2 }]);
    expect(flow.store.getSnapshot().context).toMatchObject({ size: 1, firstSeq: 2, nextSeq: 3 });
    flow.prune({ keepLatest: 0 });
    expect(flow.store.getSnapshot().context).toMatchObject({ size: 0, firstSeq: 3, nextSeq: 3 });
    expect(flow.store.getSnapshot().context.last).toBeUndefined();
    onLogged.unsubscribe();
    sub.unsubscribe();
  });

  it('gives a store first asked for after transitions were logged the summary of the log so far', () => {
    const flow = new ContextFlowManager({ workflowId: 'wf', now: clock() });
    flow.logTransition({ toContext: ctx('a'), componentName: 'C' });
    flow.logTransition({ toContext: ctx('b'), componentName: 'C', fromContext: ctx('a') });
    expect(flow.store.getSnapshot().context).toMatchObject({
      size: 2,
      firstSeq: 0,
      nextSeq: 2,
      last: { seq: 1, toContextId: 'b' },
    });
    const restored = ContextFlowManager.fromJSON(flow.toJSON());
    expect(restored.store.getSnapshot().context).toMatchObject({ size: 2, nextSeq: 2 });
  });
});
