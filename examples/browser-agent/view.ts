/**
 * Rendering for the browser example: plain DOM, text only (no HTML strings). Each element carries
 * `data-*` attributes with its state, which the end-to-end test reads.
 */
import type { ContextTransition, WorkflowStatus, WorkflowStep } from 'mcp-orchestration';

/** What the page shows in its status line (`#status[data-state]`). */
export type PageState = 'loading' | 'idle' | 'running' | 'elsewhere' | WorkflowStatus;

/** A plan step as shown: pending, running or done, and how many attempts of it started. */
export interface StepView {
  readonly step: WorkflowStep;
  readonly state: 'pending' | 'running' | 'done';
  /** Idempotency keys of the attempts that started, oldest first. */
  readonly keys: readonly string[];
}

/** A checkpoint as shown in the table. */
export interface CheckpointRow {
  readonly seq: number;
  readonly checkpointId: string;
  readonly status: WorkflowStatus;
  /** The step being (or next to be) carried out. */
  readonly stepId: string;
  readonly createdAt: number;
}

/** Looks up an element the page must have. */
export function element<T extends HTMLElement>(selector: string): T {
  const found = document.querySelector<T>(selector);
  if (found === null) throw new Error(`The page has no ${selector}`);
  return found;
}

function node<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  text: string,
  className?: string,
): HTMLElementTagNameMap[K] {
  const created = document.createElement(tag);
  created.textContent = text;
  if (className !== undefined) created.className = className;
  return created;
}

/** Sets the status line and its `data-state`. */
export function renderStatus(state: PageState, text: string): void {
  const status = element('#status');
  status.dataset.state = state;
  status.textContent = text;
}

/** The plan, one line per step; steps of parallel regions are indented under their group. */
export function renderSteps(steps: readonly StepView[]): void {
  const items = steps.map(({ step, state, keys }) => {
    const item = node('li', '', state);
    item.dataset.step = step.stepId;
    item.dataset.state = state;
    item.dataset.runs = String(keys.length);
    if (step.metadata?.lane !== undefined && step.metadata.lane !== 'main')
      item.classList.add('region');
    const mark = { pending: '○', running: '◔', done: '●' }[state];
    item.append(node('span', mark, 'mark'), node('span', step.name), node('code', step.stepId));
    if (keys.length > 0) {
      const runs = node('span', keys.length === 1 ? 'ran once' : `ran ${keys.length}×`, 'runs');
      runs.title = keys.join('\n');
      if (keys.length > 1) {
        runs.classList.add('rerun');
        runs.title += '\nIn flight at a reload: steps are at least once, with the same key.';
      }
      item.append(runs);
    }
    return item;
  });
  element('#steps').replaceChildren(...items);
}

function time(ms: number): string {
  const date = new Date(ms);
  return `${date.toLocaleTimeString('en-GB', { hour12: false })}.${String(date.getMilliseconds()).padStart(3, '0')}`;
}

/** The checkpoint table, newest first. */
export function renderCheckpoints(rows: readonly CheckpointRow[]): void {
  const lines = rows.map((row) => {
    const line = document.createElement('tr');
    line.dataset.seq = String(row.seq);
    line.append(
      node('td', String(row.seq)),
      node('td', row.status, `status-${row.status}`),
      node('td', row.stepId),
      node('td', time(row.createdAt)),
      node('td', row.checkpointId, 'id'),
    );
    return line;
  });
  element('#checkpoints tbody').replaceChildren(...lines);
  element('#checkpoint-count').textContent = String(rows.length);
}

/** The lineage: one line per transition, and its Mermaid text. */
export function renderLineage(transitions: readonly ContextTransition[], mermaid: string): void {
  const items = transitions.map((transition) => {
    const from = transition.fromContextIds.join(' + ') || '(input)';
    const item = node('li', '');
    item.dataset.to = transition.toContextId;
    item.append(
      node('code', from),
      node('span', ' → ', 'arrow'),
      node('code', transition.toContextId),
      node('span', ` ${transition.componentName}`, 'component'),
    );
    return item;
  });
  element('#lineage').replaceChildren(...items);
  element('#lineage-count').textContent = String(transitions.length);
  element('#mermaid').textContent = mermaid;
}

/** The final result: the itinerary and review as text, and the whole context data as JSON. */
export function renderResult(data: unknown): void {
  const trip = (data ?? {}) as { itinerary?: unknown; review?: unknown };
  const lines = Array.isArray(trip.itinerary) ? trip.itinerary.map(String) : [];
  if (typeof trip.review === 'string') lines.push(`Review: ${trip.review}`);
  element('#summary').replaceChildren(...lines.map((line) => node('li', line)));
  element('#result').textContent = data === undefined ? '' : JSON.stringify(data, null, 2);
}
