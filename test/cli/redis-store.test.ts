import { getCheckpointManager } from 'mcp-orchestration';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  describeRedis,
  openRedisStore,
  REDIS_URL,
  type RedisStoreUnderTest,
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

    const list = JSON.parse((await cli('checkpoints', 'list', 'redis_1', '--json')).stdout);
    const manager = await getCheckpointManager(redis?.store);
    expect(list.map((e: { checkpointId: string }) => e.checkpointId)).toEqual(
      await manager.listCheckpoints('redis_1'),
    );
    expect(list).toHaveLength(5);
    expect((await redis?.client.keys(`${redis?.prefix}*`))?.length).toBeGreaterThan(0);
  });

  it('an unreachable Redis is one line and a failure (1)', { timeout: 60_000 }, async () => {
    const result = await runCli(['status', 'x', '--store', 'redis://127.0.0.1:1'], { cwd: dir });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^mcp-orch: Cannot connect to Redis at 127\.0\.0\.1:1: .+ \(STORE_UNREACHABLE\)\n$/,
    );
  });
});
