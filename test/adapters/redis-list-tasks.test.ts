import { Cluster } from 'ioredis';
import { isOrchestrationError, type NewCheckpointRecord } from 'mcp-orchestration';
import { createRedisStore } from 'mcp-orchestration/redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestClient,
  deleteKeysUnder,
  describeRedis,
  keysUnder,
  openRedisStoresPerTest,
  randomPrefix,
} from '../support/redis.js';
import {
  clusterKeysUnder,
  redisServerAvailable,
  startTestCluster,
  type TestCluster,
} from '../support/redis-cluster.js';
import { rejectionOf } from '../support/rejection.js';

/**
 * What the Redis store's listTasks does beyond the conformance suite: it finds tasks with SCAN,
 * so the client's keyPrefix, glob characters in it, keys under the prefix that are no task keys,
 * tasks of layout v2, wrong-typed keys and pages across its batches are checked here.
 */

const open = openRedisStoresPerTest();

function record(taskId: string, createdAt: number, expiresAt?: number): NewCheckpointRecord {
  return { taskId, checkpointId: 'cp-1', createdAt, expiresAt, body: '{}' };
}

/** Every page of `listTasks` with this limit, concatenated. */
async function allPages(
  store: { listTasks(options?: { after?: string; limit?: number }): Promise<string[]> },
  limit: number,
): Promise<string[]> {
  const ids: string[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await store.listTasks({ limit, ...(after === undefined ? {} : { after }) });
    if (page.length === 0) return ids;
    expect(page.length).toBeLessThanOrEqual(limit);
    ids.push(...page);
    after = page.at(-1);
  }
}

describeRedis('Redis store: listTasks', () => {
  it('lists through a client with an ioredis keyPrefix full of glob characters, and only its own tasks', async () => {
    // Unescaped in a MATCH pattern, `[ab]` would match `a` or `b`, `*` and `?` anything.
    const base = randomPrefix();
    const keyPrefix = `${base}[ab]*?\\:`;
    const client = createTestClient({ keyPrefix });
    const plain = createTestClient();
    try {
      const store = createRedisStore({ client, prefix: 'app:' });
      const t = Date.now();
      await store.save(record('task-1', t));
      await store.appendLog('task-2', 'lineage', ['x']);
      // Task keys the pattern would catch if the prefix were not escaped, or not part of it.
      for (const other of [`${base}a*?\\:`, `${base}[ab]xy\\:`, `${base}[ab]*?:`]) {
        await plain.zadd(`${other}app:{intruder}:idx`, -1, ':head');
      }
      await plain.zadd('app:{no-key-prefix}:idx', -1, ':head');
      expect(await store.listTasks()).toEqual(['task-1', 'task-2']);
      expect(await store.listTasks({ after: 'task-1' })).toEqual(['task-2']);
      expect(await store.deleteTask('task-1')).toBe(true);
      expect(await store.listTasks()).toEqual(['task-2']);
    } finally {
      await deleteKeysUnder(plain, base);
      await plain.del('app:{no-key-prefix}:idx');
      await Promise.all([client.quit(), plain.quit()]);
    }
  });

  it('ignores keys under the prefix that are no task keys, and task keys that mark no task', async () => {
    const { store, client, prefix } = await open();
    await store.save(record('real', Date.now()));
    await client.set(`${prefix}plain`, 'x');
    await client.set(`${prefix}{no-close`, 'x');
    // Indexes with a head (score -1: head 1), listed if their ids were taken for task ids.
    await client.zadd(`${prefix}{.dot-first}:idx`, -1, ':head'); // not a valid id
    await client.zadd(`${prefix}{bad id}:idx`, -1, ':head');
    await client.zadd(`${prefix}{${'x'.repeat(201)}}:idx`, -1, ':head');
    await client.zadd(`${prefix}{a}:b}:idx`, -1, ':head'); // ids cannot hold `}` or `:`
    await client.set(`${prefix}{other-suffix}:idxx`, 'x');
    await client.set(`${prefix}{other-suffix}:lega`, 'x');
    // Keys a task has, but none that makes it one: an orphan record, a log without its name.
    await client.set(`${prefix}{orphan}:r:cp-1`, 'x');
    await client.rpush(`${prefix}{unnamed-log}:log:lineage`, 'x');
    // An index whose head is 0: the head script finds nothing to list.
    await client.zadd(`${prefix}{headless}:idx`, 0, ':head');
    expect(await store.listTasks()).toEqual(['real']);
  });

  it('lists a layout v2 task that has only its metadata hash (its head lives there)', async () => {
    const time = Date.now();
    const { store, client, prefix } = await open({ now: () => time });
    await client.hset(`${prefix}{v2-task}:meta`, { ':seq': '7', ':until': 'inf', ':next': 'inf' });
    expect(await client.exists(`${prefix}{v2-task}:idx`)).toBe(0);
    expect(await store.listTasks()).toEqual(['v2-task']);
    expect(await store.head('v2-task')).toBe(7);
  });

  it('pages across its batches, skipping tasks the store clock expired (and sweeping them)', async () => {
    let time = Date.now();
    const { store, client, prefix } = await open({ now: () => time });
    const ids = Array.from({ length: 330 }, (_, i) => `t-${String(i).padStart(3, '0')}`);
    // Every third task expires in a minute, and runs of 150 expire in the middle, so whole
    // batches of candidates hold nothing live.
    const expiring = (i: number) => i % 3 === 0 || (i >= 100 && i < 250);
    await Promise.all(
      ids.map((id, i) => store.save(record(id, time, expiring(i) ? time + 60_000 : undefined))),
    );
    await store.appendLog('t-003', 'lineage', ['kept']); // expires, but has a log
    expect(await store.listTasks({ limit: 10_000 })).toEqual(ids);
    time += 60_001;
    const live = ids.filter((id, i) => !expiring(i) || id === 't-003');
    expect(await store.listTasks({ limit: 10_000 })).toEqual(live);
    expect(await allPages(store, 7)).toEqual(live);
    expect(await allPages(store, 1)).toEqual(live);
    expect(await store.listTasks({ after: 't-099', limit: 3 })).toEqual([
      't-250',
      't-251',
      't-253',
    ]);
    // The head script swept the expired tasks' keys, by the store's clock.
    const left = new Set((await keysUnder(client, prefix)).map((key) => key.split('}')[0]));
    expect(left.size).toBe(live.length);
  });

  it('lists a task whose key holds the wrong type; reading it is a CorruptRecordError', async () => {
    const { store, client, prefix } = await open();
    await store.save(record('fine', Date.now()));
    await client.set(`${prefix}{broken-index}:idx`, 'oops');
    await client.set(`${prefix}{broken-logs}:logs`, 'oops');
    // Listed (the tasks exist), and they do not hide the others.
    expect(await store.listTasks()).toEqual(['broken-index', 'broken-logs', 'fine']);
    const error = await rejectionOf(store.head('broken-index'));
    expect(isOrchestrationError(error, 'CORRUPT_RECORD')).toBe(true);
    expect(error).toMatchObject({ taskId: 'broken-index' });
    const logsError = await rejectionOf(store.appendLog('broken-logs', 'lineage', ['x']));
    expect(isOrchestrationError(logsError, 'CORRUPT_RECORD')).toBe(true);
  });
});

describe.skipIf(!redisServerAvailable)('Redis store: listTasks on a Redis Cluster', () => {
  let testCluster: TestCluster | undefined;
  beforeAll(async () => {
    testCluster = await startTestCluster();
  }, 60_000);
  afterAll(async () => {
    await testCluster?.stop();
  });

  it('scans every master, through a keyPrefix, from a client that has not connected yet', async () => {
    if (testCluster === undefined) throw new Error('the test cluster did not start');
    const keyPrefix = randomPrefix();
    const nodes = [...testCluster.nodes];
    const writer = new Cluster(nodes, { keyPrefix });
    const lazy = new Cluster(nodes, { keyPrefix, lazyConnect: true });
    // Connecting, it knows only its startup node until it has read the slots: listTasks must
    // not scan that one alone.
    const connecting = () => new Cluster(nodes.slice(0, 1), { keyPrefix });
    const plain = new Cluster(nodes);
    const readers: Cluster[] = [];
    try {
      const ids = Array.from({ length: 60 }, (_, i) => `task-${String(i).padStart(2, '0')}`);
      const writing = createRedisStore({ client: writer, prefix: 'app:' });
      await Promise.all(ids.map((id) => writing.save(record(id, Date.now()))));
      // The tasks live on more than one master.
      const perNode = await Promise.all(
        plain.nodes('master').map(async (node) => (await keysUnder(node, keyPrefix)).length),
      );
      expect(perNode.filter((count) => count > 0).length).toBeGreaterThan(1);
      expect(lazy.nodes('master')).toEqual([]);
      for (const reader of [() => lazy, connecting]) {
        const client = reader();
        readers.push(client);
        if (client !== lazy) {
          await new Promise((resolve) => setImmediate(resolve)); // it holds its startup node now
          expect(client.status).not.toBe('ready');
        }
        const reading = createRedisStore({ client, prefix: 'app:' });
        expect(await reading.listTasks()).toEqual(ids);
        expect(await allPages(reading, 25)).toEqual(ids);
      }
    } finally {
      for (const key of await clusterKeysUnder(plain, keyPrefix)) await plain.del(key);
      await Promise.all([writer, plain, ...readers].map((client) => client.quit()));
    }
  });
});
