import {
  ContextFlowManager,
  defineMachineWorkflow,
  lineageMermaid,
  workflowChartMermaid,
} from 'mcp-orchestration';
import { describe, expect, it } from 'vitest';
import { setup } from 'xstate';
import { documentWorkflow } from './helpers.js';

const review = setup({
  guards: { hasText: ({ event }) => typeof (event as { text?: unknown }).text === 'string' },
}).createMachine({
  id: 'review',
  initial: 'drafting',
  states: {
    drafting: { on: { submit: { target: 'reviewing', guard: 'hasText' } } },
    reviewing: { on: { approve: 'published', reject: 'drafting' } },
    published: { type: 'final' },
  },
});

const reviewWorkflow = defineMachineWorkflow({
  id: 'review',
  version: '1',
  machine: review,
  plan: [{ stepId: 'drafting', name: 'Write the draft', stepIndex: 0, isComplete: false }],
});

describe('workflowChartMermaid', () => {
  it('draws a machine as a stateDiagram-v2 with the current state highlighted', () => {
    expect(workflowChartMermaid(reviewWorkflow, { state: 'reviewing' })).toBe(
      [
        'stateDiagram-v2',
        '  [*] --> s_drafting',
        '  state "drafting<br/>Write the draft" as s_drafting',
        '  state "reviewing" as s_reviewing',
        '  state "published" as s_published',
        '  s_drafting --> s_reviewing: submit #91;hasText#93;',
        '  s_reviewing --> s_published: approve',
        '  s_reviewing --> s_drafting: reject',
        '  s_published --> [*]',
        '  classDef current fill:#fde68a,stroke:#b45309,stroke-width:3px,color:#111',
        '  classDef active stroke:#b45309,stroke-width:2px',
        '  class s_reviewing current',
      ].join('\n'),
    );
  });

  it('highlights nothing without a state', () => {
    const text = workflowChartMermaid(reviewWorkflow);
    expect(text).not.toContain('classDef');
    expect(text.split('\n')).toHaveLength(9);
  });

  it('nests a workflow step by step, regions split by --, failures drawn between steps', () => {
    const text = workflowChartMermaid(documentWorkflow(), {
      state: { analyze: { regions: { words: { count: 'running' }, tone: 'done' } } },
    });
    const lines = text.split('\n');
    // The top level reads like the plan: initial step, then each step to the next.
    expect(lines[1]).toBe('  [*] --> s_parse');
    expect(lines).toContain('  state "parse<br/>Parse input" as s_parse {');
    expect(lines).toContain('  state "approve<br/>Approval" as s_approve {');
    expect(lines).toContain('  s_parse --> s_analyze: done');
    expect(lines).toContain('  s_analyze --> s_approve: done');
    expect(lines).toContain('  s_approve --> s_done: done');
    // A step's failure (running → #failed) is drawn from the step to `failed`.
    expect(lines).toContain('  s_parse --> s_failed: error');
    expect(lines).toContain('  s_analyze --> s_failed: #91;hasFailed#93;');
    // Inside a task step: retry loop and commit gate.
    expect(lines).toContain('    s_parse_running --> s_parse_retrying: error #91;canRetry#93;');
    expect(lines).toContain('    s_parse_commit --> s_parse_done: workflow.committed');
    // Parallel regions of the group.
    const words = lines.indexOf('      state "words" as s_analyze_regions_words {');
    expect(words).toBeGreaterThan(0);
    expect(lines.slice(words).indexOf('      --')).toBeGreaterThan(0);
    expect(lines).toContain('      state "tone" as s_analyze_regions_tone {');
    // The run's active leaves are `current`, their ancestors `active`.
    expect(lines.at(-1)).toBe(
      '  class s_analyze_regions_words_count_running,s_analyze_regions_tone_done current',
    );
    expect(lines.at(-2)).toBe(
      '  class s_analyze,s_analyze_regions,s_analyze_regions_words,s_analyze_regions_words_count,s_analyze_regions_tone active',
    );
  });
});

describe('lineageMermaid', () => {
  it('is the flow manager’s Mermaid flowchart', () => {
    const flow = new ContextFlowManager({ workflowId: 'w', now: () => 0 });
    flow.logTransition({
      toContext: { contextId: 'in', contextType: 'Input' },
      componentName: 'io',
    });
    flow.logTransition({
      fromContext: { contextId: 'in', contextType: 'Input' },
      toContext: { contextId: 'out', contextType: 'Output' },
      componentName: 'parse',
      operation: 'task',
    });
    expect(lineageMermaid(flow)).toBe(flow.toMermaid());
    expect(lineageMermaid(flow, { direction: 'LR' })).toBe(
      [
        'flowchart LR',
        '  n0["Input<br/>in"]',
        '  n1["Output<br/>out"]',
        '  n0 -->|"parse: task"| n1',
      ].join('\n'),
    );
  });
});
