import type { RuntimeEvent, WorkflowStep } from 'mcp-orchestration';
import { fitWidth, printable } from './terminal-text.js';

/** Something a progress display writes to (a `process.stdout`). */
export interface ProgressStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
  /** The terminal's height: the live block is kept below it (see {@link createProgressDisplay}). */
  readonly rows?: number;
}

/** Shows a run's progress from the runtime's events. */
export interface ProgressDisplay {
  /** Takes one runtime event (events of other tasks are ignored). */
  update(event: RuntimeEvent): void;
  /** Draws the final state; nothing is written after it. */
  finish(): void;
}

/** Options of {@link createProgressDisplay}. */
export interface ProgressDisplayOptions {
  /** The task whose events are shown. */
  readonly taskId: string;
  /** The workflow's plan, for the step list of the live display (`isComplete` steps show done). */
  readonly plan: readonly WorkflowStep[];
  /** Redraw a live block (a TTY) instead of writing one line per event. Default: `stream.isTTY`. */
  readonly live?: boolean;
  /** The clock for elapsed time, ms. Default: `Date.now`. */
  readonly now?: () => number;
}

type StepState = 'pending' | 'running' | 'done';

/** Plans longer than this show only their running steps in the live display. */
const FULL_LIST_STEPS = 16;
const MARK: Readonly<Record<StepState, string>> = { pending: '·', running: '▸', done: '✓' };

/**
 * The plain line for an event, or `undefined` for events a log does not need; its terminal
 * control characters (from a step id or an error message) escaped (see `printable`).
 */
export function progressLine(event: RuntimeEvent): string | undefined {
  const line = eventLine(event);
  return line === undefined ? undefined : printable(line);
}

function eventLine(event: RuntimeEvent): string | undefined {
  switch (event.type) {
    case 'step.started':
      return `step ${event.stepId} started`;
    case 'step.completed':
      return `step ${event.stepId} completed`;
    case 'checkpoint.saved':
      return `checkpoint ${event.seq} saved (${event.status}) ${event.checkpointId}`;
    case 'status.changed':
      return undefined; // every status a run reaches is in the checkpoint line that records it
    case 'run.aborted':
      return `run aborted: ${event.error.message}`;
    case 'checkpoints.pruned':
      return undefined; // housekeeping
    case 'checkpoints.pruneFailed':
      return `deleting old checkpoints failed (tried again later): ${event.error.message}`;
  }
}

/** How deep a plan step sits: 0 on the main lane, 1 per parallel region level. */
function depthOf(step: WorkflowStep): number {
  const lane = step.metadata?.lane;
  return typeof lane === 'string' && lane !== 'main' ? lane.split('.').length - 1 : 0;
}

/**
 * The step lines of the live block that fit in `budget` lines: all of them when they fit, else a
 * window of consecutive steps around line `focus` (the first running step), the steps left out
 * above and below it collapsed into a `… N more` line each.
 */
export function fitStepLines(lines: readonly string[], focus: number, budget: number): string[] {
  if (lines.length <= budget) return [...lines];
  if (budget <= 0) return [];
  if (budget === 1) return [`  … ${lines.length} steps`];
  const window = (size: number): { start: number; end: number } => {
    const start = Math.min(Math.max(0, focus - Math.floor((size - 1) / 2)), lines.length - size);
    return { start, end: start + size };
  };
  // One marker line at least; two when steps are left out on both sides.
  let { start, end } = window(budget - 1);
  if (start > 0 && end < lines.length) ({ start, end } = window(budget - 2));
  return [
    ...(start > 0 ? [`  … ${start} more`] : []),
    ...lines.slice(start, end),
    ...(end < lines.length ? [`  … ${lines.length - end} more`] : []),
  ];
}

/**
 * A progress display for a run: on a TTY, a block redrawn in place (the plan with ✓ done,
 * ▸ running and · pending steps, then the last checkpoint, steps done and elapsed time); else
 * one plain line per event (`step plan started`, `checkpoint 2 saved (running) <id>`…).
 *
 * The block is redrawn by moving the cursor up over the lines it drew, so each of its lines
 * must take exactly one terminal line: each is cut to the terminal's width in columns (a CJK
 * character takes two, a combining mark none), and the block is kept to one line less than the
 * terminal's height (a cursor cannot move up past the top of the screen, so a taller block
 * would leave a copy scrolled off with each redraw): the steps that do not fit are collapsed
 * into `… N more` lines around the running one.
 */
export function createProgressDisplay(
  stream: ProgressStream,
  options: ProgressDisplayOptions,
): ProgressDisplay {
  const live = options.live ?? stream.isTTY === true;
  const now = options.now ?? Date.now;
  const started = now();
  const steps = new Map<string, StepState>(
    options.plan.map((step) => [step.stepId, step.isComplete ? 'done' : 'pending']),
  );
  let lastCheckpoint = 'no checkpoint yet';
  let status = 'running';
  let drawnLines = 0;
  let finished = false;

  const block = (): string[] => {
    // Columns, not code units: a wide (CJK) character takes two. A pty may report 0 columns.
    const width = Math.max(20, (stream.columns || 100) - 1);
    const lines: string[] = [];
    let focus = -1;
    const full = options.plan.length <= FULL_LIST_STEPS;
    for (const step of options.plan) {
      const state = steps.get(step.stepId) ?? 'pending';
      if (!full && state !== 'running') continue;
      if (focus === -1 && state === 'running') focus = lines.length;
      const indent = '  '.repeat(depthOf(step) + 1);
      const name = step.name === step.stepId ? '' : `  ${step.name}`;
      lines.push(fitWidth(printable(`${indent}${MARK[state]} ${step.stepId}${name}`), width));
    }
    if (focus === -1) {
      // Nothing runs: the first step not done yet (the next to run), else the last one.
      const next = options.plan.findIndex((step) => steps.get(step.stepId) !== 'done');
      focus = full && next !== -1 ? next : lines.length - 1;
    }
    const done = [...steps.values()].filter((s) => s === 'done').length;
    const seconds = ((now() - started) / 1000).toFixed(1);
    const plan = options.plan.length > 0 ? ` · ${done}/${options.plan.length} steps done` : '';
    const summary = fitWidth(`  ${status} · ${lastCheckpoint}${plan} · ${seconds} s`, width);
    // At most rows - 1 lines: the summary and the steps that fit (none known: all of them).
    const rows = stream.rows || 0;
    const budget = rows > 0 ? rows - 2 : lines.length;
    return [...fitStepLines(lines, focus, budget), summary];
  };

  const redraw = (): void => {
    const lines = block();
    // Move to the start of the previous block, clear to the end of the screen, draw anew.
    const up = drawnLines > 0 ? `\x1b[${drawnLines}F` : '';
    stream.write(`${up}\x1b[J${lines.join('\n')}\n`);
    drawnLines = lines.length;
  };
  // On a TTY the elapsed time moves on while a long step runs.
  const ticker = live ? setInterval(redraw, 1000) : undefined;
  ticker?.unref();

  return {
    update(event) {
      if (finished || event.taskId !== options.taskId) return;
      if (event.type === 'step.started') steps.set(event.stepId, 'running');
      else if (event.type === 'step.completed') steps.set(event.stepId, 'done');
      else if (event.type === 'checkpoint.saved') {
        lastCheckpoint = `checkpoint ${event.seq} saved`;
        status = event.status;
      } else if (event.type === 'status.changed') status = event.status;
      if (live) {
        redraw();
        return;
      }
      const line = progressLine(event);
      if (line !== undefined) stream.write(`${line}\n`);
    },
    finish() {
      if (finished) return;
      clearInterval(ticker);
      if (live) redraw();
      finished = true;
    },
  };
}
