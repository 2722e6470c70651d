/**
 * Writes the README's inspection pictures: `docs/inspection.html` (the page `renderInspectionHtml`
 * makes for a research run suspended at its approval step) and, with Chromium at `/usr/bin/chromium`
 * (`CHROMIUM_PATH`), `docs/inspection.png` and `docs/lineage.png`.
 * Run: `npx tsx --conditions=source test/inspection/render-docs.ts`.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import {
  ContextMergeStrategy,
  createContext,
  createRuntime,
  defineWorkflow,
  getCheckpointManager,
  renderInspectionHtml,
  type TaskStep,
} from 'mcp-orchestration';
import { createMemoryStore } from 'mcp-orchestration/memory';
import { chromium } from 'playwright-core';

const agent = (stepId: string, name: string): TaskStep => ({
  stepId,
  name,
  run: (context, _step, { taskId }) =>
    createContext(
      'Findings',
      { [stepId]: [`${stepId} notes on ${String((context.data as { q?: string }).q ?? '')}`] },
      { contextId: `${taskId}.${stepId}` },
    ),
});

const workflow = defineWorkflow({
  id: 'research',
  version: '1',
  name: 'Research workflow',
  steps: [
    {
      stepId: 'plan',
      name: 'Plan the research',
      run: (context, _step, { taskId }) =>
        createContext('Plan', context.data, { contextId: `${taskId}.plan` }),
    },
    {
      stepId: 'research',
      name: 'Agents research in parallel',
      merge: { strategy: ContextMergeStrategy.RecursiveDictMerge, contextType: 'Findings' },
      parallel: {
        historian: [agent('historian', 'Historian')],
        analyst: [agent('analyst', 'Analyst')],
        critic: [agent('critic', 'Critic')],
      },
    },
    {
      stepId: 'write',
      name: 'Write the report',
      run: (context, _step, { taskId }) =>
        createContext('Report', { findings: context.data }, { contextId: `${taskId}.report` }),
    },
    { stepId: 'review', name: 'Human review', waitFor: { event: 'approval' } },
  ],
});

const store = createMemoryStore();
const runtime = createRuntime({ store });
const taskId = 'research_demo';
const suspended = new Promise<void>((done) => {
  runtime.subscribe((e) => e.type === 'checkpoint.saved' && e.status === 'suspended' && done());
});
const run = await runtime.start(workflow, { q: 'durable agents' }, { taskId });
run.result.catch(() => undefined);
await suspended;
const checkpoint = await (await getCheckpointManager(store)).loadLatestCheckpoint(taskId);
const lineage = await runtime.lineage(taskId);
await runtime.close();

const docs = resolve(import.meta.dirname, '../../docs');
await mkdir(docs, { recursive: true });
const html = renderInspectionHtml({ title: `Run ${taskId}`, workflow, checkpoint, lineage });
const page = resolve(docs, 'inspection.html');
await writeFile(page, html);
console.log(`wrote ${page}`);

const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
if (existsSync(executablePath)) {
  const browser = await chromium.launch({
    executablePath,
    args: ['--no-sandbox', '--disable-gpu'],
  });
  try {
    // Offline: the page must render with no network at all.
    const offline = await browser.newContext({
      offline: true,
      viewport: { width: 1280, height: 900 },
    });
    const tab = await offline.newPage();
    await tab.goto(`file://${page}`);
    await tab.screenshot({ path: resolve(docs, 'inspection.png'), fullPage: true });
    await tab.locator('#lineage .picture svg').screenshot({ path: resolve(docs, 'lineage.png') });
    console.log('wrote docs/inspection.png and docs/lineage.png');
  } finally {
    await browser.close();
  }
}
