import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  describeRedis,
  keysUnder,
  openRedisStore,
  REDIS_URL,
  type RedisStoreUnderTest,
} from '../support/redis.js';
import { cliCommand, makeCliDir, runCli } from './cli-harness.js';

let dir = '';
let remove = async () => {};
let redis: RedisStoreUnderTest | undefined;

/**
 * A TCP proxy to the test Redis that can turn into a black hole: it keeps every connection
 * open and takes new ones, but forwards nothing more either way (a Redis that hangs).
 */
interface Proxy {
  readonly port: number;
  blackhole(): void;
  close(): Promise<void>;
}

async function startProxy(): Promise<Proxy> {
  const target = new URL(REDIS_URL);
  const sockets = new Set<Socket>();
  let swallowing = false;
  const server: Server = createServer((client) => {
    const upstream = netConnect(Number(target.port || 6379), target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => {
        client.destroy();
        upstream.destroy();
        sockets.delete(socket);
      });
    }
    client.on('data', (data) => swallowing || upstream.write(data));
    upstream.on('data', (data) => swallowing || client.write(data));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no proxy port');
  return {
    port: address.port,
    blackhole: () => {
      swallowing = true;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A `--store` URL: the test Redis (or `host`), under this file's random prefix. */
function storeUrl(options: { host?: string; path?: string; query?: string } = {}): string {
  const url = new URL(REDIS_URL);
  if (options.host !== undefined) url.host = options.host;
  url.pathname = options.path ?? '';
  url.search = `prefix=${redis?.prefix ?? ''}${options.query ?? ''}`;
  return url.toString();
}

const cli = (args: readonly string[], store: string, env: Record<string, string> = {}) =>
  runCli([...args, '--store', store], { cwd: dir, env });

describeRedis('mcp-orch over a Redis that misbehaves, or a redis:// URL that is wrong', () => {
  beforeAll(async () => {
    ({ dir, remove } = await makeCliDir());
    redis = await openRedisStore(); // a random key prefix; cleanup deletes its keys
    await writeFile(
      join(dir, 'hangs.mjs'),
      `import { defineWorkflow } from 'mcp-orchestration';
export default defineWorkflow({ id: 'hangs', version: '1', steps: [{ stepId: 'forever', run: () => new Promise(() => {}) }] });
`,
    );
  });
  afterAll(async () => {
    await redis?.cleanup();
    await remove();
  });

  it('a Redis that takes the connection but never answers is STORE_UNREACHABLE within the timeout', {
    timeout: 20_000,
  }, async () => {
    const proxy = await startProxy();
    try {
      proxy.blackhole();
      const started = Date.now();
      const result = await cli(
        ['status', 'anything'],
        storeUrl({ host: `127.0.0.1:${proxy.port}`, query: '&timeout=1s' }),
      );
      expect(result.stderr).toBe(
        `mcp-orch: Cannot connect to Redis at 127.0.0.1:${proxy.port}: no answer within 1 s (STORE_UNREACHABLE)\n`,
      );
      expect(result.code).toBe(1);
      expect(Date.now() - started).toBeLessThan(8_000);
    } finally {
      await proxy.close();
    }
  });

  it('a Redis that stops answering mid-run fails the run (1) at its next command, in one line', {
    timeout: 20_000,
  }, async () => {
    const proxy = await startProxy();
    try {
      const [command, argv] = cliCommand([
        'run',
        'words.mjs',
        '--task',
        'rr_mid',
        '--store',
        storeUrl({ host: `127.0.0.1:${proxy.port}`, query: '&timeout=1s' }),
      ]);
      const child = spawn(command, argv, {
        cwd: dir,
        env: { ...process.env, MCP_ORCHESTRATION_DIR: '', STEP_MS: '500' },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (stdout.includes('step split started')) proxy.blackhole();
      });
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      const started = Date.now();
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      expect(code).toBe(1);
      expect(stderr).toMatch(/^mcp-orch: redis store: .+: Command timed out \(STORAGE_FAILED\)\n$/);
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      await proxy.close();
    }
  });

  it('the timeout is per command: steps longer than it run to the end', {
    timeout: 20_000,
  }, async () => {
    const run = await cli(
      ['run', 'words.mjs', '--task', 'rr_slow', '--json'],
      storeUrl({ query: '&timeout=300ms' }),
      { STEP_MS: '700' },
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ status: 'completed' });
  });

  it('a db the server lacks is BAD_STORE (2), and nothing is written to db 0', {
    timeout: 20_000,
  }, async () => {
    const result = await cli(['run', 'approval.mjs', '--task', 'rr_db'], storeUrl({ path: '/99' }));
    expect(result.stderr).toMatch(
      /^mcp-orch: Redis at \S+ has no database 99: ERR .+ \(BAD_STORE\)\n$/,
    );
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(await keysUnder(redis?.client as never, `${redis?.prefix}{rr_db}`)).toEqual([]);
  });

  it('run ends on an idle machine (0) and on a stalled step (RUN_STALLED, 1), as on file:', {
    timeout: 20_000,
  }, async () => {
    const [idle, stalled] = await Promise.all([
      cli(['run', 'review.mjs', '--task', 'rr_idle'], storeUrl()),
      cli(['run', 'hangs.mjs', '--task', 'rr_hangs'], storeUrl()),
    ]);
    expect(idle.stderr).toBe('');
    expect(idle.code).toBe(0);
    expect(idle.stdout).toContain('Task rr_idle is idle, waiting for edit, submit');
    expect(stalled.stderr).toBe(
      'mcp-orch: Task rr_hangs stalled at step forever: nothing is left to run in this process and it waits for no event; it stays running as its last checkpoint says (RUN_STALLED)\n',
    );
    expect(stalled.code).toBe(1);
    // Idle, it takes events: send moves it on, and ends once it is idle again.
    const sent = await cli(['send', 'rr_idle', 'submit', '--file', 'review.mjs'], storeUrl());
    expect(sent.stderr).toBe('');
    expect(sent.code).toBe(0);
    expect(sent.stdout).toContain('Task rr_idle is idle, waiting for approve');
  });
});
