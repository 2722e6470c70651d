import { createStore, keys, set, setMany, type UseStore } from 'idb-keyval';
import { afterEach } from 'vitest';
import { bodyKey, logKey, logLengthKey } from '../../adapters/indexeddb/layout.js';
import { createIndexedDbStore } from '../../adapters/indexeddb.js';
import type { ConformanceHarness } from '../conformance/harness.js';

/**
 * The IndexedDB store's conformance harness, shared by the Node test (under fake-indexeddb) and
 * the browser test (real Chromium IndexedDB). Each store gets its own freshly named database,
 * injected as an idb-keyval `UseStore`; cleanup closes it and deletes the database.
 */
export const indexedDbHarness: ConformanceHarness = {
  async create({ now, maxRecordBytes }) {
    const dbName = uniqueDbName();
    const idb = createStore(dbName, 'checkpoints');
    const store = createIndexedDbStore({
      store: idb,
      now,
      ...(maxRecordBytes === undefined ? {} : { maxRecordBytes }),
    });
    return {
      store,
      // A wrong-shaped value where the body (a string) belongs, written with raw idb-keyval.
      corrupt: (taskId, checkpointId) =>
        set(bodyKey(taskId, checkpointId), { garbage: [1, 2, 3] }, idb),
      plantLog: (taskId, name, entries) =>
        setMany(
          [
            ...entries.map((entry, i): [IDBValidKey, string] => [logKey(taskId, name, i), entry]),
            [logLengthKey(taskId, name), entries.length],
          ],
          idb,
        ),
      async cleanup() {
        await store.close();
        await closeConnection(idb);
        await deleteDatabase(dbName);
      },
    };
  },
};

/** A database name no other test uses. */
export function uniqueDbName(): string {
  return `mcp-orchestration-test-${globalThis.crypto.randomUUID()}`;
}

/** Closes the connection an idb-keyval store keeps open (it has no API for it). */
export async function closeConnection(idb: UseStore): Promise<void> {
  await idb('readonly', (objectStore) => closeAfter(objectStore.transaction));
}

/** Closes a transaction's connection; settles once the transaction ended and the connection closed. */
function closeAfter(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve) => {
    tx.oncomplete = () => resolve();
    tx.onabort = () => resolve();
    tx.db.close();
  });
}

/** Deletes a database once its connections are closed. */
export function deleteDatabase(name: string): Promise<void> {
  return deleteDatabaseReporting(name).then(() => undefined);
}

/**
 * Deletes the database named `name`; resolves once it is gone with whether the delete was
 * blocked on the way (an open connection did not close when asked).
 */
export function deleteDatabaseReporting(name: string): Promise<{ blocked: boolean }> {
  return new Promise((resolve, reject) => {
    let blocked = false;
    const request = indexedDB.deleteDatabase(name);
    request.onblocked = () => {
      blocked = true;
    };
    request.onsuccess = () => resolve({ blocked });
    request.onerror = () => reject(request.error);
  });
}

/**
 * The databases of one `describe` block's tests: `openDb` makes a fresh one with an idb-keyval
 * store on it; after each test, the stores handed to `own` are closed, then the connections, and
 * the databases are deleted. Call it inside the `describe`.
 */
export function useTestDatabases() {
  const toDelete: string[] = [];
  const toClose: UseStore[] = [];
  const owned: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    for (const store of owned.splice(0)) await store.close();
    for (const idb of toClose.splice(0)) await closeConnection(idb).catch(() => undefined);
    for (const name of toDelete.splice(0)) await deleteDatabase(name);
  });
  return {
    /** A fresh database and an idb-keyval store on it. */
    openDb(storeName = 'checkpoints'): { dbName: string; idb: UseStore } {
      const dbName = uniqueDbName();
      toDelete.push(dbName);
      const idb = createStore(dbName, storeName);
      toClose.push(idb);
      return { dbName, idb };
    },
    /** Another connection to a database of this test (closed after it). */
    connect(dbName: string, storeName = 'checkpoints'): UseStore {
      const idb = createStore(dbName, storeName);
      toClose.push(idb);
      return idb;
    },
    /** Deletes the database named `dbName` after the test (one a store opened itself). */
    deleteAfter(dbName: string): void {
      toDelete.push(dbName);
    },
    /** Closes `store` after the test, before the connections. */
    own<T extends { close(): Promise<void> }>(store: T): T {
      owned.push(store);
      return store;
    },
  };
}

/** A clock for TTLs that moves only when told. */
export function manualClock() {
  let time = Date.now();
  return {
    now: () => time,
    advance(ms: number) {
      time += ms;
    },
  };
}

/** A record for `save`, created at `time` (expiring `ttlMs` later, if given). */
export function testRecord(taskId: string, checkpointId: string, time: number, ttlMs?: number) {
  return {
    taskId,
    checkpointId,
    createdAt: time,
    ...(ttlMs === undefined ? {} : { expiresAt: time + ttlMs }),
    body: `body of ${checkpointId}`,
  };
}

/** Every key in the object store, as JSON, sorted. */
export async function storedKeys(idb: UseStore): Promise<string[]> {
  return (await keys(idb)).map((key) => JSON.stringify(key)).sort();
}
