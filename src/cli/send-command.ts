import { getCheckpointManager, UnknownTaskError } from 'mcp-orchestration';
import { usageError } from './cli-error.js';
import { createCliRuntime } from './cli-runtime.js';
import { type Command, jsonArgument, taskIdArgument, writeLines } from './command.js';
import { taskWorkflow } from './export-command.js';
import { assertNotLeased, assertTakesEvents, isFinished } from './task-guards.js';
import { taskPlan } from './task-plan.js';
import { resumeCommandLine, watchRun } from './watch-run.js';

/** `mcp-orch send TASK EVENT`: gives a suspended task the event it waits for, and runs it on. */
export const sendCommand: Command = {
  name: 'send',
  usage: 'send TASK EVENT --file FILE [--data JSON]',
  summary: 'send a suspended task the event it waits for, then run it on with live progress',
  details: [
    'The task is resumed from its latest checkpoint (its workflow module comes from --file), the',
    'event { type: EVENT, data } is sent to it, and it runs until it finishes or waits again.',
    'An event it does not wait for, or data its schema refuses, changes nothing (EVENT_NOT_ACCEPTED;',
    "for refused data, the error names the schema's first issues, with paths under $.data).",
    'Only a suspended task takes events (or a defineMachineWorkflow machine idle in an untagged',
    'state); a paused, finished or running one is refused as it is (TASK_NOT_RUNNING), and so is',
    'a task a worker or another mcp-orch process holds a live lease on (TASK_LEASED).',
  ].join('\n'),
  options: {
    file: { type: 'string', value: 'FILE', description: "the task's workflow module (required)" },
    data: { type: 'string', value: 'JSON', description: "the event's data (default: none)" },
  },
  positionals: { min: 2, max: 2 },
  async run(invocation) {
    const [task, type] = invocation.positionals;
    const taskId = taskIdArgument(task);
    if (type === undefined || type === '') throw usageError('send needs an event type');
    const file = invocation.string('file');
    if (file === undefined) throw usageError('send needs the workflow module: --file FILE');
    const dataText = invocation.string('data');
    const data = dataText === undefined ? undefined : jsonArgument('data', dataText);
    const opened = await invocation.store();
    const manager = await getCheckpointManager(opened.store);
    // With its snapshot: whether a machine's actors are in flight (see assertTakesEvents).
    const latest = await manager.loadLatestCheckpoint(taskId);
    if (latest === undefined) throw new UnknownTaskError(taskId);
    const workflow = await taskWorkflow(latest, file);
    const resume = resumeCommandLine(taskId, { file, store: opened });
    // Resuming what runs or rests elsewhere would run it twice, or undo its pause.
    if (!isFinished(latest.status)) {
      await assertNotLeased(opened.store, taskId);
    }
    assertTakesEvents(latest, workflow, resume);
    const { plan } = await taskPlan(manager, latest, workflow.plan);
    const runtime = createCliRuntime(opened.store, [workflow]);
    if (!invocation.flag('json')) writeLines(invocation.io, [`Sending ${type} to task ${taskId}`]);
    /** The task's seq once the event was delivered: the suspended checkpoints that count follow it. */
    let sentAt: number | undefined;
    return watchRun(invocation, {
      runtime,
      taskId,
      plan: plan.length > 0 ? plan : workflow.plan,
      begin: async () => {
        const run = await runtime.resume(taskId);
        await runtime.send(taskId, data === undefined ? { type } : { type, data });
        sentAt = run.status().seq ?? 0;
        return run;
      },
      suspendedAfter: () => sentAt,
      // Nothing shown as progress for an event refused; once it is taken, all of it.
      showProgress: () => sentAt !== undefined,
      file: file,
      store: opened,
    });
  },
};
