import {
  ContextValidationError,
  CorruptRecordError,
  isOrchestrationError,
  StorageError,
} from '../errors.js';
import { parseContextTransitions, parseLoggedTransitions } from '../flow/context-flow-snapshot.js';
import type { ContextTransition } from '../flow/context-transition.js';
import { assertValidId } from '../ids.js';
import type { AppendLogAtOptions, CheckpointStore } from './checkpoint-store.js';

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

/** Entries read at a time when a damaged log is scanned for its highest `seq`. */
const SCAN_PAGE = 1_000;

/** Tries of one save at most while other writers keep appending first (`appendLogAt`). */
const APPEND_TRIES = 3;

/** `appendLogAt`'s options for a save with `requireHead`. */
const REQUIRE_HEAD: AppendLogAtOptions = Object.freeze({ requireHead: true });

/** What a writer knows of a task's log. */
interface LogTail {
  /** The highest `seq` in it (-1: none). */
  readonly seq: number;
  /** How many entries it holds, when known (`undefined` after an append made in a save). */
  readonly length: number | undefined;
}

/**
 * Persists a task's lineage append-only in one store log, one JSON transition per entry
 * (internal to `CheckpointManager`). It remembers the highest persisted `seq` per task (and the
 * log's length), reading them back from the log when it does not know them (or a save says not
 * to trust them: `reread`), so only new transitions are written. On a store with `appendLogAt`
 * an append is conditional on the length it knows: a writer that stalled while another appended
 * the same transitions (a runtime that lost its task's lease) reads the log again and appends
 * only what it still lacks, instead of repeating them. A log that repeats transitions anyway
 * (written before, or by a store without `appendLogAt`) is read without the repeats. A save with
 * `requireHead` (the transitions of checkpoints saved) appends only while the task has a head:
 * one refused at the length it named found the task deleted, and fails without reading the log
 * again (read again, a deleted task's log is empty, and an append there would make it again).
 */
export class LineageWriter {
  readonly #store: CheckpointStore;
  /** The name of the store log it writes. */
  readonly log: string;
  /** What it knows of each task's log, least recently written first. */
  readonly #persisted = new Map<string, LogTail>();
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

  /**
   * The whole persisted lineage, validated. An entry that repeats an earlier `seq` with the same
   * content (a stalled writer's late append, see the class) is left out; one with other content
   * is a `CorruptRecordError`.
   */
  async load(taskId: string): Promise<ContextTransition[]> {
    const entries = await this.#store.readLog(taskId, this.log);
    const transitions = parseLoggedTransitions(
      taskId,
      entries.map((entry, i) => this.#parseEntry(taskId, entry, i)),
    );
    this.#remember(taskId, { seq: transitions.at(-1)?.seq ?? -1, length: entries.length });
    return transitions;
  }

  /**
   * One save, started at once: a promise chain rather than an async function, since the runtime
   * saves once per step and every promise it makes counts there.
   */
  #save(taskId: string, source: LineageSource, options: SaveLineageOptions): Promise<number> {
    // Decided here, in the task's queue: a save queued before this one (a previous run's last
    // append) cannot bring back what it remembered of a log since deleted.
    const known = options.reread === true ? undefined : this.#persisted.get(taskId);
    // A conditional append needs the log's length as well.
    if (known === undefined || (this.#conditional && known.length === undefined)) {
      return this.#readTail(taskId).then((tail) => this.#append(taskId, source, options, tail, 1));
    }
    try {
      return this.#append(taskId, source, options, known, 1);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Whether the store appends conditionally on a log's length (`appendLogAt`). */
  get #conditional(): boolean {
    return typeof this.#store.appendLogAt === 'function';
  }

  /**
   * Appends the transitions of `source` after `tail.seq` (checked here; may throw): on a store
   * with `appendLogAt`, only if the log still holds `tail.length` entries; if it does not,
   * another writer appended meanwhile, so the log is read again and only what it lacks is
   * appended (`attempt` counts the tries).
   */
  #append(
    taskId: string,
    source: LineageSource,
    options: SaveLineageOptions,
    tail: LogTail,
    attempt: number,
  ): Promise<number> {
    const fresh = this.entriesAfter(taskId, source, options, tail.seq);
    if (fresh === undefined) return Promise.resolve(0);
    const { entries, seq } = fresh;
    const { length } = tail;
    const forgetTail = (error: unknown): never => {
      // The append may have happened (a lost reply): read the log's tail again next time.
      this.#persisted.delete(taskId);
      throw error;
    };
    if (this.#store.appendLogAt === undefined || length === undefined) {
      return this.#store.appendLog(taskId, this.log, entries).then((after) => {
        this.#remember(taskId, { seq, length: after });
        return entries.length;
      }, forgetTail);
    }
    const requireHead = options.requireHead === true;
    return this.#store
      .appendLogAt(taskId, this.log, length, entries, requireHead ? REQUIRE_HEAD : undefined)
      .then((result): number | Promise<number> => {
        if (result.appended) {
          this.#remember(taskId, { seq, length: result.length });
          return entries.length;
        }
        this.#persisted.delete(taskId);
        if (requireHead && result.length === length) {
          // Refused at the length it named: the task has no head (it was deleted meanwhile).
          throw new StorageError(
            this.#store.name,
            `appending to log ${this.log} of task ${taskId}: the task has no checkpoint (deleted meanwhile?); nothing was appended`,
          );
        }
        // Another writer appended since `tail` was read: read it again, append what it lacks.
        if (attempt >= APPEND_TRIES) {
          throw new StorageError(
            this.#store.name,
            `appending to log ${this.log} of task ${taskId}: other writers appended first ${attempt} times; nothing was appended`,
          );
        }
        return this.#readTail(taskId).then((read) =>
          this.#append(taskId, source, options, read, attempt + 1),
        );
      }, forgetTail);
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
    else this.#remember(taskId, { seq, length: undefined });
  }

  /**
   * The highest persisted `seq` and the length of the log of a task this writer does not
   * remember, read from the log. The last entry holds the highest `seq` when the log's `seq`s
   * run without a gap from its first entry to its last (two entries read); otherwise (a log that
   * repeats transitions) every entry is read, a page at a time, for the highest.
   */
  async #readTail(taskId: string): Promise<LogTail> {
    // Appending nothing returns the log's length without writing.
    const length = await this.#store.appendLog(taskId, this.log, []);
    const seq = length === 0 ? -1 : await this.#highestSeq(taskId, length);
    const tail = { seq, length };
    this.#remember(taskId, tail);
    return tail;
  }

  async #highestSeq(taskId: string, length: number): Promise<number> {
    const last = await this.#seqAt(taskId, length - 1);
    if (last === undefined) return -1;
    const first = length === 1 ? last : await this.#seqAt(taskId, 0);
    if (first === undefined || last - first === length - 1) return last;
    let highest = last;
    for (let from = 0; from < length; from += SCAN_PAGE) {
      const page = await this.#store.readLog(taskId, this.log, { from, limit: SCAN_PAGE });
      for (const [i, entry] of page.entries()) {
        highest = Math.max(highest, this.#seqOf(taskId, entry, from + i));
      }
      if (page.length < SCAN_PAGE) break;
    }
    return highest;
  }

  /** The `seq` of the log's entry at `index` (`undefined`: no such entry). */
  async #seqAt(taskId: string, index: number): Promise<number | undefined> {
    const [entry] = await this.#store.readLog(taskId, this.log, { from: index, limit: 1 });
    return entry === undefined ? undefined : this.#seqOf(taskId, entry, index);
  }

  #seqOf(taskId: string, entry: string, index: number): number {
    const value = this.#parseEntry(taskId, entry, index);
    const seq = (value as { seq?: unknown } | null)?.seq;
    if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) {
      throw new CorruptRecordError(taskId, `${this.log}[${index}]`, 'it has no valid seq');
    }
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

  #remember(taskId: string, tail: LogTail): void {
    this.#persisted.delete(taskId);
    this.#persisted.set(taskId, tail);
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
  /**
   * Append only while the task has a checkpoint (`appendLogAt` with `requireHead`, on a store
   * that has it): for the transitions of checkpoints saved (the runtime's appends), so that a
   * task deleted meanwhile, by another manager or process, is not given its log again. Such an
   * append refused fails with a `StorageError` and is not tried again. Default: false (a task's
   * lineage may be saved before, or without, any checkpoint).
   */
  readonly requireHead?: boolean;
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
