import { randomBytes } from 'node:crypto';
import { type Command, Redis } from 'ioredis';
import {
  type CheckpointStore,
  isOrchestrationError,
  type NewCheckpointRecord,
} from 'mcp-orchestration';
import { createRedisStore } from 'mcp-orchestration/redis';
import { expect, it } from 'vitest';
import {
  createTestClient,
  deleteKeysUnder,
  describeRedis,
  keysUnder,
  openRedisStoresPerTest,
  randomPrefix,
  recordKey,
} from '../support/redis.js';
import { rejectionOf } from '../support/rejection.js';

/** What the Redis adapter does beyond the shared conformance suite: its keys, TTLs and failures. */

/** The index's reserved member naming the layout (includes/taskKeys.lua). */
const LAYOUT = ':layout v3 idx(records 1..+inf; :head :until :next <= 0) exp r:<id> tmp: ans:';

const open = openRedisStoresPerTest();

function record(
  taskId: string,
  checkpointId: string,
  createdAt: number,
  expiresAt?: number,
): NewCheckpointRecord {
  return { taskId, checkpointId, createdAt, expiresAt, body: `{"id":"${checkpointId}"}` };
}

describeRedis('Redis store: keys and lifetimes', () => {
  it('keeps every key of a task under the prefix and one hash tag', async () => {
    const { store, client, prefix } = await open();
    const t = Date.now();
    await store.save(record('task-1', 'cp-1', t));
    await store.save(record('task-1', 'cp-2', t, t + 60_000));
    await store.appendLog('task-1', 'lineage', ['a']);
    const keys = (await keysUnder(client, prefix)).sort();
    expect(keys).toEqual(
      ['exp', 'idx', 'log:lineage', 'logs', 'r:cp-1', 'r:cp-2'].map(
        (suffix) => `${prefix}{task-1}:${suffix}`,
      ),
    );
  });

  it('gives records PEXPIREAT and the task keys the lifetime of their longest-lived record', async () => {
    const { store, client, prefix } = await open();
    const t = Date.now();
    const key = (suffix: string) => `${prefix}{task-1}:${suffix}`;
    await store.save(record('task-1', 'short', t, t + 60_000));
    await store.save(record('task-1', 'long', t, t + 120_000));
    expect(await client.pexpiretime(recordKey(prefix, 'task-1', 'short'))).toBe(t + 60_000);
    expect(await client.pexpiretime(recordKey(prefix, 'task-1', 'long'))).toBe(t + 120_000);
    for (const suffix of ['idx', 'exp']) {
      expect(await client.pexpiretime(key(suffix))).toBe(t + 120_000);
    }
    // A record that never expires makes the task keys persist.
    await store.save(record('task-1', 'forever', t));
    expect(await client.pexpiretime(recordKey(prefix, 'task-1', 'forever'))).toBe(-1);
    for (const suffix of ['idx', 'exp']) expect(await client.pexpiretime(key(suffix))).toBe(-1);
    // A shorter-lived record later changes nothing; deleting the immortal one gives the keys back
    // the lifetime of what is left.
    await store.save(record('task-1', 'brief', t, t + 30_000));
    expect(await client.pexpiretime(key('idx'))).toBe(-1);
    expect(await store.delete('task-1', 'forever')).toBe(true);
    for (const suffix of ['idx', 'exp']) {
      expect(await client.pexpiretime(key(suffix))).toBe(t + 120_000);
    }
  });

  it('gives an expiry index made under the lifetime a delete kept that lifetime', async () => {
    const { store, client, prefix } = await open();
    const t = Date.now();
    const key = (suffix: string) => `${prefix}{task-1}:${suffix}`;
    await store.save(record('task-1', 'long', t, t + 120_000));
    expect(await store.deleteOld('task-1', 0)).toBe(1); // the expiry index goes, the head stays
    expect(await client.exists(key('exp'))).toBe(0);
    await store.save(record('task-1', 'short', t, t + 60_000));
    // Not the record's expiry: the index lives on past it, and the expiry index with it.
    for (const suffix of ['idx', 'exp']) {
      expect(await client.pexpiretime(key(suffix))).toBe(t + 120_000);
    }
  });

  it('leaves no keys at all once every record expired by the store clock', async () => {
    let time = Date.now();
    const { store, client, prefix } = await open({ now: () => time });
    for (let i = 0; i < 5; i++) await store.save(record('task-1', `cp-${i}`, time, time + 1_000));
    time += 1_000;
    expect(await store.head('task-1')).toBe(0);
    expect(await keysUnder(client, prefix)).toEqual([]);
  });

  it('leaves no keys once Redis itself expired them (real clock)', async () => {
    const { store, client, prefix } = await open();
    const t = Date.now();
    for (let i = 0; i < 3; i++) await store.save(record('task-1', `cp-${i}`, t, t + 150));
    expect((await keysUnder(client, prefix)).length).toBe(5); // 3 records, idx, exp
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await keysUnder(client, prefix)).toEqual([]);
    expect(await store.head('task-1')).toBe(0);
  });

  it('prunes expired entries out of the index inside save, without orphans', async () => {
    let time = Date.now();
    const { store, client, prefix } = await open({ now: () => time });
    await store.save(record('task-1', 'keep', time));
    for (let i = 0; i < 10; i++) await store.save(record('task-1', `tmp-${i}`, time, time + 10));
    time += 10;
    await store.save(record('task-1', 'next', time));
    // The index: the records (seq >= 1) and the reserved members (head, lifetime, next expiry).
    expect(await client.zrange(`${prefix}{task-1}:idx`, '0', '-1', 'WITHSCORES')).toEqual([
      ':next',
      '-inf',
      ':until',
      '-inf',
      ':head',
      '-12',
      LAYOUT,
      '0',
      'keep',
      '1',
      'next',
      '12',
    ]);
    expect(await client.exists(`${prefix}{task-1}:exp`)).toBe(0);
    expect((await keysUnder(client, prefix)).sort()).toEqual(
      ['idx', 'r:keep', 'r:next'].map((s) => `${prefix}{task-1}:${s}`),
    );
  });

  it('treats a record Redis expired before the store clock did as gone', async () => {
    const { store, client, prefix } = await open();
    const t = Date.now();
    await store.save(record('task-1', 'old', t));
    await store.save(record('task-1', 'new', t, t + 60_000));
    // As if the server's clock ran ahead of ours: Redis drops the key first.
    await client.del(recordKey(prefix, 'task-1', 'new'));
    expect((await store.latest('task-1'))?.checkpointId).toBe('old');
    expect((await store.list('task-1')).map((m) => m.checkpointId)).toEqual(['old']);
    expect(await store.head('task-1')).toBe(2);
  });

  it('deleteTask removes every key of the task, logs included, and nothing else', async () => {
    const { store, client, prefix } = await open();
    const t = Date.now();
    for (const task of ['task-1', 'task-2']) {
      await store.save(record(task, 'cp-1', t));
      await store.save(record(task, 'cp-2', t, t + 60_000));
      await store.appendLog(task, 'a', ['1']);
      await store.appendLog(task, 'b', ['2']);
    }
    expect(await store.deleteTask('task-1')).toBe(true);
    const left = await keysUnder(client, prefix);
    expect(left.length).toBe(7); // idx, exp, 2 records, 2 logs, logs
    expect(left.every((key) => key.startsWith(`${prefix}{task-2}:`))).toBe(true);
    expect(await store.deleteTask('task-1')).toBe(false);
  });

  it("works through a client with ioredis' keyPrefix (keys land under it)", async () => {
    const keyPrefix = randomPrefix();
    const client = createTestClient({ keyPrefix });
    const plain = createTestClient();
    try {
      const store = createRedisStore({ client, prefix: 'app:' });
      const t = Date.now();
      await store.save(record('task-1', 'cp-1', t));
      const big = 'b'.repeat(100_000); // sent ahead of the script and read back by GETRANGE
      await store.save({ taskId: 'task-1', checkpointId: 'cp-2', createdAt: t, body: big });
      await store.appendLog('task-1', 'lineage', ['a', 'b']);
      expect((await store.load('task-1', 'cp-1'))?.seq).toBe(1);
      expect((await store.latest('task-1'))?.body).toBe(big);
      expect(await store.readLog('task-1', 'lineage')).toEqual(['a', 'b']);
      const keys = (await keysUnder(plain, keyPrefix)).sort();
      expect(keys).toEqual(
        ['idx', 'log:lineage', 'logs', 'r:cp-1', 'r:cp-2'].map(
          (suffix) => `${keyPrefix}app:{task-1}:${suffix}`,
        ),
      );
      expect(await store.deleteOld('task-1', 0)).toBe(2);
      expect(await store.deleteTask('task-1')).toBe(true);
      expect(await keysUnder(plain, keyPrefix)).toEqual([]);
    } finally {
      await deleteKeysUnder(plain, keyPrefix);
      await Promise.all([client.quit(), plain.quit()]);
    }
  });

  for (const [how, read] of [
    ['load', (store: CheckpointStore) => store.load('task-1', 'early')],
    ['latest', (store: CheckpointStore) => store.latest('task-1')],
    ['list', (store: CheckpointStore) => store.list('task-1')],
  ] as const) {
    it(`keeps the lifetime a delete left when ${how} finds a record Redis expired first`, async () => {
      let time = Date.now();
      const { store, client, prefix } = await open({ now: () => time });
      const idx = `${prefix}{task-1}:idx`;
      await store.save(record('task-1', 'forever', time));
      expect(await store.deleteOld('task-1', 0)).toBe(1); // the head keeps 'forever's lifetime
      await store.save(record('task-1', 'late', time, time + 13 * 60_000));
      await store.save(record('task-1', 'early', time, time + 60_000));
      // As if the server's clock ran ahead of ours: Redis drops the key first.
      await client.del(recordKey(prefix, 'task-1', 'early'));
      await read(store);
      expect(await client.zmscore(idx, ':until', ':next')).toEqual([
        '-inf',
        String(-(time + 13 * 60_000)),
      ]);
      expect(await client.pexpiretime(idx)).toBe(-1);
      time += 20 * 60_000; // 'late' expired too: the head stays
      expect(await store.head('task-1')).toBe(3);
      expect(await store.save(record('task-1', 'next', time))).toEqual({ seq: 4 });
    });
  }

  it('tracks the head, the lifetime and the first expiry in reserved members of the index', async () => {
    let time = Date.now();
    const { store, client, prefix } = await open({ now: () => time });
    const idx = `${prefix}{task-1}:idx`;
    const reserved = () => client.zmscore(idx, ':head', ':until', ':next');
    await store.save(record('task-1', 'forever', time));
    expect(await reserved()).toEqual(['-1', '-inf', '-inf']);
    await store.save(record('task-1', 'late', time, time + 5_000));
    await store.save(record('task-1', 'early', time, time + 1_000));
    expect(await reserved()).toEqual(['-3', '-inf', String(-(time + 1_000))]);
    time += 1_000;
    // Due: the next call scans the expiry index, drops 'early' and moves :next on.
    expect((await store.list('task-1')).map((m) => m.checkpointId)).toEqual(['late', 'forever']);
    expect(await reserved()).toEqual(['-3', '-inf', String(-(time + 4_000))]);
    expect(await client.exists(recordKey(prefix, 'task-1', 'early'))).toBe(0);
    // A skiplist finds a member in O(1); a listpack of up to 128 members is scanned.
    expect(await client.object('ENCODING', idx)).toBe('skiplist');
    // Without the immortal record, the task lives as long as 'late'.
    expect(await store.delete('task-1', 'forever')).toBe(true);
    expect(await reserved()).toEqual(['-3', String(-(time + 4_000)), String(-(time + 4_000))]);
    expect(await store.latest('task-1')).toMatchObject({ checkpointId: 'late', seq: 2 });
    expect(await store.deleteOld('task-1', 0)).toBe(1);
    expect(await store.head('task-1')).toBe(3);
    expect(await client.zrange(idx, '0', '-1')).toEqual([':next', ':until', ':head', LAYOUT]);
  });

  it('reads and extends tasks written by layout v2 (metadata hash), migrating them on first touch', async () => {
    let time = Date.now();
    const { store, client, prefix } = await open({ now: () => time });
    const key = (suffix: string) => `${prefix}{task-1}:${suffix}`;
    const nonce = '00000000-0000-4000-8000-000000000000';
    // What layout v2 wrote: head, lifetime, first expiry and per-record metadata in a hash;
    // values "<nonce> <id>\n<body>".
    await client.hset(key('meta'), {
      a: `${time - 5}||3`,
      b: `${time}|${time + 1_000}|3`,
      d: `${time}||4`,
      ':seq': '4',
      ':until': 'inf',
      ':next': String(time + 1_000),
      ':layout': 'v2: idx exp meta r:<id> tmp:<nonce> ans:<nonce>; long on purpose (a hash table)',
    });
    await client.zadd(key('idx'), 1, 'a', 2, 'b', 4, 'd');
    await client.zadd(key('exp'), time + 1_000, 'b');
    await client.set(recordKey(prefix, 'task-1', 'a'), `${nonce} a\nabc`);
    await client.set(recordKey(prefix, 'task-1', 'b'), `${nonce} b\ndef`, 'PXAT', time + 1_000);
    await client.set(recordKey(prefix, 'task-1', 'd'), `${nonce} d\nghij`);
    expect(await store.load('task-1', 'a')).toEqual({
      taskId: 'task-1',
      checkpointId: 'a',
      seq: 1,
      createdAt: time - 5,
      body: 'abc',
    });
    // The first touch moved the head, lifetime and first expiry into the index.
    expect(await client.zmscore(key('idx'), ':head', ':until', ':next')).toEqual([
      '-4',
      '-inf',
      String(-(time + 1_000)),
    ]);
    expect((await client.hkeys(key('meta'))).sort()).toEqual(['a', 'b', 'd']);
    expect(await client.object('ENCODING', key('idx'))).toBe('skiplist');
    expect(await store.latest('task-1')).toMatchObject({ checkpointId: 'd', seq: 4, body: 'ghij' });
    expect((await store.list('task-1')).map((m) => [m.checkpointId, m.seq, m.expiresAt])).toEqual([
      ['d', 4, undefined],
      ['b', 2, time + 1_000],
      ['a', 1, undefined],
    ]);
    await expect(store.save(record('task-1', 'a', time))).rejects.toMatchObject({
      code: 'CHECKPOINT_EXISTS',
    });
    time += 1_000;
    // b expired (and its metadata entry went with it); a v3 record joins the v2 ones.
    expect(await store.save(record('task-1', 'c', time), { expectedSeq: 4 })).toEqual({ seq: 5 });
    expect((await store.list('task-1')).map((m) => m.checkpointId)).toEqual(['c', 'd', 'a']);
    expect((await client.hkeys(key('meta'))).sort()).toEqual(['a', 'd']);
    expect(await client.zscore(key('idx'), ':next')).toBe('-inf');
    expect((await store.load('task-1', 'c'))?.body).toBe('{"id":"c"}');
    // Dropping the last v2 records drops the hash.
    expect(await store.delete('task-1', 'a')).toBe(true);
    expect(await store.deleteOld('task-1', 1)).toBe(1);
    expect((await keysUnder(client, prefix)).sort()).toEqual(['idx', 'r:c'].map(key));
    expect(await store.head('task-1')).toBe(5);
  });

  it('migrates a task of the layout before v2 (no :next, no :layout): its expiries are swept once', async () => {
    let time = Date.now();
    const { store, client, prefix } = await open({ now: () => time });
    const key = (suffix: string) => `${prefix}{task-1}:${suffix}`;
    const nonce = '00000000-0000-4000-8000-000000000000';
    await client.hset(key('meta'), {
      a: `${time}||1`,
      b: `${time}|${time + 1_000}|1`,
      ':seq': '2',
      ':until': 'inf',
    });
    await client.zadd(key('idx'), 1, 'a', 2, 'b');
    await client.zadd(key('exp'), time + 1_000, 'b');
    await client.set(recordKey(prefix, 'task-1', 'a'), `${nonce} a\nA`);
    await client.set(recordKey(prefix, 'task-1', 'b'), `${nonce} b\nB`, 'PXAT', time + 1_000);
    expect((await store.list('task-1')).map((m) => m.checkpointId)).toEqual(['b', 'a']);
    expect(await client.zscore(key('idx'), ':next')).toBe(String(-(time + 1_000)));
    time += 1_000;
    expect(await store.save(record('task-1', 'c', time), { expectedSeq: 2 })).toEqual({ seq: 3 });
    expect((await store.list('task-1')).map((m) => m.checkpointId)).toEqual(['c', 'a']);
    expect(await client.hkeys(key('meta'))).toEqual(['a']);
  });

  it('migrates a v2 task whose records are all gone but whose head lives on', async () => {
    const time = Date.now();
    const { store, client, prefix } = await open({ now: () => time });
    const key = (suffix: string) => `${prefix}{task-1}:${suffix}`;
    await client.hset(key('meta'), {
      ':seq': '7',
      ':until': String(time + 60_000),
      ':next': 'inf',
    });
    await client.pexpireat(key('meta'), time + 60_000);
    expect(await store.head('task-1')).toBe(7);
    expect(await client.exists(key('meta'))).toBe(0);
    expect(await client.pexpiretime(key('idx'))).toBe(time + 60_000);
    expect(await store.save(record('task-1', 'x', time), { expectedSeq: 7 })).toEqual({ seq: 8 });
    expect(await client.pexpiretime(key('idx'))).toBe(-1);
  });

  it('isolates prefixes: same task id, different stores', async () => {
    const a = await open();
    const b = await open();
    const t = Date.now();
    await a.store.save(record('task-1', 'cp-a', t));
    expect(await b.store.head('task-1')).toBe(0);
    expect(await b.store.load('task-1', 'cp-a')).toBeUndefined();
    expect((await b.store.save(record('task-1', 'cp-b', t))).seq).toBe(1);
    expect((await a.store.list('task-1')).map((m) => m.checkpointId)).toEqual(['cp-a']);
  });
});

describeRedis('Redis store: integrity and failures', () => {
  it('detects a truncated value, a swapped record, a broken header and a lost record as corrupt', async () => {
    const { store, client, prefix } = await open();
    const t = Date.now();
    for (const id of ['a', 'b', 'c', 'd']) await store.save(record('task-1', id, t));
    const key = (id: string) => recordKey(prefix, 'task-1', id);
    const valueOfA = (await client.get(key('a'))) as string;
    await client.set(key('a'), valueOfA.slice(0, -3)); // truncated
    await client.set(key('b'), valueOfA); // same length, but it is a's record
    const valueOfC = (await client.get(key('c'))) as string;
    await client.set(key('c'), valueOfC.replace(/ c [^\n]*\n/, ' c not|metadata\n')); // header
    await client.del(key('d')); // never expires: its loss is corruption, not expiry
    for (const id of ['a', 'b', 'c', 'd']) {
      const error = await rejectionOf(store.load('task-1', id));
      expect(isOrchestrationError(error, 'CORRUPT_RECORD')).toBe(true);
      expect(error).toMatchObject({ taskId: 'task-1', recordId: id });
    }
    expect(isOrchestrationError(await rejectionOf(store.latest('task-1')), 'CORRUPT_RECORD')).toBe(
      true,
    );
    // list reads each record's header, not its body: a broken header, a header naming another
    // record and a lost record leave it what the index knows (createdAt 0: only the header had
    // it); a truncated body does not show there. None of them fails the list.
    const damaged = (checkpointId: string, seq: number) => ({
      taskId: 'task-1',
      checkpointId,
      seq,
      createdAt: 0,
    });
    expect(await store.list('task-1')).toEqual([
      damaged('d', 4),
      damaged('c', 3),
      damaged('b', 2),
      { taskId: 'task-1', checkpointId: 'a', seq: 1, createdAt: t },
    ]);
    for (const id of ['d', 'c', 'b']) expect(await store.delete('task-1', id)).toBe(true);
    expect((await store.list('task-1')).map((meta) => meta.checkpointId)).toEqual(['a']);
  });

  it('lists a damaged record with what the index knows, its expiry included, as the only one', async () => {
    const { store, client, prefix } = await open();
    const t = Date.now();
    await store.save(record('task-1', 'cp-1', t, t + 600_000));
    await store.save(record('task-1', 'cp-2', t));
    await store.save(record('task-1', 'cp-3', t, t + 900_000));
    await client.set(recordKey(prefix, 'task-1', 'cp-1'), 'garbage'); // as the CLI repro does
    await client.del(recordKey(prefix, 'task-1', 'cp-2'));
    await client.hset(recordKey(prefix, 'task-1', 'cp-2'), 'not', 'a string'); // WRONGTYPE
    await client.set(recordKey(prefix, 'task-1', 'cp-3'), '');
    expect(await store.list('task-1')).toEqual([
      { taskId: 'task-1', checkpointId: 'cp-3', seq: 3, createdAt: 0, expiresAt: t + 900_000 },
      { taskId: 'task-1', checkpointId: 'cp-2', seq: 2, createdAt: 0 },
      { taskId: 'task-1', checkpointId: 'cp-1', seq: 1, createdAt: 0, expiresAt: t + 600_000 },
    ]);
    for (const id of ['cp-1', 'cp-2', 'cp-3']) {
      const error = await rejectionOf(store.load('task-1', id));
      expect(isOrchestrationError(error, 'CORRUPT_RECORD')).toBe(true);
    }
    expect(isOrchestrationError(await rejectionOf(store.latest('task-1')), 'CORRUPT_RECORD')).toBe(
      true,
    );
    // A task whose only record is damaged is still a task with a checkpoint.
    await store.save(record('task-2', 'only', t));
    await client.set(recordKey(prefix, 'task-2', 'only'), 'garbage');
    expect((await store.list('task-2')).map((meta) => meta.checkpointId)).toEqual(['only']);
  });

  it('answers an index entry whose id load would refuse as corrupt, as a fractional seq', async () => {
    const { store, client, prefix } = await open();
    const nonce = '00000000-0000-0000-0000-000000000000';
    const planted: [string, number][] = [
      ['evil id', 5],
      ['x:y', 5],
      ['../../etc', 5],
      ['.hidden', 5],
      ['a'.repeat(201), 5],
      ['frac', 2.5],
    ];
    for (const [i, [id, seq]] of planted.entries()) {
      const taskId = `task-${i}`;
      await store.save(record(taskId, 'ok', Date.now()));
      // A record planted directly in Redis, whole but for its id (or seq).
      await client.zadd(`${prefix}{${taskId}}:idx`, seq, id, -5, ':head');
      await client.set(recordKey(prefix, taskId, id), `${nonce} ${id} 1||2\n{}`);
      for (const read of [store.latest(taskId), store.list(taskId)]) {
        const error = await rejectionOf(read);
        expect(isOrchestrationError(error, 'CORRUPT_RECORD')).toBe(true);
        expect(error).toMatchObject({ taskId, recordId: id });
      }
    }
  });

  it('refuses to save into a task whose index key holds the wrong type, writing nothing', async () => {
    const { store, client, prefix } = await open();
    await client.set(`${prefix}{task-1}:idx`, 'oops');
    const error = await rejectionOf(store.save(record('task-1', 'cp-1', Date.now())));
    expect(isOrchestrationError(error, 'CORRUPT_RECORD')).toBe(true);
    expect(await keysUnder(client, prefix)).toEqual([`${prefix}{task-1}:idx`]);
  });

  it('refuses a save with a TTL into a task whose expiry key holds the wrong type, writing nothing', async () => {
    const { store, client, prefix } = await open();
    await client.set(`${prefix}{task-1}:exp`, 'oops');
    const t = Date.now();
    const error = await rejectionOf(store.save(record('task-1', 'cp-1', t, t + 60_000)));
    expect(isOrchestrationError(error, 'CORRUPT_RECORD')).toBe(true);
    expect(await keysUnder(client, prefix)).toEqual([`${prefix}{task-1}:exp`]);
  });

  it('answers a :head score no save writes as a corrupt head, writing nothing', async () => {
    let time = Date.now();
    const { store, client, prefix } = await open({ now: () => time });
    const scores = [String(-Number.MAX_SAFE_INTEGER), '-9007199254740945', '5', '-1.5'];
    // Per score, a task a save reads on its fast path (nothing due), and one with a record due
    // to expire (its save and every other script open it with openTask).
    const tasks = scores.flatMap((score, i) => [
      { taskId: `fast-${i}`, score },
      { taskId: `due-${i}`, score },
    ]);
    // Minutes, and the store's clock jumps over them: Redis's own expiry (real time) never fires.
    const ttl = 10 * 60_000;
    for (const { taskId, score } of tasks) {
      const expiresAt = taskId.startsWith('due') ? time + ttl : undefined;
      await store.save(record(taskId, 'cp-1', time, expiresAt));
      await client.zadd(`${prefix}{${taskId}}:idx`, score, ':head');
    }
    time += ttl;
    // Every key and value, but the answers a saveMany call keeps for a re-send (with a TTL).
    const snapshot = async () => {
      const keys = (await keysUnder(client, prefix)).filter((key) => !key.includes(':ans:')).sort();
      const values = await Promise.all(keys.map((key) => client.dump(key)));
      return keys.map((key, i) => [key, values[i]]);
    };
    const before = await snapshot();
    const expectCorruptHead = (error: unknown, taskId: string) => {
      expect(isOrchestrationError(error, 'CORRUPT_RECORD')).toBe(true);
      expect(error).toMatchObject({ taskId, recordId: 'head' });
    };
    // All at once: the group commit sends most of them in one saveMany call.
    const saves = tasks.map(({ taskId }) => rejectionOf(store.save(record(taskId, 'cp-2', time))));
    const errors = await Promise.all(saves);
    for (const [i, { taskId }] of tasks.entries()) expectCorruptHead(errors[i], taskId);
    for (const { taskId } of tasks) {
      for (const call of [
        store.save(record(taskId, 'cp-2', time, time + 60_000)),
        store.head(taskId),
        store.list(taskId),
        store.latest(taskId),
        store.load(taskId, 'cp-1'),
        store.delete(taskId, 'cp-1'),
        store.deleteOld(taskId, 0),
      ]) {
        expectCorruptHead(await rejectionOf(call), taskId);
      }
    }
    expect(await snapshot()).toEqual(before);
    // Listed (it exists, and its reads say why it cannot be used); deleteTask clears it.
    expect(await store.listTasks()).toEqual(tasks.map(({ taskId }) => taskId).sort());
    for (const { taskId } of tasks) expect(await store.deleteTask(taskId)).toBe(true);
    expect(await store.listTasks()).toEqual([]);
    expect(await snapshot()).toEqual([]);
  });

  it('saves up to the largest seq the client reads exactly, and refuses the next', async () => {
    const { store, client, prefix } = await open();
    const t = Date.now();
    await store.save(record('task-1', 'cp-1', t));
    const last = 9_007_199_254_740_944; // 2^53 - 48 (see MAX_SEQ in includes/taskKeys.lua)
    await client.zadd(`${prefix}{task-1}:idx`, -(last - 1), ':head');
    expect(await store.save(record('task-1', 'cp-2', t))).toEqual({ seq: last });
    expect(await store.head('task-1')).toBe(last);
    expect((await store.latest('task-1'))?.seq).toBe(last);
    const error = await rejectionOf(store.save(record('task-1', 'cp-3', t)));
    expect(isOrchestrationError(error, 'CORRUPT_RECORD')).toBe(true);
    expect(error).toMatchObject({ taskId: 'task-1', recordId: 'head' });
    expect(await client.exists(recordKey(prefix, 'task-1', 'cp-3'))).toBe(0);
    expect((await store.list('task-1')).map((meta) => meta.seq)).toEqual([last, 1]);
  });

  it('fails a large save whose value never reached Redis with StorageError, writing nothing', async () => {
    const { store, client, prefix } = await open();
    const send = client.sendCommand.bind(client);
    // What ioredis rejects a command with when the connection stays lost (ioredis 6.0.0's words).
    const maxRetries =
      'Reached the max retries per request limit (which is 2). Refer to "maxRetriesPerRequest" option for details.';
    let setexError = new Error('lost on the way');
    client.sendCommand = ((command: Command, stream?: never) => {
      if (command.name !== 'setex') return send(command, stream);
      command.reject(setexError);
      return command.promise;
    }) as typeof client.sendCommand;
    const big = { taskId: 'task-1', checkpointId: 'cp-1', createdAt: 1, body: 'b'.repeat(20_000) };
    const error = await rejectionOf(store.save(big)); // sent ahead of the script, with SETEX
    expect(isOrchestrationError(error, 'STORAGE_FAILED')).toBe(true);
    expect((error as Error).message).toBe(
      'redis store: save of task task-1 failed: the record value did not reach Redis',
    );
    expect(((error as Error).cause as Error).message).toBe('lost on the way');
    expect(await keysUnder(client, prefix)).toEqual([]);
    // Lost with the connection: the message says so, not which ioredis option gave up.
    setexError = new Error(maxRetries);
    const lost = (await rejectionOf(store.save(big))) as Error;
    expect(lost.message).toBe(
      'redis store: save of task task-1 failed: the record value did not reach Redis (the connection to Redis was lost, and could not be made again before the client gave up on the command)',
    );
    expect((lost.cause as Error).message).toBe(maxRetries);
    expect(await keysUnder(client, prefix)).toEqual([]);
  });

  it('maps a log key of the wrong type to CorruptRecordError', async () => {
    const { store, client, prefix } = await open();
    await client.set(`${prefix}{task-1}:log:lineage`, 'oops');
    for (const call of [
      store.readLog('task-1', 'lineage'),
      store.appendLog('task-1', 'lineage', ['x']),
      store.appendLog('task-1', 'lineage', []),
    ]) {
      expect(isOrchestrationError(await rejectionOf(call), 'CORRUPT_RECORD')).toBe(true);
    }
  });

  it('refuses to read back a body over its bound, checked in Redis before fetching', async () => {
    const writer = await open();
    const reader = createRedisStore({
      client: writer.client,
      prefix: writer.prefix,
      maxRecordBytes: 1_000,
    });
    const body = 'é'.repeat(600); // 1,200 bytes
    await writer.store.save({ taskId: 'task-1', checkpointId: 'big', createdAt: 1, body });
    for (const call of [reader.load('task-1', 'big'), reader.latest('task-1')]) {
      const error = await rejectionOf(call);
      expect(isOrchestrationError(error, 'RECORD_TOO_LARGE')).toBe(true);
      expect(error).toMatchObject({ bytes: 1_200, limit: 1_000 });
    }
    expect((await writer.store.load('task-1', 'big'))?.body).toBe(body);
  });

  it('reads a large record (fetched outside Lua) whole or not at all while it is replaced', async () => {
    const writer = await open();
    const reader = await open();
    const store = createRedisStore({ client: reader.client, prefix: writer.prefix });
    const bodies = ['a', 'b'].map((c) => c.repeat(100_000)); // over the 64 KiB inline limit
    const [first] = bodies as [string, string];
    await writer.store.save({ taskId: 'task-1', checkpointId: 'x', createdAt: 1, body: first });
    let stop = false;
    const churn = (async () => {
      for (let i = 1; !stop; i++) {
        await writer.store.delete('task-1', 'x');
        const body = bodies[i % 2] as string;
        await writer.store.save({ taskId: 'task-1', checkpointId: 'x', createdAt: 1, body });
      }
    })();
    const seen = new Set<string>();
    for (let i = 0; i < 300; i++) {
      const loaded = await store.load('task-1', 'x');
      const latest = await store.latest('task-1');
      for (const record of [loaded, latest]) {
        if (record === undefined) continue;
        expect(bodies).toContain(record.body);
        seen.add(record.body.slice(0, 1));
      }
    }
    stop = true;
    await churn;
    expect(seen.size).toBe(2);
  });

  it('reloads its scripts after SCRIPT FLUSH (EVALSHA falls back to EVAL)', async () => {
    const { store, client } = await open();
    await store.save(record('task-1', 'cp-1', Date.now()));
    await client.script('FLUSH');
    expect(await store.save(record('task-1', 'cp-2', Date.now()))).toEqual({ seq: 2 });
    expect((await store.latest('task-1'))?.checkpointId).toBe('cp-2');
  });

  it('turns a connection failure into StorageError with the cause, and touches no state', async () => {
    const client = new Redis({
      port: 1, // nothing listens there
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    client.on('error', () => {});
    const store = createRedisStore({ client });
    for (const call of [
      store.save(record('task-1', 'cp-1', Date.now())),
      store.load('task-1', 'cp-1'),
      store.readLog('task-1', 'lineage'),
      store.listTasks(),
      store.claimLease('task-1', 'worker-a', 60_000),
      store.releaseLease('task-1', 'worker-a'),
      store.readLease('task-1'),
    ]) {
      const error = await rejectionOf(call);
      expect(isOrchestrationError(error, 'STORAGE_FAILED')).toBe(true);
      expect((error as Error).cause).toBeInstanceOf(Error);
    }
    client.disconnect();
  });

  it('validates its options', async () => {
    const client = createTestClient({ lazyConnect: true });
    for (const prefix of ['a b', '{x}', 'x'.repeat(101), 'tab\t']) {
      const error = await rejectionOf(
        Promise.resolve().then(() => createRedisStore({ client, prefix })),
      );
      expect(isOrchestrationError(error, 'INVALID_ID')).toBe(true);
    }
    expect(() => createRedisStore({ client, maxRecordBytes: 0 })).toThrow(TypeError);
    // @ts-expect-error: the client is required
    expect(() => createRedisStore({})).toThrow(TypeError);
    client.disconnect();
  });

  it('leaves the injected client open on close()', async () => {
    const { store, client } = await open();
    await store.close();
    expect(await client.ping()).toBe('PONG');
  });

  it('saves a 1 MB body and reads it back byte for byte', async () => {
    const { store } = await open();
    const body = randomBytes(512 * 1024).toString('hex');
    await store.save({ taskId: 'task-1', checkpointId: 'big', createdAt: 1, body });
    expect((await store.latest('task-1'))?.body).toBe(body);
  });
});
