import { type ContextTransition, createRuntime } from 'mcp-orchestration';
import { ExitCode, usageError } from './cli-error.js';
import { type Command, taskIdArgument, writeJson, writeLines } from './command.js';

/** One transition as a line: `parents -> child  [component: operation]`. */
export function transitionLine(t: ContextTransition): string {
  const from = t.fromContextIds.length > 0 ? t.fromContextIds.join(' + ') : '(origin)';
  const by = t.operation === undefined ? t.componentName : `${t.componentName}: ${t.operation}`;
  return `  ${from} -> ${t.toContextId} (${t.toContextType})  [${by}]`;
}

/** `mcp-orch lineage TASK`: the context lineage of a task. */
export const lineageCommand: Command = {
  name: 'lineage',
  usage: 'lineage TASK [--mermaid] [--json]',
  summary: "a task's context lineage: as lines, a Mermaid flowchart, or JSON",
  details:
    'JSON: ContextFlowManager.toJSON() (format, v, workflowId, nextSeq, transitions, lineage).',
  options: {
    mermaid: { type: 'boolean', description: 'print a Mermaid flowchart' },
  },
  positionals: { min: 1, max: 1 },
  async run(invocation) {
    const taskId = taskIdArgument(invocation.positionals[0]);
    if (invocation.flag('mermaid') && invocation.flag('json')) {
      throw usageError('lineage takes --mermaid or --json, not both');
    }
    const { store } = await invocation.store();
    const flow = await createRuntime({ store }).lineage(taskId);
    if (invocation.flag('json')) writeJson(invocation.io, flow.toJSON());
    else if (invocation.flag('mermaid')) writeLines(invocation.io, [flow.toMermaid()]);
    else {
      const transitions = flow.getFullTransitionLog();
      writeLines(invocation.io, [
        `Lineage of task ${taskId} (${transitions.length} transitions):`,
        ...transitions.map(transitionLine),
      ]);
    }
    return ExitCode.Ok;
  },
};
