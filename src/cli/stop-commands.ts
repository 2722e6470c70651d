import { createRuntime, UnknownTaskError } from 'mcp-orchestration';
import { ExitCode } from './cli-error.js';
import { type Command, taskIdArgument, writeJson, writeLines } from './command.js';

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
      await runtime[verb](taskId);
      const status = await runtime.status(taskId);
      if (status === undefined) throw new UnknownTaskError(taskId);
      const { seq, checkpointId } = status;
      if (invocation.flag('json')) {
        writeJson(invocation.io, { taskId, status: status.status, seq, checkpointId });
      } else {
        writeLines(invocation.io, [`Task ${taskId}: ${status.status} (checkpoint ${seq})`]);
      }
      return ExitCode.Ok;
    },
  };
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
