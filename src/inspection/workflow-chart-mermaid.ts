import type { StateValue } from 'xstate';
import { escapeMermaidLabel } from '../flow/context-flow-mermaid.js';
import type { InspectableWorkflow } from './inspectable-workflow.js';
import { activePaths, type ChartEdge, type ChartNode, stateChartOf } from './state-chart.js';

/** Options of {@link workflowChartMermaid}. */
export interface WorkflowChartMermaidOptions {
  /**
   * The state value of a run (`snapshot.value` of its latest checkpoint): its active states are
   * highlighted (class `current` on the active leaves, `active` on their ancestors). Default:
   * nothing highlighted.
   */
  readonly state?: StateValue;
}

/** Mermaid ids for state paths: keys joined by `_`, other characters as `_`, made unique. */
function idMaker(): (path: readonly string[]) => string {
  const byPath = new Map<string, string>();
  const used = new Set<string>();
  return (path) => {
    const key = path.join('.');
    let id = byPath.get(key);
    if (id !== undefined) return id;
    const base = `s_${path.join('_').replace(/[^A-Za-z0-9_]/g, '_')}`;
    id = base;
    for (let n = 2; used.has(id); n++) id = `${base}_${n}`;
    used.add(id);
    byPath.set(key, id);
    return id;
  };
}

function label(node: ChartNode): string {
  const caption = node.caption === undefined ? '' : `<br/>${escapeMermaidLabel(node.caption)}`;
  return `${escapeMermaidLabel(node.key)}${caption}`;
}

/**
 * The state chart of a workflow as Mermaid `stateDiagram-v2` text: one state per machine state
 * (compound states nested, parallel regions split by `--`), labelled with the key and the plan
 * step's name (or the state's description); transitions labelled with their event and guard
 * (`done`, `error`, `[isUngated]`, `approval [acceptsEvent]`). A transition between states in
 * different parents is drawn between their ancestors that are siblings. With `state`, the run's
 * active states are highlighted.
 *
 * @example
 * ```ts
 * const latest = await manager.loadLatestCheckpoint('task_1');
 * const text = workflowChartMermaid(workflow, { state: latest?.snapshot?.value });
 * ```
 */
export function workflowChartMermaid(
  workflow: InspectableWorkflow,
  options: WorkflowChartMermaidOptions = {},
): string {
  const chart = stateChartOf(workflow.machine, workflow.plan);
  const idOf = idMaker();
  const active = activePaths(options.state);
  const edgesByParent = new Map<string, ChartEdge[]>();
  for (const edge of chart.edges) {
    const key = edge.parent.join('.');
    const list = edgesByParent.get(key) ?? [];
    list.push(edge);
    edgesByParent.set(key, list);
  }
  const lines: string[] = ['stateDiagram-v2'];
  const current: string[] = [];
  const ancestors: string[] = [];

  const writeChildren = (parent: ChartNode, indent: string): void => {
    const childPath = (key: string) => [...parent.path, key];
    if (parent.type === 'parallel') {
      parent.children.forEach((region, i) => {
        if (i > 0) lines.push(`${indent}--`);
        writeState(region, indent);
      });
    } else {
      if (parent.initial !== undefined) {
        lines.push(`${indent}[*] --> ${idOf(childPath(parent.initial))}`);
      }
      for (const child of parent.children) writeState(child, indent);
    }
    for (const edge of edgesByParent.get(parent.path.join('.')) ?? []) {
      const text = escapeMermaidLabel(edge.label);
      lines.push(`${indent}${idOf(childPath(edge.from))} --> ${idOf(childPath(edge.to))}: ${text}`);
    }
    for (const child of parent.children) {
      if (child.type === 'final') lines.push(`${indent}${idOf(child.path)} --> [*]`);
    }
  };

  const writeState = (node: ChartNode, indent: string): void => {
    const id = idOf(node.path);
    const path = node.path.join('.');
    if (active.has(path)) {
      (node.children.length === 0 ? current : ancestors).push(id);
    }
    if (node.children.length === 0) {
      lines.push(`${indent}state "${label(node)}" as ${id}`);
      return;
    }
    lines.push(`${indent}state "${label(node)}" as ${id} {`);
    writeChildren(node, `${indent}  `);
    lines.push(`${indent}}`);
  };

  writeChildren(chart.root, '  ');
  if (current.length > 0 || ancestors.length > 0) {
    lines.push('  classDef current fill:#fde68a,stroke:#b45309,stroke-width:3px,color:#111');
    lines.push('  classDef active stroke:#b45309,stroke-width:2px');
    if (ancestors.length > 0) lines.push(`  class ${ancestors.join(',')} active`);
    if (current.length > 0) lines.push(`  class ${current.join(',')} current`);
  }
  return lines.join('\n');
}
