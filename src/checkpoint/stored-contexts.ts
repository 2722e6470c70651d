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

/**
 * Reads `entries` (distinct integers ≥ 0) of `taskId`'s log `log`: one `readLog` per run of
 * consecutive entries, each entry as bounded as any log entry. Each entry's JSON parsed, by
 * entry; one that is not JSON reads as `undefined`, one the log does not have is left out.
 */
export async function readStoredEntries(
  store: CheckpointStore,
  taskId: string,
  log: string,
  entries: readonly number[],
): Promise<Map<number, unknown>> {
  const read = new Map<number, unknown>();
  for (const [from, limit] of consecutiveRuns(entries)) {
    const jsons = await store.readLog(taskId, log, { from, limit });
    for (const [i, json] of jsons.entries()) {
      try {
        read.set(from + i, JSON.parse(json));
      } catch {
        read.set(from + i, undefined);
      }
    }
  }
  return read;
}

/** `entries` (distinct integers ≥ 0) as runs of consecutive ones: `[first, length]`, ascending. */
function consecutiveRuns(entries: readonly number[]): [number, number][] {
  const runs: [number, number][] = [];
  for (const entry of [...entries].sort((a, b) => a - b)) {
    const last = runs.at(-1);
    if (last !== undefined && last[0] + last[1] === entry) last[1] += 1;
    else runs.push([entry, 1]);
  }
  return runs;
}

/**
 * The log entries a decode read each context from, by the state it returned. What a run knows to
 * be stored is its own: it trusts only the entries it appended or its state was read from, never
 * what another run of the same task id knew (the task may have been deleted and started again
 * since, with a new log).
 */
const entriesRead = new WeakMap<object, ReadonlyMap<object, number>>();

/** Remembers, for the state a decode returned, which log entry each context was read from. */
export function rememberEntriesRead(state: object, entries: ReadonlyMap<object, number>): void {
  if (entries.size > 0) entriesRead.set(state, entries);
}

/** The log entries the contexts of `state` (as a load returned it) were read from. */
export function entriesReadFor(state: object): ReadonlyMap<object, number> {
  return entriesRead.get(state) ?? new Map();
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
  /** The entry of each context known to be in the log (appended by this writer, or read back). */
  readonly #entries = new WeakMap<object, number>();
  /** The contexts of the last checkpoint saved. */
  #previous: ReadonlySet<object> = new Set();
  /** Contexts being appended, or whose append failed. */
  readonly #handled = new WeakSet<object>();
  /** Contexts waiting for the append in flight to end, with their JSON. */
  #queued: { context: object; json: string }[] = [];
  #appending: Promise<void> | undefined;
  /** Whether it appends (else it only names the entries it was given). */
  readonly #appends: boolean;

  /**
   * `read`: the entries the run's state was read from (see {@link entriesReadFor}). With
   * `appends: false` it appends nothing and only names those.
   */
  constructor(
    store: CheckpointStore,
    taskId: string,
    log: string,
    read: ReadonlyMap<object, number> = new Map(),
    appends = true,
  ) {
    this.#store = store;
    this.#taskId = taskId;
    this.#log = log;
    this.#appends = appends;
    for (const [context, entry] of read) this.#entries.set(context, entry);
  }

  entryOf(context: object): number | undefined {
    return this.#entries.get(context);
  }

  /** Takes note of a saved checkpoint's contexts; stores those that were in the previous one. */
  saved(contexts: ReadonlySet<object>): void {
    if (!this.#appends) return;
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
        for (const [i, { context }] of batch.entries()) this.#entries.set(context, first + i);
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
