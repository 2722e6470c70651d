import { existsSync } from 'node:fs';
import { copyFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, chromium } from 'playwright-core';
import { createServer, type ViteDevServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkpointIds,
  clearCheckpointStore,
  doneSteps,
  type Outcome,
  openTask,
  outcome,
  resumedFrom,
  runsPerStep,
  status,
  waitForDoneSteps,
  waitForLoaded,
  waitForState,
  workLog,
} from './browser-agent-page.js';

// The browser example (examples/browser-agent) served by vite and driven in headless Chromium:
// a run survives a reload, two tabs never both run it, and a tab shows what the store holds.

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** The README's picture: refreshed only with `UPDATE_DOCS=1`, so a test run leaves git clean. */
const README_SCREENSHOT = join(repoRoot, 'docs', 'browser-agent.png');
const ARTIFACT = join(repoRoot, 'test', 'artifacts', 'browser-agent.png');
const STEPS = ['intake', 'research', 'weather', 'sights', 'food', 'draft', 'review'];
const AGENT_STEPS = ['intake', 'weather', 'sights', 'food', 'draft', 'review'];
/**
 * Long enough per step that a reload, a second tab loading or a tab closing lands mid-run on a
 * loaded machine (the run takes about 4× this). Only the tab holding the run uses its `stepMs`.
 */
const SLOW_MS = 1500;

function inCi(): boolean {
  const ci = process.env.CI?.trim().toLowerCase();
  return ci !== undefined && ci !== '' && ci !== '0' && ci !== 'false';
}

const haveChromium = existsSync(chromiumPath);
if (!haveChromium) {
  const message = `Chromium not found at ${chromiumPath} (set CHROMIUM_PATH, or install Debian's chromium): the browser example's end-to-end test cannot run`;
  if (inCi()) throw new Error(message);
  const line = '!'.repeat(100);
  console.warn(
    `\n${line}\n!!! WARNING: ${message}.\n!!! SKIPPING test/e2e/browser-agent.e2e.test.ts.\n${line}\n`,
  );
}

describe.skipIf(!haveChromium)('the browser example (examples/browser-agent) in Chromium', () => {
  let server: ViteDevServer;
  let browser: Browser;
  let context: BrowserContext;
  let baseUrl = '';
  let uninterrupted: Promise<Outcome> | undefined;

  /** The outcome of an uninterrupted run (task `clean`), run once: every other run must match it. */
  function reference(): Promise<Outcome> {
    uninterrupted ??= (async () => {
      const page = await context.newPage();
      await openTask(page, baseUrl, 'clean', 150);
      expect(await status(page)).toEqual({ state: 'idle', text: 'Not started.' });
      await page.click('#start');
      await waitForState(page, 'completed');
      expect(await doneSteps(page)).toEqual(STEPS);
      expect(runsPerStep(await workLog(page, 'clean'))).toEqual(
        Object.fromEntries(AGENT_STEPS.map((stepId) => [stepId, 1])),
      );
      const shown = await outcome(page, 'clean');
      await page.close();
      return shown;
    })();
    return uninterrupted;
  }

  beforeAll(async () => {
    server = await createServer({
      configFile: join(repoRoot, 'examples', 'browser-agent', 'vite.config.ts'),
      cacheDir: join(repoRoot, 'node_modules', '.vite', 'browser-agent-e2e'),
      // The package pre-bundled like its dependencies: a page load is a few requests, not the
      // hundred modules of the TypeScript sources (fast loads on a busy machine). Forced: vite's
      // cache key ignores the package's own sources, and the test must run the current ones.
      optimizeDeps: { include: ['mcp-orchestration', 'mcp-orchestration/indexeddb'], force: true },
      logLevel: 'warn',
      clearScreen: false,
      // No file watching: others edit the tree while tests run, and a reload must be ours.
      server: { host: '127.0.0.1', port: 0, strictPort: false, hmr: false, watch: null },
    });
    await server.listen();
    baseUrl = server.resolvedUrls?.local[0] ?? '';
    expect(baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
        '--disable-sync',
      ],
    });
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('an uninterrupted run shows its steps, checkpoints and lineage, each step run once', async () => {
    const { result, lineage, checkpoints } = await reference();
    expect(result).toMatchObject({
      request: { destination: 'Lisbon', days: 3 },
      itinerary: [
        'Day 1 in Lisbon: Old town walking tour; Market hall for lunch',
        'Day 2 in Lisbon: Harbour and lighthouse; Fish soup at the harbour',
        'Day 3 in Lisbon: Botanical garden; Pastry shop by the cathedral',
      ],
    });
    // Input, intake, three agents, the merge, draft, review.
    expect(lineage).toHaveLength(8);
    expect(lineage).toContain(
      'TASK.weather + TASK.sights + TASK.food → TASK.research.merged research',
    );
    expect(checkpoints).toBeGreaterThanOrEqual(STEPS.length);
  });

  it('a reload mid-run resumes from the last checkpoint and ends as the uninterrupted run', async () => {
    const page = await context.newPage();
    // Any step time works here: the reload cuts the run short as soon as it is issued.
    await openTask(page, baseUrl, 'reloaded', 1000);
    await page.click('#start');
    const doneBefore = await waitForDoneSteps(page, 1);
    const [firstLoad] = (await workLog(page, 'reloaded')).map((entry) => entry.load);
    const seqBefore = Number(
      await page.locator('#checkpoints tbody tr').first().getAttribute('data-seq'),
    );

    await page.reload();
    await waitForLoaded(page);
    // Resumed from a checkpoint at least as recent as the last one seen, never from scratch.
    expect(await resumedFrom(page)).toBeGreaterThanOrEqual(Math.max(2, seqBefore));
    await waitForState(page, 'completed');

    const resumed = await outcome(page, 'reloaded');
    const { result, lineage } = await reference();
    expect(resumed).toMatchObject({ result, lineage });
    const work = await workLog(page, 'reloaded');
    expect(new Set(work.map((entry) => entry.load)).size).toBe(2);
    // A step done before the reload never ran again; one in flight ran again with the same key.
    for (const stepId of doneBefore.filter((id) => AGENT_STEPS.includes(id))) {
      expect(work.filter((entry) => entry.stepId === stepId)).toEqual([
        { stepId, key: `reloaded:${stepId}:1`, load: firstLoad },
      ]);
    }
    for (const [stepId, runs] of Object.entries(runsPerStep(work))) {
      expect(runs, stepId).toBeLessThanOrEqual(2);
    }
    expect(Object.keys(runsPerStep(work)).sort()).toEqual([...AGENT_STEPS].sort());

    await page.locator('#note').scrollIntoViewIfNeeded();
    await mkdir(dirname(ARTIFACT), { recursive: true });
    await page.screenshot({ path: ARTIFACT, fullPage: true });
    if (process.env.UPDATE_DOCS === '1') await copyFile(ARTIFACT, README_SCREENSHOT);
    await page.close();
  });

  it('a second tab shows the run as elsewhere and waits; the steps run once', async () => {
    const first = await context.newPage();
    await openTask(first, baseUrl, 'tabs', SLOW_MS);
    await first.click('#start');
    await waitForState(first, 'running');

    const second = await context.newPage();
    await openTask(second, baseUrl, 'tabs', SLOW_MS);
    await waitForState(second, 'elsewhere');
    expect((await status(second)).text).toContain('Running in another tab');
    expect(await second.locator('#start').isDisabled()).toBe(true);
    // The waiting tab follows the running one's checkpoints.
    await second.waitForSelector('#checkpoints tbody tr');

    await waitForState(first, 'completed');
    await waitForState(second, 'completed');
    const [shownFirst, shownSecond] = [await outcome(first, 'tabs'), await outcome(second, 'tabs')];
    const { result, lineage } = await reference();
    expect(shownFirst).toMatchObject({ result, lineage });
    // The second tab wrote nothing: it shows the first tab's checkpoints.
    expect(shownSecond).toEqual(shownFirst);
    const work = await workLog(second, 'tabs');
    expect(runsPerStep(work)).toEqual(Object.fromEntries(AGENT_STEPS.map((stepId) => [stepId, 1])));
    expect(new Set(work.map((entry) => entry.load)).size).toBe(1);
    await Promise.all([first.close(), second.close()]);
  });

  it('when the running tab closes, the waiting tab takes over from the last checkpoint', async () => {
    const first = await context.newPage();
    await openTask(first, baseUrl, 'takeover', SLOW_MS);
    await first.click('#start');
    const second = await context.newPage();
    await openTask(second, baseUrl, 'takeover', 300);
    await waitForState(second, 'elsewhere');
    const doneBefore = await waitForDoneSteps(first, 1);
    const [firstLoad] = (await workLog(first, 'takeover')).map((entry) => entry.load);

    await first.close();
    expect(await resumedFrom(second)).toBeGreaterThanOrEqual(2);
    await waitForState(second, 'completed');
    const { result, lineage } = await reference();
    expect(await outcome(second, 'takeover')).toMatchObject({ result, lineage });
    const work = await workLog(second, 'takeover');
    for (const stepId of doneBefore.filter((id) => AGENT_STEPS.includes(id))) {
      expect(work.filter((entry) => entry.stepId === stepId).map((entry) => entry.load)).toEqual([
        firstLoad,
      ]);
    }
    expect(new Set(work.map((entry) => entry.load)).size).toBe(2);
    await second.close();
  });

  it('a tab that showed a run finished follows the new run another tab starts over', async () => {
    // The first tab's runs take about 4 × 400 ms: time for the second tab to see the new one.
    const first = await context.newPage();
    await openTask(first, baseUrl, 'restart', 400);
    await first.click('#start');
    await waitForState(first, 'completed');
    // The second tab took the lock too, to read the finished run.
    const second = await context.newPage();
    await openTask(second, baseUrl, 'restart', 400);
    await waitForState(second, 'completed');
    const oldIds = await checkpointIds(second);

    await first.click('#reset');
    await waitForState(first, 'idle');
    await first.click('#start');
    await waitForState(second, 'elsewhere', 10_000);
    expect((await status(second)).text).toContain('Running in another tab');
    // Nothing of the old run is shown, and the second tab cannot delete the run under way.
    expect(await second.locator('#reset').isDisabled()).toBe(true);
    expect(await second.locator('#result').textContent()).toBe('');
    expect(await checkpointIds(second)).not.toContain(oldIds[0]);

    await waitForState(first, 'completed');
    await waitForState(second, 'completed');
    const newIds = await checkpointIds(first);
    await expect.poll(() => checkpointIds(second)).toEqual(newIds);
    expect(newIds).not.toContain(oldIds[0]);
    const work = await workLog(second, 'restart');
    expect(runsPerStep(work)).toEqual(Object.fromEntries(AGENT_STEPS.map((stepId) => [stepId, 1])));
    await Promise.all([first.close(), second.close()]);
  });

  it('a task id the store refuses is shown as the error, with the buttons off', async () => {
    const page = await context.newPage();
    // A character refused, an empty id, one too long (the store's three reasons).
    for (const task of ['my%20trip', '', 'a'.repeat(201)]) {
      await page.goto(`${baseUrl}?task=${task}`);
      await waitForLoaded(page);
      const shown = await status(page);
      expect(shown.state, task).toBe('error');
      expect(shown.text, task).toMatch(/^INVALID_ID: Invalid taskId /);
      expect(await page.locator('#start').isDisabled(), task).toBe(true);
      expect(await page.locator('#reset').isDisabled(), task).toBe(true);
    }
    await page.close();
  });

  it('when the checkpoints are gone mid-run, the page shows the failure and no step done', async () => {
    // A context of its own: emptying the database must not touch the other tests' tasks.
    const isolated = await browser.newContext();
    const page = await isolated.newPage();
    await openTask(page, baseUrl, 'wiped', 1000);
    await page.click('#start');
    await waitForDoneSteps(page, 1);

    await clearCheckpointStore(page);
    await waitForState(page, 'error');
    // The run's next checkpoint finds the task gone (its write conflicts, and the store has no
    // task left: TASK_NOT_FOUND): nothing of it is shown done.
    expect((await status(page)).text).toMatch(/^TASK_NOT_FOUND: /);
    await page.waitForFunction(
      () =>
        document.querySelectorAll('#steps li[data-state="done"]').length === 0 &&
        document.querySelectorAll('#checkpoints tbody tr').length === 0,
      undefined,
      { timeout: 5_000 },
    );
    await isolated.close();
  });
});
