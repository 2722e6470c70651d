import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { getCheckpointManager } from 'mcp-orchestration';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { REDIS_PASSWORD_ENV } from '../../src/cli/open-store.js';
import {
  createTestClient,
  deleteKeysUnder,
  describeRedis,
  keysUnder,
  openRedisStore,
  REDIS_URL,
  type RedisStoreUnderTest,
  randomPrefix,
  recordKey,
} from '../support/redis.js';
import { makeCliDir, runCli } from './cli-harness.js';

let dir = '';
let remove = async () => {};
let redis: RedisStoreUnderTest | undefined;

describeRedis('mcp-orch over a redis:// store', () => {
  beforeAll(async () => {
    ({ dir, remove } = await makeCliDir());
    redis = await openRedisStore(); // a random key prefix; cleanup deletes its keys
  });
  afterAll(async () => {
    await redis?.cleanup();
    await remove();
  });

  const cli = (...args: string[]) => {
    const url = new URL(REDIS_URL);
    url.searchParams.set('prefix', redis?.prefix ?? '');
    return runCli([...args, '--store', url.toString()], { cwd: dir });
  };

  it('runs a workflow, then reads its status and checkpoints back from Redis', {
    timeout: 60_000,
  }, async () => {
    const run = await cli('run', 'words.mjs', '--task', 'redis_1');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Task redis_1 completed: Report redis_1_report');

    const status = JSON.parse((await cli('status', 'redis_1', '--json')).stdout);
    expect(status).toMatchObject({ taskId: 'redis_1', status: 'completed', seq: 5 });

    const list = JSON.parse(
      (await cli('checkpoints', 'list', 'redis_1', '--json')).stdout,
    ).checkpoints;
    const manager = await getCheckpointManager(redis?.store);
    expect(list.map((e: { checkpointId: string }) => e.checkpointId)).toEqual(
      await manager.listCheckpoints('redis_1'),
    );
    expect(list).toHaveLength(5);
    expect((await redis?.client.keys(`${redis?.prefix}*`))?.length).toBeGreaterThan(0);
  });

  it('checkpoints list shows a damaged record as unreadable and the others (0), as on file:', {
    timeout: 60_000,
  }, async () => {
    expect((await cli('run', 'words.mjs', '--task', 'redis_bad')).code).toBe(0);
    const manager = await getCheckpointManager(redis?.store);
    const ids = await manager.listCheckpoints('redis_bad'); // newest first
    const [latest, , middle] = ids as [string, string, string];
    // As scratch/cli/repro-4-redis-list-corrupt.sh damages one: its header is gone.
    for (const id of [latest, middle]) {
      await redis?.client.set(recordKey(redis.prefix, 'redis_bad', id), 'garbage');
    }

    const text = await cli('checkpoints', 'list', 'redis_bad');
    expect(text.stderr).toBe('');
    expect(text.code).toBe(0);
    const lines = text.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(6);
    expect(lines[1]).toMatch(
      /^ {5}5 {2}checkpoint-\S+ {2}unknown {2}unreadable: Record checkpoint-\S+ of task redis_bad is corrupt: .+ \(CORRUPT_RECORD\)$/,
    );
    expect(lines[2]).toMatch(/^ {5}4 {2}checkpoint-\S+ {2}\S+Z {2}running {4}\S+$/);

    const listed = await cli('checkpoints', 'list', 'redis_bad', '--json');
    expect(listed.code).toBe(0);
    const json = JSON.parse(listed.stdout).checkpoints;
    expect(
      json.map((e: { checkpointId: string; status: string }) => [e.checkpointId, e.status]),
    ).toEqual(ids.map((id) => [id, id === latest || id === middle ? 'unreadable' : 'running']));
    expect(json[2].error.code).toBe('CORRUPT_RECORD');
    // Its creation time was in the damaged header.
    expect(json[2].createdAt).toBe('unknown');

    // The damaged record itself still reports its damage; another one shows.
    const shown = await cli('checkpoints', 'show', 'redis_bad', latest);
    expect(shown.code).toBe(1);
    expect(shown.stderr).toContain('(CORRUPT_RECORD)');
    const other = await cli('checkpoints', 'show', 'redis_bad', ids[1] as string);
    expect(other.stderr).toBe('');
    expect(other.code).toBe(0);
  });

  it('an unreachable Redis is one line and a failure (1)', { timeout: 60_000 }, async () => {
    const result = await runCli(['status', 'x', '--store', 'redis://127.0.0.1:1'], { cwd: dir });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^mcp-orch: Cannot connect to Redis at 127\.0\.0\.1:1: .+ \(STORE_UNREACHABLE\)\n$/,
    );
  });
});

describeRedis('mcp-orch over a Redis that asks for a password', () => {
  // A Redis user of the test's own, allowed only the test's key prefix, so the store's commands
  // really authenticate; deleted afterwards.
  const suffix = randomBytes(6).toString('hex');
  const user = `mcporch_${suffix}`;
  const password = `p@ss w:rd/${suffix}`;
  const encoded = encodeURIComponent(password);
  let admin: Redis | undefined;
  let prefix = '';

  beforeAll(async () => {
    ({ dir, remove } = await makeCliDir());
    prefix = randomPrefix();
    admin = createTestClient();
    await admin.acl('SETUSER', user, 'on', `>${password}`, `~${prefix}*`, '&*', '+@all');
  });
  afterAll(async () => {
    if (admin !== undefined) {
      await deleteKeysUnder(admin, prefix);
      await admin.acl('DELUSER', user);
      await admin.quit();
    }
    await remove();
  });

  const storeUrl = (withPassword: string | undefined) => {
    const url = new URL(REDIS_URL);
    url.username = user;
    if (withPassword !== undefined) url.password = encodeURIComponent(withPassword);
    url.searchParams.set('prefix', prefix);
    return url.toString();
  };
  const noSecret = (text: string) => {
    expect(text).not.toContain(password);
    expect(text).not.toContain(encoded);
    expect(text).not.toContain(`w:rd/${suffix}`);
  };

  it('a password in the URL works and is printed as *** everywhere, follow-up commands included', {
    timeout: 60_000,
  }, async () => {
    const store = storeUrl(password);
    for (const task of ['pw_1', 'pw_2']) {
      const run = await runCli(['run', 'words.mjs', '--task', task, '--store', store], {
        cwd: dir,
      });
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(`(redis://${user}:***@`);
      noSecret(run.stdout);
    }
    const tasks = await runCli(['tasks', '--limit', '1', '--store', store], { cwd: dir });
    expect(tasks.code).toBe(0);
    expect(tasks.stdout).toMatch(/More: mcp-orch tasks --after \S+ --limit 1 --store \S+:\*\*\*@/);
    noSecret(tasks.stdout);
    // The keys were written as the test's user, under its prefix.
    expect((await keysUnder(admin!, prefix)).length).toBeGreaterThan(0);
  });

  it(`takes the password from ${REDIS_PASSWORD_ENV} when the URL has none`, {
    timeout: 60_000,
  }, async () => {
    const status = (env: Record<string, string>) =>
      runCli(['status', 'pw_1', '--json', '--store', storeUrl(undefined)], { cwd: dir, env });
    const good = await status({ [REDIS_PASSWORD_ENV]: password });
    expect(good.stderr).toBe('');
    expect(JSON.parse(good.stdout)).toMatchObject({ taskId: 'pw_1', status: 'completed' });
    // A wrong one is refused by Redis: the variable was used, and is not printed.
    const wrong = await status({ [REDIS_PASSWORD_ENV]: `${password}-wrong` });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/Cannot connect to Redis at .*WRONGPASS.*\(STORE_UNREACHABLE\)/);
    noSecret(wrong.stderr);
  });

  it('a URL that does not parse is refused without printing its password', async () => {
    const result = await runCli(['status', 'x', '--store', `redis://${user}:${encoded}@[::1`], {
      cwd: dir,
    });
    expect(result.code).toBe(2); // a usage error
    expect(result.stderr).toContain(`Invalid Redis URL "redis://${user}:***@[::1"`);
    noSecret(result.stderr);
  });
});
