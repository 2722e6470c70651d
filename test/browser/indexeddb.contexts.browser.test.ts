import type { LeaseClaim } from 'mcp-orchestration';
import { createIndexedDbStore, type IndexedDbCheckpointStore } from 'mcp-orchestration/indexeddb';
import { afterEach, expect, it } from 'vitest';
import type { ClaimerJob } from './indexeddb-claimer.worker.js';
import { deleteDatabase, uniqueDbName } from './indexeddb-harness.js';
import type { WriterJob, WriterOutcome } from './indexeddb-writer.worker.js';

// Writers and lease claimers in separate browsing contexts (dedicated workers: own event loop,
// own connection), racing the page on one database, as two tabs of one app would.

const workers: Worker[] = [];
const databases: string[] = [];
const stores: IndexedDbCheckpointStore[] = [];
afterEach(async () => {
  for (const worker of workers.splice(0)) worker.terminate();
  for (const store of stores.splice(0)) await store.close();
  for (const name of databases.splice(0)) await deleteDatabase(name);
});

function inWorker(job: WriterJob): Promise<WriterOutcome[]> {
  const worker = new Worker(new URL('./indexeddb-writer.worker.ts', import.meta.url), {
    type: 'module',
  });
  return answerOf(worker, job);
}

function claimInWorker(job: ClaimerJob): Promise<LeaseClaim[]> {
  const worker = new Worker(new URL('./indexeddb-claimer.worker.ts', import.meta.url), {
    type: 'module',
  });
  return answerOf(worker, job);
}

/** Sends `job` to a worker and settles with its one answer. */
function answerOf<T>(worker: Worker, job: unknown): Promise<T> {
  workers.push(worker);
  return new Promise((resolve, reject) => {
    worker.onmessage = (event: MessageEvent<T>) => resolve(event.data);
    worker.onerror = (event) => reject(new Error(`worker failed: ${event.message}`));
    worker.postMessage(job);
  });
}

it('writers in two workers and the page never fork a sequence', async () => {
  const dbName = uniqueDbName();
  databases.push(dbName);
  const page = createIndexedDbStore({ dbName });
  stores.push(page);
  const ids = (prefix: string) => Array.from({ length: 40 }, (_, i) => `${prefix}-${i}`);
  const [fromA, fromB, fromPage] = await Promise.all([
    inWorker({ dbName, taskId: 'task-1', ids: ids('a') }),
    inWorker({ dbName, taskId: 'task-1', ids: ids('b') }),
    Promise.all(
      ids('page').map(async (id) => ({
        id,
        seq: (await page.save({ taskId: 'task-1', checkpointId: id, createdAt: 0, body: id })).seq,
      })),
    ),
  ]);
  const all = [...fromA, ...fromB, ...fromPage];
  const seqs = all.map((outcome) => ('seq' in outcome ? outcome.seq : -1)).sort((x, y) => x - y);
  expect(seqs).toEqual(Array.from({ length: 120 }, (_, i) => i + 1));
  const listed = await page.list('task-1');
  expect(listed.map((meta) => meta.seq)).toEqual(Array.from({ length: 120 }, (_, i) => 120 - i));
  for (const outcome of all) {
    expect(listed.find((meta) => meta.checkpointId === outcome.id)?.seq).toBe(
      'seq' in outcome ? outcome.seq : undefined,
    );
  }
});

it('of conditional writers in two workers and the page, exactly one wins', async () => {
  const dbName = uniqueDbName();
  databases.push(dbName);
  const page = createIndexedDbStore({ dbName });
  stores.push(page);
  await page.save({ taskId: 'task-1', checkpointId: 'base', createdAt: 0, body: 'base' });
  const ids = (prefix: string) => Array.from({ length: 10 }, (_, i) => `${prefix}-${i}`);
  const outcomes = (
    await Promise.all([
      inWorker({ dbName, taskId: 'task-1', ids: ids('a'), expectedSeq: 1 }),
      inWorker({ dbName, taskId: 'task-1', ids: ids('b'), expectedSeq: 1 }),
      Promise.all(
        ids('page').map((id) =>
          page
            .save(
              { taskId: 'task-1', checkpointId: id, createdAt: 0, body: id },
              { expectedSeq: 1 },
            )
            .then(
              ({ seq }): WriterOutcome => ({ id, seq }),
              (error: { code: string }): WriterOutcome => ({ id, code: error.code }),
            ),
        ),
      ),
    ])
  ).flat();
  const winners = outcomes.filter((outcome) => 'seq' in outcome);
  expect(winners).toEqual([{ id: expect.any(String), seq: 2 }]);
  expect(
    outcomes.filter((outcome) => 'code' in outcome && outcome.code === 'CHECKPOINT_CONFLICT'),
  ).toHaveLength(29);
  expect((await page.latest('task-1'))?.checkpointId).toBe(winners[0]?.id);
  expect(await page.head('task-1')).toBe(2);
});

it('of lease claims from two workers and the page, exactly one owner wins', async () => {
  const dbName = uniqueDbName();
  databases.push(dbName);
  const page = createIndexedDbStore({ dbName });
  stores.push(page);
  const owners = (prefix: string) => Array.from({ length: 10 }, (_, i) => `${prefix}-${i}`);
  const ttlMs = 60_000;
  const claims = (
    await Promise.all([
      claimInWorker({ dbName, taskId: 'task-1', owners: owners('a'), ttlMs }),
      claimInWorker({ dbName, taskId: 'task-1', owners: owners('b'), ttlMs }),
      Promise.all(owners('page').map((owner) => page.claimLease('task-1', owner, ttlMs))),
    ])
  ).flat();
  expect(claims).toHaveLength(30);
  const winners = claims.filter((claim) => claim.granted);
  expect(winners).toHaveLength(1);
  for (const claim of claims) expect(claim.lease).toEqual(winners[0]?.lease);
  expect(await page.readLease('task-1')).toEqual(winners[0]?.lease);
});
