import type { RuntimeEvent, WorkflowStep } from 'mcp-orchestration';

/** Something a progress display writes to (a `process.stdout`). */
export interface ProgressStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
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

/** The plain line for an event, or `undefined` for events a log does not need. */
export function progressLine(event: RuntimeEvent): string | undefined {
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
 * A progress display for a run: on a TTY, a block redrawn in place (the plan with ✓ done,
 * ▸ running and · pending steps, then the last checkpoint, steps done and elapsed time); else
 * one plain line per event (`step plan started`, `checkpoint 2 saved (running) <id>`…).
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
    const width = Math.max(20, (stream.columns || 100) - 1); // a pty may report 0 columns
    const lines: string[] = [];
    const full = options.plan.length <= FULL_LIST_STEPS;
    for (const step of options.plan) {
      const state = steps.get(step.stepId) ?? 'pending';
      if (!full && state !== 'running') continue;
      const indent = '  '.repeat(depthOf(step) + 1);
      const name = step.name === step.stepId ? '' : `  ${step.name}`;
      lines.push(`${indent}${MARK[state]} ${step.stepId}${name}`.slice(0, width));
    }
    const done = [...steps.values()].filter((s) => s === 'done').length;
    const seconds = ((now() - started) / 1000).toFixed(1);
    const plan = options.plan.length > 0 ? ` · ${done}/${options.plan.length} steps done` : '';
    lines.push(`  ${status} · ${lastCheckpoint}${plan} · ${seconds} s`.slice(0, width));
    return lines;
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
