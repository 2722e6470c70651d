import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server, Socket } from 'node:net';
import { Redis, type RedisOptions } from 'ioredis';
import { type CheckpointStore, isOrchestrationError } from 'mcp-orchestration';
import { createRedisStore } from 'mcp-orchestration/redis';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import {
  createTestClient,
  deleteKeysUnder,
  describeRedis,
  keysUnder,
  REDIS_URL,
  randomPrefix,
} from '../support/redis.js';

/**
 * Real connection drops against the real server: a TCP proxy between ioredis and Redis whose
 * sockets are destroyed mid-run (mid-command for the large bodies), and CLIENT KILL from another
 * connection. Every save must either succeed (and be fully readable) or fail with a typed error,
 * and every task must stay consistent: index = records, head = highest seq, seqs 1..head.
 */

/** A TCP proxy to Redis that can cut every open connection, or refuse new ones for a while. */
interface CuttableProxy {
  readonly port: number;
  cut(): number;
  refuse(refusing: boolean): void;
  /** While on, Redis's replies are swallowed: commands run, but the client never hears back. */
  swallowReplies(swallowing: boolean): void;
  close(): Promise<void>;
}

async function startProxy(target: URL): Promise<CuttableProxy> {
  const pairs = new Set<[Socket, Socket]>();
  let refusing = false;
  let swallowing = false;
  const server: Server = createServer((downstream) => {
    if (refusing) {
      downstream.destroy();
      return;
    }
    const upstream = new Socket();
    const pair: [Socket, Socket] = [downstream, upstream];
    pairs.add(pair);
    const drop = () => {
      pairs.delete(pair);
      downstream.destroy();
      upstream.destroy();
    };
    for (const socket of pair) {
      socket.on('error', drop);
      socket.on('close', drop);
    }
    upstream.connect(Number(target.port || 6379), target.hostname);
    downstream.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => {
      if (!swallowing) downstream.write(chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no proxy port');
  return {
    port: address.port,
    cut() {
      const count = pairs.size;
      for (const [downstream, upstream] of [...pairs]) {
        downstream.destroy();
        upstream.destroy();
      }
      pairs.clear();
      return count;
    },
    refuse(value) {
      refusing = value;
    },
    swallowReplies(value) {
      swallowing = value;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const [a, b] of pairs) {
          a.destroy();
          b.destroy();
        }
        server.close(() => resolve());
      }),
  };
}

/** What happened to one save call. */
type Outcome =
  | { readonly taskId: string; readonly id: string; readonly body: string; readonly seq: number }
  | {
      readonly taskId: string;
      readonly id: string;
      readonly body: string;
      readonly error: unknown;
    };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits until the client is connected (again, after a cut: its `ready` event, not a stale
 * status), then lets traffic flow for 5–35 ms.
 */
async function whileBusy(client: Redis, afterCut: boolean): Promise<void> {
  if (afterCut || client.status !== 'ready') {
    await new Promise((resolve) => client.once('ready', resolve));
  }
  await sleep(5 + Math.floor(Math.random() * 30));
}
const SMALL = 'x'.repeat(1024);

function bodyFor(taskId: string, i: number): string {
  // Every fourth body is 200 KB, so cuts land in the middle of a command being written.
  const filler = i % 4 === 0 ? randomBytes(100 * 1024).toString('hex') : SMALL;
  return JSON.stringify({ taskId, i, filler });
}

/** A workflow: saves in a chain with expectedSeq, re-reading the head after a failure. */
async function runChain(
  store: CheckpointStore,
  taskId: string,
  until: () => boolean,
  outcomes: Outcome[],
): Promise<void> {
  let expected = 0;
  for (let i = 0; !until(); i++) {
    const id = `cp-${i}`;
    const body = bodyFor(taskId, i);
    try {
      const { seq } = await store.save(
        { taskId, checkpointId: id, createdAt: Date.now(), body },
        { expectedSeq: expected },
      );
      outcomes.push({ taskId, id, body, seq });
      expected = seq;
    } catch (error) {
      outcomes.push({ taskId, id, body, error });
      // The save may or may not have happened: ask for the head until Redis answers.
      for (;;) {
        try {
          expected = await store.head(taskId);
          break;
        } catch (headError) {
          if (!isOrchestrationError(headError, 'STORAGE_FAILED')) throw headError;
          await sleep(10);
        }
      }
    }
  }
}

/** A burst of unconditional concurrent saves on one task. */
async function runBurst(
  store: CheckpointStore,
  taskId: string,
  count: number,
  outcomes: Outcome[],
): Promise<void> {
  await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const id = `burst-${i}`;
      const body = bodyFor(taskId, i);
      try {
        const { seq } = await store.save({ taskId, checkpointId: id, createdAt: Date.now(), body });
        outcomes.push({ taskId, id, body, seq });
      } catch (error) {
        outcomes.push({ taskId, id, body, error });
      }
    }),
  );
}

/** A task's head as stored (layout v3: the index's reserved member ':head' scores -head). */
async function storedHead(admin: Redis, base: string): Promise<string> {
  const score = await admin.zscore(`${base}idx`, ':head');
  return score === null ? '0' : String(-Number(score));
}

/** Checks one task directly in Redis: index, records, metadata and head agree, seqs are 1..head. */
async function expectConsistent(
  store: CheckpointStore,
  admin: Redis,
  prefix: string,
  taskId: string,
): Promise<number> {
  const base = `${prefix}{${taskId}}:`;
  // Records score 1..+inf; the reserved members (':head', ':until', ':next') at most 0.
  const indexed = await admin.zrange(`${base}idx`, '1', '+inf', 'BYSCORE', 'WITHSCORES');
  const ids: string[] = [];
  const seqs: number[] = [];
  for (let i = 0; i < indexed.length; i += 2) {
    ids.push(indexed[i] as string);
    seqs.push(Number(indexed[i + 1]));
  }
  const head = Number(await storedHead(admin, base));
  expect(seqs).toEqual(Array.from({ length: head }, (_, i) => i + 1));
  const recordKeys = (await keysUnder(admin, `${base}r:`)).map((key) => key.slice(base.length + 2));
  expect(recordKeys.sort()).toEqual([...ids].sort());
  // Values sent ahead of a save that never ran may be left, but only with their safety TTL.
  for (const key of await keysUnder(admin, `${base}tmp:`)) {
    expect(await admin.pttl(key)).toBeGreaterThan(0);
  }
  // Layout v3 keeps each record's metadata in its value's header, and no metadata hash.
  expect(await admin.exists(`${base}meta`)).toBe(0);
  for (const id of ids) {
    const header = await admin.getrange(`${base}r:${id}`, 0, 36 + id.length + 64);
    expect(header).toMatch(new RegExp(`^[0-9a-f-]{36} ${id} -?\\d+\\|-?\\d*\\|\\d+\\n`));
  }
  // Every indexed record reads back whole, with the seq of its index entry.
  for (let i = 0; i < ids.length; i++) {
    expect((await store.load(taskId, ids[i] as string))?.seq).toBe(seqs[i]);
  }
  return head;
}

/** Checks every outcome against the stored state and returns counts for the report. */
async function verify(
  store: CheckpointStore,
  admin: Redis,
  prefix: string,
  taskIds: readonly string[],
  outcomes: readonly Outcome[],
): Promise<{ ok: number; failed: number; landedAnyway: number; reasons: object }> {
  let ok = 0;
  let failed = 0;
  let landedAnyway = 0;
  for (const outcome of outcomes) {
    const loaded = await store.load(outcome.taskId, outcome.id);
    if ('seq' in outcome) {
      ok++;
      expect(loaded?.seq).toBe(outcome.seq);
      expect(loaded?.body).toBe(outcome.body);
    } else {
      failed++;
      const { error } = outcome;
      const typed =
        isOrchestrationError(error, 'STORAGE_FAILED') ||
        isOrchestrationError(error, 'CHECKPOINT_CONFLICT');
      if (!typed) throw error;
      if (isOrchestrationError(error, 'STORAGE_FAILED')) {
        expect(error.cause).toBeDefined();
        // It says what happened, in words that need none of ioredis' options.
        expect(error.message).toMatch(/^redis store: save of task \S+ failed: /);
        expect(error.message).not.toMatch(/maxRetriesPerRequest|max retries|enableOfflineQueue/);
      }
      // Unknown outcome: either it landed whole, or not at all.
      if (loaded !== undefined) {
        landedAnyway++;
        expect(loaded.body).toBe(outcome.body);
      }
    }
  }
  const heads = new Map<string, number>();
  for (const taskId of taskIds)
    heads.set(taskId, await expectConsistent(store, admin, prefix, taskId));
  // Resolved seqs are unique per task.
  for (const taskId of taskIds) {
    const seqs = outcomes.filter((o) => o.taskId === taskId && 'seq' in o).map((o) => o.id);
    expect(new Set(seqs).size).toBe(seqs.length);
  }
  const reasons = new Map<string, number>();
  for (const outcome of outcomes) {
    if ('error' in outcome) {
      const message = String((outcome.error as Error).message).slice(0, 70);
      reasons.set(message, (reasons.get(message) ?? 0) + 1);
    }
  }
  return { ok, failed, landedAnyway, reasons: Object.fromEntries(reasons) };
}

const target = new URL(REDIS_URL);
let admin: Redis;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => {
  unhandled.push(reason);
};
const cleanups: Array<() => Promise<void>> = [];

beforeAll(() => {
  process.on('unhandledRejection', onUnhandled);
});
afterAll(() => {
  process.off('unhandledRejection', onUnhandled);
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  expect(unhandled).toEqual([]);
});

async function setUp(clientOptions: RedisOptions, viaProxy: boolean) {
  admin = createTestClient();
  const proxy = viaProxy ? await startProxy(target) : undefined;
  const errors: Error[] = [];
  const options: RedisOptions = {
    ...clientOptions,
    connectionName: `disconnect-${randomBytes(4).toString('hex')}`,
  };
  let client: Redis;
  if (proxy) {
    // Same server (and credentials, db) as REDIS_URL, through the proxy.
    const url = new URL(REDIS_URL);
    url.hostname = '127.0.0.1';
    url.port = String(proxy.port);
    client = new Redis(url.toString(), options);
  } else client = createTestClient(options);
  client.on('error', (error: Error) => errors.push(error));
  const prefix = randomPrefix();
  const store = createRedisStore({ client, prefix });
  cleanups.push(async () => {
    await deleteKeysUnder(admin, prefix);
    await admin.quit();
  });
  cleanups.push(async () => {
    client.disconnect();
    await proxy?.close();
  });
  return { proxy, client, store, prefix, errors };
}

const AFTER = { taskId: 'after', checkpointId: 'a', createdAt: 1, body: 'ok' };

/** Waits until the client has noticed its connection is gone. */
async function untilDisconnected(client: Redis): Promise<void> {
  while (client.status === 'ready') await sleep(1);
}

/** The rejection of `promise` (fails the test when it resolves). */
async function failureOf(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => expect.fail('expected a rejection'),
    (error: Error) => error,
  );
}

describeRedis('Redis store: what a lost connection is called', () => {
  const record = { taskId: 'wf', checkpointId: 'cp-1', createdAt: 1, body: 'one' };

  it('Redis unreachable until the client gives up: "connection lost", not the ioredis option', async () => {
    // As the CLI's client: a few retries per command, reconnecting quickly.
    const { proxy, client, store } = await setUp(
      { maxRetriesPerRequest: 2, retryStrategy: () => 20 },
      true,
    );
    await client.ping();
    proxy?.refuse(true);
    proxy?.cut();
    await untilDisconnected(client);
    const calls: [string, Promise<unknown>][] = [
      ['save', store.save(record)],
      ['load', store.load('wf', 'cp-1')],
      ['list', store.list('wf')],
      ['appendLog', store.appendLog('wf', 'lineage', [])],
    ];
    for (const [operation, call] of calls) {
      const error = await failureOf(call);
      expect(isOrchestrationError(error, 'STORAGE_FAILED')).toBe(true);
      expect(error.message).toBe(
        `redis store: ${operation} of task wf failed: the connection to Redis was lost, and could not be made again before the client gave up on the command`,
      );
      expect(error.message).not.toMatch(/maxRetriesPerRequest|max retries/);
      // ioredis' own error stays, as the cause.
      expect((error.cause as Error).name).toBe('MaxRetriesPerRequestError');
      expect((error.cause as Error).message).toContain('maxRetriesPerRequest');
    }
    proxy?.refuse(false);
    expect((await store.save(record)).seq).toBe(1);
  }, 20_000);

  it('Redis taking the command but never answering: "did not answer in time"', async () => {
    const { proxy, client, store } = await setUp({ commandTimeout: 200 }, true);
    await client.ping();
    proxy?.swallowReplies(true);
    const error = await failureOf(store.head('wf'));
    expect(isOrchestrationError(error, 'STORAGE_FAILED')).toBe(true);
    expect(error.message).toBe(
      'redis store: head of task wf failed: Redis did not answer in time: Command timed out',
    );
    expect((error.cause as Error).message).toBe('Command timed out');
    proxy?.swallowReplies(false);
  }, 20_000);

  it('a client that stopped reconnecting says the connection is closed', async () => {
    const gaveUp = await setUp({ retryStrategy: () => null }, true);
    await gaveUp.client.ping();
    gaveUp.proxy?.cut();
    while (gaveUp.client.status !== 'end') await sleep(1);
    const closed = await failureOf(gaveUp.store.save(record));
    expect(closed.message).toBe(
      'redis store: save of task wf failed: the connection to Redis is closed (lost, with the client no longer reconnecting, or closed by its owner)',
    );
    expect((closed.cause as Error).message).toBe('Connection is closed.');
  }, 20_000);

  it('a client that holds no commands while disconnected says it is not connected', async () => {
    const noQueue = await setUp({ enableOfflineQueue: false, retryStrategy: () => 60_000 }, true);
    if (noQueue.client.status !== 'ready') await once(noQueue.client, 'ready');
    noQueue.proxy?.cut();
    await untilDisconnected(noQueue.client);
    const offline = await failureOf(noQueue.store.latest('wf'));
    expect(offline.message).toBe(
      'redis store: latest of task wf failed: not connected to Redis (the client does not hold commands until it is)',
    );
    expect((offline.cause as Error).message).toContain('enableOfflineQueue');
  }, 20_000);
});

describeRedis('Redis store: connection drops mid-run', () => {
  it('a proxy cutting every connection, ioredis defaults: in-flight saves are re-sent and recognized', async () => {
    const { proxy, client, store, prefix } = await setUp({}, true);
    const outcomes: Outcome[] = [];
    let stop = false;
    const tasks = Array.from({ length: 12 }, (_, i) => `wf-${i}`);
    const chains = tasks.map((taskId) => runChain(store, taskId, () => stop, outcomes));
    const bursts = [runBurst(store, 'burst-a', 150, outcomes)];
    let cuts = 0;
    for (let round = 0; round < 15; round++) {
      await whileBusy(client, round > 0);
      if (round === 7) bursts.push(runBurst(store, 'burst-b', 150, outcomes));
      cuts += proxy?.cut() ?? 0;
    }
    stop = true;
    await Promise.all([...chains, ...bursts]);
    expect(cuts).toBeGreaterThanOrEqual(15);
    const counts = await verify(store, admin, prefix, [...tasks, 'burst-a', 'burst-b'], outcomes);
    expect(counts.ok).toBeGreaterThan(100);
    expect((await store.save(AFTER)).seq).toBe(1);
    console.info(`defaults: proxy cut ${cuts} connections; saves:`, counts);
  }, 60_000);

  it('auto-pipelining, 1 retry per request, Redis unreachable for a while: typed failures, nothing half-written', async () => {
    const { proxy, client, store, prefix } = await setUp(
      { enableAutoPipelining: true, maxRetriesPerRequest: 1 },
      true,
    );
    // A second store on the same client: its saves are not held back behind the first one's
    // calls in flight, so they reach ioredis' offline queue while Redis is unreachable.
    const other = createRedisStore({ client, prefix });
    const outcomes: Outcome[] = [];
    let stop = false;
    const tasks = Array.from({ length: 12 }, (_, i) => `wf-${i}`);
    const chains = tasks.map((taskId) => runChain(store, taskId, () => stop, outcomes));
    const bursts = [runBurst(store, 'burst-a', 150, outcomes)];
    for (let round = 0; round < 12; round++) {
      await whileBusy(client, round > 0);
      if (round === 4) bursts.push(runBurst(store, 'burst-b', 150, outcomes));
      if (round === 6) {
        // Reconnects fail for a while: queued commands run out of retries and are rejected.
        proxy?.refuse(true);
        proxy?.cut();
        while (client.status === 'ready') await sleep(1);
        bursts.push(runBurst(other, 'burst-c', 60, outcomes));
        await sleep(400);
        proxy?.refuse(false);
      } else proxy?.cut();
    }
    stop = true;
    await Promise.all([...chains, ...bursts]);
    const taskIds = [...tasks, 'burst-a', 'burst-b', 'burst-c'];
    const counts = await verify(store, admin, prefix, taskIds, outcomes);
    console.info('auto-pipelining, 1 retry: saves:', counts);
    expect(counts.failed).toBeGreaterThan(0);
    expect(counts.ok).toBeGreaterThan(20);
    expect((await store.save(AFTER)).seq).toBe(1);
  }, 60_000);

  it('CLIENT KILL of the store connection from another client, repeatedly', async () => {
    const { client, store, prefix } = await setUp({ enableAutoPipelining: true }, false);
    await client.ping();
    const outcomes: Outcome[] = [];
    let stop = false;
    const tasks = Array.from({ length: 8 }, (_, i) => `wf-${i}`);
    const chains = tasks.map((taskId) => runChain(store, taskId, () => stop, outcomes));
    const name = client.options.connectionName as string;
    let killed = 0;
    for (let round = 0; round < 10; round++) {
      await whileBusy(client, round > 0);
      const list = (await admin.client('LIST')) as string;
      for (const line of list.split('\n')) {
        const id = /(?:^| )id=(\d+) /.exec(line)?.[1];
        if (id !== undefined && line.includes(` name=${name} `)) {
          killed += Number(await admin.client('KILL', 'ID', id));
        }
      }
    }
    stop = true;
    await Promise.all(chains);
    expect(killed).toBe(10);
    const counts = await verify(store, admin, prefix, tasks, outcomes);
    expect(counts.ok).toBeGreaterThan(50);
    expect((await store.save(AFTER)).seq).toBe(1);
    console.info(`CLIENT KILL ${killed} times; saves:`, counts);
  }, 60_000);

  for (const [size, body] of [
    ['small', 'one'],
    ['large (sent ahead of the script)', 'x'.repeat(100_000)],
  ] as const) {
    it(`a ${size} save whose reply is lost runs once: the re-sent call is recognized`, async () => {
      const { proxy, client, store, prefix } = await setUp({}, true);
      await store.save({ taskId: 'wf', checkpointId: 'cp-0', createdAt: 1, body: 'zero' });
      await whileBusy(client, false);
      proxy?.swallowReplies(true);
      const pending = store.save(
        { taskId: 'wf', checkpointId: 'cp-1', createdAt: 2, body },
        { expectedSeq: 1 },
      );
      // Wait until Redis has applied it, then drop the connection before the reply comes back.
      while ((await storedHead(admin, `${prefix}{wf}:`)) !== '2') await sleep(2);
      proxy?.swallowReplies(false);
      proxy?.cut();
      expect(await pending).toEqual({ seq: 2 });
      expect(await store.head('wf')).toBe(2);
      expect((await store.list('wf')).map((meta) => meta.checkpointId)).toEqual(['cp-1', 'cp-0']);
      expect((await store.load('wf', 'cp-1'))?.body).toBe(body);
      expect(await expectConsistent(store, admin, prefix, 'wf')).toBe(2);
      expect(await keysUnder(admin, `${prefix}{wf}:tmp:`)).toEqual([]);
    }, 20_000);
  }

  it('a batch of saves whose reply is lost runs once: each save of the re-sent call keeps its answer', async () => {
    const { proxy, client, store, prefix } = await setUp({}, true);
    const tasks = ['wf-a', 'wf-b', 'wf-c'];
    for (const taskId of tasks) {
      await store.save({ taskId, checkpointId: 'cp-0', createdAt: 1, body: 'zero' });
    }
    await whileBusy(client, false);
    proxy?.swallowReplies(true);
    // Issued together: one saveMany call. Chains, conflicts and a duplicate id, across tasks.
    const saves: [string, string, number | undefined, string][] = [
      ['wf-a', 'cp-1', 1, 'seq 2'],
      ['wf-b', 'cp-1', 1, 'seq 2'],
      ['wf-a', 'cp-2', 2, 'seq 3'],
      ['wf-c', 'cp-1', 0, 'conflict 1'],
      ['wf-a', 'cp-3', 3, 'seq 4'],
      ['wf-b', 'cp-0', undefined, 'exists'],
      ['wf-c', 'cp-2', 1, 'seq 2'],
      ['wf-b', 'cp-2', 1, 'conflict 2'],
    ];
    const pending = saves.map(([taskId, checkpointId, expectedSeq]) =>
      store
        .save(
          { taskId, checkpointId, createdAt: 2, body: `${taskId}/${checkpointId}` },
          expectedSeq === undefined ? undefined : { expectedSeq },
        )
        .then(
          ({ seq }) => `seq ${seq}`,
          (error: unknown) =>
            isOrchestrationError(error, 'CHECKPOINT_CONFLICT')
              ? `conflict ${error.actualSeq}`
              : isOrchestrationError(error, 'CHECKPOINT_EXISTS')
                ? 'exists'
                : String(error),
        ),
    );
    // Wait until Redis has applied the call, then drop the connection before the reply comes back.
    const heads = async () =>
      Promise.all(tasks.map((taskId) => storedHead(admin, `${prefix}{${taskId}}:`)));
    while ((await heads()).join() !== '4,2,2') await sleep(2);
    proxy?.swallowReplies(false);
    proxy?.cut();
    expect(await Promise.all(pending)).toEqual(saves.map((save) => save[3]));
    expect(await heads()).toEqual(['4', '2', '2']);
    for (const [i, taskId] of tasks.entries()) {
      expect(await expectConsistent(store, admin, prefix, taskId)).toBe([4, 2, 2][i]);
    }
    expect((await store.list('wf-a')).map((meta) => meta.checkpointId)).toEqual([
      'cp-3',
      'cp-2',
      'cp-1',
      'cp-0',
    ]);
    expect((await store.load('wf-b', 'cp-0'))?.body).toBe('zero');
    expect((await store.load('wf-c', 'cp-2'))?.body).toBe('wf-c/cp-2');
  }, 20_000);
});
