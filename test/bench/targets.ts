import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CheckpointStore } from 'mcp-orchestration';

/** The raw operation a store is compared with, on the same backend in the same run. */
export interface Floor {
  /** What the floor does, e.g. `SET` or `writeFile+rename` (`writeOnce` gets a new key each call). */
  readonly write: string;
  readonly read: string;
  readonly concurrent: string;
  writeOnce(key: string, body: string): Promise<unknown>;
  readOnce(key: string): Promise<unknown>;
  /**
   * One call of the concurrent floor for `worker`; it performs `batch` writes, each to a new key
   * (like the store, which keeps every record).
   */
  concurrentOnce(worker: number, body: string): Promise<unknown>;
  /**
   * The same writes overwriting a fixed set of keys instead (the floor before 2026-11-24),
   * measured and printed beside it for reference; the goal uses {@link concurrentOnce}.
   */
  readonly rewrite?: { readonly name: string; once(body: string): Promise<unknown> };
  readonly workers: number;
  readonly batch: number;
}

/** One adapter under benchmark. */
export interface BenchTarget {
  readonly name: string;
  /** The store timed one call at a time. */
  readonly store: CheckpointStore;
  /** The store timed with many workflows at once (may share the client of `store`). */
  readonly concurrentStore: CheckpointStore;
  readonly floor?: Floor;
  /** Facts about the setup, printed under the table. */
  readonly notes: readonly string[];
  /** Removes what the benchmark wrote (given the task ids it used) and closes clients. */
  cleanup(taskIds: readonly string[]): Promise<void>;
}

/** Creates a target, or returns why it is skipped. */
export type TargetFactory = () => Promise<BenchTarget | string>;

const WORKFLOWS = 100;

function why(error: unknown): string {
  return error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error);
}

async function deleteTasks(store: CheckpointStore, taskIds: readonly string[]): Promise<void> {
  for (const taskId of taskIds) await store.deleteTask(taskId);
}

async function memoryTarget(): Promise<BenchTarget | string> {
  let module: typeof import('mcp-orchestration/memory');
  try {
    module = await import('mcp-orchestration/memory');
  } catch (error) {
    return `mcp-orchestration/memory is not available (${why(error)})`;
  }
  const store = module.createMemoryStore();
  return {
    name: 'memory',
    store,
    concurrentStore: store,
    notes: ['memory: no floor (a Map); shown for scale'],
    cleanup: (taskIds) => deleteTasks(store, taskIds),
  };
}

async function fileTarget(): Promise<BenchTarget | string> {
  let module: typeof import('mcp-orchestration/file');
  try {
    module = await import('mcp-orchestration/file');
  } catch (error) {
    return `mcp-orchestration/file is not available (${why(error)})`;
  }
  const directory = await mkdtemp(join(tmpdir(), 'mcp-bench-'));
  const floorDir = await mkdtemp(join(tmpdir(), 'mcp-bench-floor-'));
  const store = module.createFileStore({ directory: join(directory, 'store') });
  let n = 0;
  const replace = async (key: string, body: string) => {
    const temp = join(floorDir, `.tmp-${key}-${n++}`);
    await writeFile(temp, body);
    await rename(temp, join(floorDir, key));
  };
  return {
    name: 'file',
    store,
    concurrentStore: store,
    floor: {
      write: 'writeFile+rename',
      read: 'readFile',
      concurrent: `writeFile+rename ×${WORKFLOWS} concurrent`,
      writeOnce: replace,
      readOnce: (key) => readFile(join(floorDir, key), 'utf8'),
      concurrentOnce: (worker, body) => replace(`w${worker}`, body),
      workers: WORKFLOWS,
      batch: 1,
    },
    notes: [
      `file: ${directory} (the store fsyncs each record and its folder; the floor does not fsync)`,
    ],
    async cleanup() {
      await store.close();
      await rm(directory, { recursive: true, force: true });
      await rm(floorDir, { recursive: true, force: true });
    },
  };
}

async function redisTarget(): Promise<BenchTarget | string> {
  let ioredis: typeof import('ioredis');
  let module: typeof import('mcp-orchestration/redis');
  try {
    ioredis = await import('ioredis');
    module = await import('mcp-orchestration/redis');
  } catch (error) {
    return `mcp-orchestration/redis or ioredis is not available (${why(error)})`;
  }
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const probe = new ioredis.Redis(url, {
    lazyConnect: true,
    connectTimeout: 2_000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  probe.on('error', () => {});
  let version = '?';
  try {
    await probe.connect();
    version = /redis_version:(\S+)/.exec(await probe.info('server'))?.[1] ?? '?';
  } catch (error) {
    return `Redis is not reachable at ${url} (${why(error)}); set REDIS_URL`;
  } finally {
    probe.disconnect();
  }
  // One client as a single caller would use it; one with auto-pipelining for many workflows.
  const plain = new ioredis.Redis(url);
  const pipelined = new ioredis.Redis(url, { enableAutoPipelining: true });
  const prefix = `bench:${randomBytes(6).toString('hex')}:`;
  const store = module.createRedisStore({ client: plain, prefix });
  const concurrentStore = module.createRedisStore({ client: pipelined, prefix });
  const floorKeys = new Set<string>();
  const floorKey = (key: string) => {
    const full = `${prefix}floor:${key}`;
    floorKeys.add(full);
    return full;
  };
  const workerKeys = Array.from({ length: WORKFLOWS }, (_, w) => floorKey(`w${w}`));
  let concurrentKeys = 0;
  return {
    name: 'redis',
    store,
    concurrentStore,
    floor: {
      write: 'SET',
      read: 'GET',
      concurrent: `pipeline of ${WORKFLOWS} SET, new keys`,
      writeOnce: (key, body) => plain.set(floorKey(key), body),
      readOnce: (key) => plain.get(floorKey(key)),
      async concurrentOnce(_worker, body) {
        // A new key per SET, as the store creates a record key per save: overwriting the same
        // keys spares Redis the allocation and keyspace growth (1.7–2× the throughput here).
        const pipeline = pipelined.pipeline();
        for (let i = 0; i < WORKFLOWS; i++) pipeline.set(floorKey(`c${concurrentKeys++}`), body);
        await pipeline.exec();
      },
      rewrite: {
        name: `pipeline of ${WORKFLOWS} SET, same ${WORKFLOWS} keys`,
        async once(body) {
          const pipeline = pipelined.pipeline();
          for (const key of workerKeys) pipeline.set(key, body);
          await pipeline.exec();
        },
      },
      workers: 1,
      batch: WORKFLOWS,
    },
    notes: [
      `redis: ${url}, Redis ${version}; latency on a plain ioredis client, concurrency on one with enableAutoPipelining`,
    ],
    async cleanup(taskIds) {
      await deleteTasks(store, taskIds);
      const keys = [...floorKeys];
      for (let i = 0; i < keys.length; i += 500) await plain.del(...keys.slice(i, i + 500));
      await Promise.all([plain.quit(), pipelined.quit()]);
    },
  };
}

async function indexedDbTarget(): Promise<BenchTarget | string> {
  let idb: typeof import('idb-keyval');
  let module: typeof import('mcp-orchestration/indexeddb');
  try {
    // Installs IndexedDB globals in Node (side effect only; the module has no types).
    const fakeIndexedDb: string = 'fake-indexeddb/auto';
    await import(fakeIndexedDb);
    idb = await import('idb-keyval');
    module = await import('mcp-orchestration/indexeddb');
  } catch (error) {
    return `mcp-orchestration/indexeddb, idb-keyval or fake-indexeddb is not available (${why(error)})`;
  }
  const id = randomBytes(6).toString('hex');
  const store = module.createIndexedDbStore({
    store: idb.createStore(`bench-${id}`, 'checkpoints'),
  });
  const kv = idb.createStore(`bench-floor-${id}`, 'kv');
  return {
    name: 'indexeddb',
    store,
    concurrentStore: store,
    floor: {
      write: 'idb-keyval set',
      read: 'idb-keyval get',
      concurrent: `idb-keyval set ×${WORKFLOWS} concurrent`,
      writeOnce: (key, body) => idb.set(key, body, kv),
      readOnce: (key) => idb.get(key, kv),
      concurrentOnce: (worker, body) => idb.set(`w${worker}`, body, kv),
      workers: WORKFLOWS,
      batch: 1,
    },
    notes: ['indexeddb: fake-indexeddb in Node (in-memory, not a browser)'],
    async cleanup(taskIds) {
      await deleteTasks(store, taskIds);
      await store.close();
    },
  };
}

/** Every adapter, in table order, by the name its rows carry. */
export const TARGETS: readonly { readonly name: string; readonly create: TargetFactory }[] = [
  { name: 'memory', create: memoryTarget },
  { name: 'file', create: fileTarget },
  { name: 'redis', create: redisTarget },
  { name: 'indexeddb', create: indexedDbTarget },
];

/** How many workflows save at once in the concurrency measurement. */
export const CONCURRENT_WORKFLOWS = WORKFLOWS;
