import type { CheckpointStore } from './checkpoint-store.js';
import type { StoredContexts } from './shared-contexts.js';

/**
 * Contexts stored once for a whole task. A context that outlives a checkpoint (a parallel
 * group's input while its regions run, a region's result while the others go on, the context a
 * step waits on) would be written again in every checkpoint. Instead, once it has been in two
 * checkpoints in a row, it is appended to the task's contexts log (a store log, like the
 * lineage), and once that append has landed, checkpoints name its entry instead of holding it.
 * Logs are append-only and have no TTL, so an entry a checkpoint names stays readable as long as
 * the task exists (`deleteTask` removes both).
 */

/** Contexts of fewer characters of JSON are not stored in the log: rewriting them costs little. */
export const MIN_STORED_CHARS = 2_048;

/** Where a context is stored: its task, the log and the entry. */
interface StoredEntry {
  readonly taskId: string;
  readonly log: string;
  readonly entry: number;
}

/** Every context known to be stored (written, or read back from a log), by identity. */
const storedEntries = new WeakMap<object, StoredEntry>();

/** Remembers that `context` (this object) is entry `entry` of `taskId`'s log `log`. */
export function rememberStoredContext(
  context: object,
  taskId: string,
  log: string,
  entry: number,
): void {
  storedEntries.set(context, { taskId, log, entry });
}

/** The entry of `taskId`'s log `log` known to hold `context` (this object), or `undefined`. */
export function storedEntryOf(context: object, taskId: string, log: string): number | undefined {
  const stored = storedEntries.get(context);
  return stored !== undefined && stored.taskId === taskId && stored.log === log
    ? stored.entry
    : undefined;
}

/**
 * Stores the contexts of one task's run that outlive a checkpoint (internal to the runtime's
 * checkpoint writer): told the contexts of each checkpoint saved, it appends those that were in
 * the previous one too and have {@link MIN_STORED_CHARS} of JSON or more, with at most one
 * append in flight. A failed append is not tried again for those contexts (they stay in the
 * checkpoints); nothing waits for an append but {@link settled}.
 */
export class ContextLogWriter implements StoredContexts {
  readonly #store: CheckpointStore;
  readonly #taskId: string;
  readonly #log: string;
  /** The contexts of the last checkpoint saved. */
  #previous: ReadonlySet<object> = new Set();
  /** Contexts being appended, or whose append failed. */
  readonly #handled = new WeakSet<object>();
  /** Contexts waiting for the append in flight to end, with their JSON. */
  #queued: { context: object; json: string }[] = [];
  #appending: Promise<void> | undefined;

  constructor(store: CheckpointStore, taskId: string, log: string) {
    this.#store = store;
    this.#taskId = taskId;
    this.#log = log;
  }

  entryOf(context: object): number | undefined {
    return storedEntryOf(context, this.#taskId, this.#log);
  }

  /** Takes note of a saved checkpoint's contexts; stores those that were in the previous one. */
  saved(contexts: ReadonlySet<object>): void {
    const previous = this.#previous;
    this.#previous = contexts;
    for (const context of contexts) {
      if (!previous.has(context) || this.#handled.has(context)) continue;
      if (this.entryOf(context) !== undefined) continue;
      this.#handled.add(context);
      const json = JSON.stringify(context);
      if (json.length >= MIN_STORED_CHARS) this.#queued.push({ context, json });
    }
    if (this.#queued.length > 0 && this.#appending === undefined) this.#appendQueued();
  }

  /** Settles once no append is in flight or queued (appends never reject). */
  async settled(): Promise<void> {
    while (this.#appending !== undefined) await this.#appending;
  }

  #appendQueued(): void {
    const batch = this.#queued;
    this.#queued = [];
    let append: Promise<number>;
    try {
      append = this.#store.appendLog(
        this.#taskId,
        this.#log,
        batch.map((item) => item.json),
      );
    } catch {
      append = Promise.reject();
    }
    this.#appending = append.then(
      (length) => {
        // The log's new length: the batch is its last entries, in order.
        const first = length - batch.length;
        for (const [i, { context }] of batch.entries()) {
          rememberStoredContext(context, this.#taskId, this.#log, first + i);
        }
        this.#next();
      },
      () => this.#next(),
    );
  }

  #next(): void {
    this.#appending = undefined;
    if (this.#queued.length > 0) this.#appendQueued();
  }
}
