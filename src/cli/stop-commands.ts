import { createRuntime, getCheckpointManager, UnknownTaskError } from 'mcp-orchestration';
import { ExitCode, formatError } from './cli-error.js';
import { type Command, taskIdArgument, writeJson, writeLines } from './command.js';

/** Where a stop left a task: the checkpoint it wrote, or the latest one when it wrote none. */
interface Stopped {
  readonly status: string | undefined;
  readonly seq: number | undefined;
  readonly checkpointId: string | undefined;
}

/**
 * A command that stops a task through the store (`runtime.pause` or `runtime.cancel` on a task
 * not running in this process): its latest checkpoint is written again with the new status,
 * conditional on its seq, so a process still running the task loses its next write and stops.
 */
function stopCommand(
  verb: 'pause' | 'cancel',
  summary: string,
  details: readonly string[],
): Command {
  return {
    name: verb,
    usage: `${verb} TASK [--json]`,
    summary,
    details: [
      ...details,
      'A process still running the task stops at its next checkpoint (its write loses the race).',
      'JSON: { taskId, status, seq, checkpointId }.',
    ].join('\n'),
    options: {},
    positionals: { min: 1, max: 1 },
    async run(invocation) {
      const taskId = taskIdArgument(invocation.positionals[0]);
      const { store } = await invocation.store();
      const runtime = createRuntime({ store });
      // What it writes is what it reports: a read afterwards (the latest checkpoint, a lease
      // file) may fail when the write did not, and the task is stopped all the same.
      let stopped: Stopped | undefined;
      const unsubscribe = runtime.subscribe((event) => {
        if (event.type === 'checkpoint.saved' && event.taskId === taskId) {
          const { status, seq, checkpointId } = event;
          stopped = { status, seq, checkpointId };
        }
      });
      try {
        await runtime[verb](taskId);
      } finally {
        unsubscribe();
      }
      // Nothing written (a finished task, or one already paused): where the task is.
      stopped ??= await latestOf(store, taskId).catch((error: unknown) => {
        if (error instanceof UnknownTaskError) throw error;
        const reason = formatError(error).replace(/^mcp-orch: /, '');
        invocation.io.stderr.write(
          `mcp-orch: warning: reading task ${taskId} back failed: ${reason}\n`,
        );
        return { status: undefined, seq: undefined, checkpointId: undefined };
      });
      const { status, seq, checkpointId } = stopped;
      if (invocation.flag('json')) {
        writeJson(invocation.io, {
          taskId,
          status: status ?? null,
          seq: seq ?? null,
          checkpointId: checkpointId ?? null,
        });
      } else if (status === undefined) {
        // It wrote nothing: the task had finished, or had this status already.
        const past = verb === 'pause' ? 'paused' : 'cancelled';
        writeLines(invocation.io, [`Task ${taskId}: finished or already ${past}; nothing written`]);
      } else {
        writeLines(invocation.io, [`Task ${taskId}: ${status} (checkpoint ${seq})`]);
      }
      return ExitCode.Ok;
    },
  };
}

/** The latest checkpoint of a task, as a stop command reports it. */
async function latestOf(
  store: Parameters<typeof getCheckpointManager>[0],
  taskId: string,
): Promise<Stopped> {
  const manager = await getCheckpointManager(store);
  const latest = await manager.loadLatestCheckpoint(taskId, { snapshot: false });
  if (latest === undefined) throw new UnknownTaskError(taskId);
  const { seq, checkpointId } = latest.checkpoint ?? {};
  return { status: latest.status, seq, checkpointId };
}

/** `mcp-orch pause TASK`: a `paused` checkpoint; `resume` continues the task. */
export const pauseCommand = stopCommand('pause', 'pause a task; resume continues it', [
  'Writes a paused checkpoint on top of the latest one (nothing for a finished or paused task).',
  'mcp-orch resume TASK --file FILE continues it, with the step that was in flight run again.',
]);

/** `mcp-orch cancel TASK`: a final `cancelled` checkpoint. */
export const cancelCommand = stopCommand('cancel', 'cancel a task for good', [
  'Writes a final cancelled checkpoint on top of the latest one (nothing for a finished task).',
]);
