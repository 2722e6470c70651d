import { createStore, set, setMany, type UseStore } from 'idb-keyval';
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
  return new Promise((resolve, reject) => {
    const request = indexedDB.deleteDatabase(name);
    request.onsuccess = () => resolve();
    request.onerror = () => reject(request.error);
  });
}
