import type { RuntimeEvent } from './runtime-types.js';

/**
 * Throws `error` in a macrotask of its own, as XState does for an observer without an error
 * handler: global handlers (`window.onerror`, Node's `uncaughtException`) and bug trackers see
 * it, and the code that called the listener goes on.
 */
function reportUnhandledError(error: unknown): void {
  setTimeout(() => {
    throw error;
  });
}

/**
 * A runtime's progress listeners (internal). A listener that throws, or returns a promise that
 * rejects, stops neither the workflow nor the other listeners: its error is reported unhandled
 * ({@link reportUnhandledError}), never swallowed.
 */
export class RuntimeListeners {
  readonly #listeners = new Set<(event: RuntimeEvent) => void>();

  /** Adds `listener` (added twice, it is called twice); returns its removal. */
  add(listener: (event: RuntimeEvent) => void): () => void {
    if (typeof listener !== 'function') throw new TypeError('listener must be a function');
    const wrapped = (event: RuntimeEvent) => listener(event);
    this.#listeners.add(wrapped);
    return () => {
      this.#listeners.delete(wrapped);
    };
  }

  emit(event: RuntimeEvent): void {
    for (const listener of this.#listeners) {
      try {
        const returned: unknown = listener(event);
        if (returned instanceof Promise) returned.catch(reportUnhandledError);
      } catch (error) {
        reportUnhandledError(error);
      }
    }
  }
}
