import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createFileStore } from 'mcp-orchestration/file';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnWriter } from '../support/file-child-process.js';
import { makeTempDir } from '../support/file-temp-dir.js';

// Real processes sharing one file store, each a runtime with leases: a worker that starts while
// another runs a task leaves it alone; once that worker is killed (SIGKILL: its lease is never
// released), the task waits for the lease to lapse, then the next worker takes it over.

const CHILD = '../runtime/lease-worker-child.ts';
const TTL_MS = 2_000;

const temp = await makeTempDir('lease-workers');
afterAll(() => temp.remove());

/** Runs a `recover` worker to its end; returns its recovered and leased lines and results. */
async function recoverWorker(owner: string, log: string) {
  const child = spawnWriter(CHILD, [temp.dir, owner, String(TTL_MS), 'recover', log]);
  expect((await child.exited).code).toBe(0);
  const line = (prefix: string) =>
    (child.lines.find((l) => l.startsWith(prefix)) ?? '').slice(prefix.length);
  return {
    recovered: line('recovered '),
    leased: line('leased '),
    results: child.lines.filter((l) => l.startsWith('result ')),
  };
}

describe('task leases across processes (file store)', () => {
  it('a live worker keeps its task; a killed one gives it up once its lease lapses', async () => {
    const log = join(temp.dir, 'invocations.log');
    const a = spawnWriter(CHILD, [temp.dir, 'worker-a', String(TTL_MS), 'start', log]);
    // Checkpoint 3 holds a02's result; worker-a then hangs in a03.
    await a.waitFor((l) => l === 'checkpoint 3');

    // worker-a runs the task (renewing its lease): worker-b leaves it alone, however long.
    await new Promise((resolve) => setTimeout(resolve, TTL_MS));
    expect(await recoverWorker('worker-b', log)).toEqual({
      recovered: '',
      leased: 'job:worker-a',
      results: [],
    });

    a.child.kill('SIGKILL');
    expect((await a.exited).signal).toBe('SIGKILL');
    // Its lease outlives it, until its TTL runs out.
    const store = createFileStore({ directory: temp.dir });
    const lease = await store.readLease('job');
    await store.close();
    expect(lease?.owner).toBe('worker-a');
    await new Promise((resolve) => setTimeout(resolve, (lease?.expiresAt ?? 0) - Date.now() + 50));
    const taken = await recoverWorker('worker-d', log);
    expect(taken.recovered).toBe('job');
    expect(taken.leased).toBe('');
    expect(taken.results).toHaveLength(1);
    const result = JSON.parse(taken.results[0]?.slice('result '.length) ?? '{}');
    // Every step's item once per lane it ran in (both regions start from the first ten).
    expect(new Set(result.items).size).toBe(20);
    expect(result.items).toHaveLength(30);

    // a01 and a02 ran once, by worker-a; a03, in flight at the kill, ran again; then worker-d.
    const runs = readFileSync(log, 'utf8').trim().split('\n');
    expect(runs.slice(0, 3)).toEqual(['worker-a a01', 'worker-a a02', 'worker-a a03']);
    const byD = runs.slice(3);
    expect(byD.every((r) => r.startsWith('worker-d '))).toBe(true);
    expect(byD).toHaveLength(18);
    expect(byD[0]).toBe('worker-d a03');
  }, 60_000);
});
