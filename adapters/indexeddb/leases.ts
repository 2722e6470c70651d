import type {
  CheckpointStore,
  LeaseClaim,
  TaskLease,
} from '../../src/checkpoint/checkpoint-store.js';
import { assertLeaseArgs, liveAt } from '../../src/checkpoint/store-guards.js';
import { assertValidId } from '../../src/ids.js';
import { leaseKey, parseLease } from './layout.js';
import { get } from './records.js';

/** How the store runs one operation in ONE transaction (see `runTransaction`). */
export type RunTransaction = <T>(
  mode: IDBTransactionMode,
  operation: string,
  body: (store: IDBObjectStore) => Promise<T>,
) => Promise<T>;

/** The lease methods of a {@link CheckpointStore}. */
export type LeaseMethods = Pick<CheckpointStore, 'claimLease' | 'releaseLease' | 'readLease'>;

/**
 * The IndexedDB store's task leases, one key per task: `['task', taskId, 'lease']`. Each method
 * is ONE transaction, so a claim reads and writes the lease atomically: IndexedDB runs readwrite
 * transactions on an object store one at a time, across connections and tabs too, so of owners
 * racing for a free lease exactly one finds it free. A lapsed lease stays stored until the task's
 * next claim or release (or `deleteTask`) and reads as none. A wrong-shaped lease is a
 * `CorruptRecordError` for all three methods. The methods are async, so that bad arguments
 * reject the promise.
 */
export function leaseMethods(run: RunTransaction, now: () => number): LeaseMethods {
  return {
    async claimLease(taskId: string, owner: string, ttlMs: number): Promise<LeaseClaim> {
      assertLeaseArgs(taskId, owner, ttlMs);
      const time = now();
      return run('readwrite', 'claimLease', async (store) => {
        const held = await liveLease(store, taskId, time);
        if (held.live !== undefined && held.live.owner !== owner) {
          return { granted: false, lease: held.live };
        }
        const lease: TaskLease = { owner, expiresAt: time + ttlMs };
        store.put(lease, leaseKey(taskId));
        return { granted: true, lease: { ...lease } };
      });
    },

    async releaseLease(taskId: string, owner: string): Promise<boolean> {
      assertLeaseArgs(taskId, owner);
      const time = now();
      return run('readwrite', 'releaseLease', async (store) => {
        const { stored, live } = await liveLease(store, taskId, time);
        const held = live?.owner === owner;
        // Another owner's live lease stays; a lapsed one goes (no reader can tell it apart).
        if (held || (stored && live === undefined)) store.delete(leaseKey(taskId));
        return held;
      });
    },

    async readLease(taskId: string): Promise<TaskLease | undefined> {
      assertValidId('taskId', taskId);
      const time = now();
      return run(
        'readonly',
        'readLease',
        async (store) => (await liveLease(store, taskId, time)).live,
      );
    },
  };
}

/** The task's stored lease (lapsed or not) and, if live at `time`, the lease itself. */
async function liveLease(
  store: IDBObjectStore,
  taskId: string,
  time: number,
): Promise<{ stored: boolean; live: TaskLease | undefined }> {
  const lease = parseLease(taskId, await get(store, leaseKey(taskId)));
  return { stored: lease !== undefined, live: liveAt(lease, time) };
}
