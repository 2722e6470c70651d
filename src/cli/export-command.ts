import { stat } from 'node:fs/promises';
import {
  exportStatelyMachine,
  getCheckpointManager,
  type RuntimeWorkflow,
  UnknownTaskError,
  type WorkflowState,
  workflowChartMermaid,
} from 'mcp-orchestration';
import type { StateValue } from 'xstate';
import { CliError, ExitCode, usageError } from './cli-error.js';
import { type Command, type Invocation, taskIdArgument, writeJson, writeLines } from './command.js';
import { loadWorkflowModule } from './load-workflow.js';

const MODULE_FILE = /\.[cm]?[jt]sx?$/;

/** Whether an argument names a module file (an existing file, or a name ending in .js, .ts…). */
export async function isModuleArgument(argument: string): Promise<boolean> {
  if (MODULE_FILE.test(argument)) return true;
  const found = await stat(argument).catch(() => undefined);
  return found?.isFile() === true;
}

/** Whether `argument` is a valid task id (`report.js` is; `./report.js` is not). */
function isTaskId(argument: string): boolean {
  try {
    taskIdArgument(argument);
    return true;
  } catch {
    return false;
  }
}

/** What `export` and `inspect` work from: a workflow and, for a task, its latest checkpoint. */
export interface ExportTarget {
  readonly workflow: RuntimeWorkflow;
  readonly taskId?: string;
  readonly latest?: WorkflowState;
}

/**
 * The workflow of `TASK|FILE`: a module's workflow, or a task's with its latest checkpoint (the
 * module comes from `--file`, and must be the workflow the task's checkpoints name). With
 * `--file`, the argument is a task id, whatever it looks like: `report.js` is a valid one.
 */
export async function exportTarget(invocation: Invocation): Promise<ExportTarget> {
  const [argument] = invocation.positionals;
  const file = invocation.string('file');
  if (argument !== undefined && (await isModuleArgument(argument))) {
    if (file === undefined) return { workflow: (await loadWorkflowModule(argument)).workflow };
    if (!isTaskId(argument)) throw usageError('give the workflow module once: FILE or --file');
  }
  const taskId = taskIdArgument(argument);
  const { store } = await invocation.store();
  const latest = await (await getCheckpointManager(store)).loadLatestCheckpoint(taskId);
  if (latest === undefined) {
    const error = new UnknownTaskError(taskId);
    // `export wf.mjs --file wf.mjs`: the module was given twice, not a task.
    if (file !== undefined && (await isModuleArgument(argument as string))) {
      error.message += `; to export the module ${argument} itself, give it once (FILE or --file)`;
    }
    throw error;
  }
  if (file === undefined) {
    const named = latest.machine === undefined ? '' : ` (workflow ${latest.machine.id})`;
    throw usageError(`${taskId} is a task${named}: pass the module it runs with --file FILE`);
  }
  return { workflow: await taskWorkflow(latest, file), taskId, latest };
}

/** The workflow module `file` exports, checked to be the workflow the task's checkpoint names. */
export async function taskWorkflow(latest: WorkflowState, file: string): Promise<RuntimeWorkflow> {
  const { workflow } = await loadWorkflowModule(file);
  if (latest.machine !== undefined && latest.machine.id !== workflow.id) {
    throw new CliError(
      'BAD_WORKFLOW_FILE',
      `Task ${latest.taskId} runs workflow ${latest.machine.id}, but ${file} exports ${workflow.id}`,
    );
  }
  return workflow;
}

/** `mcp-orch export TASK|FILE`: a workflow's machine for Stately Studio. */
export const exportCommand: Command = {
  name: 'export',
  usage: 'export TASK|FILE [--file FILE] [--json | --mermaid]',
  summary: "a workflow's machine for Stately Studio: createMachine code, JSON or a Mermaid chart",
  details: [
    'FILE is a workflow module (as for run); TASK a task id, with --file naming its module. By',
    'default it prints `createMachine({...})` code to paste into Stately Studio (states named',
    'after the plan); --json prints the machine config as JSON; --mermaid the state chart as a',
    "Mermaid stateDiagram, with a task's current state highlighted.",
  ].join('\n'),
  options: {
    file: { type: 'string', value: 'FILE', description: "the task's workflow module" },
    mermaid: { type: 'boolean', description: 'print the state chart as Mermaid' },
  },
  positionals: { min: 1, max: 1 },
  async run(invocation) {
    if (invocation.flag('mermaid') && invocation.flag('json')) {
      throw usageError('export takes --mermaid or --json, not both');
    }
    const { workflow, latest } = await exportTarget(invocation);
    if (invocation.flag('mermaid')) {
      const state = (latest?.snapshot as { value?: StateValue } | undefined)?.value;
      writeLines(invocation.io, [
        workflowChartMermaid(workflow, state === undefined ? {} : { state }),
      ]);
      return ExitCode.Ok;
    }
    const exported = exportStatelyMachine(workflow);
    if (invocation.flag('json')) writeJson(invocation.io, exported.config);
    else writeLines(invocation.io, [exported.code.trimEnd()]);
    return ExitCode.Ok;
  },
};
