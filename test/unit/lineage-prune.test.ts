import fc from 'fast-check';
import { type Context, ContextFlowManager, ContextValidationError } from 'mcp-orchestration';
import { describe, expect, it } from 'vitest';

function ctx(contextId: string, contextType = 'StepContext'): Context {
  return Object.freeze({ contextId, contextType, data: {}, metadata: Object.freeze({}) });
}

/** c0 (InputContext) -> c1 -> ... -> c{n-1}, c{i} of type StepContext. */
function chain(n: number, now?: () => number): ContextFlowManager {
  const flow = new ContextFlowManager({ workflowId: 'wf', ...(now ? { now } : {}) });
  flow.logTransition({ toContext: ctx('c0', 'InputContext'), componentName: 'Start' });
  for (let i = 1; i < n; i++) {
    flow.logTransition({
      toContext: ctx(`c${i}`),
      componentName: 'Step',
      fromContext: ctx(`c${i - 1}`),
    });
  }
  return flow;
}

describe('ContextFlowManager.prune', () => {
  it('keeps the true origin of what remains and forgets what does not', () => {
    const flow = chain(10);
    expect(flow.prune({ keepLatest: 2 })).toBe(8);
    expect(flow.getFullTransitionLog().map((t) => t.seq)).toEqual([8, 9]);
    expect(flow.size).toBe(2);
    expect(flow.nextSeq).toBe(10);
    // c9 and c8 keep their history; c7 is still a parent of a retained transition.
    expect(flow.findOriginatingContext('c9')).toBe('c0');
    expect(flow.findOriginatingContexts('c9')).toEqual(['c0']);
    expect(flow.findOriginatingContext('c7')).toBe('c0');
    expect(flow.getContextHistory('c7')).toEqual([]);
    expect(flow.getContextHistory('c9').map((t) => t.seq)).toEqual([9]);
    // c3 only appeared in dropped transitions.
    expect(flow.getContextHistory('c3')).toEqual([]);
    expect(flow.findOriginatingContext('c3')).toBeUndefined();
    // seq continues; nothing is renumbered.
    const next = flow.logTransition({
      toContext: ctx('c10'),
      componentName: 'Step',
      fromContext: ctx('c9'),
    });
    expect(next.seq).toBe(10);
    expect(flow.transitionsSince(0).map((t) => t.seq)).toEqual([8, 9, 10]);
    expect(flow.findOriginatingContext('c10')).toBe('c0');
    // Pruning again on top of a pruned log.
    expect(flow.prune({ keepLatest: 1 })).toBe(2);
    expect(flow.findOriginatingContext('c10')).toBe('c0');
    expect(flow.findOriginatingContext('c9')).toBe('c0');
    expect(flow.findOriginatingContext('c8')).toBe('c0'); // a parent of c9: the boundary
    expect(flow.findOriginatingContext('c7')).toBeUndefined();
  });

  it('starts a new lineage for a forgotten context that is logged again', () => {
    const flow = chain(3);
    flow.prune({ keepLatest: 0 });
    expect(flow.findOriginatingContext('c2')).toBeUndefined();
    flow.logTransition({ toContext: ctx('c2'), componentName: 'Again' });
    expect(flow.findOriginatingContext('c2')).toBe('c2');
  });

  it('with targetType, sees only the contexts still held', () => {
    const flow = chain(10);
    flow.prune({ keepLatest: 2 });
    expect(flow.findOriginatingContext('c9', { targetType: 'InputContext' })).toBe('c0');
    expect(flow.findOriginatingContexts('c9', { targetType: 'InputContext' })).toEqual(['c0']);
    expect(flow.findOriginatingContext('c9', { targetType: 'StepContext' })).toBe('c9');
    const typed = new ContextFlowManager({ workflowId: 'wf' });
    typed.logTransition({ toContext: ctx('in', 'InputContext'), componentName: 'S' });
    typed.logTransition({
      toContext: ctx('p', 'ParsedContext'),
      componentName: 'S',
      fromContext: ctx('in', 'InputContext'),
    });
    typed.logTransition({
      toContext: ctx('q'),
      componentName: 'S',
      fromContext: ctx('p', 'ParsedContext'),
    });
    typed.logTransition({ toContext: ctx('r'), componentName: 'S', fromContext: ctx('q') });
    typed.logTransition({ toContext: ctx('s'), componentName: 'S', fromContext: ctx('r') });
    expect(typed.findOriginatingContext('s', { targetType: 'ParsedContext' })).toBe('p');
    typed.prune({ keepLatest: 1 }); // keeps s-from-r; r is kept, q is the boundary
    expect(typed.findOriginatingContext('s')).toBe('in');
    // p was only reachable through dropped transitions: documented as no longer seen.
    expect(typed.findOriginatingContext('s', { targetType: 'ParsedContext' })).toBeUndefined();
    expect(typed.findOriginatingContext('s', { targetType: 'InputContext' })).toBe('in');
  });

  it('keeps parents recorded by dropped transitions of a context that is still logged', () => {
    // The seed's basic workflow: a result is produced by a tool, then logged again without a
    // parent when the next step begins. Dropping the first must not make it look like an origin.
    const flow = new ContextFlowManager({ workflowId: 'wf' });
    flow.logTransition({ toContext: ctx('input', 'InputContext'), componentName: 'Executor' });
    flow.logTransition({
      toContext: ctx('r1'),
      componentName: 'tool_parser',
      fromContext: ctx('input', 'InputContext'),
    });
    flow.logTransition({
      toContext: ctx('r1'),
      componentName: 'Executor',
      operation: 'begin_step_process',
    });
    flow.prune({ keepLatest: 1 });
    expect(flow.getContextHistory('r1').map((t) => t.operation)).toEqual(['begin_step_process']);
    expect(flow.findOriginatingContext('r1')).toBe('input');
    expect(flow.findOriginatingContexts('r1')).toEqual(['input']);
    const restored = ContextFlowManager.fromJSON(JSON.parse(JSON.stringify(flow)));
    expect(restored.findOriginatingContext('r1')).toBe('input');
  });

  it('lets pruned ancestry continue through contexts still held, which may gain parents later', () => {
    // k6 from k3, k7 from k6, then k7 and k3 logged alone; keep those two: k6 becomes a boundary
    // whose ancestry continues at k3, which is still held. Then k3 gets a parent.
    const flow = new ContextFlowManager({ workflowId: 'wf' });
    flow.logTransition({ toContext: ctx('k6'), componentName: 'C', fromContext: ctx('k3') });
    flow.logTransition({ toContext: ctx('k7'), componentName: 'C', fromContext: ctx('k6') });
    flow.logTransition({ toContext: ctx('k7'), componentName: 'C' });
    flow.logTransition({ toContext: ctx('k3'), componentName: 'C' });
    flow.prune({ keepLatest: 2 });
    expect(flow.findOriginatingContext('k7')).toBe('k3');
    flow.logTransition({ toContext: ctx('k3'), componentName: 'C', fromContext: ctx('k0') });
    expect(flow.findOriginatingContext('k7')).toBe('k0');
    expect(flow.findOriginatingContexts('k7')).toEqual(['k0']);
    // An origin that became a boundary parent, then gets a parent.
    const other = new ContextFlowManager({ workflowId: 'wf' });
    other.logTransition({ toContext: ctx('k10'), componentName: 'C', fromContext: ctx('k2') });
    other.logTransition({ toContext: ctx('k10'), componentName: 'C' });
    other.prune({ keepLatest: 1 });
    const restored = ContextFlowManager.fromJSON(JSON.parse(JSON.stringify(other)));
    for (const flowLog of [other, restored]) {
      flowLog.logTransition({ toContext: ctx('k2'), componentName: 'C', fromContext: ctx('k0') });
      expect(flowLog.findOriginatingContext('k10')).toBe('k0');
    }
  });

  it('drops by time with before, stopping at the first newer transition', () => {
    const times = [10, 20, 30, 15, 40];
    let i = 0;
    const flow = new ContextFlowManager({ workflowId: 'wf', now: () => times[i++] as number });
    for (let k = 0; k < times.length; k++)
      flow.logTransition({ toContext: ctx(`c${k}`), componentName: 'C' });
    expect(flow.prune({ before: 5 })).toBe(0);
    // 15 (seq 3) is older than 25, but 30 (seq 2) is not: only a prefix is dropped.
    expect(flow.prune({ before: 25 })).toBe(2);
    expect(flow.getFullTransitionLog().map((t) => t.seq)).toEqual([2, 3, 4]);
  });

  it('with keepLatest and before, drops only what both allow', () => {
    let t = 0;
    const flow = chain(6, () => t++); // timestamps 0..5
    expect(flow.prune({ keepLatest: 2, before: 2 })).toBe(2); // before is stricter
    expect(flow.prune({ keepLatest: 3, before: 100 })).toBe(1); // keepLatest is stricter
    expect(flow.getFullTransitionLog().map((t) => t.timestamp)).toEqual([3, 4, 5]);
    expect(flow.findOriginatingContext('c5')).toBe('c0');
  });

  it('validates its options', () => {
    const flow = chain(3);
    expect(() => flow.prune({})).toThrow(ContextValidationError);
    expect(() => flow.prune({ keepLatest: -1 })).toThrow(ContextValidationError);
    expect(() => flow.prune({ keepLatest: 1.5 })).toThrow(ContextValidationError);
    expect(() => flow.prune({ before: Number.NaN })).toThrow(ContextValidationError);
    expect(flow.size).toBe(3);
    expect(flow.prune({ keepLatest: 5 })).toBe(0);
  });

  it('prunes a 20,000-transition chain and still finds the origin', () => {
    const flow = chain(20_000, () => 0);
    expect(flow.prune({ keepLatest: 10 })).toBe(19_990);
    expect(flow.findOriginatingContext('c19999')).toBe('c0');
    expect(flow.size).toBe(10);
  }, 60_000);

  it('answers like the unpruned log for every retained context (random acyclic logs)', () => {
    const N = 12;
    const op = fc.oneof(
      {
        weight: 4,
        arbitrary: fc.record({
          to: fc.integer({ min: 0, max: N - 1 }),
          parents: fc.uniqueArray(fc.integer({ min: 0, max: N - 1 }), { maxLength: 3 }),
        }),
      },
      { weight: 1, arbitrary: fc.record({ keepLatest: fc.integer({ min: 0, max: 6 }) }) },
      { weight: 1, arbitrary: fc.constant({ restore: true as const }) },
    );
    let compared = 0;
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const ref = (i: number) => ({ contextId: `k${i}`, contextType: `T${i % 3}` });
        const full = new ContextFlowManager({ workflowId: 'wf', now: () => 0 });
        let pruned = new ContextFlowManager({ workflowId: 'wf', now: () => 0 });
        // The parents of each context, and the contexts a prune forgot: a forgotten context
        // logged again later starts a new lineage (documented), so lineages through one differ.
        const parents = new Map<number, Set<number>>();
        const forgotten = new Set<number>();
        for (const o of ops) {
          if ('restore' in o) {
            // Persist and restore midway: pruned lineage must survive a round trip.
            const json = JSON.parse(JSON.stringify(pruned));
            pruned = ContextFlowManager.fromJSON(json, { now: () => 0 });
            continue;
          }
          if ('keepLatest' in o) {
            pruned.prune({ keepLatest: o.keepLatest });
            for (const i of parents.keys()) {
              if (pruned.findOriginatingContext(`k${i}`) === undefined) forgotten.add(i);
            }
            continue;
          }
          // Parents always have a lower index: the lineage is acyclic.
          const from = o.parents.filter((p) => p < o.to);
          const input = { toContext: ref(o.to), componentName: 'C', fromContext: from.map(ref) };
          full.logTransition(input);
          pruned.logTransition(input);
          for (const i of [o.to, ...from]) if (!parents.has(i)) parents.set(i, new Set());
          for (const p of from) parents.get(o.to)?.add(p);
        }
        const tainted = (start: number): boolean => {
          const queue = [start];
          for (const i of queue) {
            if (forgotten.has(i)) return true;
            for (const p of parents.get(i) ?? []) if (!queue.includes(p)) queue.push(p);
          }
          return false;
        };
        const retained = pruned.getFullTransitionLog();
        const firstSeq = retained[0]?.seq ?? pruned.nextSeq;
        const restored = ContextFlowManager.fromJSON(JSON.parse(JSON.stringify(pruned)));
        expect(restored.toJSON()).toEqual(pruned.toJSON());
        const mentioned = new Set(retained.flatMap((t) => [t.toContextId, ...t.fromContextIds]));
        for (const id of mentioned) {
          if (tainted(Number(id.slice(1)))) continue;
          compared++;
          const origin = full.findOriginatingContext(id);
          expect(pruned.findOriginatingContext(id)).toBe(origin);
          expect(restored.findOriginatingContext(id)).toBe(origin);
          const origins = full.findOriginatingContexts(id).sort();
          expect(pruned.findOriginatingContexts(id).sort()).toEqual(origins);
          expect(restored.findOriginatingContexts(id).sort()).toEqual(origins);
        }
        for (let i = 0; i < N; i++) {
          const expected = full.getContextHistory(`k${i}`).filter((t) => t.seq >= firstSeq);
          expect(pruned.getContextHistory(`k${i}`)).toEqual(expected);
        }
      }),
      { numRuns: 300 },
    );
    expect(compared).toBeGreaterThan(500); // not vacuous: about 1,000 comparisons per 300 runs
  });
});
