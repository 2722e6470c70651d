/**
 * The seed's "Basic Workflow Management" example, routed: parse → process → generate, and no
 * step says who carries it out. The ContextRouter sends each step's context to a tool, a worker
 * pool or an agent (by its fallback, a content rule and a type rule), and the runtime
 * checkpoints each decision and each step's result (in memory here; pass any store). It prints
 * where each context went and why (from the lineage), the `WorkflowState` of every checkpoint
 * and the result. Then it runs the seed's loop by hand: `determineRoute`, then `agent.process`,
 * `tool.run` or `workerPool.submit` through a router actor.
 *
 *   npx tsx --conditions=source examples/basic-workflow.ts
 */
import {
  type Context,
  createContext,
  createRuntime,
  defineAgent,
  defineTool,
  defineWorkerPool,
  defineWorkflow,
  getCheckpointManager,
  getContextRouter,
  startRouter,
  type WorkflowMachineContext,
} from 'mcp-orchestration';
import { createMemoryStore } from 'mcp-orchestration/memory';

type Counts = Record<string, number>;
type Summary = { summary: string; task: number; newWords: string[] };

// The three targets. Each names its result context `<taskId>_<stepId>`.
const parser = defineTool({
  id: 'input_parser',
  description: 'Turns any input with a text into a task',
  call: (context, { taskId, stepId }) => {
    const text = String((context.data as { text?: unknown }).text ?? '');
    const words = text.toLowerCase().split(/\s+/).filter(Boolean);
    const data = { stage: 'parsed', words };
    return createContext('TaskContext', data, { contextId: `${taskId}_${stepId}` });
  },
});

const processor = defineWorkerPool({
  id: 'data_processor',
  description: 'Counts words, up to three contexts at once',
  size: 3,
  handler: (context, { taskId, stepId }) => {
    const counts: Counts = {};
    for (const word of (context.data as { words: string[] }).words) {
      counts[word] = (counts[word] ?? 0) + 1;
    }
    const data = { stage: 'counted', counts };
    return createContext('TaskContext', data, { contextId: `${taskId}_${stepId}` });
  },
});

/** An agent: one actor with a memory across calls (the words of every task it has seen). */
const planner = defineAgent({
  id: 'planner',
  initialState: { tasks: 0, seen: [] as string[] },
  process: (context, memory, { taskId, stepId }) => {
    const { counts } = context.data as { counts: Counts };
    const top = Object.entries(counts).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
    const summary = top
      .slice(0, 3)
      .map(([word, n]) => `${word} ×${n}`)
      .join(', ');
    const newWords = Object.keys(counts).filter((word) => !memory.seen.includes(word));
    const tasks = memory.tasks + 1;
    return {
      result: createContext(
        'ResultContext',
        { summary, task: tasks, newWords },
        { contextId: `${taskId}_${stepId}` },
      ),
      state: { tasks, seen: [...memory.seen, ...newWords] },
    };
  },
});
const targets = [parser, processor, planner];

// The router, set up the seed's way: a type rule, a content rule that outranks it, a fallback.
const router = await getContextRouter();
// biome-ignore lint/complexity/useLiteralKeys: the seed's spelling, a key per context type
router.typeBasedRules['TaskContext'] = {
  targetType: 'agent_type',
  targetId: 'planner',
  priority: 1,
};
router.addRule({
  id: 'count_words',
  priority: 5,
  contextType: 'TaskContext',
  when: { path: 'data.stage', equals: 'parsed' },
  target: { targetType: 'worker_pool', targetId: 'data_processor' },
});
router.fallback = { targetType: 'tool', targetId: 'input_parser', priority: 0 };

// The seed's three steps, each routed (`route: true` instead of `run`).
const workflow = defineWorkflow({
  id: 'basic-workflow',
  version: '2.0.0',
  steps: [
    { stepId: 'parse', route: true, name: 'Parse Input', action: 'parse' },
    { stepId: 'process', route: true, name: 'Process Data', action: 'process' },
    { stepId: 'generate', route: true, name: 'Generate Result', action: 'generate' },
  ],
});

const store = createMemoryStore();
const runtime = createRuntime({ store, router, targets, workflows: [workflow] });
const taskId = 'task_123';
const run = await runtime.start(workflow, { text: 'the cat and the hat and the bat' }, { taskId });
const result = (await run.result).data as Summary;
console.log(`Result: ${result.summary} (the planner's task ${result.task})`);

console.log('\nLineage, and why each context went where it went:');
for (const t of (await runtime.lineage(taskId)).getFullTransitionLog()) {
  const route = t.metadata.route as { reason: string } | undefined;
  const from = t.fromContextIds.join(' + ') || '(input)';
  console.log(
    `  ${from} -> ${t.toContextId} (${t.componentName})${route ? `: ${route.reason}` : ''}`,
  );
}

const manager = await getCheckpointManager(store);
console.log('\nCheckpoints (oldest first): status, current step, steps complete, route held');
for (const id of (await manager.listCheckpoints(taskId)).reverse()) {
  const state = await manager.loadCheckpoint(taskId, id);
  if (state === undefined) continue;
  const done = state.plan.filter((step) => step.isComplete).map((step) => step.stepId);
  // A routed step's decision is saved in the snapshot before its target runs: a resumed
  // workflow sends the context to the same target, whatever the rules say by then.
  const snapshot = state.snapshot as { context: WorkflowMachineContext } | undefined;
  const routes = Object.values(snapshot?.context.routes ?? {});
  const route = routes.map(({ target }) => `, ${target.targetType} ${target.targetId}`).join('');
  console.log(
    `  ${state.checkpoint?.seq}. ${state.status}, step ${state.currentStepIndex}, [${done.join(', ')}]${route}`,
  );
}
await runtime.close();

// The seed's loop by hand, on a router actor of its own (so a planner with a memory of its own).
const routerActor = startRouter({ targets });
const availableTargets = routerActor.targets;

async function executeStep(context: Context, taskId: string, stepId: string): Promise<Context> {
  const route = await router.determineRoute(context, { availableTargets });
  if (!route) throw new Error(`No route found for context type ${context.contextType}`);
  const why = router.explain(context, { availableTargets }).considered;
  const verdicts = why.map((rule) => `${rule.ruleId} ${rule.outcome}`).join(', ');
  console.log(`    ${stepId} -> ${route.targetType} ${route.targetId} [${verdicts}]`);
  const call = { taskId, stepId };
  switch (route.targetType) {
    case 'agent_type':
      return routerActor.getAgent(route.targetId).process(context, call);
    case 'tool':
      return routerActor.getTool(route.targetId).run(context, call);
    case 'worker_pool':
      return routerActor.getWorkerPool(route.targetId).submit(context, call);
  }
}

console.log('\nBy hand: determineRoute, then agent.process / tool.run / workerPool.submit');
for (const { id, text } of [
  { id: 'task_456', text: 'the cat sat' },
  { id: 'task_789', text: 'the hat sat on the cat' },
]) {
  console.log(`  ${id}: "${text}"`);
  let context: Context = createContext('InputContext', { text }, { contextId: `${id}_input` });
  for (const stepId of ['parse', 'process', 'generate']) {
    context = await executeStep(context, id, stepId);
  }
  const { summary, task, newWords } = context.data as Summary;
  console.log(`    ${summary}; planner task ${task}, new words: ${newWords.join(', ') || 'none'}`);
}
routerActor.stop();
