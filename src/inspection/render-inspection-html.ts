import type { StateValue } from 'xstate';
import {
  checkpointPlan,
  type WorkflowState,
  type WorkflowStep,
} from '../checkpoint/workflow-state.js';
import type { ContextFlowManager } from '../flow/context-flow-manager.js';
import type { InspectableWorkflow } from './inspectable-workflow.js';
import { lineageMermaid } from './lineage-mermaid.js';
import { renderLineageSvg } from './lineage-svg.js';
import { activePaths, stateChartOf } from './state-chart.js';
import { renderStateChartSvg } from './state-chart-svg.js';
import { escapeXml, SVG_STYLE } from './svg-layout.js';
import { workflowChartMermaid } from './workflow-chart-mermaid.js';

/** What {@link renderInspectionHtml} draws. */
export interface InspectionHtmlOptions {
  /** The page title. Required. */
  readonly title: string;
  /** The workflow whose state chart is drawn. Default: no chart. */
  readonly workflow?: InspectableWorkflow;
  /** The run's state value, highlighted in the chart. Default: `checkpoint.snapshot.value`. */
  readonly state?: StateValue;
  /** The run's latest checkpoint: its status, current step and plan are listed. Default: none. */
  readonly checkpoint?: WorkflowState;
  /** The run's context lineage, drawn as a graph. Default: no lineage. */
  readonly lineage?: ContextFlowManager;
  /**
   * The plan to list when `checkpoint` leaves its own out (`metadata.planOmitted`: a plan over
   * the runtime's `planInCheckpoints` steps, between the first and the final checkpoint), e.g.
   * the task's first checkpoint's. Its steps before the current one are shown done, and the page
   * says so. Default: the workflow's plan.
   */
  readonly plan?: readonly WorkflowStep[];
}

function stateOf(options: InspectionHtmlOptions): StateValue | undefined {
  if (options.state !== undefined) return options.state;
  const value = (options.checkpoint?.snapshot as { value?: unknown } | undefined)?.value;
  return typeof value === 'string' || (typeof value === 'object' && value !== null)
    ? (value as StateValue)
    : undefined;
}

function summary(state: WorkflowState, fallback: readonly WorkflowStep[] | undefined): string {
  const { plan: steps, omittedSteps } = checkpointPlan(state, fallback);
  const current = steps.find((step) => step.stepIndex === state.currentStepIndex);
  const currentId = state.metadata.currentStepId;
  const currentStep =
    current === undefined
      ? typeof currentId === 'string'
        ? currentId
        : undefined
      : `${current.stepId} (${current.name})`;
  const rows: [string, string | undefined][] = [
    ['Task', state.taskId],
    ['Workflow', state.machine && `${state.machine.id} ${state.machine.version ?? ''}`.trim()],
    ['Status', state.status],
    ['Current step', currentStep],
    [
      'Checkpoint',
      state.checkpoint && `${state.checkpoint.checkpointId} (seq ${state.checkpoint.seq})`,
    ],
    ['Saved', state.checkpoint && new Date(state.checkpoint.createdAt).toISOString()],
  ];
  const table = rows
    .filter((row): row is [string, string] => row[1] !== undefined && row[1] !== '')
    .map(([k, v]) => `<tr><th>${escapeXml(k)}</th><td>${escapeXml(v)}</td></tr>`)
    .join('\n');
  const plan = steps
    .map((step) => {
      const mark = step.isComplete ? '✓' : step.stepIndex === state.currentStepIndex ? '▶' : '·';
      const what = step.description ? ` — ${step.description}` : '';
      const cls = step.isComplete ? 'done' : step.stepIndex === state.currentStepIndex ? 'now' : '';
      return `<li class="${cls}"><span class="mark">${mark}</span> <code>${escapeXml(step.stepId)}</code> ${escapeXml(step.name)}${escapeXml(what)}</li>`;
    })
    .join('\n');
  const note =
    omittedSteps === undefined
      ? ''
      : `<p class="note">${
          steps.length > 0
            ? `This checkpoint leaves out its plan of ${omittedSteps} steps: the steps before the current one are shown done.`
            : `This checkpoint leaves out its plan of ${omittedSteps} steps.`
        }</p>`;
  return `<section><h2>Run</h2><table class="summary">${table}</table>${
    plan === '' ? note : `<h3>Plan</h3>${note}<ol class="plan">${plan}</ol>`
  }</section>`;
}

function figure(id: string, heading: string, svg: string, mermaid: string): string {
  return `<section id="${id}"><h2>${escapeXml(heading)}</h2>
<div class="picture">${svg}</div>
<details><summary>Mermaid text <button type="button" data-copy="${id}-mermaid">Copy</button></summary>
<pre id="${id}-mermaid">${escapeXml(mermaid)}</pre></details></section>`;
}

const PAGE_STYLE = `
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 24px; color: #0f172a; background: #ffffff; }
h1 { font-size: 22px; margin: 0 0 16px; } h2 { font-size: 17px; margin: 28px 0 8px; } h3 { font-size: 14px; }
.picture { overflow: auto; border: 1px solid #e2e8f0; border-radius: 8px; padding: 8px; background: #ffffff; }
.summary th { text-align: left; padding: 2px 12px 2px 0; color: #475569; font-weight: 500; }
.plan { padding-left: 20px; } .plan li { margin: 2px 0; } .plan .done { color: #166534; } .plan .now { font-weight: 600; color: #b45309; }
.mark { display: inline-block; width: 1em; } .note { color: #475569; font-size: 13px; }
pre { background: #f1f5f9; padding: 12px; border-radius: 6px; overflow: auto; font-size: 12px; }
details summary { cursor: pointer; margin-top: 8px; color: #334155; }
.legend span { display: inline-block; padding: 1px 8px; margin-right: 8px; border-radius: 4px; font-size: 12px; }
footer { margin-top: 32px; color: #64748b; font-size: 12px; }
${SVG_STYLE}`;

const COPY_SCRIPT = `
for (const button of document.querySelectorAll('button[data-copy]')) {
  button.addEventListener('click', (event) => {
    event.preventDefault();
    const text = document.getElementById(button.dataset.copy).textContent;
    navigator.clipboard.writeText(text).then(() => { button.textContent = 'Copied'; }, () => {});
  });
}`;

/**
 * A self-contained HTML page showing a run without the hosted Stately app: the run's status and
 * plan (from its checkpoint), the workflow's state chart with the run's current state
 * highlighted, and the lineage of its contexts. Both pictures are inline SVG drawn here (a
 * layered layout), with their Mermaid text beside them to copy. No external script, style,
 * font or image: the page renders offline.
 *
 * @example
 * ```ts
 * const checkpoint = await manager.loadLatestCheckpoint('task_1');
 * const html = renderInspectionHtml({
 *   title: 'task_1',
 *   workflow,
 *   checkpoint,
 *   lineage: await runtime.lineage('task_1'),
 * });
 * await writeFile('task_1.html', html);
 * ```
 */
export function renderInspectionHtml(options: InspectionHtmlOptions): string {
  const { title, workflow, checkpoint, lineage } = options;
  const state = stateOf(options);
  const sections: string[] = [];
  if (checkpoint !== undefined) sections.push(summary(checkpoint, options.plan ?? workflow?.plan));
  if (workflow !== undefined) {
    const chart = stateChartOf(workflow.machine, workflow.plan);
    const name = workflow.name ?? workflow.id;
    const svg = renderStateChartSvg(chart, activePaths(state), 'chart', name);
    const mermaid = workflowChartMermaid(workflow, state === undefined ? {} : { state });
    const legend =
      state === undefined
        ? ''
        : '<p class="legend"><span style="background:#fde68a;border:2px solid #b45309">current state</span><span style="border:2px solid #b45309">active parent</span></p>';
    sections.push(figure('chart', `State chart: ${name}`, legend + svg, mermaid));
  }
  if (lineage !== undefined) {
    const mermaid = lineageMermaid(lineage);
    const svg = renderLineageSvg(mermaid, 'lineage', `Context lineage of ${title}`);
    sections.push(figure('lineage', 'Context lineage', svg, mermaid));
  }
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeXml(title)}</title>
<style>${PAGE_STYLE}</style>
</head>
<body>
<h1>${escapeXml(title)}</h1>
${sections.join('\n')}
<footer>Generated by mcp-orchestration. Self-contained: renders offline.</footer>
<script>${COPY_SCRIPT}</script>
</body>
</html>
`;
}
