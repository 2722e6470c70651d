/**
 * The storage contract every backend implements (memory, file, Redis, IndexedDB). It is small on
 * purpose: the {@link CheckpointManager} builds envelopes, ids and TTLs; a store only keeps records
 * and answers questions about one task at a time. `test/conformance/` holds the one test suite
 * every implementation passes.
 *
 * ## Semantics every implementation guarantees
 * - **Isolation.** Everything is scoped by `taskId`; a store instance is further scoped by its
 *   namespace (a Redis key prefix, a directory, an IndexedDB database). Two namespaces never see
 *   each other's records.
 * - **Ids.** Every `taskId`, `checkpointId` and log `name` is checked with `assertValidId` before
 *   it reaches a key; a bad one is an `InvalidIdError` and nothing is touched.
 * - **Sequence numbers.** Each task has a head sequence number, 0 before its first save. A
 *   successful save sets it to head + 1 and stores that number in the record. It never goes
 *   down, even when records are deleted or expire, for as long as the task has any live record.
 * - **Atomicity.** A save is all or nothing: record, index entry, TTL and head move together,
 *   or none of them does (a crash or a dropped connection mid-save leaves the old state).
 * - **Conditional writes.** With `expectedSeq`, a save succeeds only if the head equals it at the
 *   moment of writing; otherwise it throws `CheckpointConflictError` and writes nothing. Two
 *   writers racing with the same `expectedSeq`: exactly one wins. With `expectedId` too, the save
 *   is also refused (the same error, nothing written) when the task's live record at seq
 *   `expectedSeq` has another checkpoint id: the task was deleted and started again, and its new
 *   history reached the writer's seq (numbering starts over at 1 after a delete). With no live
 *   record at that seq (deleted by `delete`/`deleteOld`, or expired), only the seq is checked.
 * - **Ordering.** `list` and `latest` order by sequence number, newest first. Ids are not
 *   compared (callers may choose their own ids).
 * - **TTL.** A record whose `expiresAt` (ms since the epoch) is at or before now is gone: `load`,
 *   `latest` and `list` never return it, `delete` reports `false` for it, and the store removes it
 *   (eagerly or lazily) without leaving index entries behind.
 * - **Missing** is `undefined` (`load`, `latest`) or `false` (`delete`), never an error. A real
 *   failure (backend down, unreadable record, record over the size bound) is an
 *   `OrchestrationError` (`StorageError`, `CorruptRecordError`, `RecordTooLargeError`), never
 *   `undefined`.
 * - **Size bound.** A store refuses to write or to read back a record body larger than its
 *   `maxRecordBytes` (UTF-8 bytes), with `RecordTooLargeError`. The same bound holds for each log
 *   entry: an append with one entry over it writes nothing, and a read whose range holds one
 *   returns nothing (entries written past the bound, e.g. by a store with a larger one).
 * - **Logs** are append-only lists of strings per task and name (the lineage of a workflow lives
 *   in one). An append writes only the new entries, in order, atomically; entries are never
 *   rewritten. Logs have no TTL; `deleteTask` removes them.
 * - **Tasks** can be listed (`listTasks`): every task with a head above 0 or a log, in id order,
 *   a page at a time. It is for supervisors and tools (cost O(tasks) or more per page on some
 *   backends), not for the path of a step.
 * - **Leases** say which runtime runs a task, so that runtimes sharing a store do not take each
 *   other's live tasks (`claimLease`, `releaseLease`, `readLease`). A task has at most one live
 *   lease; it is live until its `expiresAt` by the store's clock, like a record's TTL, and its
 *   owner renews it by claiming it again. Claims are atomic: owners racing for a free lease,
 *   exactly one gets it. Leases are advisory: they neither guard nor block any write
 *   (conditional writes keep a task from forking), they do not make a task listed, and they do
 *   not change its head. `deleteTask` removes the lease too.
 */
export interface CheckpointStore {
  /** A short name for messages: `'memory'`, `'file'`, `'redis'`, `'indexeddb'`. */
  readonly name: string;

  /**
   * Whether `save` takes {@link SaveRecordOptions.appendLog}: log entries appended in the same
   * atomic write as the record. Optional: the manager hands `appendLog` only to a store that says
   * `true` here, and appends with {@link appendLog} after the save otherwise. A store without it
   * refuses `appendLog` with a `TypeError` and writes nothing (the conformance suite checks
   * both), so entries are never dropped in silence.
   */
  readonly appendsOnSave?: boolean;

  /**
   * Stores a new checkpoint record and returns its sequence number. Throws
   * `CheckpointConflictError` when `options.expectedSeq` is given and differs from the head (or,
   * with `options.expectedId`, when the live record at that seq has another id), and `CheckpointExistsError` when the task already has a live record with this id. A store
   * with {@link appendsOnSave} also appends `options.appendLog` in the same write: the record and
   * the entries land together, or neither does (a refused save appends nothing).
   */
  save(record: NewCheckpointRecord, options?: SaveRecordOptions): Promise<SavedRecord>;

  /** The live record with this id, or `undefined`. */
  load(taskId: string, checkpointId: string): Promise<CheckpointRecord | undefined>;

  /** The live record with the highest sequence number, or `undefined`. */
  latest(taskId: string): Promise<CheckpointRecord | undefined>;

  /** Metadata of the task's live records, newest (highest seq) first. */
  list(taskId: string): Promise<CheckpointRecordMeta[]>;

  /** Deletes one record; `true` if a live record was deleted, `false` if there was none. */
  delete(taskId: string, checkpointId: string): Promise<boolean>;

  /**
   * Deletes all but the `keepLatest` newest live records of a task, in one batch; returns how
   * many were deleted. `keepLatest` is an integer ≥ 0.
   */
  deleteOld(taskId: string, keepLatest: number): Promise<number>;

  /** The task's head sequence number: 0 if it has never been saved (or everything expired). */
  head(taskId: string): Promise<number>;

  /** Appends entries to a task's log, atomically and in order; returns the log's new length. */
  appendLog(taskId: string, name: string, entries: readonly string[]): Promise<number>;

  /**
   * Optional: appends `entries` to a task's log as {@link appendLog} does, but only when the log
   * holds exactly `at` entries as they are written (checked in the same atomic step as the
   * append); otherwise it appends nothing. So a writer whose knowledge of the log is stale (it
   * stalled while another writer appended) never appends entries after those. With
   * `options.requireHead`, it also appends nothing unless the task's head ({@link head}) is above
   * 0 in that same step: a writer that appends for a checkpoint it saved (the runtime's stored
   * contexts) does not make the log of a task deleted meanwhile again, even at `at` 0, where a
   * deleted task's log has the length the writer knows. Returns whether it appended and the log's
   * length after the call (with no entries nothing is written, and `appended` says whether the
   * conditions hold). `at` is an integer ≥ 0. The runtime appends a task's lineage with it on a
   * store without {@link appendsOnSave}, and its stored contexts on every store that has it, with
   * {@link appendLog} when a store leaves it out. The conformance suite checks it when a store
   * has it.
   */
  appendLogAt?(
    taskId: string,
    name: string,
    at: number,
    entries: readonly string[],
    options?: AppendLogAtOptions,
  ): Promise<ConditionalAppend>;

  /** Entries `[from, from + limit)` of a task's log (all from `from` when no limit); `[]` if none. */
  readLog(taskId: string, name: string, options?: ReadLogOptions): Promise<string[]>;

  /**
   * Removes every record, log and counter of a task. Returns whether the task existed as
   * `listTasks` counts it: a live head or record, or a log (expired records and a lease alone do
   * not count).
   */
  deleteTask(taskId: string): Promise<boolean>;

  /**
   * The ids of the tasks that have a head above 0 ({@link head}) or a log, in ascending order
   * (by UTF-16 code units, as `<` compares strings), those after `options.after` only, at most
   * `options.limit` (default {@link DEFAULT_LIST_TASKS_LIMIT}). So a task whose records all
   * expired and that has no log is not listed, nor is a deleted one; a task whose records were
   * deleted by `delete`/`deleteOld` still is (its head stays), and so is a task whose head is
   * damaged (its own reads report the corruption; it does not hide the others). Pages are read
   * by passing the last id of one page as `after` of the next. What a supervisor needs to find
   * its tasks again after a crash.
   */
  listTasks(options?: ListTasksOptions): Promise<string[]>;

  /**
   * Takes or renews the task's lease for `owner` (a valid id) for `ttlMs` (an integer from 1 to
   * {@link MAX_LEASE_TTL_MS}): granted when the task has no live lease or `owner` holds it (its
   * `expiresAt` becomes now + `ttlMs`), refused when another owner holds a live one. Returns the
   * live lease after the call: the caller's when granted, the holder's (unchanged) when refused.
   */
  claimLease(taskId: string, owner: string, ttlMs: number): Promise<LeaseClaim>;

  /**
   * Ends `owner`'s lease of the task: `true` when `owner` held a live lease (it is gone),
   * `false` otherwise (nothing changes; another owner's lease stays).
   */
  releaseLease(taskId: string, owner: string): Promise<boolean>;

  /** The task's live lease, or `undefined` when it has none. */
  readLease(taskId: string): Promise<TaskLease | undefined>;

  /** Releases what the store opened itself. Injected clients are left open for their owner. */
  close(): Promise<void>;
}

/** What the manager hands to {@link CheckpointStore.save}. */
export interface NewCheckpointRecord {
  readonly taskId: string;
  readonly checkpointId: string;
  /** Creation time, ms since the epoch. */
  readonly createdAt: number;
  /** Expiry time, ms since the epoch; absent means never. */
  readonly expiresAt?: number | undefined;
  /** The serialized envelope; opaque to the store. */
  readonly body: string;
}

/** Options of {@link CheckpointStore.save}. */
export interface SaveRecordOptions {
  /** Save only if the task's head sequence number is exactly this (0: no checkpoint yet). */
  readonly expectedSeq?: number | undefined;
  /**
   * With {@link expectedSeq} only (a valid id; a `TypeError` without it): the checkpoint id the
   * writer knows at seq `expectedSeq`, the record it last saved or loaded there. The save is also
   * refused with `CheckpointConflictError` (its `actualSeq` equal to its `expectedSeq`), nothing
   * written, when the task's live record at seq `expectedSeq` has another id: the record the
   * writer saw at its head was replaced by another history of the task (deleted and started
   * again, elsewhere, since numbering starts over at 1), which a seq alone cannot tell apart
   * (ABA). When the task has no live record at that seq (the writer resumed after a rollback
   * deleted the newer checkpoints, so its head is above its last record; or a `delete`,
   * `deleteOld` or TTL removed it), only the seq is checked. Checked in the same atomic step as
   * the seq by the built-in stores (the conformance suite checks it). Optional in the contract:
   * a store that leaves it out (a custom one written before it) checks the seq only, as before,
   * and a writer of a task deleted and started again elsewhere may then write into the new
   * history once its head reaches the writer's seq.
   */
  readonly expectedId?: string | undefined;
  /**
   * Entries to append to one of the task's logs in the same atomic write as the record (as
   * {@link CheckpointStore.appendLog} would: in order, each within the size bound). Only for a
   * store with {@link CheckpointStore.appendsOnSave}.
   */
  readonly appendLog?: LogAppend | undefined;
}

/** Entries for one of a task's logs ({@link SaveRecordOptions.appendLog}). */
export interface LogAppend {
  /** The log's name (a valid id). */
  readonly name: string;
  readonly entries: readonly string[];
}

/** What a successful save returns. */
export interface SavedRecord {
  /** The sequence number given to the record (the task's new head). */
  readonly seq: number;
}

/** What a store indexes about a record. */
export interface CheckpointRecordMeta {
  readonly taskId: string;
  readonly checkpointId: string;
  readonly seq: number;
  readonly createdAt: number;
  readonly expiresAt?: number | undefined;
}

/** A stored record: its metadata and its body. */
export interface CheckpointRecord extends CheckpointRecordMeta {
  readonly body: string;
}

/** What {@link CheckpointStore.appendLogAt} returns. */
export interface ConditionalAppend {
  /** Whether the entries were appended (the log held `at` entries). */
  readonly appended: boolean;
  /** The log's length after the call. */
  readonly length: number;
}

/** Options of {@link CheckpointStore.appendLogAt}. */
export interface AppendLogAtOptions {
  /**
   * Append only when the task's head is above 0 as the entries are written: it has a checkpoint,
   * and was not deleted since (nor did every record of it expire). Default: false (a log of a
   * task without checkpoints is appended to as any other).
   */
  readonly requireHead?: boolean | undefined;
}

/** Options of {@link CheckpointStore.readLog}. */
export interface ReadLogOptions {
  /** First index to read. Default: 0. */
  readonly from?: number;
  /** Most entries to read. Default: all. */
  readonly limit?: number;
}

/** Options of {@link CheckpointStore.listTasks}. */
export interface ListTasksOptions {
  /** List only ids after this one (a valid id; the last id of the previous page). */
  readonly after?: string;
  /** Most ids to return: an integer from 1 to {@link MAX_LIST_TASKS_LIMIT}. */
  readonly limit?: number;
}

/** A task's lease: who runs it, and until when unless renewed. */
export interface TaskLease {
  /** The runtime (or process) that holds it. */
  readonly owner: string;
  /** When it lapses, ms since the epoch (by the store's clock). */
  readonly expiresAt: number;
}

/** What {@link CheckpointStore.claimLease} returns. */
export interface LeaseClaim {
  /** Whether the caller holds the lease now. */
  readonly granted: boolean;
  /** The live lease: the caller's when granted, else the one another owner holds. */
  readonly lease: TaskLease;
}

/** The longest lease `claimLease` grants at once: one day (renew it to hold a task longer). */
export const MAX_LEASE_TTL_MS = 24 * 60 * 60 * 1000;

/** Ids `listTasks` returns when no limit is given. */
export const DEFAULT_LIST_TASKS_LIMIT = 1_000;
/** The largest `limit` of `listTasks`. */
export const MAX_LIST_TASKS_LIMIT = 10_000;

/** Options every adapter accepts. */
export interface CheckpointStoreOptions {
  /** Largest record body written or read back, in UTF-8 bytes. Default: {@link DEFAULT_MAX_RECORD_BYTES}. */
  readonly maxRecordBytes?: number;
  /** The clock used for TTL decisions, ms since the epoch. Default: `Date.now`. */
  readonly now?: () => number;
}

/** 64 MiB: the default bound on one record body. */
export const DEFAULT_MAX_RECORD_BYTES = 64 * 1024 * 1024;
