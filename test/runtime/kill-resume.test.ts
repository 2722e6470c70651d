import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { type CheckpointStore, getCheckpointManager } from 'mcp-orchestration';
import { createFileStore } from 'mcp-orchestration/file';
import { createRedisStore } from 'mcp-orchestration/redis';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnWriter } from '../support/file-child-process.js';
import { makeTempDir } from '../support/file-temp-dir.js';
import { REDIS_URL, randomPrefix, redisAvailable } from '../support/redis.js';
import { chainStepIds } from './chain-workflow.js';
import { killResumeWorkflow } from './kill-resume-workflow.js';

// Real processes: a child runs the 50-step workflow, is killed with SIGKILL at a random moment
// (up to twice), and a new child started with the same command resumes it from the store.

const CHILD = '../runtime/kill-resume-child.ts';
const STEPS = chainStepIds(killResumeWorkflow(() => {}));

function invocationCounts(log: string): Record<string, number> {
  const counts: Record<string, number> = {};
  if (!existsSync(log)) return counts;
  for (const line of readFileSync(log, 'utf8').split('\n')) {
    if (line !== '') counts[line] = (counts[line] ?? 0) + 1;
  }
  return counts;
}

/** Runs a child to the end and returns its result line's data. */
async function runToEnd(args: string[]): Promise<unknown> {
  const child = spawnWriter(CHILD, args);
  const line = await child.waitFor((l) => l.startsWith('result '));
  expect((await child.exited).code).toBe(0);
  return JSON.parse(line.slice('result '.length));
}

/**
 * Starts a child and kills it with SIGKILL after a random number (1–20) of its checkpoints. The
 * run writes over 50 checkpoints (the group's from about the 22nd), so two kills in a row always
 * land before its end, and often in the group.
 */
async function runAndKill(args: string[]): Promise<void> {
  const child = spawnWriter(CHILD, args);
  const after = 1 + Math.floor(Math.random() * 20);
  let seen = 0;
  await child.waitFor(
    (l) => l.startsWith('result ') || (l.startsWith('checkpoint ') && ++seen === after),
  );
  await new Promise((resolve) => setTimeout(resolve, Math.random() * 15));
  child.child.kill('SIGKILL');
  expect((await child.exited).signal).toBe('SIGKILL');
  expect(child.lines.some((l) => l.startsWith('result '))).toBe(false);
}

interface Backend {
  args(taskId: string, log: string): string[];
  open(): CheckpointStore;
}

async function killAndResume(backend: Backend, dir: string): Promise<void> {
  const expected = await runToEnd(backend.args('reference', join(dir, 'reference.log')));
  const store = backend.open();
  const manager = await getCheckpointManager(store);
  const taskId = 'killed';
  const log = join(dir, `${taskId}.log`);
  const args = backend.args(taskId, log);
  // Killed twice at random moments, then run to the end.
  const frozen: Array<{ committed: Set<string>; counts: Record<string, number> }> = [];
  for (let kill = 0; kill < 2; kill++) {
    await runAndKill(args);
    const state = await manager.loadLatestCheckpoint(taskId);
    frozen.push({
      committed: new Set(state?.plan.filter((s) => s.isComplete).map((s) => s.stepId)),
      counts: invocationCounts(log),
    });
  }
  const output = await runToEnd(args);
  expect(output).toEqual(expected);
  const counts = invocationCounts(log);
  for (const stepId of STEPS) {
    expect(counts[stepId] ?? 0, stepId).toBeGreaterThanOrEqual(1);
    expect(counts[stepId] ?? 0, stepId).toBeLessThanOrEqual(1 + frozen.length);
    for (const { committed, counts: atKill } of frozen) {
      // A step whose completion was checkpointed before a kill never ran again.
      if (committed.has(stepId)) expect(counts[stepId], stepId).toBe(atKill[stepId]);
    }
  }
  expect((await manager.loadLatestCheckpoint(taskId))?.status).toBe('completed');
  // The growing chain was spliced from bases in the contexts log (format 4), the contexts that
  // outlive a checkpoint named there; every checkpoint still loads.
  const formats = await Promise.all(
    (await manager.listCheckpoints(taskId)).map(
      async (id) => (await manager.loadCheckpoint(taskId, id))?.checkpoint?.v,
    ),
  );
  expect(formats).toContain(4);
  expect((await store.readLog(taskId, 'contexts')).length).toBeGreaterThan(0);
  await store.close();
}

describe('kill -9 and resume with real processes', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const cleanup of cleanups) await cleanup();
  });

  it('file store: the 50-step workflow completes with the same result', async () => {
    const temp = await makeTempDir('kill-resume');
    cleanups.push(temp.remove);
    const directory = join(temp.dir, 'store');
    await killAndResume(
      {
        args: (taskId, log) => ['file', directory, taskId, log],
        open: () => createFileStore({ directory }),
      },
      temp.dir,
    );
  }, 60_000);

  it.skipIf(!redisAvailable)(
    'Redis store: the 50-step workflow completes with the same result',
    async () => {
      const temp = await makeTempDir('kill-resume-redis');
      cleanups.push(temp.remove);
      const prefix = randomPrefix();
      const client = new Redis(REDIS_URL);
      cleanups.push(async () => {
        const keys = await client.keys(`${prefix}*`);
        if (keys.length > 0) await client.del(...keys);
        client.disconnect();
      });
      await killAndResume(
        {
          args: (taskId, log) => ['redis', prefix, taskId, log],
          open: () => createRedisStore({ client, prefix }),
        },
        temp.dir,
      );
    },
    60_000,
  );
});
