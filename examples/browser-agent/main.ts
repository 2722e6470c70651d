/**
 * The browser example: a multi-agent workflow running in a web page, checkpointed in IndexedDB.
 *
 * - **Reload mid-run**: on load, a task that exists and is not finished is resumed from its last
 *   checkpoint (`runtime.resume`); steps whose completion was checkpointed do not run again.
 * - **Two tabs**: the run holds the task's Web Lock (`withWebLock`) for its whole duration. A
 *   second tab shows "running in another tab", follows the checkpoints, and takes over (resumes)
 *   if the first tab closes.
 * - **What is stored**: a tab that does not run the task keeps reading the store, so it sees a run
 *   start, or a "Start over", in another tab (and site data cleared): it shows what the store holds.
 * - **A bad task id** (one the store refuses) is shown as the page's error, with the buttons off.
 *
 * URL parameters: `task` (task id, default `trip_demo`), `stepMs` (how long each agent works,
 * default 900), `to` (destination, default Lisbon), `days` (default 3).
 * Run: `npx vite examples/browser-agent`.
 */
import {
  assertValidId,
  type Context,
  createRuntime,
  getCheckpointManager,
  isOrchestrationError,
  type RunStatus,
  type WorkflowStatus,
} from 'mcp-orchestration';
import { createIndexedDbStore, taskLockName, withWebLock } from 'mcp-orchestration/indexeddb';
import { createTripWorkflow, type TripRequest } from './trip-workflow.js';
import {
  type CheckpointRow,
  element,
  type PageState,
  renderCheckpoints,
  renderLineage,
  renderResult,
  renderStatus,
  renderSteps,
} from './view.js';
import { createWorkLog } from './work-log.js';

const params = new URLSearchParams(location.search);
const taskId = params.get('task') ?? 'trip_demo';
const request: TripRequest = {
  destination: params.get('to') ?? 'Lisbon',
  days: Number(params.get('days') ?? 3),
};
const FINAL: ReadonlySet<WorkflowStatus> = new Set(['completed', 'error', 'cancelled']);

const store = createIndexedDbStore({ dbName: 'mcp-orchestration-browser-agent' });
const manager = await getCheckpointManager(store);
const workLog = createWorkLog(taskId);
const workflow = createTripWorkflow({
  stepMs: Number(params.get('stepMs') ?? 900),
  onWork: (stepId, key) => {
    workLog.add(stepId, key);
    scheduleRefresh();
  },
});
const runtime = createRuntime({ store, workflows: [workflow] });

const startButton = element<HTMLButtonElement>('#start');
const resetButton = element<HTMLButtonElement>('#reset');
element('#task').textContent = taskId;

/**
 * What this tab does about the task:
 * - `watching`: it shows what the store holds (no task yet, or a finished run) and reads the store
 *   again every {@link POLL_MS} for a change made elsewhere (a start, a Start over);
 * - `waiting`: another tab holds the task's lock (runs it): this one waits for it and follows the
 *   checkpoints;
 * - `owning`: this tab takes or holds the lock, and runs (or reads) the task.
 */
let mode: 'watching' | 'waiting' | 'owning' = 'watching';
/** How often a tab that does not run the task reads the store. */
const POLL_MS = 400;
/** The latest checkpoint the page shows (`undefined`: no task), as of the last refresh. */
let shownCheckpoint: string | undefined;
/** Steps this tab saw complete (checkpoints say so too, a moment later). */
const completed = new Set<string>();

function show(state: PageState, text: string): void {
  renderStatus(state, text);
  startButton.disabled = state !== 'idle';
  resetButton.disabled = !FINAL.has(state as WorkflowStatus);
}

runtime.subscribe((event) => {
  if (event.taskId !== taskId) return;
  if (event.type === 'step.completed') completed.add(event.stepId);
  scheduleRefresh();
});

// ---- rendering from the store (the same for the running tab and a waiting one) ----

const loadedRows = new Map<string, CheckpointRow>();

async function checkpointRows(): Promise<CheckpointRow[]> {
  const metas = await manager.listCheckpointInfo(taskId);
  for (const meta of metas) {
    if (loadedRows.has(meta.checkpointId)) continue;
    const state = await manager.loadCheckpoint(taskId, meta.checkpointId);
    if (state === undefined) continue;
    const stepId = workflow.plan[state.currentStepIndex]?.stepId ?? '—';
    const { checkpointId, seq, createdAt } = meta;
    loadedRows.set(checkpointId, { checkpointId, seq, createdAt, status: state.status, stepId });
  }
  return metas.flatMap((meta) => loadedRows.get(meta.checkpointId) ?? []);
}

async function refresh(): Promise<void> {
  const latest = await manager.loadLatestCheckpoint(taskId);
  // No task (deleted, or the site data cleared): nothing is done, whatever this tab saw.
  if (latest === undefined) completed.clear();
  for (const step of latest?.plan ?? []) if (step.isComplete) completed.add(step.stepId);
  const finished = latest !== undefined && FINAL.has(latest.status);
  const work = workLog.entries();
  renderSteps(
    workflow.plan.map((step) => {
      const keys = work.filter((entry) => entry.stepId === step.stepId).map((entry) => entry.key);
      const done = completed.has(step.stepId) || latest?.status === 'completed';
      const running = !done && !finished && latest !== undefined && keys.length > 0;
      return { step, keys, state: done ? 'done' : running ? 'running' : 'pending' };
    }),
  );
  shownCheckpoint = latest?.checkpoint?.checkpointId;
  renderCheckpoints(await checkpointRows());
  const lineage = latest === undefined ? undefined : await runtime.lineage(taskId);
  renderLineage(lineage?.getFullTransitionLog() ?? [], lineage?.toMermaid() ?? '');
  if (mode === 'waiting' && latest !== undefined) followOther(latest.status);
}

let refreshing: Promise<void> | undefined;
let refreshAgain = false;

/** Refreshes the view; calls made while one runs coalesce into one more. */
function scheduleRefresh(): void {
  if (refreshing !== undefined) {
    refreshAgain = true;
    return;
  }
  refreshing = refresh()
    .catch((error: unknown) => console.error('refresh failed', error))
    .finally(() => {
      refreshing = undefined;
      if (refreshAgain) {
        refreshAgain = false;
        scheduleRefresh();
      }
    });
}

// ---- owning the run ----

/** While another tab runs the task: what its checkpoints say. */
function followOther(status: WorkflowStatus): void {
  if (FINAL.has(status)) show(status, `${status} in another tab`);
  else show('elsewhere', 'Running in another tab: this tab waits, and takes over if it closes.');
}

function describeError(error: unknown): string {
  return isOrchestrationError(error) ? `${error.code}: ${error.message}` : String(error);
}

function showResult(status: WorkflowStatus, result: Context | undefined): void {
  renderResult(result?.data);
  show(status, status === 'completed' ? 'Completed.' : `Ended: ${status}.`);
}

/**
 * Takes the task's Web Lock and, holding it, starts the task (`start`), or resumes it from its
 * last checkpoint. Whatever happened meanwhile (another tab finished it, started it) is read
 * again once the lock is held.
 */
async function own(intent: 'start' | 'resume'): Promise<void> {
  if (mode !== 'watching') return;
  mode = 'owning';
  try {
    await withWebLock(
      taskLockName(taskId),
      async () => {
        mode = 'owning';
        const status = await runtime.status(taskId);
        if (status === undefined && intent === 'resume') {
          return show('idle', 'Not started.'); // deleted meanwhile (Start over in another tab)
        }
        if (status === undefined) {
          show('running', 'Running in this tab.');
          const run = await runtime.start(workflow, request, { taskId });
          return showResult('completed', await run.result);
        }
        const resumed = !FINAL.has(status.status);
        if (resumed) {
          await noteResume(status);
          show('running', 'Running in this tab (resumed).');
        }
        const run = await runtime.resume(taskId);
        const result = await run.result.catch(() => undefined);
        showResult(run.status().status, result);
      },
      {
        onWait: () => {
          mode = 'waiting';
          show('elsewhere', 'Running in another tab: this tab waits…');
        },
      },
    );
  } catch (error) {
    show('error', describeError(error));
  } finally {
    mode = 'watching';
    scheduleRefresh();
  }
}

/** Says which checkpoint the run resumed from, and how much of the plan it had done. */
async function noteResume(status: RunStatus): Promise<void> {
  const latest = await manager.loadLatestCheckpoint(taskId);
  const done = latest?.plan.filter((step) => step.isComplete).length ?? 0;
  const note = element('#note');
  note.dataset.resumedFrom = String(status.seq ?? 0);
  note.textContent = `Resumed from checkpoint ${status.seq}: ${done} of ${workflow.plan.length} steps were done.`;
}

/** Forgets the run the page showed: its steps, result and resume note. */
function forgetRun(): void {
  completed.clear();
  loadedRows.clear();
  renderResult(undefined);
  const note = element('#note');
  delete note.dataset.resumedFrom;
  note.textContent = '';
}

/**
 * Every {@link POLL_MS}, unless this tab runs the task: a waiting tab follows the checkpoints; a
 * watching one reads the task's status, and when its latest checkpoint is not the one shown
 * (another tab started the task, or started over, or the site data was cleared), shows that:
 * no task (steps reset; an error this tab's run ended with stays shown), or the new run, which
 * it follows (or resumes, or shows finished) as on a load.
 */
async function poll(): Promise<void> {
  if (mode === 'waiting') return scheduleRefresh();
  // A refresh under way (the one after this tab's run ended, say) is about to update what is shown.
  if (mode !== 'watching' || refreshing !== undefined) return;
  const status = await runtime.status(taskId);
  if (mode !== 'watching' || refreshing !== undefined) return;
  if (status?.checkpointId === shownCheckpoint) return;
  forgetRun();
  scheduleRefresh();
  if (status !== undefined) return own('resume');
  if (element('#status').dataset.state !== 'error') show('idle', 'Not started.');
}

startButton.addEventListener('click', () => void own('start'));
resetButton.addEventListener('click', () => {
  const shown = shownCheckpoint;
  resetButton.disabled = true;
  void withWebLock(taskLockName(taskId), async () => {
    // Only the run this page shows (its checkpoint is still stored): another tab may have
    // started over and run the task anew meanwhile.
    if (shown === undefined || (await manager.loadCheckpoint(taskId, shown)) === undefined) return;
    await manager.deleteTask(taskId);
    workLog.clear();
  }).then(
    () => location.reload(),
    (error: unknown) => show('error', describeError(error)),
  );
});

// ---- on load ----

/** Shows what the store holds of the task, then keeps reading it ({@link poll}). */
async function load(): Promise<void> {
  try {
    assertValidId('taskId', taskId);
    // A task that exists is resumed, or shown if finished; otherwise wait for a start, here or in
    // another tab (seen by `poll`).
    if ((await runtime.status(taskId)) !== undefined) void own('resume');
    else show('idle', 'Not started.');
  } catch (error) {
    // A task id the store refuses, or a store that cannot be read: said, with the buttons off.
    return renderStatus('error', describeError(error));
  }
  scheduleRefresh();
  setInterval(() => {
    poll().catch((error: unknown) => console.error('poll failed', error));
  }, POLL_MS);
}

await load();
