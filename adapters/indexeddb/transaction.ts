import type { UseStore } from 'idb-keyval';
import { OrchestrationError, StorageError } from '../../src/errors.js';

/**
 * Runs `body` inside ONE IndexedDB transaction of the store `useStore` opens, and settles when
 * the transaction has committed. When `body` fails, the transaction is aborted, so nothing it
 * wrote stays. `body` may await only IndexedDB requests (via {@link request}): awaiting anything
 * else lets the transaction commit early, which is reported as a `StorageError`.
 *
 * Errors that are already `OrchestrationError`s pass through; anything else (an aborted or failed
 * transaction, a closed connection, a missing object store) becomes a `StorageError` with the
 * original error as `cause`.
 */
export async function runTransaction<T>(
  useStore: UseStore,
  mode: IDBTransactionMode,
  operation: string,
  body: (store: IDBObjectStore) => Promise<T>,
): Promise<T> {
  try {
    return await useStore(mode, (store) => settleWithTransaction(store, body));
  } catch (error) {
    if (error instanceof OrchestrationError) throw error;
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    throw new StorageError('indexeddb', `${operation} failed (${message})${hintFor(error)}`, {
      cause: error,
    });
  }
}

/**
 * What to do about a failure the store cannot fix itself: idb-keyval creates its object store only
 * when it creates the database, so a `dbName` naming a database the app already has (without that
 * object store) fails every transaction with `NotFoundError`.
 */
function hintFor(error: unknown): string {
  if (!(error instanceof Error) || error.name !== 'NotFoundError') return '';
  return ": the database has no such object store (a database that already existed is not given one); give the store a database of its own (dbName), or create an object store for it in the app's own upgrade (onupgradeneeded) and pass store: createStore(dbName, thatStoreName)";
}

type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

function settleWithTransaction<T>(
  store: IDBObjectStore,
  body: (store: IDBObjectStore) => Promise<T>,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const tx = store.transaction;
    let outcome: Outcome<T> | undefined;
    tx.oncomplete = () => {
      if (outcome?.ok) resolve(outcome.value);
      else
        reject(outcome?.error ?? new Error('the transaction committed before the operation ended'));
    };
    tx.onabort = () => {
      if (outcome !== undefined && !outcome.ok) reject(outcome.error);
      else reject(tx.error ?? new Error('the transaction was aborted'));
    };
    body(store).then(
      (value) => {
        outcome = { ok: true, value };
      },
      (error: unknown) => {
        outcome = { ok: false, error };
        try {
          tx.abort();
        } catch {
          // Already committed or aborted: its own event settles the promise, or nothing will.
          reject(error);
        }
      },
    );
  });
}

/** The result of one IndexedDB request. */
export function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/**
 * Walks a cursor, calling `visit` for each position until it returns `false` or the range ends.
 * `visit` may issue requests but must not await them (the cursor moves on at once).
 */
export async function walk(
  req: IDBRequest<IDBCursorWithValue | null>,
  visit: (cursor: IDBCursorWithValue) => boolean,
): Promise<void> {
  let cursor = await request(req);
  while (cursor !== null) {
    if (!visit(cursor)) return;
    cursor.continue();
    cursor = await request(req);
  }
}
