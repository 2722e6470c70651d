import { createRuntime, getCheckpointManager, UnknownTaskError } from 'mcp-orchestration';
import { type Command, taskIdArgument, writeLines } from './command.js';
import { loadWorkflowModule } from './load-workflow.js';
import { assertNotLeased } from './task-guards.js';
import { taskPlan } from './task-plan.js';
import { watchRun } from './watch-run.js';

/** `mcp-orch resume TASK`: continues a task from its latest checkpoint. */
export const resumeCommand: Command = {
  name: 'resume',
  usage: 'resume TASK [--file FILE]',
  summary: 'continue a task from its latest checkpoint, with live progress',
  details: [
    'The workflow must be known: --file names the module it was run from. A finished task needs',
    'no module: its result (or failure) is read from its final checkpoint. A task a worker holds',
    'a live lease on runs there, and is refused (TASK_LEASED).',
  ].join('\n'),
  options: {
    file: { type: 'string', value: 'FILE', description: 'the workflow module (as for run)' },
  },
  positionals: { min: 1, max: 1 },
  async run(invocation) {
    const taskId = taskIdArgument(invocation.positionals[0]);
    const file = invocation.string('file');
    const loaded = file === undefined ? undefined : await loadWorkflowModule(file);
    const opened = await invocation.store();
    const manager = await getCheckpointManager(opened.store);
    const latest = await manager.loadLatestCheckpoint(taskId);
    if (latest === undefined) throw new UnknownTaskError(taskId);
    const finished = ['completed', 'error', 'cancelled'].includes(latest.status);
    // The runtime here takes no lease, so it would not refuse a task a worker runs.
    if (!finished) await assertNotLeased(opened.store, taskId);
    const runtime = createRuntime({
      store: opened.store,
      workflows: loaded === undefined ? [] : [loaded.workflow],
    });
    // A long plan's checkpoints between the first and the final one leave it out.
    const { plan } = await taskPlan(manager, latest, loaded?.workflow.plan);
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
      plan: plan.length > 0 ? plan : (loaded?.workflow.plan ?? []),
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
