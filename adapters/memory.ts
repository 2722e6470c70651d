import type {
  AppendLogAtOptions,
  CheckpointRecord,
  CheckpointRecordMeta,
  CheckpointStore,
  CheckpointStoreOptions,
  ConditionalAppend,
  LeaseClaim,
  ListTasksOptions,
  NewCheckpointRecord,
  ReadLogOptions,
  SavedRecord,
  SaveRecordOptions,
  TaskLease,
} from '../src/checkpoint/checkpoint-store.js';
import {
  assertAppendLogAtArgs,
  assertKeepLatest,
  assertLeaseArgs,
  assertLogEntries,
  assertLogEntriesRead,
  assertReadLogOptions,
  assertSavable,
  assertWithinLimit,
  isExpired,
  listTasksOptions,
  liveAt,
  maxRecordBytesOption,
  pageOfTaskIds,
} from '../src/checkpoint/store-guards.js';
import {
  CheckpointConflictError,
  CheckpointExistsError,
  CorruptRecordError,
} from '../src/errors.js';
import { assertValidId } from '../src/ids.js';

/** Options of {@link createMemoryStore}. */
export interface MemoryStoreOptions extends CheckpointStoreOptions {
  /**
   * The map the store keeps its serialized records in, keyed `taskId/checkpointId`, each value a
   * JSON header line followed by the body. Inject one to inspect or tamper with what is stored
   * (the conformance suite corrupts records through it); it must start empty and belong to one
   * store. Default: a new `Map`.
   */
  readonly records?: Map<string, string>;
  /**
   * The map the store keeps its logs in, keyed `taskId/name`, each value the log's entries in
   * order. Inject one to inspect or tamper with what is stored (the conformance suite plants
   * oversized entries through it); it must start empty and belong to one store. Default: a new
   * `Map`.
   */
  readonly logs?: Map<string, string[]>;
}

/** Everything the store knows about one task besides the serialized records. */
interface TaskData {
  /** The head sequence number. */
  head: number;
  /** Live records' metadata in sequence order (oldest first). */
  readonly meta: Map<string, CheckpointRecordMeta>;
  /** The earliest `expiresAt` among the records, `Infinity` when none expires. */
  nextExpiry: number;
  /**
   * When the head lapses once no record is live (`Infinity`: never), as on the file and Redis
   * stores: the last expiry of the records a delete left (a delete that leaves none keeps the one
   * before, so the head outlives explicit deletes until the task would have expired anyway),
   * extended by each record saved since.
   */
  headExpiry: number;
  /** The newest live record's metadata (`latest` in O(1)); `undefined`: to be looked up. */
  newest: CheckpointRecordMeta | undefined;
  /** Names of the task's logs (their entries are in the store's `logs` map). */
  readonly logNames: Set<string>;
}

/**
 * A record's metadata as the store keeps and lists it: frozen, so `list` hands it out without a
 * copy. A class rather than an object literal: its instances get their own hidden class. Object
 * literals of four properties share V8's root map with `{}`, whose transitions a machine of a
 * thousand steps or more can fill (XState keys objects by state and actor ids); an object then
 * frozen from a map with no room left becomes a dictionary with a map of its own (0.7 µs to
 * freeze instead of 0.1 µs, about 0.6 KB more kept per record).
 */
class RecordMeta implements CheckpointRecordMeta {
  declare readonly expiresAt?: number;

  constructor(
    readonly taskId: string,
    readonly checkpointId: string,
    readonly seq: number,
    readonly createdAt: number,
    expiresAt: number | undefined,
  ) {
    if (expiresAt !== undefined) this.expiresAt = expiresAt;
    Object.freeze(this);
  }
}

/** The header line stored before each body. */
interface RecordHeader {
  readonly checkpointId: string;
  readonly seq: number;
}

/**
 * A {@link CheckpointStore} kept in memory: fast, browser-safe, gone when the process ends. Every
 * operation runs synchronously inside its promise, so each one is atomic. Expired records are
 * removed lazily, the first time the task is touched after its earliest expiry. Suits tests and
 * short workflows; use the file, Redis or IndexedDB store for anything that must survive a crash.
 *
 * @example
 * ```ts
 * import { CheckpointManager } from 'mcp-orchestration';
 * import { createMemoryStore } from 'mcp-orchestration/memory';
 *
 * const manager = new CheckpointManager(createMemoryStore());
 * ```
 */
export function createMemoryStore(options: MemoryStoreOptions = {}): CheckpointStore {
  const maxRecordBytes = maxRecordBytesOption(options.maxRecordBytes);
  const now = options.now ?? Date.now;
  const records = options.records ?? new Map<string, string>();
  if (records.size > 0) throw new TypeError('the records map of a memory store must start empty');
  const logs = options.logs ?? new Map<string, string[]>();
  if (logs.size > 0) throw new TypeError('the logs map of a memory store must start empty');
  const tasks = new Map<string, TaskData>();
  /** Leases by task id (a lease alone does not make a task exist: they are kept apart). */
  const leases = new Map<string, TaskLease>();

  /** The task's live lease; a lapsed one is dropped. */
  function liveLease(taskId: string): TaskLease | undefined {
    const lease = liveAt(leases.get(taskId), now());
    if (lease === undefined) leases.delete(taskId);
    return lease;
  }

  const recordKey = (taskId: string, checkpointId: string) => `${taskId}/${checkpointId}`;
  // Ids cannot hold '/', so neither key is ambiguous.
  const logKey = (taskId: string, name: string) => `${taskId}/${name}`;

  function removeRecord(task: TaskData, taskId: string, checkpointId: string): void {
    if (task.newest?.checkpointId === checkpointId) task.newest = undefined;
    task.meta.delete(checkpointId);
    records.delete(recordKey(taskId, checkpointId));
  }

  /** After a delete: the head lapses with the records left (if none, when it would have). */
  function headAfterDelete(task: TaskData): void {
    if (task.meta.size === 0) return;
    let expiry = Number.NEGATIVE_INFINITY;
    for (const meta of task.meta.values()) {
      expiry = Math.max(expiry, meta.expiresAt ?? Number.POSITIVE_INFINITY);
    }
    task.headExpiry = expiry;
  }

  /** The task's data with expired records removed, or `undefined` when it holds nothing. */
  function liveTask(taskId: string): TaskData | undefined {
    const task = tasks.get(taskId);
    if (task === undefined) return undefined;
    const time = now();
    if (time >= task.nextExpiry) {
      let next = Number.POSITIVE_INFINITY;
      for (const meta of task.meta.values()) {
        if (isExpired(meta.expiresAt, time)) removeRecord(task, taskId, meta.checkpointId);
        else if (meta.expiresAt !== undefined && meta.expiresAt < next) next = meta.expiresAt;
      }
      task.nextExpiry = next;
    }
    // Nothing live and the head's time is up: the task counts as never saved.
    if (task.meta.size === 0 && time >= task.headExpiry) {
      task.head = 0;
      task.headExpiry = Number.NEGATIVE_INFINITY;
    }
    if (task.meta.size === 0 && task.head === 0 && task.logNames.size === 0) {
      tasks.delete(taskId);
      return undefined;
    }
    return task;
  }

  function taskFor(taskId: string): TaskData {
    const existing = liveTask(taskId);
    if (existing !== undefined) return existing;
    const task: TaskData = {
      head: 0,
      meta: new Map(),
      nextExpiry: Number.POSITIVE_INFINITY,
      headExpiry: Number.NEGATIVE_INFINITY,
      newest: undefined,
      logNames: new Set(),
    };
    tasks.set(taskId, task);
    return task;
  }

  /** Appends checked entries to a task's log; returns its new length. */
  function appendEntries(
    task: TaskData,
    taskId: string,
    name: string,
    entries: readonly string[],
  ): number {
    const key = logKey(taskId, name);
    let log = logs.get(key);
    if (entries.length === 0) return log?.length ?? 0;
    task.logNames.add(name);
    if (log === undefined) {
      log = [];
      logs.set(key, log);
    }
    for (const entry of entries) log.push(entry);
    return log.length;
  }

  function read(meta: CheckpointRecordMeta): CheckpointRecord {
    const { taskId, checkpointId } = meta;
    const raw = records.get(recordKey(taskId, checkpointId));
    if (raw === undefined)
      throw new CorruptRecordError(taskId, checkpointId, 'its data is missing');
    const newline = raw.indexOf('\n');
    if (newline < 0) throw new CorruptRecordError(taskId, checkpointId, 'it has no header');
    let header: Partial<RecordHeader>;
    try {
      header = JSON.parse(raw.slice(0, newline)) as Partial<RecordHeader>;
    } catch (error) {
      throw new CorruptRecordError(taskId, checkpointId, 'its header is not JSON', {
        cause: error,
      });
    }
    if (header?.checkpointId !== checkpointId || header.seq !== meta.seq) {
      throw new CorruptRecordError(taskId, checkpointId, 'its header does not match the index');
    }
    const body = raw.slice(newline + 1);
    assertWithinLimit(`Checkpoint ${checkpointId}`, body, maxRecordBytes);
    return { ...meta, body };
  }

  /** The newest record's metadata: remembered, or found again (O(records)) after it was removed. */
  function lastMeta(task: TaskData): CheckpointRecordMeta | undefined {
    if (task.newest === undefined) {
      for (const meta of task.meta.values()) task.newest = meta;
    }
    return task.newest;
  }

  return {
    name: 'memory',
    appendsOnSave: true,

    async save(record: NewCheckpointRecord, saveOptions?: SaveRecordOptions): Promise<SavedRecord> {
      assertSavable(record, saveOptions, maxRecordBytes);
      const { taskId, checkpointId, createdAt, expiresAt, body } = record;
      const task = taskFor(taskId);
      const expected = saveOptions?.expectedSeq;
      if (expected !== undefined && expected !== task.head) {
        throw new CheckpointConflictError(taskId, expected, task.head);
      }
      // The record at the head, if live, is the newest one (seqs never exceed the head).
      const expectedId = saveOptions?.expectedId;
      if (expectedId !== undefined && expected !== undefined && expected > 0) {
        const newest = lastMeta(task);
        if (newest !== undefined && newest.seq === expected && newest.checkpointId !== expectedId) {
          throw new CheckpointConflictError(taskId, expected, task.head);
        }
      }
      if (task.meta.has(checkpointId)) throw new CheckpointExistsError(taskId, checkpointId);
      const seq = task.head + 1;
      // The JSON of a RecordHeader: ids are checked above and need no escaping.
      records.set(
        recordKey(taskId, checkpointId),
        `{"checkpointId":"${checkpointId}","seq":${seq}}\n${body}`,
      );
      const meta = new RecordMeta(taskId, checkpointId, seq, createdAt, expiresAt);
      task.meta.set(checkpointId, meta);
      task.newest = meta;
      if (expiresAt !== undefined && expiresAt < task.nextExpiry) task.nextExpiry = expiresAt;
      task.headExpiry = Math.max(task.headExpiry, expiresAt ?? Number.POSITIVE_INFINITY);
      task.head = seq;
      const append = saveOptions?.appendLog;
      if (append !== undefined) appendEntries(task, taskId, append.name, append.entries);
      return { seq };
    },

    async load(taskId: string, checkpointId: string): Promise<CheckpointRecord | undefined> {
      assertValidId('taskId', taskId);
      assertValidId('checkpointId', checkpointId);
      const meta = liveTask(taskId)?.meta.get(checkpointId);
      return meta === undefined ? undefined : read(meta);
    },

    async latest(taskId: string): Promise<CheckpointRecord | undefined> {
      assertValidId('taskId', taskId);
      const task = liveTask(taskId);
      const meta = task === undefined ? undefined : lastMeta(task);
      return meta === undefined ? undefined : read(meta);
    },

    async list(taskId: string): Promise<CheckpointRecordMeta[]> {
      assertValidId('taskId', taskId);
      const task = liveTask(taskId);
      return task === undefined ? [] : [...task.meta.values()].reverse();
    },

    async delete(taskId: string, checkpointId: string): Promise<boolean> {
      assertValidId('taskId', taskId);
      assertValidId('checkpointId', checkpointId);
      const task = liveTask(taskId);
      if (task === undefined || !task.meta.has(checkpointId)) return false;
      removeRecord(task, taskId, checkpointId);
      headAfterDelete(task);
      return true;
    },

    async deleteOld(taskId: string, keepLatest: number): Promise<number> {
      assertValidId('taskId', taskId);
      assertKeepLatest(keepLatest);
      const task = liveTask(taskId);
      if (task === undefined) return 0;
      const excess = task.meta.size - keepLatest;
      if (excess <= 0) return 0;
      // Oldest first: the first `excess` entries are the ones to go.
      const doomed = [...task.meta.keys()].slice(0, excess);
      for (const checkpointId of doomed) removeRecord(task, taskId, checkpointId);
      headAfterDelete(task);
      return doomed.length;
    },

    async listTasks(listOptions?: ListTasksOptions): Promise<string[]> {
      const { after, limit } = listTasksOptions(listOptions);
      const ids: string[] = [];
      for (const taskId of [...tasks.keys()]) {
        // liveTask applies expiry (and forgets a task left with nothing).
        const task = liveTask(taskId);
        if (task !== undefined && (task.head > 0 || task.logNames.size > 0)) ids.push(taskId);
      }
      return pageOfTaskIds(ids, after, limit);
    },

    async head(taskId: string): Promise<number> {
      assertValidId('taskId', taskId);
      return liveTask(taskId)?.head ?? 0;
    },

    async appendLog(taskId: string, name: string, entries: readonly string[]): Promise<number> {
      assertValidId('taskId', taskId);
      assertValidId('log name', name);
      assertLogEntries(entries, maxRecordBytes, name);
      if (entries.length === 0) return logs.get(logKey(taskId, name))?.length ?? 0;
      return appendEntries(taskFor(taskId), taskId, name, entries);
    },

    async appendLogAt(
      taskId: string,
      name: string,
      at: number,
      entries: readonly string[],
      appendOptions?: AppendLogAtOptions,
    ): Promise<ConditionalAppend> {
      assertAppendLogAtArgs(taskId, name, at, entries, maxRecordBytes);
      // Checked and appended in one synchronous step: nothing (a deleteTask) comes in between.
      const length = logs.get(logKey(taskId, name))?.length ?? 0;
      const task = liveTask(taskId);
      const headless = appendOptions?.requireHead === true && (task?.head ?? 0) === 0;
      if (length !== at || headless) return { appended: false, length };
      if (entries.length === 0) return { appended: true, length };
      return { appended: true, length: appendEntries(taskFor(taskId), taskId, name, entries) };
    },

    async readLog(taskId: string, name: string, readOptions?: ReadLogOptions): Promise<string[]> {
      assertValidId('taskId', taskId);
      assertValidId('log name', name);
      assertReadLogOptions(readOptions);
      const log = logs.get(logKey(taskId, name));
      if (log === undefined) return [];
      const from = readOptions?.from ?? 0;
      const limit = readOptions?.limit;
      const entries = log.slice(from, limit === undefined ? undefined : from + limit);
      assertLogEntriesRead(entries, from, maxRecordBytes, name);
      return entries;
    },

    async deleteTask(taskId: string): Promise<boolean> {
      assertValidId('taskId', taskId);
      leases.delete(taskId);
      const task = liveTask(taskId);
      if (task === undefined) return false;
      for (const checkpointId of [...task.meta.keys()]) removeRecord(task, taskId, checkpointId);
      for (const name of task.logNames) logs.delete(logKey(taskId, name));
      tasks.delete(taskId);
      return true;
    },

    async claimLease(taskId: string, owner: string, ttlMs: number): Promise<LeaseClaim> {
      assertLeaseArgs(taskId, owner, ttlMs);
      const held = liveLease(taskId);
      if (held !== undefined && held.owner !== owner) return { granted: false, lease: held };
      const lease: TaskLease = Object.freeze({ owner, expiresAt: now() + ttlMs });
      leases.set(taskId, lease);
      return { granted: true, lease };
    },

    async releaseLease(taskId: string, owner: string): Promise<boolean> {
      assertLeaseArgs(taskId, owner);
      if (liveLease(taskId)?.owner !== owner) return false;
      leases.delete(taskId);
      return true;
    },

    async readLease(taskId: string): Promise<TaskLease | undefined> {
      assertValidId('taskId', taskId);
      return liveLease(taskId);
    },

    async close(): Promise<void> {},
  };
}
