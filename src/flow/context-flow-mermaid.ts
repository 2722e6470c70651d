import type { ContextRef } from '../context/context.js';
import type { ContextTransition } from './context-transition.js';
import type { LineageGraph } from './lineage-graph.js';

/** Options of `ContextFlowManager.toMermaid`. */
export interface ContextFlowMermaidOptions {
  /** Draw only this context and its ancestors. Default: the whole retained log. */
  contextId?: string;
  /** Flowchart direction. Default: `'TD'`. */
  direction?: 'TD' | 'TB' | 'BT' | 'LR' | 'RL';
}

const SAFE_CHAR = /[\p{L}\p{N} _.,:\-+=/!?@']/u;

/**
 * Escapes text for a quoted Mermaid label: every character other than letters, digits, space
 * and `_ . , : - + = / ! ? @ '` becomes a numeric entity (`"` → `#34;`, `<` → `#60;`,
 * `[` → `#91;`…), and each line break becomes `<br/>`. So no input can end the label early or
 * inject markup.
 */
export function escapeMermaidLabel(text: string): string {
  return text
    .split(/\r\n|\r|\n/)
    .map((line) => {
      let out = '';
      for (const char of line) {
        out += SAFE_CHAR.test(char) ? char : `#${char.codePointAt(0)};`;
      }
      return out;
    })
    .join('<br/>');
}

function edgeLabel(t: ContextTransition): string {
  return t.operation === undefined ? t.componentName : `${t.componentName}: ${t.operation}`;
}

/**
 * Renders the lineage held in `graph` and `transitions` as a Mermaid flowchart (internal; see
 * `ContextFlowManager.toMermaid`). Nodes are `n0`, `n1`… in order of first appearance, labelled
 * with type and id; one edge per parent of each transition, labelled `component: operation`,
 * identical edges drawn once; lineage compacted by pruning is drawn as dotted `pruned` edges.
 */
export function renderContextFlowMermaid(
  graph: LineageGraph,
  transitions: readonly ContextTransition[],
  options: ContextFlowMermaidOptions = {},
): string {
  const scope =
    options.contextId === undefined ? undefined : new Set(graph.ancestors(options.contextId));
  const nodeIds = new Map<string, string>();
  const nodeLines: string[] = [];
  const edgeLines: string[] = [];
  const edgeSeen = new Set<string>();
  const node = (contextId: string, contextType: string): string => {
    let name = nodeIds.get(contextId);
    if (name === undefined) {
      name = `n${nodeIds.size}`;
      nodeIds.set(contextId, name);
      const label = `${escapeMermaidLabel(contextType)}<br/>${escapeMermaidLabel(contextId)}`;
      nodeLines.push(`  ${name}["${label}"]`);
    }
    return name;
  };
  const edge = (line: string): void => {
    if (edgeSeen.has(line)) return;
    edgeSeen.add(line);
    edgeLines.push(line);
  };
  for (const t of transitions) {
    if (scope !== undefined && !scope.has(t.toContextId)) continue;
    const parents = t.fromContextIds.map((id, i) => node(id, t.fromContextTypes[i] as string));
    const to = node(t.toContextId, t.toContextType);
    const label = escapeMermaidLabel(edgeLabel(t));
    for (const from of parents) edge(`  ${from} -->|"${label}"| ${to}`);
  }
  // Lineage that pruning compacted: parents recorded by dropped transitions, and the origins
  // kept for ancestry dropped entirely, as dotted edges; breadth-first from what is drawn.
  const queue = scope === undefined ? [...nodeIds.keys()] : [...scope];
  const queued = new Set(queue);
  for (let i = 0; i < queue.length; i++) {
    const contextId = queue[i] as string;
    const type = graph.typeOf(contextId);
    if (type === undefined) continue;
    const to = node(contextId, type);
    for (const parent of graph.basisOf(contextId)) {
      edge(`  ${node(parent, graph.typeOf(parent) ?? '')} -.->|"pruned"| ${to}`);
      if (!queued.has(parent)) {
        queued.add(parent);
        queue.push(parent);
      }
    }
    const pruned = graph.prunedOf(contextId);
    if (pruned === undefined) continue;
    const origins: readonly ContextRef[] =
      pruned.origins.length > 0 ? pruned.origins : [pruned.origin];
    for (const origin of origins) {
      if (origin.contextId === contextId) continue;
      edge(`  ${node(origin.contextId, origin.contextType)} -.->|"pruned"| ${to}`);
      if (!queued.has(origin.contextId)) {
        queued.add(origin.contextId);
        queue.push(origin.contextId);
      }
    }
  }
  const direction = options.direction ?? 'TD';
  return [`flowchart ${direction}`, ...nodeLines, ...edgeLines].join('\n');
}
