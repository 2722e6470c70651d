import type { JsonValue } from '../json.js';
import type { AppendLogAtOptions, CheckpointStore } from './checkpoint-store.js';
import { type ContextFields, type ContextSplice, fieldsOf, partsOf } from './context-splice.js';
import { appendSplice } from './json-append-splice.js';
import { type StoredContexts, spliceJson } from './shared-contexts.js';
import { applySplice, spliceBetween, type TextSplice } from './text-splice.js';

/**
 * Contexts stored once for a whole task. A context that outlives a checkpoint (a parallel
 * group's input while its regions run, a region's result while the others go on, the context a
 * step waits on) would be written again in every checkpoint. Instead, once it has been in two
 * checkpoints in a row, it is appended to the task's contexts log (a store log, like the
 * lineage), and once that append has landed, checkpoints name its entry instead of holding it.
 * Logs are append-only and have no TTL, so an entry a checkpoint names stays readable as long as
 * the task exists (`deleteTask` removes both).
 *
 * A context that is new at every checkpoint but grows (a transcript, a list gaining an item per
 * step) never outlives one. For those, the log holds a base per context type: checkpoints make
 * each new version from the base with one splice of its data's JSON (format 4, `ContextSplice`),
 * and once a splice has grown to {@link REBASE_CHARS}, that version goes to the log as the next
 * base, itself as a splice of the previous base (`{"splice":{"base",…}}`) or whole. So a
 * checkpoint holds about what changed since the last base, and the log about what changed at all.
 */

/** Contexts of fewer characters of JSON are not stored in the log: rewriting them costs little. */
export const MIN_STORED_CHARS = 2_048;

/**
 * A spliced context goes to the log as the next base once its splice holds this many characters
 * (or a quarter of its data's JSON, if that is less).
 */
export const REBASE_CHARS = 4_096;

/**
 * Most splices between an entry and the whole one it is made from: a base this deep is written
 * whole instead, and a read refuses deeper chains.
 */
export const MAX_SPLICE_DEPTH = 32;

/** How a log entry that splices an earlier one begins. */
export const SPLICE_ENTRY = '{"splice":';

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

/** How the writer appends: only while the task has a checkpoint (it was not deleted). */
const REQUIRE_HEAD: AppendLogAtOptions = Object.freeze({ requireHead: true });

/** A context in the log that the next versions of its type are spliced from. */
interface Base {
  readonly entry: number;
  /** Its data, and that data's JSON. */
  readonly data: JsonValue;
  readonly dataJson: string;
  /** Splices between it and the whole entry it is made from (0: it is whole). */
  readonly depth: number;
  /** Characters of that whole entry. */
  readonly wholeChars: number;
  /** Characters the splices since that whole entry added. */
  readonly splicedChars: number;
}

/** An append waiting: the context, its entry's JSON and, for a base, what it becomes. */
interface Queued {
  readonly context: object;
  readonly json: string;
  readonly base?: Omit<Base, 'entry'> & { readonly type: string };
}

/** A context's splice from its type's base, worked out once per base (`undefined`: not worth it). */
interface Spliced {
  readonly base: Base;
  /** The context's fields (`undefined`: it has more than a splice carries). */
  readonly fields: ContextFields | undefined;
  readonly splice: ContextSplice | undefined;
  /** Its data's JSON, when it was made (a text comparison needs it). */
  readonly dataJson: string | undefined;
}

/** Characters of the JSON a splice makes. */
function splicedLength(splice: TextSplice): number {
  return splice.p + splice.mid.length + splice.s;
}

/** How many new contexts of a small type (under a quarter of the size stored) go by between two measures. */
const MEASURE_EVERY = 16;

function typeOf(context: object): string | undefined {
  const type = (context as { contextType?: unknown }).contextType;
  return typeof type === 'string' ? type : undefined;
}

/**
 * Stores the contexts of one task's run that outlive a checkpoint (internal to the runtime's
 * checkpoint writer): told the contexts of each checkpoint saved, it appends those that were in
 * the previous one too and have {@link MIN_STORED_CHARS} of JSON or more, with at most one
 * append in flight. A failed append is not tried again for those contexts (they stay in the
 * checkpoints); nothing waits for an append but {@link settled}.
 *
 * On a store with `appendLogAt` each append is conditional on the log's length as this writer
 * knows it (read once, at its first checkpoint, then from its own appends), and on the task having
 * a head (`requireHead`: the writer appends only for checkpoints it saved, so a task without one
 * was deleted). An append the store refuses found another log than the one this run writes (its
 * task was deleted meanwhile, by another manager or process, or another writer appended), so it
 * is failed, and the writer appends nothing more. So an append in flight or queued when the task
 * was deleted does not make its log again, even at length 0 (the run's first append, where the
 * deleted task's log has the length the writer knew).
 *
 * It also keeps a base per context type for contexts that grow: a large context new in a
 * checkpoint whose previous one held another of its type becomes its type's first base; later
 * versions are spliced from the base (`spliceOf`) when they share at least half their JSON with
 * it, and one whose splice reached {@link REBASE_CHARS} becomes the next base.
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
  /** Appends waiting for the one in flight to end. */
  #queued: Queued[] = [];
  #appending: Promise<void> | undefined;
  /** Whether it appends (else it only names the entries it was given). */
  readonly #appends: boolean;
  /** The base of each context type that has one. */
  readonly #bases = new Map<string, Base>();
  /** Types whose next base is being appended. */
  readonly #rebasing = new Set<string>();
  /** Each context's splice from its type's base. */
  readonly #splices = new WeakMap<object, Spliced>();
  /** Checkpoints saved so far (told by `saved`). */
  #saves = 0;
  /** Per type, the last checkpoint (by {@link #saves}) a context was spliced from its base in. */
  readonly #usedAt = new Map<string, number>();
  /** Per type without a base: its last context measured, and how many went by since. */
  readonly #measured = new Map<string, { readonly chars: number; readonly since: number }>();
  /**
   * The log's length as this writer knows it, for a store with `appendLogAt`: read at the first
   * checkpoint (`undefined` once the read fails), then the length after each append.
   */
  #length: Promise<number | undefined> | undefined;
  /** The store refused an append: the log is not the one this writer knows. It appends no more. */
  #refused = false;

  /**
   * `read`: the entries the run's state was read from (see {@link entriesReadFor}); a large one
   * is its type's base again. With `appends: false` it appends nothing and only names and
   * splices those.
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
    for (const [context, entry] of read) {
      this.#entries.set(context, entry);
      this.#seedBase(context, entry);
    }
  }

  /** Makes a context read back its type's base (the newest entry wins; its depth unknown). */
  #seedBase(context: object, entry: number): void {
    const type = typeOf(context);
    if (type === undefined || (this.#bases.get(type)?.entry ?? -1) > entry) return;
    const dataJson = partsOf(context)?.dataJson;
    if (dataJson === undefined || dataJson.length < MIN_STORED_CHARS) return;
    // Unknown depth: counted as the deepest, so the next base is written whole.
    const depth = MAX_SPLICE_DEPTH;
    const wholeChars = dataJson.length;
    const { data } = context as ContextFields;
    this.#bases.set(type, { entry, data, dataJson, depth, wholeChars, splicedChars: 0 });
  }

  entryOf(context: object): number | undefined {
    return this.#entries.get(context);
  }

  spliceOf(context: object): { readonly base: number; readonly splice: ContextSplice } | undefined {
    const type = typeOf(context);
    const base = type === undefined ? undefined : this.#bases.get(type);
    if (base === undefined) return undefined;
    let spliced = this.#splices.get(context);
    if (spliced?.base !== base) {
      const fields = spliced === undefined ? fieldsOf(context) : spliced.fields;
      let dataJson = spliced?.dataJson;
      let splice: ContextSplice | undefined;
      if (fields !== undefined) {
        // From the structure when the data grew by appending (what createContext shares with
        // the base is the same values): no need to serialize it. Else compare the texts.
        let text = appendSplice(base.data, base.dataJson, fields.data);
        if (text === undefined) {
          dataJson ??= JSON.stringify(fields.data);
          text = spliceBetween(base.dataJson, dataJson);
        }
        const length = splicedLength(text);
        // Worth it when at least half of the data's JSON comes from the base.
        if (length >= MIN_STORED_CHARS && text.mid.length * 2 <= length) {
          splice = { contextId: fields.contextId, metadata: fields.metadata, ...text };
        }
      }
      spliced = { base, fields, splice, dataJson };
      this.#splices.set(context, spliced);
    }
    if (spliced.splice === undefined) return undefined;
    this.#usedAt.set(type as string, this.#saves);
    return { base: base.entry, splice: spliced.splice };
  }

  /** Takes note of a saved checkpoint's contexts; stores those that were in the previous one. */
  saved(contexts: ReadonlySet<object>): void {
    if (!this.#appends) return;
    const previous = this.#previous;
    this.#previous = contexts;
    if (this.#refused) {
      this.#saves += 1;
      return;
    }
    // Read early (an append comes at the second checkpoint at the soonest), so that an append
    // is made as soon as the checkpoint that asks for it was saved.
    if (this.#store.appendLogAt !== undefined) this.#length ??= this.#readLength();
    for (const context of contexts) {
      if (this.#handled.has(context) || this.entryOf(context) !== undefined) continue;
      if (!previous.has(context)) {
        this.#grew(context, previous);
        continue;
      }
      this.#handled.add(context);
      const json = JSON.stringify(context);
      if (json.length >= MIN_STORED_CHARS) this.#queued.push({ context, json });
    }
    this.#saves += 1;
    if (this.#queued.length > 0 && this.#appending === undefined) this.#appendQueued();
  }

  /**
   * A context new in this checkpoint: its type's next base when its splice has grown to
   * {@link REBASE_CHARS}; or, when it is large and the previous checkpoint held another context
   * of its type, its type's first base, or a new whole base when it no longer splices from the
   * last one and nothing else in the checkpoint does (measured now and then only while its
   * type's are small).
   */
  #grew(context: object, previous: ReadonlySet<object>): void {
    const type = typeOf(context);
    if (type === undefined || this.#rebasing.has(type)) return;
    const base = this.#bases.get(type);
    // From the base now (one may have landed since the checkpoint was serialized).
    const splice = base === undefined ? undefined : this.spliceOf(context)?.splice;
    if (base !== undefined && splice !== undefined) {
      const spliced = this.#splices.get(context);
      // Before a splice stops being worth it (half the data), for small data.
      const due = Math.min(REBASE_CHARS, splicedLength(splice) / 4);
      if (spliced?.fields !== undefined && splice.mid.length >= due) {
        const dataJson = spliced.dataJson ?? (applySplice(base.dataJson, splice) as string);
        this.#queueBase(type, context, spliced.fields.data, dataJson, base, splice);
      }
      return;
    }
    // No base, or one this context has drifted away from (a merge, say): a new whole base. Not
    // while another context of this checkpoint splices from the base (two of a type growing side
    // by side would replace each other's base at every step).
    if (base !== undefined && this.#usedAt.get(type) === this.#saves) return;
    let another = false;
    for (const other of previous) if (other !== context && typeOf(other) === type) another = true;
    if (!another) return;
    // Every time once a type's contexts are a quarter of the size that is stored; else now and then.
    const measured = this.#measured.get(type);
    if (
      measured !== undefined &&
      measured.chars < MIN_STORED_CHARS / 4 &&
      measured.since < MEASURE_EVERY
    ) {
      this.#measured.set(type, { chars: measured.chars, since: measured.since + 1 });
      return;
    }
    const parts = partsOf(context);
    const chars = parts?.dataJson.length ?? 0;
    if (parts === undefined || chars < MIN_STORED_CHARS) {
      this.#measured.set(type, { chars, since: 1 });
      return;
    }
    this.#measured.delete(type);
    const data = (context as ContextFields).data;
    this.#queueBase(type, context, data, parts.dataJson, undefined, undefined);
  }

  /**
   * Queues `context` (its `data`, whose JSON is `dataJson`) as its type's next base: a splice of
   * `from`, or whole when there is none, when `from` is {@link MAX_SPLICE_DEPTH} deep, or when
   * the splices since the whole entry would add up to as much as it (so whole entries are written
   * as the data doubles, and what a read fetches stays within about twice its size).
   */
  #queueBase(
    type: string,
    context: object,
    data: JsonValue,
    dataJson: string,
    from: Base | undefined,
    splice: ContextSplice | undefined,
  ): void {
    this.#handled.add(context);
    this.#rebasing.add(type);
    if (
      from === undefined ||
      splice === undefined ||
      from.depth >= MAX_SPLICE_DEPTH ||
      from.splicedChars + splice.mid.length >= from.wholeChars
    ) {
      const wholeChars = dataJson.length;
      const base = { type, data, dataJson, depth: 0, wholeChars, splicedChars: 0 };
      this.#queued.push({ context, json: JSON.stringify(context), base });
      return;
    }
    this.#queued.push({
      context,
      json: `${SPLICE_ENTRY}{"base":${from.entry},${spliceJson(splice)}}}`,
      base: {
        type,
        data,
        dataJson,
        depth: from.depth + 1,
        wholeChars: from.wholeChars,
        splicedChars: from.splicedChars + splice.mid.length,
      },
    });
  }

  /** Settles once no append is in flight or queued (appends never reject). */
  async settled(): Promise<void> {
    while (this.#appending !== undefined) await this.#appending;
  }

  /** The log's length, read from the store (appending nothing); `undefined` if the read fails. */
  #readLength(): Promise<number | undefined> {
    try {
      return this.#store.appendLog(this.#taskId, this.#log, []).then(
        (length) => length,
        () => undefined,
      );
    } catch {
      return Promise.resolve(undefined);
    }
  }

  /**
   * Appends `entries`, conditionally on a store with `appendLogAt` (see the class); resolves the
   * log's new length, rejects when the append failed or was refused.
   */
  #append(entries: readonly string[]): Promise<number> {
    const store = this.#store;
    if (store.appendLogAt === undefined) return store.appendLog(this.#taskId, this.#log, entries);
    const appendLogAt = store.appendLogAt.bind(store);
    // Unknown (never read, or a failed read or append since): read now.
    const known = (this.#length ?? Promise.resolve(undefined)).then(
      (at) => at ?? this.#readLength(),
    );
    const append = known.then((at) => {
      if (at === undefined) throw new Error('the contexts log could not be read');
      return appendLogAt(this.#taskId, this.#log, at, entries, REQUIRE_HEAD);
    });
    // Known again once it lands; after a failure it may or may not have landed: read again.
    this.#length = append.then(
      (result) => (result.appended ? result.length : undefined),
      () => undefined,
    );
    return append.then((result) => {
      if (result.appended) return result.length;
      this.#refused = true;
      this.#queued = [];
      throw new Error('the contexts log is not the one this run writes');
    });
  }

  #appendQueued(): void {
    const batch = this.#queued;
    this.#queued = [];
    let append: Promise<number>;
    try {
      append = this.#append(batch.map((item) => item.json));
    } catch {
      append = Promise.reject();
    }
    this.#appending = append.then(
      (length) => {
        // The log's new length: the batch is its last entries, in order.
        const first = length - batch.length;
        for (const [i, { context, base }] of batch.entries()) {
          this.#entries.set(context, first + i);
          if (base === undefined) continue;
          const { type, ...rest } = base;
          this.#bases.set(type, { entry: first + i, ...rest });
          this.#rebasing.delete(type);
        }
        this.#next();
      },
      () => {
        // A base that did not land is tried again with a later version.
        for (const { base } of batch) if (base !== undefined) this.#rebasing.delete(base.type);
        this.#next();
      },
    );
  }

  #next(): void {
    this.#appending = undefined;
    if (this.#queued.length > 0) this.#appendQueued();
  }
}
