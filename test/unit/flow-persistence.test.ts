import {
  CONTEXT_FLOW_FORMAT,
  ContextFlowManager,
  type ContextRef,
  type ContextTransition,
  CorruptRecordError,
  InvalidIdError,
  isOrchestrationError,
  parseContextTransitions,
} from 'mcp-orchestration';
import { describe, expect, it } from 'vitest';

const ref = (contextId: string, contextType = 'StepContext'): ContextRef => ({
  contextId,
  contextType,
});

function sample(): ContextFlowManager {
  let t = 100;
  const flow = new ContextFlowManager({ workflowId: 'wf_1', now: () => t++ });
  flow.logTransition({ toContext: ref('in', 'InputContext'), componentName: 'Start' });
  flow.logTransition({
    toContext: ref('a'),
    componentName: 'Split',
    fromContext: ref('in', 'InputContext'),
  });
  flow.logTransition({
    toContext: ref('b'),
    componentName: 'Split',
    fromContext: ref('in', 'InputContext'),
  });
  flow.logTransition({
    toContext: ref('a2'),
    componentName: 'Proc',
    operation: 'run',
    fromContext: ref('a'),
  });
  flow.logTransition({
    toContext: ref('b2'),
    componentName: 'Proc',
    operation: 'run',
    fromContext: ref('b'),
  });
  flow.logTransition({
    toContext: ref('m', 'ResultContext'),
    componentName: 'Merge',
    fromContext: [ref('a2'), ref('b2'), ref('extra', 'Seed')],
    metadata: { strategy: 'append_list', counts: [1, 2] },
  });
  return flow;
}

const IDS = ['in', 'a', 'b', 'a2', 'b2', 'm', 'extra', 'unknown'];

function answers(flow: ContextFlowManager) {
  return IDS.map((id) => ({
    id,
    origin: flow.findOriginatingContext(id),
    origins: flow.findOriginatingContexts(id),
    history: flow.getContextHistory(id),
    typed: flow.findOriginatingContext(id, { targetType: 'InputContext' }),
  }));
}

function expectCorrupt(fn: () => unknown, path: string): void {
  try {
    fn();
    expect.unreachable('should have thrown');
  } catch (error) {
    expect(error).toBeInstanceOf(CorruptRecordError);
    expect((error as Error).message).toContain(path);
  }
}

describe('ContextFlowManager persistence', () => {
  it('round-trips through JSON and answers the same queries', () => {
    for (const keepLatest of [undefined, 3, 1]) {
      const flow = sample();
      if (keepLatest !== undefined) flow.prune({ keepLatest });
      const json = JSON.parse(JSON.stringify(flow.toJSON()));
      expect(json.format).toBe(CONTEXT_FLOW_FORMAT);
      const restored = ContextFlowManager.fromJSON(json);
      expect(restored.toJSON()).toEqual(flow.toJSON());
      expect(answers(restored)).toEqual(answers(flow));
      expect(restored.getFullTransitionLog()).toEqual(flow.getFullTransitionLog());
      expect(restored.nextSeq).toBe(6);
      expect(restored.store.getSnapshot().context).toEqual(flow.store.getSnapshot().context);
      const next = restored.logTransition({
        toContext: ref('z'),
        componentName: 'After',
        fromContext: ref('m', 'ResultContext'),
      });
      expect(next.seq).toBe(6);
      expect(restored.findOriginatingContext('z')).toBe('in');
    }
  });

  it('rebuilds from transitions persisted append-only with transitionsSince', () => {
    const flow = new ContextFlowManager({ workflowId: 'wf_1', now: () => 7 });
    const lines: string[] = []; // what an append-only log store would hold
    let persisted = 0;
    const persist = () => {
      for (const t of flow.transitionsSince(persisted)) lines.push(JSON.stringify(t));
      persisted = flow.nextSeq;
    };
    flow.logTransition({ toContext: ref('c0', 'InputContext'), componentName: 'Start' });
    flow.logTransition({
      toContext: ref('c1'),
      componentName: 'Step',
      fromContext: ref('c0', 'InputContext'),
    });
    persist();
    flow.logTransition({ toContext: ref('c2'), componentName: 'Step', fromContext: ref('c1') });
    persist();
    persist(); // nothing new: nothing appended
    flow.prune({ keepLatest: 1 }); // in memory only; the persisted log is never rewritten
    flow.logTransition({ toContext: ref('c3'), componentName: 'Step', fromContext: ref('c2') });
    persist();
    expect(lines).toHaveLength(4);
    const restored = ContextFlowManager.fromTransitions(
      'wf_1',
      lines.map((line) => JSON.parse(line)),
    );
    expect(restored.getFullTransitionLog().map((t) => t.seq)).toEqual([0, 1, 2, 3]);
    expect(restored.nextSeq).toBe(4);
    expect(restored.findOriginatingContext('c3')).toBe('c0');
    expect(restored.findOriginatingContext('c3')).toBe(flow.findOriginatingContext('c3'));
    expect(restored.getContextHistory('c1')).toHaveLength(1);
    expect(ContextFlowManager.fromTransitions('wf_1', []).nextSeq).toBe(0);
  });

  it('parseContextTransitions validates and returns frozen copies', () => {
    const source = sample().getFullTransitionLog();
    const plain = JSON.parse(JSON.stringify(source)) as ContextTransition[];
    const parsed = parseContextTransitions('wf_1', plain);
    expect(parsed).toEqual(source);
    expect(Object.isFrozen(parsed[5])).toBe(true);
    expect(Object.isFrozen(parsed[5]?.metadata.counts)).toBe(true);
    expect(parsed[5]).not.toBe(plain[5]);
  });

  it('refuses corrupt snapshots with a CorruptRecordError naming the path', () => {
    const good = () => JSON.parse(JSON.stringify(sample().toJSON()));
    expectCorrupt(() => ContextFlowManager.fromJSON(null), '$ is not an object');
    expectCorrupt(() => ContextFlowManager.fromJSON({ ...good(), format: 'other' }), '$.format');
    expectCorrupt(() => ContextFlowManager.fromJSON({ ...good(), v: 2 }), '$.v');
    expectCorrupt(
      () => ContextFlowManager.fromJSON({ ...good(), workflowId: 'a b' }),
      '$.workflowId',
    );
    expectCorrupt(
      () => ContextFlowManager.fromJSON({ ...good(), transitions: {} }),
      '$.transitions',
    );
    expectCorrupt(() => ContextFlowManager.fromJSON({ ...good(), nextSeq: 5 }), '$.nextSeq');
    expectCorrupt(() => ContextFlowManager.fromJSON({ ...good(), lineage: 'x' }), '$.lineage');
    const cases: [(s: { transitions: Record<string, unknown>[] }) => void, string][] = [
      [(s) => (s.transitions[1]!.seq = 0), '$.transitions[1].seq'],
      [(s) => (s.transitions[2]!.seq = -1), '$.transitions[2].seq'],
      [(s) => (s.transitions[0]!.workflowId = 'other'), '$.transitions[0].workflowId'],
      [(s) => (s.transitions[0]!.toContextId = '../etc'), '$.transitions[0].toContextId'],
      [(s) => (s.transitions[0]!.toContextType = ''), '$.transitions[0].toContextType'],
      [(s) => (s.transitions[3]!.fromContextTypes = []), '$.transitions[3].fromContextTypes'],
      [
        (s) => (s.transitions[3]!.fromContextIds = ['ok', 'a:b']),
        '$.transitions[3].fromContextIds',
      ],
      [(s) => (s.transitions[0]!.componentName = 3), '$.transitions[0].componentName'],
      [(s) => (s.transitions[3]!.operation = null), '$.transitions[3].operation'],
      [(s) => (s.transitions[0]!.timestamp = '1'), '$.transitions[0].timestamp'],
      [(s) => (s.transitions[0]!.metadata = []), '$.transitions[0].metadata'],
      [
        (s) => (s.transitions[5]!.metadata = { when: new Date(0) }),
        '$.transitions[5].metadata.when',
      ],
      [(s) => (s.transitions[4] = null as never), '$.transitions[4]'],
    ];
    for (const [corrupt, path] of cases) {
      const snapshot = good();
      corrupt(snapshot);
      expectCorrupt(() => ContextFlowManager.fromJSON(snapshot), path);
    }
  });

  it('refuses corrupt pruned lineage', () => {
    const flow = sample();
    flow.prune({ keepLatest: 1 });
    const good = () => JSON.parse(JSON.stringify(flow.toJSON()));
    expect(good().lineage.length).toBeGreaterThan(0);
    const duplicated = good();
    duplicated.lineage.push(duplicated.lineage[0]);
    expectCorrupt(() => ContextFlowManager.fromJSON(duplicated), 'repeats a context');
    const dangling = good();
    dangling.lineage.push({ contextId: 'm2', contextType: 'T', parents: ['ghost'] });
    expectCorrupt(() => ContextFlowManager.fromJSON(dangling), 'ghost');
    const badOrigin = good();
    badOrigin.lineage[0].pruned = { origin: { contextId: 'x y', contextType: 'T' }, origins: [] };
    expectCorrupt(
      () => ContextFlowManager.fromJSON(badOrigin),
      '$.lineage[0].pruned.origin.contextId',
    );
  });

  it('fromTransitions validates the workflow id and each transition', () => {
    const transitions = sample().getFullTransitionLog();
    expect(() => ContextFlowManager.fromTransitions('bad id', transitions)).toThrow(InvalidIdError);
    expectCorrupt(() => ContextFlowManager.fromTransitions('wf_2', transitions), '$[0].workflowId');
    expectCorrupt(() => ContextFlowManager.fromTransitions('wf_1', 'nope'), '$ is not an array');
    try {
      ContextFlowManager.fromTransitions('wf_1', [...transitions].reverse());
    } catch (error) {
      expect(isOrchestrationError(error, 'CORRUPT_RECORD')).toBe(true);
      return;
    }
    expect.unreachable();
  });
});
