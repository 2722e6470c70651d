import { StorageError } from '../../src/errors.js';
import { assertValidId } from '../../src/ids.js';

/** Options of {@link withWebLock}. */
export interface WebLockOptions {
  /**
   * Called once when the lock is held elsewhere (another tab, window or worker of this origin)
   * and this call starts waiting for it. Default: none.
   */
  readonly onWait?: () => void;
  /** Gives up waiting: the call rejects with the signal's reason. No effect once held. Default: none. */
  readonly signal?: AbortSignal;
  /** The lock manager. Default: `navigator.locks`. */
  readonly locks?: LockManager;
}

/** The Web Lock name {@link withWebLock} callers use for one task: `mcp-orchestration:task:<taskId>`. */
export function taskLockName(taskId: string): string {
  assertValidId('taskId', taskId);
  return `mcp-orchestration:task:${taskId}`;
}

/** Marks "the lock was held elsewhere" apart from any value the task returns. */
const HELD_ELSEWHERE: unique symbol = Symbol('held elsewhere');

/**
 * Runs `task` while holding the exclusive Web Lock `name`, shared by every tab, window and
 * worker of the origin, so that two tabs open on one workflow never both run it. The lock is
 * held until `task` settles, and the browser releases it when the page closes or reloads.
 *
 * When the lock is free it is taken at once. When it is held elsewhere, `onWait` is called and
 * the call waits for it (queued, first come first served), then runs `task`: a tab that waits
 * takes over when the running tab finishes or closes. `task` should re-read the workflow's
 * status before acting, since the other holder may have finished it meanwhile.
 *
 * Rejects with `StorageError` when the Web Locks API is missing (not a secure context, or not
 * a browser), with the signal's reason when aborted while waiting, and with `task`'s error.
 *
 * @example
 * ```ts
 * const result = await withWebLock(taskLockName(taskId), async () => {
 *   const run = await runtime.start(workflow, input, { taskId, ifExists: 'resume' });
 *   return run.result;
 * }, { onWait: () => show('running in another tab') });
 * ```
 */
export async function withWebLock<T>(
  name: string,
  task: () => Promise<T>,
  options: WebLockOptions = {},
): Promise<T> {
  const locks = options.locks ?? globalThis.navigator?.locks;
  if (locks === undefined) {
    throw new StorageError('web-locks', 'the Web Locks API (navigator.locks) is not available');
  }
  options.signal?.throwIfAborted();
  const first = await locks.request(name, { ifAvailable: true }, async (lock) =>
    lock === null ? HELD_ELSEWHERE : { value: await task() },
  );
  if (first !== HELD_ELSEWHERE) return first.value;
  options.onWait?.();
  const signal = options.signal;
  return locks.request(name, signal === undefined ? {} : { signal }, () => task());
}
