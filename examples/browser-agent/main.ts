/**
 * The browser example: a multi-agent workflow running in a web page, checkpointed in IndexedDB.
 *
 * - **Reload mid-run**: on load, a task that exists and is not finished is resumed from its last
 *   checkpoint (`runtime.resume`); steps whose completion was checkpointed do not run again.
 * - **Two tabs**: the run holds the task's Web Lock (`withWebLock`) for its whole duration. A
 *   second tab shows "running in another tab", follows the checkpoints, and takes over (resumes)
 *   if the first tab closes.
 *
 * URL parameters: `task` (task id, default `trip_demo`), `stepMs` (how long each agent works,
 * default 900), `to` (destination, default Lisbon), `days` (default 3).
 * Run: `npx vite examples/browser-agent`.
 */
import {
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

/** Whether this tab has asked to run the task (once per page load). */
let claimed = false;
/** Whether this tab waits for another tab that runs the task (and follows its checkpoints). */
let following = false;
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
  renderCheckpoints(await checkpointRows());
  const lineage = latest === undefined ? undefined : await runtime.lineage(taskId);
  renderLineage(lineage?.getFullTransitionLog() ?? [], lineage?.toMermaid() ?? '');
  if (following && latest !== undefined) followOther(latest.status);
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
  if (claimed) return;
  claimed = true;
  const poll = setInterval(scheduleRefresh, 400);
  try {
    await withWebLock(
      taskLockName(taskId),
      async () => {
        following = false;
        clearInterval(poll);
        const status = await runtime.status(taskId);
        if (status === undefined && intent === 'resume') {
          claimed = false; // deleted meanwhile (Start over in another tab): startable again
          return show('idle', 'Not started.');
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
          following = true;
          show('elsewhere', 'Running in another tab: this tab waits…');
        },
      },
    );
  } catch (error) {
    show('error', describeError(error));
  } finally {
    following = false;
    clearInterval(poll);
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

startButton.addEventListener('click', () => void own('start'));
resetButton.addEventListener('click', () => {
  void withWebLock(taskLockName(taskId), async () => {
    await manager.deleteTask(taskId);
    workLog.clear();
  }).then(() => location.reload());
});

// ---- on load ----

// A task that exists is resumed, or shown if finished; otherwise wait for a start, here or in
// another tab (followed through the store).
if ((await runtime.status(taskId)) !== undefined) void own('resume');
else {
  show('idle', 'Not started.');
  const watch = setInterval(() => {
    void runtime.status(taskId).then((status) => {
      if (status === undefined) return;
      clearInterval(watch);
      void own('resume');
    });
  }, 500);
  startButton.addEventListener('click', () => clearInterval(watch), { once: true });
}
scheduleRefresh();
