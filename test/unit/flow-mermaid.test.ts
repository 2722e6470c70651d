import { ContextFlowManager, type ContextRef, escapeMermaidLabel } from 'mcp-orchestration';
import { describe, expect, it } from 'vitest';

const ref = (contextId: string, contextType: string): ContextRef => ({ contextId, contextType });
const input = ref('wf_input', 'InputContext');
const left = ref('wf_left', 'ChunkContext');
const right = ref('wf_right', 'ChunkContext');
const merged = ref('wf_merged', 'ResultContext');

function mergeGraph(oneTransitionPerParent: boolean): ContextFlowManager {
  const flow = new ContextFlowManager({ workflowId: 'wf' });
  flow.logTransition({
    toContext: left,
    componentName: 'Splitter',
    operation: 'split',
    fromContext: input,
  });
  flow.logTransition({
    toContext: right,
    componentName: 'Splitter',
    operation: 'split',
    fromContext: input,
  });
  if (oneTransitionPerParent) {
    for (const part of [left, right]) {
      flow.logTransition({
        toContext: merged,
        componentName: 'ResultMerger',
        operation: 'merge',
        fromContext: part,
      });
    }
  } else {
    flow.logTransition({
      toContext: merged,
      componentName: 'ResultMerger',
      operation: 'merge',
      fromContext: [left, right],
    });
  }
  return flow;
}

const EXPECTED = [
  'flowchart TD',
  '  n0["InputContext<br/>wf_input"]',
  '  n1["ChunkContext<br/>wf_left"]',
  '  n2["ChunkContext<br/>wf_right"]',
  '  n3["ResultContext<br/>wf_merged"]',
  '  n0 -->|"Splitter: split"| n1',
  '  n0 -->|"Splitter: split"| n2',
  '  n1 -->|"ResultMerger: merge"| n3',
  '  n2 -->|"ResultMerger: merge"| n3',
].join('\n');

describe('ContextFlowManager.toMermaid', () => {
  it('draws a merge as several incoming edges', () => {
    expect(mergeGraph(true).toMermaid()).toBe(EXPECTED);
    expect(mergeGraph(false).toMermaid()).toBe(EXPECTED);
  });

  it('draws one edge per distinct parent, component and operation', () => {
    const flow = mergeGraph(true);
    flow.logTransition({
      toContext: merged,
      componentName: 'ResultMerger',
      operation: 'merge',
      fromContext: left,
    });
    flow.logTransition({ toContext: merged, componentName: 'Executor' }); // no parent: no edge
    expect(flow.toMermaid()).toBe(EXPECTED);
  });

  it('restricts to the lineage of one context, and takes a direction', () => {
    const flow = mergeGraph(true);
    flow.logTransition({
      toContext: ref('wf_other', 'X'),
      componentName: 'Other',
      fromContext: merged,
    });
    expect(flow.toMermaid({ contextId: 'wf_left', direction: 'LR' })).toBe(
      [
        'flowchart LR',
        '  n0["InputContext<br/>wf_input"]',
        '  n1["ChunkContext<br/>wf_left"]',
        '  n0 -->|"Splitter: split"| n1',
      ].join('\n'),
    );
    expect(flow.toMermaid({ contextId: 'wf_merged' })).toBe(EXPECTED);
    expect(flow.toMermaid({ contextId: 'unknown' })).toBe('flowchart TD');
    expect(new ContextFlowManager({ workflowId: 'wf' }).toMermaid()).toBe('flowchart TD');
  });

  it('shows lineage compacted by pruning as dotted edges', () => {
    const flow = new ContextFlowManager({ workflowId: 'wf' });
    flow.logTransition({
      toContext: ref('c1', 'Step'),
      componentName: 'S',
      fromContext: ref('c0', 'Input'),
    });
    flow.logTransition({
      toContext: ref('c2', 'Step'),
      componentName: 'S',
      fromContext: ref('c1', 'Step'),
    });
    flow.logTransition({
      toContext: ref('c3', 'Step'),
      componentName: 'S',
      fromContext: ref('c2', 'Step'),
    });
    flow.prune({ keepLatest: 1 });
    expect(flow.toMermaid()).toBe(
      [
        'flowchart TD',
        '  n0["Step<br/>c2"]',
        '  n1["Step<br/>c3"]',
        '  n2["Step<br/>c1"]',
        '  n3["Input<br/>c0"]',
        '  n0 -->|"S"| n1',
        '  n2 -.->|"pruned"| n0',
        '  n3 -.->|"pruned"| n2',
      ].join('\n'),
    );
  });

  it('escapes labels so no input can break out of them', () => {
    expect(escapeMermaidLabel('say "hi" [x] <b>&\nnext #1; (a|b) {c} `d`')).toBe(
      'say #34;hi#34; #91;x#93; #60;b#62;#38;<br/>next #35;1#59; #40;a#124;b#41; #123;c#125; #96;d#96;',
    );
    expect(escapeMermaidLabel('a\r\nb\rc')).toBe('a<br/>b<br/>c');
    expect(escapeMermaidLabel('Ünïcode 名前 ok')).toBe('Ünïcode 名前 ok');
    const flow = new ContextFlowManager({ workflowId: 'wf' });
    flow.logTransition({
      toContext: ref('out', 'Type"]-->x["pwned'),
      componentName: 'Comp|"<script>',
      operation: 'line1\nline2',
      fromContext: ref('in', 'In[put]'),
    });
    const text = flow.toMermaid();
    expect(text).toBe(
      [
        'flowchart TD',
        '  n0["In#91;put#93;<br/>in"]',
        '  n1["Type#34;#93;--#62;x#91;#34;pwned<br/>out"]',
        '  n0 -->|"Comp#124;#34;#60;script#62;: line1<br/>line2"| n1',
      ].join('\n'),
    );
    // Every label is one quoted string: exactly two quotes per node line, two per edge line.
    for (const line of text.split('\n').slice(1)) {
      expect(line.split('"').length - 1).toBe(2);
    }
  });
});
