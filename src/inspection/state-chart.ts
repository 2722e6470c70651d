import type { AnyStateMachine, StateValue } from 'xstate';
import type { WorkflowStep } from '../checkpoint/workflow-state.js';

/** One state of a chart (internal): what the Mermaid text and the SVG picture draw. */
export interface ChartNode {
  readonly key: string;
  /** Keys from the root (excluded) to this state; `[]` for the root. */
  readonly path: readonly string[];
  readonly type: 'atomic' | 'compound' | 'parallel' | 'final' | 'history';
  /** A second line under the key of a step's state: the step's name (or its description). */
  readonly caption: string | undefined;
  /** The full description (a tooltip). */
  readonly description: string | undefined;
  /** Key of the initial child of a compound state. */
  readonly initial: string | undefined;
  readonly children: readonly ChartNode[];
}

/**
 * A transition between two children of one compound or parallel state (`parent`): a transition
 * between states further apart is drawn between their ancestors that are siblings, with its label.
 */
export interface ChartEdge {
  readonly parent: readonly string[];
  readonly from: string;
  readonly to: string;
  readonly label: string;
}

/** A machine's states and transitions, ready to draw (internal). */
export interface StateChart {
  readonly root: ChartNode;
  readonly edges: readonly ChartEdge[];
}

interface NodeLike {
  readonly key: string;
  readonly path: readonly string[];
  readonly type: ChartNode['type'];
  readonly description?: string | undefined;
  readonly meta?: unknown;
  readonly states: Readonly<Record<string, NodeLike>>;
  readonly transitions: ReadonlyMap<string, readonly TransitionLike[]>;
  readonly always?: readonly TransitionLike[] | undefined;
  readonly config: { readonly initial?: unknown };
}

interface TransitionLike {
  readonly eventType: string;
  readonly target?: readonly NodeLike[] | undefined;
  readonly guard?: unknown;
}

/** The name of a guard, action or actor logic as written in a config. */
export function nameOf(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'function') {
    const type = (value as { type?: unknown }).type;
    if (typeof type === 'string' && type !== '') return type;
    return value.name === '' ? 'inline' : value.name;
  }
  if (typeof value === 'object' && value !== null) {
    const type = (value as { type?: unknown }).type;
    if (typeof type === 'string') return type;
  }
  return 'inline';
}

/** A readable label for a transition's event (`xstate.done.actor.x` → `done`). */
function eventLabel(eventType: string): string {
  if (eventType === '') return 'always';
  if (eventType.startsWith('xstate.done.')) return 'done';
  if (eventType.startsWith('xstate.error.')) return 'error';
  if (eventType.startsWith('xstate.after.')) return `after ${eventType.split('.')[2] ?? ''}`;
  return eventType;
}

function transitionLabel(t: TransitionLike): string {
  const guard = t.guard === undefined ? undefined : nameOf(t.guard);
  const event = eventLabel(t.eventType);
  if (guard === undefined) return event;
  return event === 'always' ? `[${guard}]` : `${event} [${guard}]`;
}

function stepOf(meta: unknown): { name?: unknown } | undefined {
  const step = (meta as { step?: unknown } | undefined)?.step;
  return typeof step === 'object' && step !== null ? step : undefined;
}

function buildNode(node: NodeLike, plan: ReadonlyMap<string, WorkflowStep>): ChartNode {
  const planned = node.path.length === 0 ? undefined : plan.get(node.key);
  const stepName = stepOf(node.meta)?.name;
  const name = typeof stepName === 'string' ? stepName : planned?.name;
  const description =
    node.description ??
    (planned === undefined
      ? undefined
      : planned.description
        ? `${planned.name}: ${planned.description}`
        : planned.name);
  const stepDescription = (stepOf(node.meta) as { description?: unknown } | undefined)?.description;
  const detail = typeof stepDescription === 'string' ? stepDescription : planned?.description;
  // Steps are captioned with their name (or what they do); other states only with their key.
  const caption = name !== undefined && name !== node.key ? name : detail || undefined;
  const initial = typeof node.config.initial === 'string' ? node.config.initial : undefined;
  return {
    key: node.key,
    path: node.path,
    type: node.type,
    caption,
    description,
    initial,
    children: Object.values(node.states).map((child) => buildNode(child, plan)),
  };
}

function collectEdges(node: NodeLike, edges: ChartEdge[], seen: Set<string>): void {
  const transitions = [...node.transitions.values()].flat().concat(node.always ?? []);
  for (const t of transitions) {
    for (const target of t.target ?? []) {
      const from = node.path;
      const to = target.path;
      let common = 0;
      while (common < from.length && common < to.length && from[common] === to[common]) common++;
      let parent = from.slice(0, common);
      let a = from[common];
      let b = to[common];
      if (a === undefined && b === undefined && from.length > 0) {
        // A self transition: a loop on the state, drawn in its parent.
        parent = from.slice(0, -1);
        a = node.key;
        b = node.key;
      }
      // A transition into its own descendant or ancestor has no two siblings to join.
      if (a === undefined || b === undefined) continue;
      const edge = { parent, from: a, to: b };
      const label = transitionLabel(t);
      const id = JSON.stringify([parent, edge.from, edge.to, label]);
      if (seen.has(id)) continue;
      seen.add(id);
      edges.push({ ...edge, label });
    }
  }
  for (const child of Object.values(node.states)) collectEdges(child, edges, seen);
}

/** The states and transitions of `machine`, states named after the plan's steps (internal). */
export function stateChartOf(
  machine: AnyStateMachine,
  plan: readonly WorkflowStep[] = [],
): StateChart {
  const root = machine.root as unknown as NodeLike;
  const steps = new Map(plan.map((step) => [step.stepId, step]));
  const edges: ChartEdge[] = [];
  collectEdges(root, edges, new Set());
  return { root: buildNode(root, steps), edges };
}

/** The paths (keys joined by `.`) of every state active in `value`, ancestors included. */
export function activePaths(value: StateValue | undefined): Set<string> {
  const active = new Set<string>();
  const visit = (v: unknown, prefix: readonly string[]): void => {
    if (typeof v === 'string') {
      active.add([...prefix, v].join('.'));
      return;
    }
    if (typeof v !== 'object' || v === null) return;
    for (const [key, child] of Object.entries(v)) {
      const path = [...prefix, key];
      active.add(path.join('.'));
      visit(child, path);
    }
  };
  visit(value, []);
  return active;
}
