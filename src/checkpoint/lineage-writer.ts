import { ContextValidationError, CorruptRecordError, isOrchestrationError } from '../errors.js';
import { parseContextTransitions } from '../flow/context-flow-snapshot.js';
import type { ContextTransition } from '../flow/context-transition.js';
import { assertValidId } from '../ids.js';
import type { CheckpointStore } from './checkpoint-store.js';

/**
 * Where `saveLineage` reads transitions from: a `ContextFlowManager` (anything with
 * `transitionsSince(seq)`, returning the transitions with `seq >= seq` in order) or an array of
 * transitions in `seq` order.
 */
export type LineageSource =
  | { transitionsSince(seq: number): readonly ContextTransition[] }
  | readonly ContextTransition[];

/** Most tasks whose last persisted `seq` a writer remembers; others are re-read from the log. */
const REMEMBERED_TASKS = 10_000;

/**
 * Persists a task's lineage append-only in one store log, one JSON transition per entry
 * (internal to `CheckpointManager`). It remembers the last persisted `seq` per task, reading it
 * back from the log's last entry when it does not know it (or a save says not to trust it:
 * `reread`), so only new transitions are written.
 */
export class LineageWriter {
  readonly #store: CheckpointStore;
  /** The name of the store log it writes. */
  readonly log: string;
  /** Last persisted `seq` per task (-1: none), least recently written first. */
  readonly #persisted = new Map<string, number>();
  /** The tail of each task's queue of saves, so saves of one task never interleave. */
  readonly #queues = new Map<string, Promise<unknown>>();

  constructor(store: CheckpointStore, log: string) {
    this.#store = store;
    this.log = log;
  }

  /**
   * Appends the transitions not yet persisted; returns how many. With `logged`, `source` is a
   * genuine `ContextFlowManager` (its caller checked): its frozen transitions were checked when
   * they were logged or restored, so only their task and order are checked again; `below`
   * leaves out transitions from that `seq` on.
   */
  save(taskId: string, source: LineageSource, options: SaveLineageOptions = {}): Promise<number> {
    assertValidId('taskId', taskId);
    const flow = source as { transitionsSince?: unknown } | null | undefined;
    if (!Array.isArray(source) && typeof flow?.transitionsSince !== 'function') {
      throw new TypeError('source must be a ContextFlowManager or an array of transitions');
    }
    const previous = this.#queues.get(taskId);
    // Nothing of this task in flight (the runtime's case: it waits for its last write): go now.
    const run =
      previous === undefined
        ? this.#save(taskId, source, options)
        : previous.then(
            () => this.#save(taskId, source, options),
            () => this.#save(taskId, source, options),
          );
    // The queue holds the run itself: a save queued behind it runs whether it lands or fails.
    this.#queues.set(taskId, run);
    const done = () => {
      if (this.#queues.get(taskId) === run) this.#queues.delete(taskId);
    };
    run.then(done, done);
    return run;
  }

  /** Forgets what it knows of a task (after the task was deleted). */
  forget(taskId: string): void {
    this.#persisted.delete(taskId);
  }

  /** The whole persisted lineage, validated. */
  async load(taskId: string): Promise<ContextTransition[]> {
    const entries = await this.#store.readLog(taskId, this.log);
    const transitions = parseContextTransitions(
      taskId,
      entries.map((entry, i) => this.#parseEntry(taskId, entry, i)),
    );
    this.#remember(taskId, transitions.at(-1)?.seq ?? -1);
    return transitions;
  }

  /**
   * One save, started at once: a promise chain rather than an async function, since the runtime
   * saves once per step and every promise it makes counts there.
   */
  #save(taskId: string, source: LineageSource, options: SaveLineageOptions): Promise<number> {
    // Decided here, in the task's queue: a save queued before this one (a previous run's last
    // append) cannot bring back what it remembered of a log since deleted.
    const last = options.reread === true ? undefined : this.#persisted.get(taskId);
    if (last === undefined) {
      return this.#readLastPersisted(taskId).then((read) =>
        this.#append(taskId, source, options, read),
      );
    }
    try {
      return this.#append(taskId, source, options, last);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Appends the transitions of `source` after `last` (checked here; may throw). */
  #append(
    taskId: string,
    source: LineageSource,
    options: SaveLineageOptions,
    last: number,
  ): Promise<number> {
    const fresh = this.entriesAfter(taskId, source, options, last);
    if (fresh === undefined) return Promise.resolve(0);
    const { entries, seq } = fresh;
    return this.#store.appendLog(taskId, this.log, entries).then(
      () => {
        this.#remember(taskId, seq);
        return entries.length;
      },
      (error: unknown) => {
        // The append may have happened (a lost reply): read the log's tail again next time.
        this.#persisted.delete(taskId);
        throw error;
      },
    );
  }

  /**
   * The log entries of the transitions of `source` after `last` (and below `options.below`),
   * checked as {@link save} checks them, with the `seq` of the last one; `undefined` when there
   * are none. For a save that appends them itself ({@link appended} after it lands).
   */
  entriesAfter(
    taskId: string,
    source: LineageSource,
    options: SaveLineageOptions,
    last: number,
  ): { readonly entries: string[]; readonly seq: number } | undefined {
    const candidates = isTransitionArray(source) ? source : source.transitionsSince(last + 1);
    const below = options.below ?? Number.POSITIVE_INFINITY;
    const fresh = candidates.filter(
      (transition) => transition.seq > last && transition.seq < below,
    );
    if (fresh.length === 0) return undefined;
    let valid: readonly ContextTransition[];
    try {
      valid =
        options.logged === true && isLoggedBy(taskId, fresh)
          ? fresh
          : parseContextTransitions(taskId, fresh);
    } catch (error) {
      if (!isOrchestrationError(error, 'CORRUPT_RECORD')) throw error;
      throw new ContextValidationError(
        'ContextTransition',
        [{ path: '$', message: error.message }],
        { cause: error },
      );
    }
    const entries = valid.map((transition) => JSON.stringify(transition));
    return { entries, seq: (valid.at(-1) as ContextTransition).seq };
  }

  /**
   * Records that the task's log holds its transitions up to `seq` (`undefined`: this writer no
   * longer knows, as after a save that may or may not have appended them).
   */
  appended(taskId: string, seq: number | undefined): void {
    if (seq === undefined) this.#persisted.delete(taskId);
    else this.#remember(taskId, seq);
  }

  /** The last persisted `seq` of a task this writer does not remember, read from its log. */
  async #readLastPersisted(taskId: string): Promise<number> {
    // Appending nothing returns the log's length without writing.
    const length = await this.#store.appendLog(taskId, this.log, []);
    if (length === 0) return -1;
    const [entry] = await this.#store.readLog(taskId, this.log, { from: length - 1, limit: 1 });
    if (entry === undefined) return -1;
    const value = this.#parseEntry(taskId, entry, length - 1);
    const seq = (value as { seq?: unknown } | null)?.seq;
    if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) {
      throw new CorruptRecordError(taskId, `${this.log}[${length - 1}]`, 'it has no valid seq');
    }
    this.#remember(taskId, seq);
    return seq;
  }

  #parseEntry(taskId: string, entry: string, index: number): unknown {
    try {
      return JSON.parse(entry);
    } catch (error) {
      throw new CorruptRecordError(taskId, `${this.log}[${index}]`, 'it is not JSON', {
        cause: error,
      });
    }
  }

  #remember(taskId: string, seq: number): void {
    this.#persisted.delete(taskId);
    this.#persisted.set(taskId, seq);
    if (this.#persisted.size > REMEMBERED_TASKS) {
      const oldest = this.#persisted.keys().next();
      if (!oldest.done) this.#persisted.delete(oldest.value);
    }
  }
}

/** Options of {@link LineageWriter.save}. */
export interface SaveLineageOptions {
  /** `source` is a genuine `ContextFlowManager`. Default: false (every transition is parsed). */
  readonly logged?: boolean;
  /** Leave out transitions with this `seq` or higher. Default: none are left out. */
  readonly below?: number;
  /**
   * Read the last persisted `seq` from the log instead of trusting what the writer remembers.
   * For the first append of a new run of a task: the task may have been deleted behind this
   * writer's back since it last wrote it (the CLI, another manager or process on the same store),
   * and a `seq` remembered from the deleted log would make it skip the new run's first
   * transitions as persisted. One log read per new run, not per append. Default: false.
   */
  readonly reread?: boolean;
}

/**
 * Whether transitions read from a genuine `ContextFlowManager` of `taskId` are as it logged them:
 * frozen (it freezes what it logs and restores, after checking it), of the task, in `seq` order.
 */
function isLoggedBy(taskId: string, transitions: readonly ContextTransition[]): boolean {
  let previous = -1;
  for (const transition of transitions) {
    if (!Object.isFrozen(transition) || transition.workflowId !== taskId) return false;
    if (!(transition.seq > previous)) return false;
    previous = transition.seq;
  }
  return true;
}

function isTransitionArray(source: LineageSource): source is readonly ContextTransition[] {
  return Array.isArray(source);
}
