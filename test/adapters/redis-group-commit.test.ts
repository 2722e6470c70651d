import type { Command, Redis } from 'ioredis';
import {
  type CheckpointStore,
  isOrchestrationError,
  type NewCheckpointRecord,
  type SaveRecordOptions,
} from 'mcp-orchestration';
import { createRedisStore } from 'mcp-orchestration/redis';
import { expect, it } from 'vitest';
import { loadLuaScript } from '../../adapters/redis/lua-scripts.js';
import {
  createTestClient,
  deleteKeysUnder,
  describeRedis,
  keysUnder,
  openRedisStoresPerTest,
  randomPrefix,
} from '../support/redis.js';

/**
 * Group commit in the Redis store: small saves pending at once go as one saveMany call, each with
 * its own all-or-nothing semantics and answer, saves of one task in submission order.
 */

const open = openRedisStoresPerTest();

const SAVE_SHA = loadLuaScript('save', 1).sha;
const SAVE_MANY_SHA = loadLuaScript('saveMany', 'N').sha;

/** A save script call seen on the client: which script, and its keys. */
interface ScriptCall {
  readonly script: 'save' | 'saveMany';
  readonly keys: string[];
}

/** Records every save and saveMany call the client sends (EVALSHA or its EVAL fallback). */
function watchSaves(client: Redis): ScriptCall[] {
  const calls: ScriptCall[] = [];
  const send = client.sendCommand.bind(client);
  const sources = new Map([
    [loadLuaScript('save', 1).source, 'save'],
    [loadLuaScript('saveMany', 'N').source, 'saveMany'],
  ] as const);
  // A command sent before the connection is ready is sent again from the offline queue.
  const seen = new WeakSet<Command>();
  client.sendCommand = ((command: Command, stream?: never) => {
    if ((command.name === 'evalsha' || command.name === 'eval') && !seen.has(command)) {
      seen.add(command);
      const [first, numKeys, ...rest] = command.args.map(String);
      const script =
        first === SAVE_SHA
          ? 'save'
          : first === SAVE_MANY_SHA
            ? 'saveMany'
            : sources.get(first as string);
      if (script !== undefined) calls.push({ script, keys: rest.slice(0, Number(numKeys)) });
    }
    return send(command, stream);
  }) as typeof client.sendCommand;
  return calls;
}

function record(taskId: string, checkpointId: string, body = `{"id":"${checkpointId}"}`) {
  return { taskId, checkpointId, createdAt: 1, body } satisfies NewCheckpointRecord;
}

/** What one save should answer: its seq, a conflict at this head, or "exists". */
type Expected =
  | { readonly seq: number }
  | { readonly conflict: number }
  | { readonly exists: true };

interface PlannedSave {
  readonly record: NewCheckpointRecord;
  readonly options: SaveRecordOptions | undefined;
  readonly expected: Expected;
}

/**
 * `perTask` saves on each of `tasks` tasks, interleaved across tasks, with mixed conditions:
 * right expectedSeq, unconditional, stale, ahead, and a duplicate id; `expected` is what each
 * answers when applied one by one in this order.
 */
function plan(tasks: number, perTask: number): PlannedSave[] {
  const heads = new Map<string, number>();
  const saved = new Map<string, string[]>();
  const saves: PlannedSave[] = [];
  for (let j = 0; j < perTask; j++) {
    for (let t = 0; t < tasks; t++) {
      const taskId = `task-${t}`;
      const head = heads.get(taskId) ?? 0;
      const ids = saved.get(taskId) ?? [];
      const kind = (j * 7 + t * 3) % 6;
      let checkpointId = `cp-${j}`;
      let options: SaveRecordOptions | undefined;
      let expected: Expected;
      if (kind === 0 || kind === 1) {
        options = { expectedSeq: head };
        expected = { seq: head + 1 };
      } else if (kind === 2) {
        expected = { seq: head + 1 };
      } else if (kind === 3) {
        options = { expectedSeq: head === 0 ? 4 : head - 1 };
        expected = { conflict: head };
      } else if (kind === 4) {
        options = { expectedSeq: head + 2 };
        expected = { conflict: head };
      } else if (ids.length > 0) {
        checkpointId = ids[0] as string;
        expected = { exists: true };
      } else {
        expected = { seq: head + 1 };
      }
      if ('seq' in expected) {
        heads.set(taskId, expected.seq);
        saved.set(taskId, [...ids, checkpointId]);
      }
      const body = JSON.stringify({ taskId, j, pad: 'p'.repeat((t * 37 + j * 11) % 300) });
      saves.push({
        record: { taskId, checkpointId, createdAt: 1000 + j, body },
        options,
        expected,
      });
    }
  }
  return saves;
}

/** Fires every planned save in the same tick and checks each answer and the stored state. */
async function fireAndCheck(store: CheckpointStore, saves: readonly PlannedSave[]): Promise<void> {
  const results = await Promise.allSettled(saves.map((s) => store.save(s.record, s.options)));
  for (const [i, result] of results.entries()) {
    const { record: r, options, expected } = saves[i] as PlannedSave;
    const where = `save ${i} (${r.taskId}/${r.checkpointId}, expectedSeq ${options?.expectedSeq})`;
    if ('seq' in expected) {
      expect(result, where).toEqual({ status: 'fulfilled', value: { seq: expected.seq } });
    } else {
      expect(result.status, where).toBe('rejected');
      const error = (result as PromiseRejectedResult).reason;
      if ('conflict' in expected) {
        expect(isOrchestrationError(error, 'CHECKPOINT_CONFLICT'), where).toBe(true);
        expect(error, where).toMatchObject({
          taskId: r.taskId,
          expectedSeq: options?.expectedSeq,
          actualSeq: expected.conflict,
        });
      } else {
        expect(isOrchestrationError(error, 'CHECKPOINT_EXISTS'), where).toBe(true);
      }
    }
  }
  // The stored state is what saving them one by one gives.
  const taskIds = [...new Set(saves.map((s) => s.record.taskId))];
  for (const taskId of taskIds) {
    const won = saves.filter((s) => s.record.taskId === taskId && 'seq' in s.expected);
    const newestFirst = won.map((s) => s.record.checkpointId).reverse();
    expect((await store.list(taskId)).map((m) => m.checkpointId)).toEqual(newestFirst);
    expect(await store.head(taskId)).toBe(won.length);
    for (const s of won) {
      const loaded = await store.load(taskId, s.record.checkpointId);
      expect(loaded).toMatchObject({ body: s.record.body, createdAt: s.record.createdAt });
    }
  }
}

describeRedis('Redis store: group commit', () => {
  it('200 concurrent saves across 20 tasks, mixed expectedSeq: each answers as if sent one by one', async () => {
    const { store, client } = await open();
    const calls = watchSaves(client);
    const saves = plan(20, 10);
    expect(saves.length).toBe(200);
    const kinds = saves.map((s) => Object.keys(s.expected)[0]);
    for (const kind of ['seq', 'conflict', 'exists']) expect(kinds).toContain(kind);
    await fireAndCheck(store, saves);
    // The first went at once, alone; the others waited for it and went as few saveMany calls.
    expect(calls[0]?.script).toBe('save');
    expect(calls.length).toBeLessThanOrEqual(5);
    expect(calls.slice(1).every((call) => call.script === 'saveMany')).toBe(true);
  });

  it('a save into an idle store goes at once as one save call; those issued meanwhile as one saveMany call', async () => {
    const { store, client } = await open();
    const calls = watchSaves(client);
    expect(await store.save(record('task-1', 'a'))).toEqual({ seq: 1 });
    expect(calls.map((call) => call.script)).toEqual(['save']);
    const seqs = await Promise.all(
      ['b', 'c', 'd', 'e'].map((id, i) => store.save(record('task-1', id), { expectedSeq: i + 1 })),
    );
    expect(seqs).toEqual([{ seq: 2 }, { seq: 3 }, { seq: 4 }, { seq: 5 }]);
    expect(calls.map((call) => call.script)).toEqual(['save', 'save', 'saveMany']);
    expect(calls[2]?.keys.length).toBe(2); // the answers key, then the task's index key
    // Sequential saves each go alone.
    for (const id of ['f', 'g']) await store.save(record('task-1', id));
    expect(calls.map((call) => call.script)).toEqual(['save', 'save', 'saveMany', 'save', 'save']);
  });

  it('expectedId chains in one saveMany call: each save sees the ids saved before it in the call', async () => {
    const { store, client } = await open();
    const calls = watchSaves(client);
    expect(await store.save(record('task-1', 'a'))).toEqual({ seq: 1 });
    const results = await Promise.allSettled([
      store.save(record('task-1', 'b'), { expectedSeq: 1, expectedId: 'a' }),
      store.save(record('task-1', 'c'), { expectedSeq: 2, expectedId: 'b' }),
      // Another history's writer: seq 3 is right, but the record there is 'c'.
      store.save(record('task-1', 'x'), { expectedSeq: 3, expectedId: 'old' }),
      store.save(record('task-1', 'd'), { expectedSeq: 3, expectedId: 'c' }),
    ]);
    expect(calls.map((call) => call.script)).toEqual(['save', 'save', 'saveMany']);
    expect(
      results.map((result) => (result.status === 'fulfilled' ? result.value : 'refused')),
    ).toEqual([{ seq: 2 }, { seq: 3 }, 'refused', { seq: 4 }]);
    const refused = results[2];
    expect(refused?.status === 'rejected' && refused.reason).toMatchObject({
      code: 'CHECKPOINT_CONFLICT',
      expectedSeq: 3,
      actualSeq: 3,
    });
    expect((await store.list('task-1')).map((meta) => meta.checkpointId)).toEqual([
      'd',
      'c',
      'b',
      'a',
    ]);
  });

  it('saves issued while a call is in flight go together once it settles', async () => {
    const { store, client } = await open();
    const calls = watchSaves(client);
    const first = store.save(record('task-0', 'first'));
    // Next turns of the event loop: the first call is in flight (or just answered).
    const later: Promise<unknown>[] = [];
    await new Promise((resolve) => setImmediate(resolve));
    for (let i = 0; i < 30; i++) later.push(store.save(record(`task-${i % 5}`, `later-${i}`)));
    await Promise.all([first, ...later]);
    expect(calls.length).toBeLessThanOrEqual(3);
    expect(calls.at(-1)?.script).toBe('saveMany');
    expect(await store.head('task-0')).toBe(7);
  });

  it('a save into a corrupt task fails alone; the other saves of the call succeed', async () => {
    const { store, client, prefix } = await open();
    await client.set(`${prefix}{bad}:idx`, 'oops');
    const calls = watchSaves(client);
    const results = await Promise.allSettled([
      store.save(record('good-1', 'a')), // goes at once; the others wait and go together
      store.save(record('bad', 'a')),
      store.save(record('good-2', 'a'), { expectedSeq: 0 }),
      store.save(record('good-1', 'b'), { expectedSeq: 1 }),
    ]);
    expect(calls.map((call) => call.script)).toEqual(['save', 'saveMany']);
    expect(results[0]).toEqual({ status: 'fulfilled', value: { seq: 1 } });
    expect(results[1]?.status).toBe('rejected');
    const error = (results[1] as PromiseRejectedResult).reason;
    expect(isOrchestrationError(error, 'CORRUPT_RECORD')).toBe(true);
    expect(results[2]).toEqual({ status: 'fulfilled', value: { seq: 1 } });
    expect(results[3]).toEqual({ status: 'fulfilled', value: { seq: 2 } });
    // Nothing of the corrupt task's save; the call kept its answers (it refused one) with a TTL.
    const keys = await keysUnder(client, `${prefix}{bad}`);
    const answers = keys.filter((key) => key.includes('}:ans:'));
    expect(keys.filter((key) => !answers.includes(key))).toEqual([`${prefix}{bad}:idx`]);
    expect(answers.length).toBe(1);
    expect(await client.ttl(answers[0] as string)).toBeGreaterThan(0);
  });

  it('a save with a TTL into a task whose expiry key is corrupt fails alone, large or small', async () => {
    const { store, client, prefix } = await open();
    await store.save(record('bad', 'a')); // the task exists: its saves take the fast path
    await client.set(`${prefix}{bad}:exp`, 'oops');
    const calls = watchSaves(client);
    const t = Date.now() + 60_000;
    const big = 'b'.repeat(20_000); // sent ahead into a temp key
    const results = await Promise.allSettled([
      store.save(record('good-1', 'a')), // goes at once; the others wait and go together
      store.save({ ...record('bad', 'b'), expiresAt: t }),
      store.save({ ...record('bad', 'c', big), expiresAt: t }),
      store.save(record('bad', 'd'), { expectedSeq: 1 }), // no TTL: the expiry key is not used
      store.save({ ...record('good-2', 'a'), expiresAt: t }, { expectedSeq: 0 }),
    ]);
    expect(calls.map((call) => call.script)).toEqual(['save', 'saveMany']);
    expect(results[0]).toEqual({ status: 'fulfilled', value: { seq: 1 } });
    for (const result of results.slice(1, 3)) {
      expect(result.status).toBe('rejected');
      const error = (result as PromiseRejectedResult).reason;
      expect(isOrchestrationError(error, 'CORRUPT_RECORD')).toBe(true);
    }
    expect(results[3]).toEqual({ status: 'fulfilled', value: { seq: 2 } });
    expect(results[4]).toEqual({ status: 'fulfilled', value: { seq: 1 } });
    // Nothing of the refused saves, temp key included.
    expect((await store.list('bad')).map((meta) => meta.checkpointId)).toEqual(['d', 'a']);
    const keys = (await keysUnder(client, `${prefix}{bad}`)).filter(
      (key) => !key.includes(':ans:'),
    );
    expect(keys.sort()).toEqual(['exp', 'idx', 'r:a', 'r:d'].map((s) => `${prefix}{bad}:${s}`));
  });

  it('large bodies (sent ahead into temp keys) are batched too, through a keyPrefix client', async () => {
    const keyPrefix = randomPrefix();
    const client = createTestClient({ keyPrefix, enableAutoPipelining: true });
    const plain = createTestClient();
    try {
      const store = createRedisStore({ client, prefix: 'app:' });
      const calls = watchSaves(client);
      const big = 'b'.repeat(50_000);
      const bodies = Array.from({ length: 12 }, (_, i) => (i % 4 === 0 ? `${big}${i}` : `s${i}`));
      const seqs = await Promise.all(
        bodies.map((body, i) =>
          store.save({ taskId: `t${i % 3}`, checkpointId: `c${i}`, createdAt: 1, body }),
        ),
      );
      expect(new Set(seqs.map((s, i) => `${i % 3}:${s.seq}`)).size).toBe(12);
      for (const [i, body] of bodies.entries()) {
        expect((await store.load(`t${i % 3}`, `c${i}`))?.body).toBe(body);
      }
      // The first one at once, alone; the other 11 (3 of them large) together.
      expect(calls.map((call) => call.script)).toEqual(['save', 'saveMany']);
      const keys = await keysUnder(plain, keyPrefix);
      expect(keys.every((key) => key.startsWith(`${keyPrefix}app:{t`))).toBe(true);
      expect(keys.filter((key) => key.includes(':tmp:'))).toEqual([]);
    } finally {
      await deleteKeysUnder(plain, keyPrefix);
      await Promise.all([client.quit(), plain.quit()]);
    }
  });

  it('through a Cluster client, batches only saves of one task (one slot per call)', async () => {
    const client = createTestClient();
    // The store only asks `isCluster`; one node answers the calls of every "slot".
    Object.defineProperty(client, 'isCluster', { value: true });
    const prefix = randomPrefix();
    try {
      const store = createRedisStore({ client, prefix });
      const calls = watchSaves(client);
      await fireAndCheck(store, plan(5, 8));
      expect(calls.some((call) => call.script === 'saveMany')).toBe(true);
      for (const call of calls) {
        const tags = new Set(call.keys.map((key) => /\{[^}]*\}/.exec(key)?.[0]));
        expect(tags.size).toBe(1);
      }
    } finally {
      await deleteKeysUnder(client, prefix);
      await client.quit();
    }
  });

  it('a batch of expiring and lasting records keeps the task lifetimes right', async () => {
    let time = Date.now();
    const { store, client, prefix } = await open({ now: () => time });
    const t = time;
    const results = await Promise.all([
      store.save({ ...record('task-1', 'short'), expiresAt: t + 1_000 }),
      store.save({ ...record('task-1', 'long'), expiresAt: t + 60_000 }),
      store.save({ ...record('task-2', 'forever') }),
      store.save({ ...record('task-2', 'brief'), expiresAt: t + 1_000 }),
    ]);
    expect(results).toEqual([{ seq: 1 }, { seq: 2 }, { seq: 1 }, { seq: 2 }]);
    expect(await client.pexpiretime(`${prefix}{task-1}:idx`)).toBe(t + 60_000);
    expect(await client.pexpiretime(`${prefix}{task-2}:idx`)).toBe(-1);
    time += 1_000;
    const later = await Promise.all([
      store.save(record('task-1', 'next'), { expectedSeq: 2 }),
      store.save(record('task-2', 'next'), { expectedSeq: 2 }),
    ]);
    expect(later).toEqual([{ seq: 3 }, { seq: 3 }]);
    expect((await store.list('task-1')).map((m) => m.checkpointId)).toEqual(['next', 'long']);
    expect((await store.list('task-2')).map((m) => m.checkpointId)).toEqual(['next', 'forever']);
  });

  it('recognizes a save repeated in one call against its value held back for the MSET', async () => {
    const { store, client, prefix } = await open();
    const script = loadLuaScript('saveMany', 'N');
    const nonce = '00000000-0000-4000-8000-000000000001';
    const other = '00000000-0000-4000-8000-000000000002';
    const value = (n: string, id: string) => `${n} ${id} 5||3\nabc`;
    const now = Date.now();
    // Two tasks (groups 1 and 2); the same save twice, then the same id with another nonce.
    const reply = await client.eval(
      script.source,
      3,
      `${prefix}{t}:ans:${nonce}`,
      `${prefix}{t}:idx`,
      `${prefix}{u}:idx`,
      '300',
      `1|${now}||0||x||`,
      value(nonce, 'x'),
      `2|${now}||||y||`,
      value(other, 'y'),
      `1|${now}||0||x||`,
      value(nonce, 'x'),
      `1|${now}||||x||`,
      value(other, 'x'),
    );
    expect(reply).toEqual([1, 1, 1, [2]]);
    expect(await store.load('t', 'x')).toEqual({
      taskId: 't',
      checkpointId: 'x',
      seq: 1,
      createdAt: 5,
      body: 'abc',
    });
    expect((await store.load('u', 'y'))?.body).toBe('abc');
  });

  it('saves that append log entries, batched into one call, each append their own, in order', async () => {
    const { store, client } = await open();
    const calls = watchSaves(client);
    const saves = Array.from({ length: 12 }, (_, i) => {
      const task = `task-${i % 3}`;
      const n = Math.floor(i / 3);
      // Every other save of a task appends two entries, with a large body now and then.
      const entries = n % 2 === 0 ? [`${i}:a`, `${i}:b`] : [];
      const body = i === 6 ? 'x'.repeat(20_000) : `{"i":${i}}`;
      return store.save(
        { taskId: task, checkpointId: `c${n}`, createdAt: Date.now(), body },
        { expectedSeq: n, appendLog: { name: 'lineage', entries } },
      );
    });
    expect(await Promise.all(saves)).toEqual(
      Array.from({ length: 12 }, (_, i) => ({ seq: Math.floor(i / 3) + 1 })),
    );
    expect(calls.map((call) => call.script)).toContain('saveMany');
    for (let t = 0; t < 3; t++) {
      expect(await store.readLog(`task-${t}`, 'lineage')).toEqual([
        `${t}:a`,
        `${t}:b`,
        `${t + 6}:a`,
        `${t + 6}:b`,
      ]);
      expect(await store.listTasks()).toContain(`task-${t}`);
    }
    expect((await store.load('task-0', 'c2'))?.body).toBe('x'.repeat(20_000));
  });

  it('a save re-sent after a lost reply appends its entries once', async () => {
    const { store, client, prefix } = await open();
    const script = loadLuaScript('save', 1);
    const nonce = '00000000-0000-4000-8000-000000000003';
    const args = [`1|${Date.now()}||0||x|lineage|2`, `${nonce} x 5||3\nabc`, 'e1', 'e2'];
    const run = () => client.eval(script.source, 1, `${prefix}{t}:idx`, ...args);
    expect(await run()).toBe(1);
    expect(await run()).toBe(1); // recognized by its nonce: applied already
    expect(await store.readLog('t', 'lineage')).toEqual(['e1', 'e2']);
    expect(await store.head('t')).toBe(1);
    // Entries the packed save does not announce (or announces without a log) do not parse.
    const bad = await client.eval(
      script.source,
      1,
      `${prefix}{t}:idx`,
      `1|${Date.now()}||1||y|lineage|1`,
      `${nonce.replace(/3$/, '4')} y 5||3\nabc`,
      'e3',
      'e4',
    );
    expect(bad).toEqual([3, 'the save does not parse']);
    expect(await store.readLog('t', 'lineage')).toEqual(['e1', 'e2']);
  });

  it('a save whose log key holds another type fails alone, with nothing of it written', async () => {
    const { store, client, prefix } = await open();
    await client.set(`${prefix}{bad}:log:lineage`, 'oops');
    await client.set(`${prefix}{bad2}:logs`, 'oops');
    const appendLog = { name: 'lineage', entries: ['e'] };
    const results = await Promise.allSettled([
      store.save(record('good', 'a'), { appendLog }),
      store.save(record('bad', 'a'), { appendLog }),
      store.save(record('bad2', 'a'), { appendLog }),
      store.save(record('good', 'b'), { expectedSeq: 1, appendLog }),
    ]);
    expect(results.map((r) => r.status)).toEqual([
      'fulfilled',
      'rejected',
      'rejected',
      'fulfilled',
    ]);
    for (const r of results.slice(1, 3)) {
      const error = (r as PromiseRejectedResult).reason;
      expect(isOrchestrationError(error, 'CORRUPT_RECORD')).toBe(true);
    }
    expect(await store.readLog('good', 'lineage')).toEqual(['e', 'e']);
    for (const task of ['bad', 'bad2']) {
      expect(await store.head(task)).toBe(0);
      expect(await store.load(task, 'a')).toBeUndefined();
    }
    expect(await client.get(`${prefix}{bad}:log:lineage`)).toBe('oops');
  });
});
