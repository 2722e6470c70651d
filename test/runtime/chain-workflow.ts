import {
  ContextMergeStrategy,
  createContext,
  defineWorkflow,
  type Step,
  type Workflow,
} from 'mcp-orchestration';

/** Options of {@link chainWorkflow}. */
export interface ChainOptions {
  /** Sequential steps before the group. */
  readonly before: number;
  /** Sequential steps after the group. */
  readonly after: number;
  /** Regions of the parallel group. */
  readonly regions: number;
  /** Steps per region. */
  readonly perRegion: number;
  /** Called at the start of every step invocation (count them). */
  readonly onRun: (stepId: string) => void;
  /** How long a step takes, in ms (may depend on the step). Default: 1 ms. */
  readonly ms?: (stepId: string) => number;
  /** Each item is the step id padded to this many characters with dots. Default: 0. */
  readonly itemPad?: number;
}

/**
 * A deterministic workflow of `before + regions × perRegion + after` task steps: each step
 * appends its id to `data.items`, regions run concurrently and are merged with `AppendList`.
 * Context ids derive from the task and step ids, so a rerun yields equal contexts.
 */
export function chainWorkflow(options: ChainOptions): Workflow {
  const step = (stepId: string): Step => ({
    stepId,
    run: async (context, _step, { taskId }) => {
      options.onRun(stepId);
      const ms = options.ms?.(stepId) ?? 1;
      await new Promise((resolve) => setTimeout(resolve, ms));
      const items = (context.data as { items: string[] }).items;
      return createContext(
        'Chain',
        { items: [...items, stepId.padEnd(options.itemPad ?? 0, '.')] },
        {
          contextId: `${taskId}_${stepId}`,
        },
      );
    },
  });
  const seq = (prefix: string, n: number) =>
    Array.from({ length: n }, (_, i) => step(`${prefix}${String(i + 1).padStart(2, '0')}`));
  const regions: Record<string, Step[]> = {};
  for (let r = 0; r < options.regions; r++) regions[`r${r}`] = seq(`r${r}s`, options.perRegion);
  return defineWorkflow({
    id: 'chain',
    version: '1',
    steps: [
      ...seq('a', options.before),
      {
        stepId: 'group',
        merge: { strategy: ContextMergeStrategy.AppendList, contextType: 'Chain' },
        parallel: regions,
      },
      ...seq('z', options.after),
    ],
  });
}

/** Every task step id of a chain workflow (not the group). */
export function chainStepIds(workflow: Workflow): string[] {
  return workflow.plan.filter((s) => s.metadata?.kind === 'task').map((s) => s.stepId);
}
