import {
  type CheckpointStore,
  createCheckpointId,
  getCheckpointManager,
  TaskExistsError,
} from 'mcp-orchestration';
import { usageError } from './cli-error.js';
import { cliLeaseOwner, createCliRuntime } from './cli-runtime.js';
import { type Command, jsonArgument, taskIdArgument, writeLines } from './command.js';
import { loadWorkflowModule } from './load-workflow.js';
import { assertNotLeased, isFinished } from './task-guards.js';
import { resumeCommandLine, storeArgument, watchRun } from './watch-run.js';

/** The follow-up commands {@link existingTask} may advise, for a task run from `file`. */
interface NextCommands {
  readonly resume: string;
  readonly status: string;
  readonly remove: string;
}

/**
 * Why `run` refuses a task id the store has, saying how the command line goes on (the library's
 * `TaskExistsError` speaks of `start`'s `ifExists` option and of `deleteTask`):
 * - a worker or another `mcp-orch` holds a live lease on it: it runs there (a `TaskLeasedError`,
 *   thrown, naming the holder and until when, as `resume` and `send` say), and resuming it here
 *   would be refused the same way;
 * - it has finished: it is not one to continue, so `status` shows it, or delete it to run it again;
 * - its checkpoints were all deleted: delete what is left of it;
 * - else (running with no live holder, suspended, paused): `resume` continues it.
 */
async function existingTask(
  store: CheckpointStore,
  taskId: string,
  hasCheckpoints: boolean,
  next: NextCommands,
): Promise<TaskExistsError> {
  // Not this process's own lease: `start` claims it before it finds the task exists (a writer
  // that created it since the check), and releases it without waiting.
  await assertNotLeased(store, taskId, cliLeaseOwner());
  const error = new TaskExistsError(taskId, false, hasCheckpoints);
  if (!hasCheckpoints) {
    error.message = `Task ${taskId} has no checkpoint left to resume, but its lineage remains: delete it with \`${next.remove}\`, or pick another --task`;
    return error;
  }
  // Unreadable (a corrupt checkpoint): resume reports what is wrong with it.
  const latest = await getCheckpointManager(store)
    .then((manager) => manager.loadLatestCheckpoint(taskId, { snapshot: false }))
    .catch(() => undefined);
  error.message =
    latest !== undefined && isFinished(latest.status)
      ? `Task ${taskId} has finished (${latest.status}): see it with \`${next.status}\`, delete it with \`${next.remove}\`, or pick another --task`
      : `Task ${taskId} already has checkpoints: continue it with \`${next.resume}\`, or pick another --task`;
  return error;
}

/** `mcp-orch run FILE`: runs a workflow module under the durable runtime. */
export const runCommand: Command = {
  name: 'run',
  usage: 'run FILE [--task ID] [--input JSON]',
  summary: 'run the workflow a module exports, with live progress',
  details: [
    'FILE exports a workflow (defineWorkflow or defineMachineWorkflow) as its default export or',
    'as `workflow`, and optionally its `input`. Every step boundary is checkpointed in the store.',
    'Ctrl-C (or SIGTERM, SIGHUP) pauses the task and prints how to resume it (`mcp-orch resume`);',
    'a run waiting for an event (a waitFor step) stops once that is checkpointed, and so does a',
    'defineMachineWorkflow machine idle in a state not tagged `suspended` (nothing left to run',
    'here; it stays running and `mcp-orch send` takes it on). The task is leased to this process',
    'while it runs, so another mcp-orch is refused it (TASK_LEASED). TypeScript modules load',
    'through tsx.',
  ].join('\n'),
  options: {
    task: { type: 'string', value: 'ID', description: 'the task id (default: <workflow>-<ulid>)' },
    input: {
      type: 'string',
      value: 'JSON',
      description: "the run's input (default: the module's `input`, else {})",
    },
  },
  positionals: { min: 1, max: 1 },
  async run(invocation) {
    const [file] = invocation.positionals;
    if (file === undefined) throw usageError('run needs a workflow module: mcp-orch run FILE');
    const given = invocation.string('task');
    const inputText = invocation.string('input');
    // Boxed: `--input null` is an input too, not the absence of one.
    const input = inputText === undefined ? undefined : { value: jsonArgument('input', inputText) };
    if (given !== undefined) taskIdArgument(given);
    const loaded = await loadWorkflowModule(file);
    const { workflow } = loaded;
    const taskId = taskIdArgument(given ?? `${workflow.id}-${createCheckpointId().toLowerCase()}`);
    const opened = await invocation.store();
    const next: NextCommands = {
      resume: resumeCommandLine(taskId, { file, store: opened }),
      status: `mcp-orch status ${taskId}${storeArgument(opened)}`,
      remove: `mcp-orch checkpoints delete ${taskId} --all${storeArgument(opened)}`,
    };
    // Refused before anything is printed (the runtime refuses it too, racing writers included):
    // a task the store has, or one a worker or another mcp-orch leases (one that is starting
    // there, its first checkpoint not written yet).
    if ((await opened.store.head(taskId)) > 0) {
      const hasCheckpoints = (await opened.store.list(taskId)).length > 0;
      throw await existingTask(opened.store, taskId, hasCheckpoints, next);
    }
    await assertNotLeased(opened.store, taskId);
    const runtime = createCliRuntime(opened.store, [workflow]);
    if (!invocation.flag('json')) {
      writeLines(invocation.io, [
        `Running ${workflow.id}@${workflow.version} as task ${taskId} (${opened.spec})`,
      ]);
    }
    return watchRun(invocation, {
      runtime,
      taskId,
      plan: workflow.plan,
      begin: () =>
        runtime
          .start(workflow, input === undefined ? (loaded.input ?? {}) : input.value, { taskId })
          .catch(async (error: unknown) => {
            throw error instanceof TaskExistsError
              ? await existingTask(opened.store, taskId, error.hasCheckpoints, next)
              : error;
          }),
      file: file,
      store: opened,
    });
  },
};
