import {
  ContextFlowManager,
  createContext,
  createRuntime,
  defineWorkflow,
  getCheckpointManager,
  renderInspectionHtml,
  type WorkflowState,
} from 'mcp-orchestration';
import { createMemoryStore } from 'mcp-orchestration/memory';
import { beforeAll, describe, expect, it } from 'vitest';
import { documentWorkflow } from './helpers.js';

/** The run the page shows: the document workflow suspended at its approval step. */
let checkpoint: WorkflowState | undefined;
let lineage: ContextFlowManager;
const workflow = documentWorkflow();

beforeAll(async () => {
  const store = createMemoryStore();
  const runtime = createRuntime({ store });
  const saved = new Promise<void>((resolve) => {
    runtime.subscribe(
      (e) => e.type === 'checkpoint.saved' && e.status === 'suspended' && resolve(),
    );
  });
  const run = await runtime.start(workflow, { text: 'a b c' }, { taskId: 'doc_html' });
  run.result.catch(() => undefined);
  await saved;
  checkpoint = await (await getCheckpointManager(store)).loadLatestCheckpoint('doc_html');
  lineage = await runtime.lineage('doc_html');
  await runtime.close();
});

/** The `<rect>` classes of the state drawn for `path` (keys joined by `.`). */
function stateClasses(html: string, path: string): string | undefined {
  const group = html.indexOf(`<g data-state="${path}">`);
  if (group < 0) return undefined;
  return /<rect [^>]*class="([^"]+)"/.exec(html.slice(group))?.[1];
}

/** The boxes of the lineage picture by context id. */
function contextBoxes(html: string): Map<string, { x: number; y: number }> {
  const boxes = new Map<string, { x: number; y: number }>();
  const pattern = /<g data-context="([^"]+)">.*?\n<rect x="([\d.]+)" y="([\d.]+)"/g;
  for (const match of html.matchAll(pattern)) {
    boxes.set(match[1] as string, { x: Number(match[2]), y: Number(match[3]) });
  }
  return boxes;
}

describe('renderInspectionHtml', () => {
  it('is one self-contained page: no external script, style, font, image or link', () => {
    const html = renderInspectionHtml({ title: 'doc_html', workflow, checkpoint, lineage });
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).not.toMatch(/\b(src|href)\s*=\s*["']?\s*(https?:)?\/\//i);
    expect(html).not.toMatch(
      /<link\b|<img\b|<iframe\b|<script\s+src|@import|url\(\s*["']?https?:/i,
    );
    expect(html).not.toMatch(/https?:\/\//);
    // Both pictures are inline SVG, each with its Mermaid text to copy.
    expect(html.match(/<svg /g)).toHaveLength(2);
    expect(html).toContain('<pre id="chart-mermaid">stateDiagram-v2');
    expect(html).toContain('<pre id="lineage-mermaid">flowchart TD');
  });

  it('draws every state of the workflow and highlights the run’s current state', () => {
    const html = renderInspectionHtml({ title: 'doc_html', workflow, checkpoint });
    expect(checkpoint?.snapshot).toMatchObject({ value: { approve: 'waiting' } });
    const drawn = [...html.matchAll(/<g data-state="([^"]*)">/g)].map((m) => m[1]);
    // The machine itself (path '') is the outer box around its states.
    expect(drawn[0]).toBe('');
    expect(drawn.slice(1)).toHaveLength(countStates(workflow.machine.root));
    expect(stateClasses(html, 'approve.waiting')).toBe('state current');
    expect(stateClasses(html, 'approve')).toBe('compound active');
    expect(stateClasses(html, 'parse')).toBe('compound');
    expect(stateClasses(html, 'analyze.regions.words')).toBe('region');
    // The run summary: status, current step, plan with completed steps.
    expect(html).toContain('<tr><th>Status</th><td>suspended</td></tr>');
    expect(html).toContain('<tr><th>Current step</th><td>approve (Approval)</td></tr>');
    expect(html.match(/<span class="mark">✓<\/span>/g)).toHaveLength(4);
  });

  it('lays the lineage out in layers: every context below the contexts it came from', () => {
    const html = renderInspectionHtml({ title: 'doc_html', lineage });
    const boxes = contextBoxes(html);
    const contexts = new Set(
      lineage.getFullTransitionLog().flatMap((t) => [t.toContextId, ...t.fromContextIds]),
    );
    expect(new Set(boxes.keys())).toEqual(contexts);
    expect(contexts.size).toBe(5);
    for (const t of lineage.getFullTransitionLog()) {
      for (const parent of t.fromContextIds) {
        expect(boxes.get(t.toContextId)?.y).toBeGreaterThan(boxes.get(parent)?.y ?? Infinity);
      }
    }
    // The two regions' contexts side by side, in one layer.
    expect(boxes.get('doc_html_count')?.y).toBe(boxes.get('doc_html_tone')?.y);
  });

  it('lists a long plan its checkpoint leaves out from the workflow, done steps derived', async () => {
    // 25 steps: checkpoints between the first and the final one leave the plan out.
    const steps = Array.from({ length: 25 }, (_, i) =>
      i === 12
        ? { stepId: 'gate', name: 'Wait for go', waitFor: { event: 'go' } }
        : {
            stepId: `s${i}`,
            name: `Step ${i}`,
            run: (_context: unknown, _step: unknown, { taskId }: { taskId: string }) =>
              createContext('N', { i }, { contextId: `${taskId}_${i}` }),
          },
    );
    const long = defineWorkflow({ id: 'long', version: '1', steps });
    const store = createMemoryStore();
    const runtime = createRuntime({ store });
    const saved = new Promise<void>((resolve) => {
      runtime.subscribe(
        (e) => e.type === 'checkpoint.saved' && e.status === 'suspended' && resolve(),
      );
    });
    (await runtime.start(long, {}, { taskId: 'long_1' })).result.catch(() => undefined);
    await saved;
    await runtime.close();
    const latest = await (await getCheckpointManager(store)).loadLatestCheckpoint('long_1');
    expect(latest?.plan).toEqual([]);
    expect(latest?.metadata.planOmitted).toBe(25);

    const html = renderInspectionHtml({ title: 'long_1', workflow: long, checkpoint: latest });
    expect(html).toContain('<tr><th>Current step</th><td>gate (Wait for go)</td></tr>');
    expect(html).toContain(
      'This checkpoint leaves out its plan of 25 steps: the steps before the current one are shown done.',
    );
    expect(html.match(/<span class="mark">✓<\/span>/g)).toHaveLength(12);
    expect(html).toContain('<li class="now"><span class="mark">▶</span> <code>gate</code>');

    // Without a plan to borrow: the current step from the checkpoint, and what is left out.
    const bare = renderInspectionHtml({ title: 'long_1', checkpoint: latest });
    expect(bare).toContain('<tr><th>Current step</th><td>gate</td></tr>');
    expect(bare).toContain('This checkpoint leaves out its plan of 25 steps.');
  });

  it('escapes every text it shows', () => {
    const flow = new ContextFlowManager({ workflowId: 'x', now: () => 0 });
    flow.logTransition({
      toContext: { contextId: 'c1', contextType: 'Evil<script>' },
      componentName: '"></text><script>alert(1)</script>',
    });
    const html = renderInspectionHtml({ title: '<img src=x onerror=alert(1)>', lineage: flow });
    expect(html).not.toContain('<script>alert');
    expect(html).not.toContain('<img src=x');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(html).toContain('Evil&lt;script&gt;');
  });
});

/** Every state node under `node` (the root excluded). */
function countStates(node: { readonly states: Readonly<Record<string, unknown>> }): number {
  return Object.values(node.states).reduce<number>(
    (sum, child) => sum + 1 + countStates(child as typeof node),
    0,
  );
}
