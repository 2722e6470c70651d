import { get, set } from 'idb-keyval';
import { isOrchestrationError } from 'mcp-orchestration';
import { createIndexedDbStore } from 'mcp-orchestration/indexeddb';
import { describe, expect, it } from 'vitest';
import { headKey, leaseKey } from '../../adapters/indexeddb/layout.js';
import { manualClock, storedKeys, testRecord, useTestDatabases } from './indexeddb-harness.js';

const MINUTE = 60_000;

/**
 * What the IndexedDB store's leases guarantee beyond the conformance suite: the one lease key,
 * its place among a task's keys (not listed, not counted by `deleteTask`, kept by saves), lapsed
 * leases cleared by a release, wrong-shaped ones reported, and claims racing over two
 * connections. Declared next to `describeIndexedDbSpecifics` (fake-indexeddb and Chromium).
 */
export function describeIndexedDbLeases(label: string): void {
  describe(`IndexedDB store leases: ${label}`, () => {
    const { openDb, connect } = useTestDatabases();
    const clock = manualClock;
    const record = testRecord;

    const code = (promise: Promise<unknown>) =>
      promise.then(
        () => 'resolved',
        (e: unknown) => (isOrchestrationError(e) ? e.code : String(e)),
      );

    it('a lease is one key, which neither lists a task nor makes deleteTask find one', async () => {
      const { idb } = openDb();
      const time = clock();
      const store = createIndexedDbStore({ store: idb, now: time.now });
      await store.claimLease('task-1', 'worker-a', 5 * MINUTE);
      expect(await storedKeys(idb)).toEqual([JSON.stringify(leaseKey('task-1'))]);
      expect(await get(leaseKey('task-1'), idb)).toEqual({
        owner: 'worker-a',
        expiresAt: time.now() + 5 * MINUTE,
      });
      expect(await store.listTasks()).toEqual([]);
      expect(await store.head('task-1')).toBe(0);
      // deleteTask removes a lone lease, yet reports that no task existed.
      expect(await store.deleteTask('task-1')).toBe(false);
      expect(await storedKeys(idb)).toEqual([]);
      expect(await store.readLease('task-1')).toBeUndefined();
    });

    it('saves keep the lease, also when a lapsed head clears the old records', async () => {
      const { idb } = openDb();
      const time = clock();
      const store = createIndexedDbStore({ store: idb, now: time.now, sweepPerSave: 0 });
      await store.save(record('task-1', 'cp-1', time.now(), 10));
      const { lease } = await store.claimLease('task-1', 'worker-a', 5 * MINUTE);
      time.advance(10);
      // The head lapsed: this save purges the task's records before starting again at 1.
      expect(await store.save(record('task-1', 'cp-2', time.now()))).toEqual({ seq: 1 });
      expect(await store.readLease('task-1')).toEqual(lease);
      expect(await store.listTasks()).toEqual(['task-1']);
      expect(await store.deleteTask('task-1')).toBe(true);
      expect(await storedKeys(idb)).toEqual([]);
    });

    it('a release clears a lapsed lease, and keeps another owner’s live one', async () => {
      const { idb } = openDb();
      const time = clock();
      const store = createIndexedDbStore({ store: idb, now: time.now });
      await store.claimLease('task-1', 'worker-a', MINUTE);
      expect(await store.releaseLease('task-1', 'worker-b')).toBe(false);
      expect(await get(leaseKey('task-1'), idb)).toMatchObject({ owner: 'worker-a' });
      time.advance(MINUTE);
      expect(await get(leaseKey('task-1'), idb)).toMatchObject({ owner: 'worker-a' });
      expect(await store.releaseLease('task-1', 'worker-b')).toBe(false);
      expect(await get(leaseKey('task-1'), idb)).toBeUndefined();
    });

    it('a wrong-shaped lease is a CorruptRecordError, and leaves other tasks alone', async () => {
      const { idb } = openDb();
      const store = createIndexedDbStore({ store: idb });
      await store.save(record('task-2', 'cp-1', Date.now()));
      const damaged = [
        'not a lease',
        { owner: 'worker-a' },
        { owner: 'a/b', expiresAt: Date.now() + MINUTE },
        { owner: 'worker-a', expiresAt: '1' },
        [{ owner: 'worker-a', expiresAt: 1 }],
      ];
      for (const value of damaged) {
        await set(leaseKey('task-1'), value, idb);
        expect(await code(store.readLease('task-1'))).toBe('CORRUPT_RECORD');
        expect(await code(store.claimLease('task-1', 'worker-a', MINUTE))).toBe('CORRUPT_RECORD');
        expect(await code(store.releaseLease('task-1', 'worker-a'))).toBe('CORRUPT_RECORD');
        expect(await get(leaseKey('task-1'), idb)).toEqual(value); // nothing was written
      }
      expect(await store.listTasks()).toEqual(['task-2']);
      expect(await store.claimLease('task-2', 'worker-a', MINUTE)).toMatchObject({ granted: true });
      expect(await store.deleteTask('task-1')).toBe(false);
      expect(await store.readLease('task-1')).toBeUndefined();
    });

    it('claims racing over two connections (two tabs): exactly one owner wins', async () => {
      const { dbName, idb } = openDb();
      const other = connect(dbName);
      const tabs = [createIndexedDbStore({ store: idb }), createIndexedDbStore({ store: other })];
      await tabs[0]?.save(record('task-1', 'cp-1', Date.now()));
      for (const taskId of ['task-1', 'task-2']) {
        const claims = await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            tabs[i % 2]?.claimLease(taskId, `worker-${i}`, 5 * MINUTE),
          ),
        );
        const winners = claims.filter((claim) => claim?.granted);
        expect(winners).toHaveLength(1);
        for (const claim of claims) expect(claim?.lease).toEqual(winners[0]?.lease);
        expect(await tabs[1]?.readLease(taskId)).toEqual(winners[0]?.lease);
      }
      expect(await get(headKey('task-1'), idb)).toEqual({ seq: 1 });
    });
  });
}
