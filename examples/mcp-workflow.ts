/**
 * A workflow whose steps are tools on a real MCP server. It starts the example server
 * (`examples/mcp-server/`, the official SDK's `McpServer`) as a child process over stdio, turns
 * its tools into targets with `mcp-orchestration/mcp`, and runs a durable workflow on the default
 * store (`.mcp-orchestration/`, or `MCP_ORCHESTRATION_DIR`) that calls them:
 *
 * - `analyze`, a parallel group from the input `{ text, limit }`: `count` calls `word_count`,
 *   `keywords` calls `extract_keywords` through the router actor (`startRouter`), and `lead` calls
 *   `first_sentence`; the three results are merged into one context when the last one finishes;
 * - `report`, a local step, writes the report.
 *
 * Each tool call's arguments are the step's context data, checked against the tool's input
 * schema before anything is sent; each result context is the tool's structured output (or its
 * text). A finished run starts afresh next time.
 *
 *   npx tsx --conditions=source examples/mcp-workflow.ts
 */
import { fileURLToPath } from 'node:url';
import {
  type Context,
  createContext,
  createRuntime,
  defineWorkflow,
  getCheckpointManager,
  type StepHelpers,
  startRouter,
  type TaskStep,
} from 'mcp-orchestration';
import { connectMcpStdio } from 'mcp-orchestration/mcp';

type Analysis = {
  words: number;
  characters: number;
  sentences: number;
  keywords: { word: string; count: number }[];
  text: string;
};

const taskId = 'mcp_text_demo';
const repo = fileURLToPath(new URL('..', import.meta.url));

// The server: `node --import tsx examples/mcp-server/main.ts`, one child process over stdio.
const tools = await connectMcpStdio({
  command: process.execPath,
  args: ['--import', 'tsx', 'examples/mcp-server/main.ts'],
  cwd: repo,
});
console.log(`MCP server tools: ${tools.targets.map((target) => target.toolName).join(', ')}`);

// The router actor spawns one child per target it is asked for (here: extract_keywords).
const router = startRouter({ targets: tools.targets });

/** A step that calls an MCP tool directly: the context's data are the tool's arguments. */
function toolStep(stepId: string, toolName: string): TaskStep {
  return {
    stepId,
    toolName,
    action: 'tools/call',
    run: (context: Context, _step, helpers: StepHelpers) =>
      tools.target(toolName).call(context, helpers),
  };
}

const workflow = defineWorkflow({
  id: 'mcp-text-report',
  version: '1',
  description: 'Analyzes a text with the tools of an MCP server, then writes a report',
  steps: [
    {
      stepId: 'analyze',
      parallel: {
        counts: [toolStep('count', 'word_count')],
        keywords: [
          {
            stepId: 'keywords',
            toolName: 'extract_keywords',
            action: 'routed tools/call',
            run: (context, _step, { taskId, stepId, attempt, signal }) =>
              router.getTool('extract_keywords').run(context, { taskId, stepId, attempt, signal }),
          },
        ],
        lead: [toolStep('lead', 'first_sentence')],
      },
      merge: { contextType: 'TextAnalysis' },
    },
    {
      stepId: 'report',
      toolName: 'report_writer',
      run: (context) => {
        const a = context.data as Analysis;
        const keywords = a.keywords.map((k) => `${k.word} (${k.count})`).join(', ');
        const report = [
          `Lead: ${a.text}`,
          `Size: ${a.words} words, ${a.characters} characters, ${a.sentences} sentences`,
          `Keywords: ${keywords}`,
        ].join('\n');
        return createContext('TextReport', { report }, { contextId: `${taskId}_report` });
      },
    },
  ],
});

const runtime = createRuntime({ workflows: [workflow] });
const manager = await getCheckpointManager();
runtime.subscribe((event) => {
  if (event.type === 'step.completed') console.log(`  + ${event.stepId} done`);
});

try {
  const previous = await runtime.status(taskId);
  if (previous !== undefined && previous.status !== 'running' && previous.status !== 'suspended') {
    await manager.deleteTask(taskId); // the last run finished: start afresh
  }
  const text =
    'Durable workflows keep their state in checkpoints. A crashed workflow resumes from its ' +
    'last checkpoint, and tools called through MCP see the same arguments again. Checkpoints ' +
    'make workflows durable; MCP makes tools portable.';
  const run = await runtime.start(workflow, { text, limit: 4 }, { taskId, ifExists: 'resume' });
  const result = await run.result;
  console.log(`\n${(result.data as { report: string }).report}\n`);

  console.log('Lineage:');
  for (const t of (await runtime.lineage(taskId)).getFullTransitionLog()) {
    const from = t.fromContextIds.length > 0 ? t.fromContextIds.join(' + ') : '(input)';
    const how = t.operation ? `${t.componentName}: ${t.operation}` : t.componentName;
    console.log(`  ${from} -> ${t.toContextId}  [${how}]`);
  }
} finally {
  await runtime.close();
  router.stop();
  await tools.close(); // ends the server process
  console.log('MCP server closed');
}
