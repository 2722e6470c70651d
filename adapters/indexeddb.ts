import type { UseStore } from 'idb-keyval';
import type {
  AppendLogAtOptions,
  CheckpointRecord,
  CheckpointRecordMeta,
  CheckpointStore,
  CheckpointStoreOptions,
  ConditionalAppend,
  ListTasksOptions,
  NewCheckpointRecord,
  ReadLogOptions,
  SavedRecord,
  SaveRecordOptions,
} from '../src/checkpoint/checkpoint-store.js';
import {
  assertAppendLogAtArgs,
  assertKeepLatest,
  assertLogEntries,
  assertLogEntriesRead,
  assertReadLogOptions,
  assertSavable,
  assertWithinLimit,
  isExpired,
  listTasksOptions,
  maxRecordBytesOption,
  utf8Length,
} from '../src/checkpoint/store-guards.js';
import {
  CheckpointConflictError,
  CheckpointExistsError,
  CorruptRecordError,
  isOrchestrationError,
  RecordTooLargeError,
  StorageError,
} from '../src/errors.js';
import { assertValidId } from '../src/ids.js';
import {
  bodyKey,
  expiryKey,
  type HeadValue,
  headKey,
  type IndexValue,
  idKey,
  logKey,
  logLengthKey,
  logLengthRange,
  logRange,
  parseCount,
  parseIndex,
  seqKey,
  seqRange,
  taskRange,
} from './indexeddb/layout.js';
import { leaseMethods } from './indexeddb/leases.js';
import {
  get,
  headLivesWith,
  indexEntries,
  liveTaskIds,
  purgeRecords,
  readHead,
  removeRecord,
  sweep,
} from './indexeddb/records.js';
import { request, runTransaction, walk } from './indexeddb/transaction.js';

export { taskLockName, type WebLockOptions, withWebLock } from './indexeddb/web-lock.js';

/** Options of {@link createIndexedDbStore}. */
export interface IndexedDbStoreOptions extends CheckpointStoreOptions {
  /**
   * The idb-keyval store to keep everything in, from `createStore(dbName, storeName)`; the store
   * owns that object store. It is left open by `close()`. Default: `createStore(dbName, 'checkpoints')`.
   */
  readonly store?: UseStore;
  /**
   * Database name of the default store (ignored when `store` is given). Default:
   * `'mcp-orchestration'`. The store creates its object store (`checkpoints`) with the database:
   * name a database of its own, not one the app already has (every call would fail with a
   * `StorageError`); to share the app's database, create an object store for the checkpoints in
   * the app's own upgrade (`onupgradeneeded`) and pass `store: createStore(dbName, thatName)`
   * (idb-keyval's `createStore` makes its object store only when it creates the database).
   */
  readonly dbName?: string;
  /** Most expired records a save removes on the way (0: only `sweepExpired` removes them). Default: 16. */
  readonly sweepPerSave?: number;
}

/** A {@link CheckpointStore} in IndexedDB, with an explicit sweep of expired records. */
export interface IndexedDbCheckpointStore extends CheckpointStore {
  /** Removes every expired record and its index entries now; returns how many records went. */
  sweepExpired(): Promise<number>;
}

/** Object store name of the default store. */
export const DEFAULT_OBJECT_STORE = 'checkpoints';
/** Database name of the default store. */
const DEFAULT_DB = 'mcp-orchestration';

/**
 * A {@link CheckpointStore} in the browser's IndexedDB, through idb-keyval. Each operation is
 * one IndexedDB transaction: a save checks the head (and `expectedSeq`, `expectedId`), writes
 * the body, index entries, expiry entry and new head in one readwrite transaction, so concurrent
 * saves — from
 * this page or from other tabs — are serialized by IndexedDB and never fork a task's sequence.
 * Expired records are hidden at once and removed by later saves (a few at a time) or by
 * {@link IndexedDbCheckpointStore.sweepExpired}. The key layout is in `indexeddb/layout.ts`.
 *
 * @example
 * ```ts
 * import { createStore } from 'idb-keyval';
 * import { CheckpointManager } from 'mcp-orchestration';
 * import { createIndexedDbStore } from 'mcp-orchestration/indexeddb';
 *
 * const store = createIndexedDbStore({ store: createStore('my-app', 'checkpoints') });
 * const manager = new CheckpointManager(store);
 * ```
 */
export function createIndexedDbStore(
  options: IndexedDbStoreOptions = {},
): IndexedDbCheckpointStore {
  const maxRecordBytes = maxRecordBytesOption(options.maxRecordBytes);
  const now = options.now ?? Date.now;
  const sweepPerSave = options.sweepPerSave ?? 16;
  if (!(Number.isSafeInteger(sweepPerSave) && sweepPerSave >= 0)) {
    throw new TypeError(`sweepPerSave must be an integer ≥ 0, got ${sweepPerSave}`);
  }
  const own = options.store === undefined ? ownDatabase(options.dbName ?? DEFAULT_DB) : undefined;
  const useStore = options.store ?? (own as OwnDatabase).useStore;
  let closed = false;
  /** Operations in flight, so `close()` can let them finish first. */
  const pending = new Set<Promise<void>>();

  function run<T>(
    mode: IDBTransactionMode,
    operation: string,
    body: (store: IDBObjectStore) => Promise<T>,
  ): Promise<T> {
    if (closed) {
      return Promise.reject(new StorageError('indexeddb', `${operation}: the store is closed`));
    }
    const result = runTransaction(useStore, mode, operation, body);
    const settled = result.then(ignore, ignore);
    pending.add(settled);
    void settled.then(() => pending.delete(settled));
    return result;
  }

  /** A task's index entries that are live at `time`, oldest first. */
  async function liveMetas(store: IDBObjectStore, taskId: string, time: number) {
    const metas = await indexEntries(store, taskId);
    return metas.filter((meta) => !isExpired(meta.expiresAt, time));
  }

  /** The index entry of a record by id, when live; `undefined` if missing or expired. */
  async function findLive(store: IDBObjectStore, taskId: string, id: string, time: number) {
    const seq = parseCount(taskId, id, await get(store, idKey(taskId, id)));
    if (seq === undefined) return undefined;
    const meta = parseIndex(taskId, id, await get(store, seqKey(taskId, seq)));
    if (meta === undefined) return undefined;
    if (meta.checkpointId !== id) {
      throw new CorruptRecordError(taskId, id, 'its index entry names another checkpoint');
    }
    return isExpired(meta.expiresAt, time) ? { expired: meta } : { live: meta };
  }

  /** Reads a record's body after checking its size in the index. */
  async function readRecord(
    store: IDBObjectStore,
    taskId: string,
    meta: IndexValue,
  ): Promise<CheckpointRecord> {
    const { checkpointId } = meta;
    const what = `Checkpoint ${checkpointId}`;
    if (meta.bytes > maxRecordBytes) {
      throw new RecordTooLargeError(what, meta.bytes, maxRecordBytes);
    }
    const body = await get(store, bodyKey(taskId, checkpointId));
    if (typeof body !== 'string') {
      throw new CorruptRecordError(taskId, checkpointId, `its body is ${describe(body)}`);
    }
    assertWithinLimit(what, body, maxRecordBytes);
    return { ...toMeta(taskId, meta), body };
  }

  return {
    name: 'indexeddb',
    appendsOnSave: true,

    save(record: NewCheckpointRecord, saveOptions?: SaveRecordOptions): Promise<SavedRecord> {
      assertSavable(record, saveOptions, maxRecordBytes);
      const { taskId, checkpointId, createdAt, expiresAt, body } = record;
      const bytes = utf8Length(body);
      const expected = saveOptions?.expectedSeq;
      const time = now();
      return run('readwrite', 'save', async (store) => {
        const head = await readHead(store, taskId, time);
        if (expected !== undefined && expected !== head.seq) {
          throw new CheckpointConflictError(taskId, expected, head.seq);
        }
        // The live record at the head has another id: the task was deleted and started again.
        const expectedId = saveOptions?.expectedId;
        if (expectedId !== undefined && head.seq > 0) {
          const atHead = parseIndex(taskId, 'index', await get(store, seqKey(taskId, head.seq)));
          if (
            atHead !== undefined &&
            !isExpired(atHead.expiresAt, time) &&
            atHead.checkpointId !== expectedId
          ) {
            throw new CheckpointConflictError(taskId, head.seq, head.seq);
          }
        }
        // No live head: whatever records remain are expired leftovers (the sweep may have
        // removed the head first), so clear them before sequence numbers start again at 1.
        if (head.live === undefined) await purgeRecords(store, taskId);
        else {
          const existing = await findLive(store, taskId, checkpointId, time);
          if (existing?.live) throw new CheckpointExistsError(taskId, checkpointId);
          if (existing?.expired) await removeRecord(store, taskId, existing.expired);
        }
        const seq = head.seq + 1;
        const meta: IndexValue =
          expiresAt === undefined
            ? { seq, checkpointId, createdAt, bytes }
            : { seq, checkpointId, createdAt, expiresAt, bytes };
        store.put(body, bodyKey(taskId, checkpointId));
        store.put(meta, seqKey(taskId, seq));
        store.put(seq, idKey(taskId, checkpointId));
        if (expiresAt !== undefined) store.put(checkpointId, expiryKey(expiresAt, taskId, seq));
        store.put(nextHead(head.live, seq, expiresAt), headKey(taskId));
        const append = saveOptions?.appendLog;
        if (append !== undefined) await appendEntries(store, taskId, append.name, append.entries);
        await sweep(store, time, sweepPerSave);
        return { seq };
      });
    },

    load(taskId: string, checkpointId: string): Promise<CheckpointRecord | undefined> {
      assertValidId('taskId', taskId);
      assertValidId('checkpointId', checkpointId);
      const time = now();
      return run('readonly', 'load', async (store) => {
        const found = await findLive(store, taskId, checkpointId, time);
        return found?.live ? readRecord(store, taskId, found.live) : undefined;
      });
    },

    latest(taskId: string): Promise<CheckpointRecord | undefined> {
      assertValidId('taskId', taskId);
      const time = now();
      return run('readonly', 'latest', async (store) => {
        let newest: IndexValue | undefined;
        await walk(store.openCursor(seqRange(taskId), 'prev'), (cursor) => {
          const meta = parseIndex(taskId, 'index', cursor.value) as IndexValue;
          if (isExpired(meta.expiresAt, time)) return true;
          newest = meta;
          return false;
        });
        return newest === undefined ? undefined : readRecord(store, taskId, newest);
      });
    },

    list(taskId: string): Promise<CheckpointRecordMeta[]> {
      assertValidId('taskId', taskId);
      const time = now();
      return run('readonly', 'list', async (store) => {
        const metas = await liveMetas(store, taskId, time);
        return metas.reverse().map((meta) => toMeta(taskId, meta));
      });
    },

    delete(taskId: string, checkpointId: string): Promise<boolean> {
      assertValidId('taskId', taskId);
      assertValidId('checkpointId', checkpointId);
      const time = now();
      return run('readwrite', 'delete', async (store) => {
        const found = await findLive(store, taskId, checkpointId, time);
        const meta = found?.live ?? found?.expired;
        if (meta !== undefined) await removeRecord(store, taskId, meta);
        if (found?.live === undefined) return false;
        const left = await indexEntries(store, taskId);
        await headLivesWith(
          store,
          taskId,
          time,
          left.filter((m) => !isExpired(m.expiresAt, time)),
        );
        return true;
      });
    },

    deleteOld(taskId: string, keepLatest: number): Promise<number> {
      assertValidId('taskId', taskId);
      assertKeepLatest(keepLatest);
      const time = now();
      return run('readwrite', 'deleteOld', async (store) => {
        const metas = await indexEntries(store, taskId);
        const live = metas.filter((meta) => !isExpired(meta.expiresAt, time));
        const doomed = live.slice(0, Math.max(0, live.length - keepLatest));
        const expired = metas.filter((meta) => isExpired(meta.expiresAt, time));
        for (const meta of [...doomed, ...expired]) await removeRecord(store, taskId, meta);
        if (doomed.length > 0) await headLivesWith(store, taskId, time, live.slice(doomed.length));
        return doomed.length;
      });
    },

    head(taskId: string): Promise<number> {
      assertValidId('taskId', taskId);
      const time = now();
      return run('readonly', 'head', async (store) => (await readHead(store, taskId, time)).seq);
    },

    appendLog(taskId: string, name: string, entries: readonly string[]): Promise<number> {
      assertValidId('taskId', taskId);
      assertValidId('log name', name);
      assertLogEntries(entries, maxRecordBytes, name);
      const mode = entries.length === 0 ? 'readonly' : 'readwrite';
      return run(mode, 'appendLog', (store) => appendEntries(store, taskId, name, entries));
    },

    // Async, so that bad arguments reject the promise (a throw here would escape it).
    async appendLogAt(
      taskId: string,
      name: string,
      at: number,
      entries: readonly string[],
      appendOptions?: AppendLogAtOptions,
    ): Promise<ConditionalAppend> {
      assertAppendLogAtArgs(taskId, name, at, entries, maxRecordBytes);
      const requireHead = appendOptions?.requireHead === true;
      const time = now();
      const mode = entries.length === 0 ? 'readonly' : 'readwrite';
      // One transaction: the length and the head are checked where the entries are written, so
      // a deleteTask (from this page or another tab) comes wholly before or after it.
      return run(mode, 'appendLogAt', async (store) => {
        const [length, head] = await Promise.all([
          appendEntries(store, taskId, name, []),
          requireHead ? readHead(store, taskId, time) : undefined,
        ]);
        if (length !== at || head?.seq === 0) return { appended: false, length };
        return { appended: true, length: await appendEntries(store, taskId, name, entries) };
      });
    },

    readLog(taskId: string, name: string, readOptions?: ReadLogOptions): Promise<string[]> {
      assertValidId('taskId', taskId);
      assertValidId('log name', name);
      assertReadLogOptions(readOptions);
      const from = readOptions?.from ?? 0;
      const limit = readOptions?.limit;
      if (limit === 0) return run('readonly', 'readLog', async () => []);
      const to = limit === undefined ? Number.POSITIVE_INFINITY : from + limit;
      return run('readonly', 'readLog', async (store) => {
        const values = await request(store.getAll(logRange(taskId, name, from, to)));
        for (const value of values) {
          if (typeof value !== 'string') {
            throw new CorruptRecordError(taskId, `log ${name}`, `an entry is ${describe(value)}`);
          }
        }
        assertLogEntriesRead(values as string[], from, maxRecordBytes, name);
        return values as string[];
      });
    },

    deleteTask(taskId: string): Promise<boolean> {
      assertValidId('taskId', taskId);
      const time = now();
      return run('readwrite', 'deleteTask', async (store) => {
        const [count, head, logLength] = await Promise.all([
          request(store.count(taskRange(taskId))),
          readHead(store, taskId, time).catch(unlessCorrupt),
          request(store.getKey(logLengthRange(taskId))),
        ]);
        if (count === 0) return false;
        await purgeRecords(store, taskId);
        store.delete(taskRange(taskId));
        // What existed is what `listTasks` lists: a live head (a live record keeps it live), a
        // log, or a damaged head. The lease and expired records the sweep has not reached yet
        // go too, but they are not a task that existed.
        return head === undefined || head.seq > 0 || logLength !== undefined;
      });
    },

    // Async, so that bad options reject the promise (a throw here would escape it).
    async listTasks(listOptions?: ListTasksOptions): Promise<string[]> {
      const { after, limit } = listTasksOptions(listOptions);
      const time = now();
      // One readonly transaction: a consistent snapshot of the tasks, even with other tabs writing.
      return run('readonly', 'listTasks', (store) => liveTaskIds(store, after, limit, time));
    },

    ...leaseMethods(run, now),

    sweepExpired(): Promise<number> {
      const time = now();
      return run('readwrite', 'sweepExpired', (store) =>
        sweep(store, time, Number.POSITIVE_INFINITY),
      );
    },

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await Promise.all(pending);
      await own?.close();
    },
  };
}

/** Appends checked entries to a task's log in `store`'s transaction; returns its new length. */
async function appendEntries(
  store: IDBObjectStore,
  taskId: string,
  name: string,
  entries: readonly string[],
): Promise<number> {
  const key = logLengthKey(taskId, name);
  const length = parseCount(taskId, `log ${name}`, await get(store, key)) ?? 0;
  if (entries.length === 0) return length;
  entries.forEach((entry, i) => {
    store.put(entry, logKey(taskId, name, length + i));
  });
  store.put(length + entries.length, key);
  return length + entries.length;
}

/** The head after saving record `seq`: it lapses with the last record to expire, or never. */
function nextHead(
  live: HeadValue | undefined,
  seq: number,
  expiresAt: number | undefined,
): HeadValue {
  if (expiresAt === undefined || (live !== undefined && live.expiresAt === undefined)) {
    return { seq };
  }
  return { seq, expiresAt: Math.max(expiresAt, live?.expiresAt ?? expiresAt) };
}

/** Closes a transaction's connection; settles when the transaction has ended. */
/** The default store's database, opened by the store itself (see {@link ownDatabase}). */
interface OwnDatabase {
  readonly useStore: UseStore;
  /** Closes the connection, once opened (whether or not the object store was found). */
  close(): Promise<void>;
}

/**
 * Opens `dbName` on first use as idb-keyval's `createStore(dbName, 'checkpoints')` does (the
 * object store is created with the database), keeping the connection so that `close()` always
 * closes it: through idb-keyval it is reachable only by a transaction on that object store, so a
 * database the app already had without it could never be closed (nor deleted).
 */
function ownDatabase(dbName: string): OwnDatabase {
  let db: Promise<IDBDatabase> | undefined;
  const open = () => {
    if (db !== undefined) return db;
    const req = indexedDB.open(dbName);
    req.onupgradeneeded = () => req.result.createObjectStore(DEFAULT_OBJECT_STORE);
    const opened: Promise<IDBDatabase> = request(req).then((connection) => {
      // A connection the browser closed (site data cleared) or that another page needs gone
      // (deleting or upgrading the database) is let go, and the next operation opens it again:
      // kept, it would fail every call (or block the other page) until a reload.
      const forget = () => {
        if (db === opened) db = undefined;
      };
      connection.onclose = forget;
      connection.onversionchange = () => {
        connection.close();
        forget();
      };
      return connection;
    });
    db = opened;
    return opened;
  };
  return {
    useStore: (mode, callback) =>
      open().then((connection) =>
        callback(
          connection.transaction(DEFAULT_OBJECT_STORE, mode).objectStore(DEFAULT_OBJECT_STORE),
        ),
      ),
    close: async () => {
      const connection = await db?.catch(ignore);
      connection?.close();
    },
  };
}

function ignore(): void {}

/** `undefined` for a `CorruptRecordError` (a damaged head), else the error again. */
function unlessCorrupt(error: unknown): undefined {
  if (isOrchestrationError(error, 'CORRUPT_RECORD')) return undefined;
  throw error;
}

function toMeta(taskId: string, meta: IndexValue): CheckpointRecordMeta {
  const { seq, checkpointId, createdAt, expiresAt } = meta;
  return expiresAt === undefined
    ? { taskId, checkpointId, seq, createdAt }
    : { taskId, checkpointId, seq, createdAt, expiresAt };
}

function describe(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  return Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}
