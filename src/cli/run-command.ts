import { createCheckpointId, TaskExistsError } from 'mcp-orchestration';
import { usageError } from './cli-error.js';
import { createCliRuntime } from './cli-runtime.js';
import { type Command, jsonArgument, taskIdArgument, writeLines } from './command.js';
import { loadWorkflowModule } from './load-workflow.js';
import { resumeCommandLine, storeArgument, watchRun } from './watch-run.js';

/**
 * The `TaskExistsError` of `run` on a task id the store has, saying how the command line goes
 * on (the library's message speaks of `start`'s `ifExists` option and of `deleteTask`): resume
 * it, or, when its checkpoints were all deleted, delete what is left of it.
 */
function taskExists(
  taskId: string,
  hasCheckpoints: boolean,
  next: { resume: string; remove: string },
): TaskExistsError {
  const error = new TaskExistsError(taskId, false, hasCheckpoints);
  error.message = hasCheckpoints
    ? `Task ${taskId} already has checkpoints: continue it with \`${next.resume}\`, or pick another --task`
    : `Task ${taskId} has no checkpoint left to resume, but its lineage remains: delete it with \`${next.remove}\`, or pick another --task`;
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
    const next = {
      resume: resumeCommandLine(taskId, { file, store: opened }),
      remove: `mcp-orch checkpoints delete ${taskId} --all${storeArgument(opened)}`,
    };
    // Refused before anything is printed (the runtime refuses it too, racing writers included).
    if ((await opened.store.head(taskId)) > 0) {
      const hasCheckpoints = (await opened.store.list(taskId)).length > 0;
      throw taskExists(taskId, hasCheckpoints, next);
    }
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
          .catch((error: unknown) => {
            throw error instanceof TaskExistsError
              ? taskExists(taskId, error.hasCheckpoints, next)
              : error;
          }),
      file: file,
      store: opened,
    });
  },
};
