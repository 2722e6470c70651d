/**
 * A log of every step attempt that started, kept in `localStorage` so it outlives reloads and is
 * shared by the tabs of the origin. It is how the page (and its end-to-end test) sees that a
 * step whose completion was checkpointed never runs again, and that two tabs never both run one.
 */

/** One step attempt that started. */
export interface WorkEntry {
  readonly stepId: string;
  /** The step's idempotency key, `task:step:attempt`: the same when a step is re-run. */
  readonly key: string;
  /** Which page load ran it (a random id per load). */
  readonly load: string;
}

/** The work log of one task. */
export interface WorkLog {
  /** Every attempt that started, oldest first. */
  entries(): WorkEntry[];
  add(stepId: string, key: string): void;
  clear(): void;
}

/** The random id of this page load. */
export const PAGE_LOAD = Math.random().toString(36).slice(2, 10);

/** The work log of `taskId` in `localStorage` (key `browser-agent:work:<taskId>`). */
export function createWorkLog(taskId: string): WorkLog {
  const storageKey = `browser-agent:work:${taskId}`;
  const entries = (): WorkEntry[] => {
    const parsed: unknown = JSON.parse(localStorage.getItem(storageKey) ?? '[]');
    return Array.isArray(parsed) ? (parsed as WorkEntry[]) : [];
  };
  return {
    entries,
    // Only the tab holding the task's Web Lock runs steps, so appends never race.
    add(stepId, key) {
      localStorage.setItem(
        storageKey,
        JSON.stringify([...entries(), { stepId, key, load: PAGE_LOAD }]),
      );
    },
    clear() {
      localStorage.removeItem(storageKey);
    },
  };
}
