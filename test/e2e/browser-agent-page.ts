/**
 * Drives the browser example's page (examples/browser-agent) for the end-to-end test: opening a
 * task, reading what the page shows (its elements carry `data-*` state) and the work log the page
 * keeps in `localStorage` (every step attempt that started, with its idempotency key and the page
 * load that ran it).
 */
import type { Page } from 'playwright-core';

/** One step attempt that started, as the page logs it (`examples/browser-agent/work-log.ts`). */
export interface WorkEntry {
  readonly stepId: string;
  readonly key: string;
  readonly load: string;
}

/** What a page shows once its run ended. */
export interface Outcome {
  readonly result: unknown;
  /**
   * The lineage lines, `from → to component`, with the task id replaced by `TASK`, sorted (the
   * three agents finish in an order that depends on timing).
   */
  readonly lineage: string[];
  readonly checkpoints: number;
}

/** Opens `task` in `page` and waits until the page knows its state. */
export async function openTask(page: Page, baseUrl: string, task: string, stepMs: number) {
  await page.goto(`${baseUrl}?task=${task}&stepMs=${stepMs}`);
  await waitForLoaded(page);
}

/** Waits until the page has read the task's state (after a load or reload). */
export async function waitForLoaded(page: Page): Promise<void> {
  await page.waitForSelector('#status:not([data-state="loading"])');
}

/** The page's status line: `data-state` and text. */
export async function status(page: Page): Promise<{ state: string; text: string }> {
  const line = page.locator('#status');
  return { state: (await line.getAttribute('data-state')) ?? '', text: await line.innerText() };
}

/** Waits for the status line to reach `state`. */
export async function waitForState(page: Page, state: string, timeout = 30_000): Promise<void> {
  await page.waitForSelector(`#status[data-state="${state}"]`, { timeout });
}

/** Waits until at least `count` steps are shown done; returns the done step ids. */
export async function waitForDoneSteps(page: Page, count: number): Promise<string[]> {
  await page.waitForFunction(
    (atLeast) => document.querySelectorAll('#steps li[data-state="done"]').length >= atLeast,
    count,
  );
  return doneSteps(page);
}

/** Ids of the steps shown done. */
export function doneSteps(page: Page): Promise<string[]> {
  return page.$$eval('#steps li[data-state="done"]', (items) =>
    items.map((item) => (item as HTMLElement).dataset.step ?? ''),
  );
}

/** The task's work log, shared by every tab of the origin. */
export function workLog(page: Page, task: string): Promise<WorkEntry[]> {
  return page.evaluate(
    (key) => JSON.parse(localStorage.getItem(key) ?? '[]') as WorkEntry[],
    `browser-agent:work:${task}`,
  );
}

/** How many attempts of each step started. */
export function runsPerStep(entries: readonly WorkEntry[]): Record<string, number> {
  const runs: Record<string, number> = {};
  for (const { stepId } of entries) runs[stepId] = (runs[stepId] ?? 0) + 1;
  return runs;
}

/** The result, lineage and checkpoint count the page shows. */
export async function outcome(page: Page, task: string): Promise<Outcome> {
  const result: unknown = JSON.parse((await page.locator('#result').textContent()) ?? '');
  const lines = await page.locator('#lineage li').allInnerTexts();
  const checkpoints = await page.locator('#checkpoints tbody tr').count();
  return {
    result,
    lineage: lines.map((line) => line.replaceAll(task, 'TASK').replace(/\s+/g, ' ').trim()).sort(),
    checkpoints,
  };
}

/** The `seq` of the checkpoint a reloaded page resumed from (`#note[data-resumed-from]`). */
export async function resumedFrom(page: Page): Promise<number> {
  await page.waitForSelector('#note[data-resumed-from]');
  return Number(await page.locator('#note').getAttribute('data-resumed-from'));
}

/** The ids of the checkpoints the page lists, newest first. */
export function checkpointIds(page: Page): Promise<string[]> {
  return page.$$eval('#checkpoints td.id', (cells) => cells.map((cell) => cell.textContent ?? ''));
}

/**
 * Empties the page's IndexedDB database behind the page's back (as clearing the site's data
 * does), leaving its connections open: every task's checkpoints are gone.
 */
export function clearCheckpointStore(page: Page): Promise<void> {
  return page.evaluate(
    () =>
      new Promise<void>((resolve, reject) => {
        const opening = indexedDB.open('mcp-orchestration-browser-agent');
        opening.onerror = () => reject(opening.error);
        opening.onsuccess = () => {
          const db = opening.result;
          const tx = db.transaction('checkpoints', 'readwrite');
          tx.objectStore('checkpoints').clear();
          tx.oncomplete = () => {
            db.close();
            resolve();
          };
          tx.onerror = () => reject(tx.error);
        };
      }),
  );
}
