import type { StatelyInspectionEvent } from '@statelyai/inspect';
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

/** The session id of the root actor named `name` among inspection events. */
export const rootOf = (events: readonly StatelyInspectionEvent[], name: string) =>
  events.find((e) => e.type === '@xstate.actor' && e.name === name && e.parentId === undefined)
    ?.sessionId;

/** The snapshot events of actor `sessionId`, in order. */
export const snapshotsOf = (
  events: readonly StatelyInspectionEvent[],
  sessionId: string | undefined,
) => events.flatMap((e) => (e.type === '@xstate.snapshot' && e.sessionId === sessionId ? [e] : []));

/** The machine definition actor `sessionId` was registered with (what the visualizer draws). */
export function registeredDefinition(
  events: readonly StatelyInspectionEvent[],
  sessionId: string | undefined,
): { id: string; states: Record<string, unknown> } {
  const registered = events.find((e) => e.type === '@xstate.actor' && e.sessionId === sessionId);
  return JSON.parse((registered as { definition: string }).definition);
}

/** The names of the actors registered as children of `sessionId`, in order. */
export const childNames = (
  events: readonly StatelyInspectionEvent[],
  sessionId: string | undefined,
) =>
  events.flatMap((e) =>
    e.type === '@xstate.actor' && e.parentId === sessionId ? [(e as { name: string }).name] : [],
  );
