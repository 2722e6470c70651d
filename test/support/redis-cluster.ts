import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster, Redis } from 'ioredis';
import type { CheckpointStoreOptions } from 'mcp-orchestration';
import { keysUnder, type RedisStoreUnderTest, redisStoreUnderTest } from './redis.js';

/**
 * A throwaway Redis Cluster for the tests: three `redis-server` masters started on free ports
 * in a temp directory, slots split in three (`CLUSTER ADDSLOTSRANGE`), joined with `CLUSTER
 * MEET`. Needs the `redis-server` binary (`.ci/run` installs it); without it the cluster tests
 * skip loudly, and fail under CI.
 */
export interface TestCluster {
  readonly nodes: readonly { host: string; port: number }[];
  stop(): Promise<void>;
}

function hasRedisServer(): boolean {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export const redisServerAvailable = hasRedisServer();
if (!redisServerAvailable) {
  const message = 'redis-server is not installed, so no Redis Cluster can be started';
  if (process.env.CI) throw new Error(`${message}; CI is set, so the cluster tests fail.`);
  console.warn(
    `\n${'!'.repeat(78)}\n!! SKIPPING the Redis Cluster tests: ${message}.\n!! Install redis-server; in CI this is a failure.\n${'!'.repeat(78)}\n`,
  );
}

/** Whether `port` (and its cluster bus port, + 10000) can be listened on now. */
async function free(port: number): Promise<boolean> {
  const tryListen = (p: number) =>
    new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(p, '127.0.0.1', () => server.close(() => resolve(true)));
    });
  return (await tryListen(port)) && (await tryListen(port + 10_000));
}

async function freePorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < count) {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    if (!ports.includes(port) && (await free(port))) ports.push(port);
  }
  return ports;
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`Redis Cluster: timed out waiting until ${what}`);
}

/** Starts a three-master cluster and waits until every node reports `cluster_state:ok`. */
export async function startTestCluster(): Promise<TestCluster> {
  const directory = await mkdtemp(join(tmpdir(), 'mcp-redis-cluster-'));
  const ports = await freePorts(3);
  const servers: ChildProcess[] = ports.map((port) =>
    spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        `nodes-${port}.conf`,
        '--cluster-node-timeout',
        '2000',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        directory,
      ],
      { stdio: 'ignore' },
    ),
  );
  const admins = ports.map((port) => {
    const admin = new Redis({ host: '127.0.0.1', port, lazyConnect: true });
    admin.on('error', () => {}); // refused until the server listens: `until` retries
    return admin;
  });
  const stop = async () => {
    for (const admin of admins) admin.disconnect();
    for (const server of servers) server.kill('SIGKILL');
    await rm(directory, { recursive: true, force: true });
  };
  try {
    await until('the nodes answer', async () => {
      for (const admin of admins) {
        if (admin.status === 'wait') await admin.connect();
        await admin.ping();
      }
      return true;
    });
    const third = Math.floor(16_384 / 3);
    const ranges: [number, number][] = [
      [0, third - 1],
      [third, 2 * third - 1],
      [2 * third, 16_383],
    ];
    for (const [i, admin] of admins.entries()) {
      const [from, to] = ranges[i] as [number, number];
      await admin.call('CLUSTER', 'ADDSLOTSRANGE', from, to);
    }
    const [first] = admins;
    for (const port of ports.slice(1)) await first?.call('CLUSTER', 'MEET', '127.0.0.1', port);
    await until('every node sees the cluster as ok', async () => {
      for (const admin of admins) {
        const info = String(await admin.call('CLUSTER', 'INFO'));
        if (!info.includes('cluster_state:ok') || !info.includes('cluster_known_nodes:3')) {
          return false;
        }
      }
      return true;
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return { nodes: ports.map((port) => ({ host: '127.0.0.1', port })), stop };
}

/** Every key under `prefix` on every master (test code only). */
export async function clusterKeysUnder(cluster: Cluster, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for (const node of cluster.nodes('master')) keys.push(...(await keysUnder(node, prefix)));
  return keys;
}

/** Deletes every key under `prefix`, one key per `DEL` (keys of different tasks live in different slots). */
async function deleteClusterKeysUnder(cluster: Cluster, prefix: string): Promise<void> {
  for (const key of await clusterKeysUnder(cluster, prefix)) await cluster.del(key);
}

/** Opens a store through a new `Cluster` client; `cleanup` deletes its keys and quits. */
export async function openClusterStore(
  testCluster: TestCluster,
  options: CheckpointStoreOptions = {},
): Promise<RedisStoreUnderTest<Cluster>> {
  const client = new Cluster([...testCluster.nodes]);
  return redisStoreUnderTest(client, options, deleteClusterKeysUnder);
}
