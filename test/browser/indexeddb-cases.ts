import { get, keys, set, setMany, type UseStore } from 'idb-keyval';
import { isOrchestrationError, OrchestrationError } from 'mcp-orchestration';
import { createIndexedDbStore } from 'mcp-orchestration/indexeddb';
import { describe, expect, it } from 'vitest';
import {
  bodyKey,
  expiryKey,
  headKey,
  idKey,
  logKey,
  logLengthKey,
  seqKey,
} from '../../adapters/indexeddb/layout.js';
import { request, runTransaction } from '../../adapters/indexeddb/transaction.js';
import {
  closeConnection,
  deleteDatabaseReporting,
  manualClock,
  storedKeys,
  testRecord,
  uniqueDbName,
  useTestDatabases,
} from './indexeddb-harness.js';

/**
 * What the IndexedDB store guarantees beyond the shared conformance suite: its key layout, the
 * sweep, cross-connection atomicity, reads refused by size before the body is fetched, and how
 * backend failures surface. Declared by `test/adapters/indexeddb.adapter.test.ts` (Node,
 * fake-indexeddb) and `test/browser/indexeddb.adapter.browser.test.ts` (real Chromium).
 */
export function describeIndexedDbSpecifics(label: string): void {
  describe(`IndexedDB store specifics: ${label}`, () => {
    const { openDb, connect, deleteAfter, own } = useTestDatabases();
    const clock = manualClock;
    const record = testRecord;

    const asJson = (list: IDBValidKey[]) => list.map((key) => JSON.stringify(key)).sort();

    it('writes exactly the documented keys, and deleteTask removes all of a task', async () => {
      const { idb } = openDb();
      const time = clock();
      const store = createIndexedDbStore({ store: idb, now: time.now });
      const t = time.now();
      await store.save(record('task-1', 'cp-a', t));
      await store.save(record('task-1', 'cp-b', t, 5_000));
      await store.appendLog('task-1', 'lineage', ['x', 'y']);
      await store.save(record('task-2', 'cp-a', t));
      const task1 = [
        headKey('task-1'),
        seqKey('task-1', 1),
        seqKey('task-1', 2),
        idKey('task-1', 'cp-a'),
        idKey('task-1', 'cp-b'),
        bodyKey('task-1', 'cp-a'),
        bodyKey('task-1', 'cp-b'),
        expiryKey(t + 5_000, 'task-1', 2),
        logLengthKey('task-1', 'lineage'),
        logKey('task-1', 'lineage', 0),
        logKey('task-1', 'lineage', 1),
      ];
      const task2 = [headKey('task-2'), seqKey('task-2', 1), idKey('task-2', 'cp-a')];
      task2.push(bodyKey('task-2', 'cp-a'));
      expect(await storedKeys(idb)).toEqual(asJson([...task1, ...task2]));
      expect(await get(bodyKey('task-1', 'cp-b'), idb)).toBe('body of cp-b');
      expect(await get(headKey('task-1'), idb)).toEqual({ seq: 2 });
      expect(await store.deleteTask('task-1')).toBe(true);
      expect(await storedKeys(idb)).toEqual(asJson(task2));
    });

    it('sweepExpired removes expired records, their index entries and lapsed heads', async () => {
      const { idb } = openDb();
      const time = clock();
      const store = createIndexedDbStore({ store: idb, now: time.now, sweepPerSave: 0 });
      const t = time.now();
      for (const id of ['a', 'b', 'c']) await store.save(record('gone', id, t, 100));
      await store.appendLog('gone', 'lineage', ['kept']);
      await store.save(record('mixed', 'forever', t));
      await store.save(record('mixed', 'brief', t, 100));
      await store.save(record('mixed', 'later', t, 10_000));
      time.advance(100);
      // 'gone': 3 records × (index, id, body, expiry) + head + log length + 1 entry = 15;
      // 'mixed': 3 records × (index, id, body) + 2 expiry entries + head = 12.
      expect(await storedKeys(idb)).toHaveLength(27);
      expect(await store.sweepExpired()).toBe(4);
      expect(await storedKeys(idb)).toEqual(
        asJson([
          logLengthKey('gone', 'lineage'),
          logKey('gone', 'lineage', 0),
          headKey('mixed'),
          ...['forever', 'later'].flatMap((id) => [idKey('mixed', id), bodyKey('mixed', id)]),
          seqKey('mixed', 1),
          seqKey('mixed', 3),
          expiryKey(t + 10_000, 'mixed', 3),
        ]),
      );
      expect(await store.sweepExpired()).toBe(0);
      expect(await store.head('mixed')).toBe(3);
      expect(await store.readLog('gone', 'lineage')).toEqual(['kept']);
    });

    it('each save sweeps at most sweepPerSave expired records', async () => {
      const { idb } = openDb();
      const time = clock();
      const store = createIndexedDbStore({ store: idb, now: time.now, sweepPerSave: 2 });
      for (let i = 0; i < 5; i++) await store.save(record('old', `cp-${i}`, time.now(), 10));
      time.advance(10);
      const queued = async () =>
        (await keys(idb)).filter((key) => Array.isArray(key) && key[0] === 'expiry').length;
      expect(await queued()).toBe(5);
      await store.save(record('new', 'cp-1', time.now()));
      expect(await queued()).toBe(3);
      await store.save(record('new', 'cp-2', time.now()));
      await store.save(record('new', 'cp-3', time.now()));
      expect(await queued()).toBe(0);
      expect((await storedKeys(idb)).filter((key) => key.includes('"old"'))).toEqual([]);
      expect(() => createIndexedDbStore({ store: idb, sweepPerSave: -1 })).toThrow(TypeError);
      for (const maxRecordBytes of [Number.NaN, 0, -5, 1.5]) {
        expect(() => createIndexedDbStore({ store: idb, maxRecordBytes })).toThrow(
          /^maxRecordBytes must be an integer > 0/,
        );
      }
    });

    it('a task whose head lapsed starts again cleanly while the sweep is unfinished', async () => {
      const { idb } = openDb();
      const time = clock();
      const store = createIndexedDbStore({ store: idb, now: time.now, sweepPerSave: 0 });
      const sweeper = createIndexedDbStore({ store: idb, now: time.now, sweepPerSave: 1 });
      for (const id of ['a', 'b', 'c']) await store.save(record('task-1', id, time.now(), 10));
      time.advance(10);
      // This save sweeps one record of task-1 (seq 1), and with it task-1's lapsed head.
      await sweeper.save(record('task-2', 'other', time.now()));
      expect(await get(headKey('task-1'), idb)).toBeUndefined();
      expect(await get(idKey('task-1', 'b'), idb)).toBe(2); // an expired leftover
      const saved = [];
      for (const id of ['x', 'y']) saved.push(await store.save(record('task-1', id, time.now())));
      expect(saved).toEqual([{ seq: 1 }, { seq: 2 }]);
      expect(await store.load('task-1', 'b')).toBeUndefined();
      expect(await store.load('task-1', 'c')).toBeUndefined();
      expect((await store.list('task-1')).map((meta) => [meta.checkpointId, meta.seq])).toEqual([
        ['y', 2],
        ['x', 1],
      ]);
      expect((await storedKeys(idb)).filter((key) => key.includes('"task-1"'))).toEqual(
        asJson([
          headKey('task-1'),
          ...['x', 'y'].flatMap((id) => [idKey('task-1', id), bodyKey('task-1', id)]),
          seqKey('task-1', 1),
          seqKey('task-1', 2),
        ]),
      );
    });

    it('two connections to one database (two tabs) never fork a sequence', async () => {
      const { dbName, idb } = openDb();
      const other = connect(dbName);
      const tabs = [createIndexedDbStore({ store: idb }), createIndexedDbStore({ store: other })];
      const [dbA, dbB] = await Promise.all(
        [idb, other].map((use) => use('readonly', (s) => s.transaction.db)),
      );
      expect(dbA).not.toBe(dbB); // two real connections
      const t = Date.now();
      const first = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) =>
          tabs[i % 2]?.save(record('task-1', `first-${i}`, t), { expectedSeq: 0 }),
        ),
      );
      expect(first.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1);
      for (const outcome of first) {
        if (outcome.status === 'rejected') {
          expect(isOrchestrationError(outcome.reason, 'CHECKPOINT_CONFLICT')).toBe(true);
        }
      }
      const burst = await Promise.all(
        Array.from({ length: 100 }, (_, i) => tabs[i % 2]?.save(record('task-1', `b-${i}`, t))),
      );
      const seqs = burst.map((saved) => saved?.seq ?? 0).sort((x, y) => x - y);
      expect(seqs).toEqual(Array.from({ length: 100 }, (_, i) => i + 2));
      expect(await tabs[0]?.head('task-1')).toBe(101);
      expect((await tabs[1]?.list('task-1'))?.map((meta) => meta.seq)).toEqual(
        Array.from({ length: 101 }, (_, i) => 101 - i),
      );
    });

    it('refuses an oversized record on read before fetching its body', async () => {
      const { idb } = openDb();
      const writer = createIndexedDbStore({ store: idb });
      const t = Date.now();
      await writer.save({ ...record('task-1', 'big', t), body: 'x'.repeat(2_000) });
      await writer.save({ ...record('task-1', 'small', t), body: 'x'.repeat(10) });
      // A wrong-shaped body is reported only if the body is read: the size check comes first.
      await set(bodyKey('task-1', 'big'), 12345, idb);
      const reader = createIndexedDbStore({ store: idb, maxRecordBytes: 1_000 });
      const error = await reader.load('task-1', 'big').catch((e: unknown) => e);
      expect(isOrchestrationError(error, 'RECORD_TOO_LARGE')).toBe(true);
      expect(error).toMatchObject({ bytes: 2_000, limit: 1_000 });
      await reader.delete('task-1', 'small');
      const latest = await reader.latest('task-1').catch((e: unknown) => e);
      expect(isOrchestrationError(latest, 'RECORD_TOO_LARGE')).toBe(true);
      expect((await reader.list('task-1')).map((meta) => meta.checkpointId)).toEqual(['big']);
      const corrupt = await writer.load('task-1', 'big').catch((e: unknown) => e);
      expect(isOrchestrationError(corrupt, 'CORRUPT_RECORD')).toBe(true);
    });

    it('wrong-shaped index entries, heads and counters are CorruptRecordErrors', async () => {
      const { idb } = openDb();
      const store = createIndexedDbStore({ store: idb });
      const t = Date.now();
      await store.save(record('task-1', 'cp-1', t));
      await store.save(record('task-2', 'cp-1', t));
      await store.appendLog('task-3', 'lineage', ['a']);
      await set(seqKey('task-1', 1), { seq: 'one' }, idb);
      await set(headKey('task-2'), 'not a head', idb);
      await set(logLengthKey('task-3', 'lineage'), -4, idb);
      const code = (promise: Promise<unknown>) =>
        promise.then(
          () => 'resolved',
          (e: unknown) => (isOrchestrationError(e) ? e.code : String(e)),
        );
      expect(await code(store.list('task-1'))).toBe('CORRUPT_RECORD');
      expect(await code(store.latest('task-1'))).toBe('CORRUPT_RECORD');
      expect(await code(store.load('task-1', 'cp-1'))).toBe('CORRUPT_RECORD');
      expect(await code(store.head('task-2'))).toBe('CORRUPT_RECORD');
      expect(await code(store.save(record('task-2', 'cp-2', t)))).toBe('CORRUPT_RECORD');
      expect(await code(store.appendLog('task-3', 'lineage', ['b']))).toBe('CORRUPT_RECORD');
      expect(await store.deleteTask('task-1')).toBe(true); // still removable
      expect(await store.list('task-1')).toEqual([]);
      // Listing reads each head it passes, as head() does; a damaged one is listed (the task
      // exists; reading it says why it is unusable) and does not hide the others.
      expect(await store.listTasks()).toEqual(['task-2', 'task-3']);
      expect(await store.listTasks({ after: 'task-2' })).toEqual(['task-3']);
      // An index entry naming an id that load would refuse is damage too.
      await store.save(record('task-4', 'cp-1', t));
      for (const checkpointId of ['evil id', 'x:y', '../../etc', 'a'.repeat(201)]) {
        await set(seqKey('task-4', 1), { seq: 1, checkpointId, createdAt: t, bytes: 4 }, idb);
        expect(await code(store.list('task-4'))).toBe('CORRUPT_RECORD');
        expect(await code(store.latest('task-4'))).toBe('CORRUPT_RECORD');
      }
    });

    it('listTasks judges each task by its head and logs, whatever else is stored', async () => {
      const { idb } = openDb();
      const time = clock();
      const store = createIndexedDbStore({ store: idb, now: time.now, sweepPerSave: 0 });
      const sweeper = createIndexedDbStore({ store: idb, now: time.now, sweepPerSave: 1 });
      const t = time.now();
      await store.save(record('lapsed', 'cp-1', t, 10));
      await store.save(record('lapsed-with-log', 'cp-1', t, 10));
      await store.appendLog('lapsed-with-log', 'lineage', ['kept']);
      for (const id of ['a', 'b']) await store.save(record('leftovers', id, t, 10));
      await store.save(record('live', 'cp-1', t, 1_000));
      time.advance(10);
      // Sweeps one record of 'lapsed' and its head; 'leftovers' keeps an unswept head.
      await sweeper.save(record('swept-by', 'cp-1', t));
      expect(await get(headKey('lapsed'), idb)).toBeUndefined();
      expect(await get(seqKey('lapsed', 1), idb)).toBeUndefined();
      expect(await get(headKey('leftovers'), idb)).toEqual({ seq: 2, expiresAt: t + 10 });
      // Keys the store never writes under 'task' (a number or binary id) and outside it.
      await set(['task', 7, 'head'], { seq: 1 }, idb);
      await set(['task', new Uint8Array([1]).buffer, 'head'], { seq: 1 }, idb);
      await set('unrelated', 1, idb);
      expect(await store.listTasks()).toEqual(['lapsed-with-log', 'live', 'swept-by']);
      // The limit counts listed tasks, not tasks passed over.
      expect(await store.listTasks({ limit: 2 })).toEqual(['lapsed-with-log', 'live']);
      expect(await store.listTasks({ after: 'lapsed', limit: 1 })).toEqual(['lapsed-with-log']);
      expect(await store.listTasks({ after: 'lapsed-with-log', limit: 1 })).toEqual(['live']);
      time.advance(1_000);
      expect(await store.listTasks()).toEqual(['lapsed-with-log', 'swept-by']);
    });

    it('listTasks walks past hundreds of tasks, live and lapsed, in one call or in pages', async () => {
      const { idb } = openDb();
      const time = clock();
      const store = createIndexedDbStore({ store: idb, now: time.now });
      const live: string[] = [];
      const entries: [IDBValidKey, unknown][] = [];
      // More tasks than one cursor visits (256): the walk goes on with a fresh cursor.
      for (let i = 0; i < 700; i++) {
        const id = `task-${String(i).padStart(3, '0')}`;
        // Every third task's head lapsed; every fifth has a log (listed even when lapsed).
        const lapsed = i % 3 === 0;
        entries.push([headKey(id), lapsed ? { seq: 1, expiresAt: time.now() } : { seq: 1 }]);
        entries.push([seqKey(id, 1), { seq: 1 }]);
        if (i % 5 === 0) entries.push([logLengthKey(id, 'lineage'), 1]);
        if (!lapsed || i % 5 === 0) live.push(id);
      }
      await setMany(entries, idb);
      expect(await store.listTasks({ limit: 10_000 })).toEqual(live);
      expect(await store.listTasks({ after: 'task-099', limit: 400 })).toEqual(
        live.filter((id) => id > 'task-099').slice(0, 400),
      );
      const pages: string[] = [];
      let after: string | undefined;
      for (;;) {
        const page = await store.listTasks({
          limit: 150,
          ...(after === undefined ? {} : { after }),
        });
        if (page.length === 0) break;
        pages.push(...page);
        after = page.at(-1);
      }
      expect(pages).toEqual(live);
    });

    it('listTasks orders ids that are prefixes of each other by code units', async () => {
      const { idb } = openDb();
      const store = createIndexedDbStore({ store: idb });
      const ids = ['a', 'a-b', 'a.b', 'a0', 'A', 'a_b', 'ab', 'a-', 'ab-c', 'a--'];
      for (const id of ids) await store.appendLog(id, 'lineage', [id]);
      const sorted = [...ids].sort();
      expect(sorted).toEqual(['A', 'a', 'a-', 'a--', 'a-b', 'a.b', 'a0', 'a_b', 'ab', 'ab-c']);
      expect(await store.listTasks()).toEqual(sorted);
      // `after` skips that task's keys only, never a longer id it is a prefix of.
      expect(await store.listTasks({ after: 'a', limit: 3 })).toEqual(['a-', 'a--', 'a-b']);
      expect(await store.listTasks({ after: 'a-' })).toEqual(sorted.slice(3));
      expect(await store.listTasks({ after: 'ab' })).toEqual(['ab-c']);
      expect(await store.listTasks({ after: 'a.' })).toEqual(sorted.slice(5));
      expect(await store.listTasks({ after: 'ab-c' })).toEqual([]);
    });

    it('a failing transaction is a StorageError carrying the cause', async () => {
      const { dbName, idb } = openDb();
      await set('created', true, idb); // the database now exists with only 'checkpoints'
      // What createStore(dbName, 'no-such-store') does, keeping the connection to close it.
      const db = await request(indexedDB.open(dbName));
      const wrong: UseStore = (mode, callback) =>
        Promise.resolve().then(() =>
          callback(db.transaction('no-such-store', mode).objectStore('no-such-store')),
        );
      const error = await createIndexedDbStore({ store: wrong })
        .head('task-1')
        .catch((e: unknown) => e);
      db.close();
      expect(isOrchestrationError(error, 'STORAGE_FAILED')).toBe(true);
      expect((error as Error).cause).toMatchObject({ name: 'NotFoundError' });
      const healthy = createIndexedDbStore({ store: idb });
      await healthy.save(record('task-1', 'cp-1', Date.now()));
      await closeConnection(idb); // the owner closes the connection under the store
      const closed = await healthy.load('task-1', 'cp-1').catch((e: unknown) => e);
      expect(isOrchestrationError(closed, 'STORAGE_FAILED')).toBe(true);
      expect((closed as Error).cause).toMatchObject({ name: 'InvalidStateError' });
    });

    it('a dbName naming a database the app already has: a StorageError that says what to do, and close() still closes', async () => {
      const { dbName } = openDb('app-data'); // the app's own database, without 'checkpoints'
      await set('app', 1, connect(dbName, 'app-data'));
      const store = own(createIndexedDbStore({ dbName }));
      const error = await store.head('task-1').catch((e: unknown) => e);
      expect(isOrchestrationError(error, 'STORAGE_FAILED')).toBe(true);
      expect((error as Error).message).toMatch(
        /NotFoundError.*give the store a database of its own/,
      );
      // Closed, its connection no longer blocks deleting the database (the test's cleanup).
      await store.close();
    });

    it("shares the app's database through an object store the app created in its own upgrade (the README's recipe)", async () => {
      const { dbName, idb: app } = openDb('app-data'); // the app's own database, version 1
      await set('app', 1, app);
      await closeConnection(app); // or it would block the upgrade
      // The app's next version adds an object store for the checkpoints.
      const upgrade = indexedDB.open(dbName, 2);
      upgrade.onupgradeneeded = () => upgrade.result.createObjectStore('orchestration');
      (await request(upgrade)).close();
      const shared = connect(dbName, 'orchestration'); // idb-keyval's createStore(dbName, …)
      const store = createIndexedDbStore({ store: shared });
      await store.save(record('task-1', 'cp-1', Date.now()));
      expect((await store.latest('task-1'))?.body).toBe('body of cp-1');
      expect(await get('app', connect(dbName, 'app-data'))).toBe(1); // the app's data untouched
      await closeConnection(shared);
    });

    it('a transaction that fails part-way leaves nothing behind', async () => {
      const { idb } = openDb();
      await set('before', 1, idb);
      const failure = await runTransaction(idb, 'readwrite', 'test', async (objectStore) => {
        objectStore.put(2, 'before');
        objectStore.put('written', 'during');
        throw new Error('boom');
      }).catch((e: unknown) => e);
      expect(isOrchestrationError(failure, 'STORAGE_FAILED')).toBe(true);
      expect((failure as Error).cause).toMatchObject({ message: 'boom' });
      const typed = new OrchestrationError('CHECKPOINT_CONFLICT', 'typed');
      const passed = await runTransaction(idb, 'readwrite', 'test', async (objectStore) => {
        objectStore.put('written', 'during');
        throw typed;
      }).catch((e: unknown) => e);
      expect(passed).toBe(typed);
      expect(await get('before', idb)).toBe(1);
      expect(await get('during', idb)).toBeUndefined();
    });

    it('the default store opens its own database, persists, and close() releases it', async () => {
      const dbName = uniqueDbName();
      deleteAfter(dbName);
      const first = own(createIndexedDbStore({ dbName }));
      await first.save(record('task-1', 'cp-1', Date.now()));
      await first.close();
      const closed = await first.head('task-1').catch((e: unknown) => e);
      expect(isOrchestrationError(closed, 'STORAGE_FAILED')).toBe(true);
      const reopened = own(createIndexedDbStore({ dbName })); // like a page reload
      expect((await reopened.latest('task-1'))?.body).toBe('body of cp-1');
      await reopened.close();
      // With every connection closed, deleting the database is not blocked.
      expect(await deleteDatabaseReporting(dbName)).toEqual({ blocked: false });
    });

    it('the default store lets its database be deleted by another page, and opens it again', async () => {
      const dbName = uniqueDbName();
      deleteAfter(dbName);
      const store = own(createIndexedDbStore({ dbName }));
      await store.save(record('task-1', 'cp-1', Date.now()));
      // Another tab deletes the database (or the user clears site data): not blocked.
      expect(await deleteDatabaseReporting(dbName)).toEqual({ blocked: false });
      // The store opens a new database at its next call: the task is gone, numbering starts over.
      expect(await store.head('task-1')).toBe(0);
      expect(await store.save(record('task-1', 'cp-2', Date.now()))).toEqual({ seq: 1 });
    });

    it('close() leaves an injected store open for its owner', async () => {
      const { idb } = openDb();
      const store = createIndexedDbStore({ store: idb });
      await store.save(record('task-1', 'cp-1', Date.now()));
      await store.close();
      expect(await get(bodyKey('task-1', 'cp-1'), idb)).toBe('body of cp-1');
      const after = await store.head('task-1').catch((e: unknown) => e);
      expect(isOrchestrationError(after, 'STORAGE_FAILED')).toBe(true);
    });
  });
}
