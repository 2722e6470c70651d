import { getCheckpointManager, UnknownTaskError } from 'mcp-orchestration';
import { usageError } from './cli-error.js';
import { createCliRuntime } from './cli-runtime.js';
import { type Command, taskIdArgument, writeLines } from './command.js';
import { taskWorkflow } from './export-command.js';
import { assertNotLeased, isFinished } from './task-guards.js';
import { taskPlan } from './task-plan.js';
import { watchRun } from './watch-run.js';

/** `mcp-orch resume TASK`: continues a task from its latest checkpoint. */
export const resumeCommand: Command = {
  name: 'resume',
  usage: 'resume TASK [--file FILE]',
  summary: 'continue a task from its latest checkpoint, with live progress',
  details: [
    'The workflow must be known: --file names the module it was run from. A finished task needs',
    'no module: its result (or failure) is read from its final checkpoint. A task a worker or',
    'another mcp-orch process holds a live lease on runs there, and is refused (TASK_LEASED); the',
    'lease of a killed mcp-orch lapses 30 s after its last renewal.',
  ].join('\n'),
  options: {
    file: { type: 'string', value: 'FILE', description: 'the workflow module (as for run)' },
  },
  positionals: { min: 1, max: 1 },
  async run(invocation) {
    const taskId = taskIdArgument(invocation.positionals[0]);
    const file = invocation.string('file');
    const opened = await invocation.store();
    const manager = await getCheckpointManager(opened.store);
    const latest = await manager.loadLatestCheckpoint(taskId);
    if (latest === undefined) throw new UnknownTaskError(taskId);
    // Checked to be the workflow the task runs (BAD_WORKFLOW_FILE), as send and status do.
    const workflow = file === undefined ? undefined : await taskWorkflow(latest, file);
    const finished = isFinished(latest.status);
    // Refused before anything is printed; the runtime's lease claim refuses it too (racing
    // processes included), before it runs anything.
    if (!finished) await assertNotLeased(opened.store, taskId);
    // An unfinished task runs its workflow: without its module, refused before "Resuming…". A
    // missing argument, so a usage error (exit code 2), as send's and export's missing --file is.
    if (!finished && workflow === undefined) {
      const runs = latest.machine === undefined ? 'its workflow' : `workflow ${latest.machine.id}`;
      throw usageError(
        `Task ${taskId} is ${latest.status}, and resuming it runs ${runs}: pass its module with --file FILE`,
      );
    }
    const runtime = createCliRuntime(opened.store, workflow === undefined ? [] : [workflow], {
      lease: !finished,
    });
    // A long plan's checkpoints between the first and the final one leave it out.
    const { plan } = await taskPlan(manager, latest, workflow?.plan);
    if (!(finished || invocation.flag('json'))) {
      const done = plan.filter((step) => step.isComplete).length;
      const steps = plan.length > 0 ? `; ${done}/${plan.length} steps done` : '';
      writeLines(invocation.io, [
        `Resuming task ${taskId} from checkpoint ${latest.checkpoint?.seq} (${latest.status}${steps})`,
      ]);
    }
    return watchRun(invocation, {
      runtime,
      taskId,
      plan: plan.length > 0 ? plan : (workflow?.plan ?? []),
      begin: () => runtime.resume(taskId),
      file: file,
      store: opened,
      waitsAsCheckpointed: async (run) => {
        const { status, seq } = run.status();
        if (status !== 'suspended') return false;
        // Read again: another process may have moved the task on since `latest` was read.
        const restored = await manager.loadLatestCheckpoint(taskId, { snapshot: false });
        return restored?.status === 'suspended' && restored.checkpoint?.seq === seq;
      },
    });
  },
};
