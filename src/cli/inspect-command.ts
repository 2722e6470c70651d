import { stat, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import {
  createRuntime,
  getCheckpointManager,
  renderInspectionHtml,
  UnknownTaskError,
} from 'mcp-orchestration';
import { CliError, ExitCode, usageError } from './cli-error.js';
import { type Command, taskIdArgument, writeJson, writeLines } from './command.js';
import { taskWorkflow } from './export-command.js';
import { taskPlan } from './task-plan.js';

/** `mcp-orch inspect TASK`: a self-contained HTML page of a task. */
export const inspectCommand: Command = {
  name: 'inspect',
  usage: 'inspect TASK [--file FILE] [--out PATH]',
  summary: 'write an HTML page of a task (status, plan, state chart, lineage) and print its path',
  details: [
    'The page is self-contained (inline SVG, no network): open it in any browser. It shows the',
    "task's latest checkpoint (status, plan) and its context lineage; with --file (the task's",
    "workflow module) also the workflow's state chart with the task's current state highlighted.",
  ].join('\n'),
  options: {
    file: { type: 'string', value: 'FILE', description: "the task's workflow module" },
    out: {
      type: 'string',
      value: 'PATH',
      description: 'where to write the page (default: ./mcp-orch-inspect-TASK.html)',
    },
  },
  positionals: { min: 1, max: 1 },
  async run(invocation) {
    const taskId = taskIdArgument(invocation.positionals[0]);
    const file = invocation.string('file');
    const out = invocation.string('out');
    // Checked before the store is opened: `--out ''` would name the current folder.
    if (out !== undefined && out.trim() === '') throw usageError('--out needs a file path');
    const path = resolve(out ?? `mcp-orch-inspect-${taskId}.html`);
    if ((await stat(path).catch(() => undefined))?.isDirectory()) {
      throw usageError(`--out ${path} is a folder: give a file path`);
    }
    // Checked before the store is read too: a page with nowhere to go is not made.
    if (!(await stat(dirname(path)).catch(() => undefined))?.isDirectory()) {
      throw new CliError(
        'FILE_NOT_FOUND',
        `--out ${path}: there is no folder ${dirname(path)} to write it in`,
      );
    }
    const { store } = await invocation.store();
    const manager = await getCheckpointManager(store);
    const checkpoint = await manager.loadLatestCheckpoint(taskId);
    if (checkpoint === undefined) throw new UnknownTaskError(taskId);
    const workflow = file === undefined ? undefined : await taskWorkflow(checkpoint, file);
    const lineage = await createRuntime({ store }).lineage(taskId);
    // A long plan's checkpoints between the first and the final one leave it out.
    const { plan, omitted } = await taskPlan(manager, checkpoint, workflow?.plan);
    const html = renderInspectionHtml({
      title: `Task ${taskId}`,
      checkpoint,
      lineage,
      ...(workflow === undefined ? {} : { workflow }),
      ...(omitted === undefined ? {} : { plan }),
    });
    await writeFile(path, html).catch((error: unknown) => {
      const reason = error instanceof Error ? error.message : String(error);
      throw new CliError('WRITE_FAILED', `Cannot write --out ${path}: ${reason}`, { cause: error });
    });
    if (invocation.flag('json')) writeJson(invocation.io, { taskId, path });
    else writeLines(invocation.io, [path]);
    return ExitCode.Ok;
  },
};
