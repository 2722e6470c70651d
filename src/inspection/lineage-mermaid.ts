import type { ContextFlowManager } from '../flow/context-flow-manager.js';
import type { ContextFlowMermaidOptions } from '../flow/context-flow-mermaid.js';

/**
 * The context lineage of a run as a Mermaid flowchart: one node per context (type and id), one
 * edge per parent labelled `component: operation`, pruned lineage dotted. The same text as
 * `flow.toMermaid(options)`; `renderInspectionHtml` draws it as SVG.
 *
 * @example
 * ```ts
 * const text = lineageMermaid(await runtime.lineage('task_1'), { direction: 'LR' });
 * ```
 */
export function lineageMermaid(
  flow: ContextFlowManager,
  options: ContextFlowMermaidOptions = {},
): string {
  return flow.toMermaid(options);
}
