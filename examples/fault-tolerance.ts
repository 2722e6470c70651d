/**
 * The seed's "Fault Tolerance and Recovery" example on the durable runtime: a four-step workflow
 * checkpointed at every step boundary in the default store (in Node, the embedded file store in
 * `.mcp-orchestration/`). Run it with `SIMULATE_CRASH=1` and the process dies in the middle of
 * the `enrich` step; run it again and it resumes from the last checkpoint: the steps whose
 * completion was checkpointed do not run again.
 *
 *   SIMULATE_CRASH=1 npx tsx --conditions=source examples/fault-tolerance.ts   # dies mid-run
 *   npx tsx --conditions=source examples/fault-tolerance.ts                    # resumes, finishes
 */
import {
  type Context,
  createContext,
  createRuntime,
  defineWorkflow,
  getCheckpointManager,
} from 'mcp-orchestration';

type Data = { text: string; words?: string[]; tags?: string[]; summary?: string };

/** A step that derives a new context from the previous one (contexts are immutable). */
function step(stepId: string, transform: (data: Data) => Data) {
  return {
    stepId,
    name: stepId,
    run: async (context: Context) => {
      console.log(`  running ${stepId}`);
      if (stepId === 'enrich' && process.env.SIMULATE_CRASH === '1') {
        console.log('  (simulated crash: the process dies here)');
        process.exit(137);
      }
      const data = transform(context.data as Data);
      return createContext('DocumentContext', data, {
        contextId: `${context.contextId}.${stepId}`,
      });
    },
  };
}

const pipeline = defineWorkflow({
  id: 'fault-tolerant',
  version: '1',
  steps: [
    step('parse', (d) => ({ ...d, words: d.text.toLowerCase().match(/[a-z]+/g) ?? [] })),
    step('enrich', (d) => ({
      ...d,
      tags: [...new Set((d.words ?? []).filter((w) => w.length > 6))],
    })),
    step('summarize', (d) => ({
      ...d,
      summary: `${d.words?.length} words; tags: ${d.tags?.join(', ')}`,
    })),
    step('publish', (d) => ({ ...d, text: d.text.toUpperCase() })),
  ],
});

const taskId = 'fault_demo';
const runtime = createRuntime({ workflows: [pipeline] });
runtime.subscribe((event) => {
  if (event.type === 'checkpoint.saved') console.log(`  checkpoint ${event.seq}: ${event.status}`);
});

const previous = await runtime.status(taskId);
if (previous?.status === 'completed') {
  await (await getCheckpointManager()).deleteTask(taskId); // a finished demo starts over
}
if (previous === undefined || previous.status === 'completed') {
  console.log(`Starting new workflow ${taskId}`);
} else {
  // The step the checkpoint was saved at: done and at its commit gate, or (in the first
  // checkpoint) not started. The run goes on from there; steps done do not run again.
  const at = `${previous.currentStepId} (step ${previous.currentStepIndex})`;
  console.log(`Resuming workflow ${taskId} from checkpoint ${previous.seq}, saved at ${at}`);
}
const run = await runtime.start(
  pipeline,
  { text: 'Checkpoints make recovery boring. Recovery should always be boring.' },
  { taskId, ifExists: 'resume' },
);
const result = await run.result;
console.log(`Completed: ${(result.data as Data).summary}`);
