import { createContext, defineWorkflow, type Workflow } from 'mcp-orchestration';

/**
 * A small document workflow with every kind of state the charts draw: a task, a parallel group
 * of two regions, and a wait for an external event. Deterministic context ids.
 */
export function documentWorkflow(): Workflow {
  return defineWorkflow({
    id: 'document',
    version: '2',
    name: 'Document pipeline',
    steps: [
      {
        stepId: 'parse',
        name: 'Parse input',
        description: 'Split the text into words',
        toolName: 'parser',
        run: (context, _step, { taskId }) =>
          createContext(
            'Parsed',
            { words: String((context.data as { text?: string }).text ?? '').split(' ') },
            { contextId: `${taskId}_parsed` },
          ),
      },
      {
        stepId: 'analyze',
        name: 'Analyze',
        parallel: {
          words: [
            {
              stepId: 'count',
              run: (context, _step, { taskId }) =>
                createContext(
                  'Count',
                  { count: (context.data as { words: string[] }).words.length },
                  { contextId: `${taskId}_count` },
                ),
            },
          ],
          tone: [
            {
              stepId: 'tone',
              run: (_context, _step, { taskId }) =>
                createContext('Tone', { tone: 'neutral' }, { contextId: `${taskId}_tone` }),
            },
          ],
        },
      },
      { stepId: 'approve', name: 'Approval', waitFor: { event: 'approval' } },
    ],
  });
}
