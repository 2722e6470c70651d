import { randomBytes } from 'node:crypto';
import { type Cluster, Redis, type RedisOptions } from 'ioredis';
import type { CheckpointStoreOptions } from 'mcp-orchestration';
import { createRedisStore } from 'mcp-orchestration/redis';
import { afterEach, describe } from 'vitest';
import type { StoreUnderTest } from '../conformance/harness.js';

/** The Redis the tests use: `REDIS_URL`, default `redis://127.0.0.1:6379`. */
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

async function probe(): Promise<string | undefined> {
  const client = new Redis(REDIS_URL, {
    lazyConnect: true,
    connectTimeout: 2_000,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  let lastError: string | undefined;
  client.on('error', (error: Error) => {
    lastError = error.message;
  });
  try {
    await client.connect();
    await client.ping();
    return undefined;
  } catch (error) {
    return lastError ?? (error instanceof Error ? error.message : String(error));
  } finally {
    client.disconnect();
  }
}

const failure = await probe();
if (failure !== undefined) {
  const message = `Redis is not reachable at ${REDIS_URL} (${failure})`;
  if (process.env.CI) throw new Error(`${message}; CI is set, so the Redis tests fail.`);
  console.warn(
    `\n${'!'.repeat(78)}\n!! SKIPPING the Redis tests: ${message}.\n!! Start Redis or set REDIS_URL; in CI this is a failure.\n${'!'.repeat(78)}\n`,
  );
}

/** Whether Redis answered the probe (checked once per test file). */
export const redisAvailable: boolean = failure === undefined;

/** `describe`, skipped (loudly, see above) when Redis is not reachable outside CI. */
export function describeRedis(name: string, body: () => void): void {
  describe.skipIf(!redisAvailable)(name, body);
}

/** A new ioredis client for `REDIS_URL`; the caller quits it. */
export function createTestClient(options: RedisOptions = {}): Redis {
  return new Redis(REDIS_URL, options);
}

/** A random key prefix, so parallel tests never see each other's keys. */
export function randomPrefix(): string {
  return `test:${randomBytes(8).toString('hex')}:`;
}

/** Every key under `prefix` (test code only: SCAN is never on the store's hot path). */
export async function keysUnder(client: Redis, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  return keys;
}

/** Deletes every key under `prefix`. */
export async function deleteKeysUnder(client: Redis, prefix: string): Promise<void> {
  const keys = await keysUnder(client, prefix);
  for (let i = 0; i < keys.length; i += 500) await client.del(...keys.slice(i, i + 500));
}

/** The key of one record, as the adapter lays keys out. */
export function recordKey(prefix: string, taskId: string, checkpointId: string): string {
  return `${prefix}{${taskId}}:r:${checkpointId}`;
}

/** A store under a fresh random prefix, its own client, and the conformance backdoors. */
export interface RedisStoreUnderTest<C extends Redis | Cluster = Redis> extends StoreUnderTest {
  readonly client: C;
  readonly prefix: string;
}

/**
 * A store on `client` (a single node or a `Cluster`) under a fresh random prefix; `cleanup`
 * deletes its keys with `deleteKeys` and quits the client.
 */
export function redisStoreUnderTest<C extends Redis | Cluster>(
  client: C,
  options: CheckpointStoreOptions,
  deleteKeys: (client: C, prefix: string) => Promise<void>,
): RedisStoreUnderTest<C> {
  const prefix = randomPrefix();
  const store = createRedisStore({ client, prefix, ...options });
  return {
    store,
    client,
    prefix,
    async corrupt(taskId, checkpointId) {
      await client.set(recordKey(prefix, taskId, checkpointId), '\u0000garbage, not a record');
    },
    async plantLog(taskId, name, entries) {
      await client.rpush(`${prefix}{${taskId}}:log:${name}`, ...entries);
      await client.sadd(`${prefix}{${taskId}}:logs`, name);
    },
    async cleanup() {
      await store.close();
      await deleteKeys(client, prefix);
      await client.quit();
    },
  };
}

/** Opens a Redis store for one test: own client, random prefix; `cleanup` deletes and quits. */
export async function openRedisStore(
  options: CheckpointStoreOptions = {},
  clientOptions: RedisOptions = {},
): Promise<RedisStoreUnderTest> {
  return redisStoreUnderTest(createTestClient(clientOptions), options, deleteKeysUnder);
}

/**
 * The `open` of a test file: opens stores as {@link openRedisStore} does and cleans up every one
 * it opened after each test (call it at the top level of the file: it registers an `afterEach`).
 */
export function openRedisStoresPerTest(): (
  options?: CheckpointStoreOptions,
  clientOptions?: RedisOptions,
) => Promise<RedisStoreUnderTest> {
  let opened: RedisStoreUnderTest[] = [];
  afterEach(async () => {
    await Promise.all(opened.map((under) => under.cleanup()));
    opened = [];
  });
  return async (options = {}, clientOptions = {}) => {
    const under = await openRedisStore(options, clientOptions);
    opened.push(under);
    return under;
  };
}
