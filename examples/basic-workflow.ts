/**
 * The seed's "Basic Workflow Management" example on the durable runtime: parse → process →
 * generate, each step a tool with an action, checkpointed after every step (in memory here; pass
 * any store). It prints the seed's `WorkflowState` of every checkpoint and the lineage.
 * (The seed routes each step with the ContextRouter; routing arrives with the router.)
 *
 *   npx tsx --conditions=source examples/basic-workflow.ts
 */
import {
  createContext,
  createRuntime,
  defineWorkflow,
  getCheckpointManager,
} from 'mcp-orchestration';
import { createMemoryStore } from 'mcp-orchestration/memory';

const workflow = defineWorkflow({
  id: 'basic-workflow',
  version: '1.0.0',
  steps: [
    {
      stepId: 'parse',
      name: 'Parse Input',
      description: 'Parse and validate input data',
      toolName: 'input_parser',
      action: 'parse',
      run: (context, _step, { taskId }) => {
        const text = String((context.data as { text?: unknown }).text ?? '').trim();
        return createContext(
          'ParsedContext',
          { words: text.split(/\s+/) },
          { contextId: `${taskId}_step_0` },
        );
      },
    },
    {
      stepId: 'process',
      name: 'Process Data',
      description: 'Process the validated data',
      toolName: 'data_processor',
      action: 'process',
      run: (context, _step, { taskId }) => {
        const { words } = context.data as { words: string[] };
        const counts: Record<string, number> = {};
        for (const word of words)
          counts[word.toLowerCase()] = (counts[word.toLowerCase()] ?? 0) + 1;
        return createContext('ProcessedContext', { counts }, { contextId: `${taskId}_step_1` });
      },
    },
    {
      stepId: 'generate',
      name: 'Generate Result',
      description: 'Generate the final result',
      toolName: 'result_generator',
      action: 'generate',
      run: (context, _step, { taskId }) => {
        const { counts } = context.data as { counts: Record<string, number> };
        const top = Object.entries(counts).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
        const summary = top
          .slice(0, 3)
          .map(([word, n]) => `${word} ×${n}`)
          .join(', ');
        return createContext('ResultContext', { summary }, { contextId: `${taskId}_step_2` });
      },
    },
  ],
});

const store = createMemoryStore();
const runtime = createRuntime({ store, workflows: [workflow] });
const taskId = 'task_123';
const run = await runtime.start(workflow, { text: 'the cat and the hat and the bat' }, { taskId });
const result = await run.result;
console.log(`Result: ${(result.data as { summary: string }).summary}`);

const manager = await getCheckpointManager(store);
console.log('\nCheckpoints (oldest first): status, current step, steps complete');
for (const id of (await manager.listCheckpoints(taskId)).reverse()) {
  const state = await manager.loadCheckpoint(taskId, id);
  const done = state?.plan.filter((step) => step.isComplete).map((step) => step.stepId);
  console.log(
    `  ${state?.checkpoint?.seq}. ${state?.status}, step ${state?.currentStepIndex}, [${done?.join(', ')}]`,
  );
}
console.log('\nLineage:');
for (const t of (await runtime.lineage(taskId)).getFullTransitionLog()) {
  console.log(
    `  ${t.fromContextIds.join(' + ') || '(input)'} -> ${t.toContextId} (${t.componentName})`,
  );
}
