import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, readdir, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { type CheckpointStore, isOrchestrationError } from 'mcp-orchestration';
import { createFileStore, type FileStoreOptions } from 'mcp-orchestration/file';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { withTaskLock } from '../../adapters/file/task-lock.js';
import { makeTempDir } from '../support/file-temp-dir.js';
import { rejectionOf } from '../support/rejection.js';

// The task lock as seen from outside: lock files as another process would leave them.

let temp: Awaited<ReturnType<typeof makeTempDir>>;
let stores: CheckpointStore[] = [];

beforeEach(async () => {
  temp = await makeTempDir('file-lock');
  stores = [];
});

afterEach(async () => {
  await Promise.all(stores.map((store) => store.close()));
  await temp.remove();
});

function open(options: Partial<FileStoreOptions> = {}): CheckpointStore {
  const store = createFileStore({ directory: temp.dir, ...options });
  stores.push(store);
  return store;
}

const lockDir = () => join(temp.dir, 'tasks', 'task-1', 'lock');
const save = (store: CheckpointStore, id: string, expectedSeq?: number) =>
  store.save(
    { taskId: 'task-1', checkpointId: id, createdAt: Date.now(), body: id },
    { expectedSeq },
  );

/** Writes lock generation `gen` as another holder would have left it. */
async function plantLock(gen: number, pid: number, state: 'held' | 'free' = 'held') {
  await mkdir(lockDir(), { recursive: true });
  const info = { v: 1, pid, host: hostname(), token: `planted-${gen}`, state };
  await writeFile(join(lockDir(), String(gen)), JSON.stringify(info));
}

/** The pid of a process that has exited (and been reaped). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await once(child, 'exit');
  return child.pid as number;
}

describe('file store task lock', () => {
  it('takes over at once from a holder that died, and removes the temp files it left', async () => {
    await plantLock(7, await deadPid());
    await mkdir(join(temp.dir, 'tasks', 'task-1', 'records'), { recursive: true });
    await writeFile(join(temp.dir, 'tasks', 'task-1', 'records', '.tmp-0123'), 'half');
    // A timeout far below lockStaleMs: only pid liveness can free the lock in time.
    const store = open({ lockTimeoutMs: 1_000, lockStaleMs: 60_000 });
    expect(await save(store, 'cp-1', 0)).toEqual({ seq: 1 });
    expect(await readdir(join(temp.dir, 'tasks', 'task-1', 'records'))).toHaveLength(1);
    const generations = (await readdir(lockDir())).filter((name) => /^\d+$/.test(name));
    expect(generations.map(Number).every((gen) => gen >= 8)).toBe(true);
  });

  it('waits for a live holder and fails with StorageError after lockTimeoutMs; reads go on', async () => {
    const store = open({ lockTimeoutMs: 300 });
    await save(store, 'cp-1');
    await plantLock(1_000, process.ppid); // the test runner's parent: alive, and not this process
    const started = Date.now();
    const error = await rejectionOf(save(store, 'cp-2'));
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(isOrchestrationError(error, 'STORAGE_FAILED')).toBe(true);
    expect((error as Error).message).toContain(`held by process ${process.ppid}`);
    expect(await store.head('task-1')).toBe(1);
    expect((await store.latest('task-1'))?.body).toBe('cp-1');
    expect(await store.readLog('task-1', 'lineage')).toEqual([]);
  });

  it('takes over from a live holder whose heartbeat is older than lockStaleMs', async () => {
    await plantLock(3, process.ppid);
    const past = new Date(Date.now() - 5_000);
    await utimes(join(lockDir(), '3'), past, past);
    const store = open({ lockTimeoutMs: 2_000, lockStaleMs: 1_000 });
    expect(await save(store, 'cp-1')).toEqual({ seq: 1 });
  });

  it('sees a lock of its own pid that it does not hold as left by a recycled pid', async () => {
    await plantLock(2, process.pid);
    const store = open({ lockTimeoutMs: 1_000, lockStaleMs: 60_000 });
    expect(await save(store, 'cp-1')).toEqual({ seq: 1 });
  });

  it('passes a released lock on without waiting', async () => {
    await plantLock(5, process.ppid, 'free');
    const store = open({ lockTimeoutMs: 500 });
    expect(await save(store, 'cp-1')).toEqual({ seq: 1 });
  });

  it('tells a claim whose released claim it follows, and nothing after a crash', async () => {
    const options = { staleMs: 60_000, timeoutMs: 1_000, label: 'test' };
    const claim = () => withTaskLock(lockDir(), options, async (lock) => lock);
    const first = await claim();
    expect(first.follows).toBeUndefined(); // a new folder
    const second = await claim();
    expect(second.follows).toBe(first.token);
    expect(second.token).not.toBe(first.token);
    await plantLock(100, await deadPid()); // died holding it
    expect((await claim()).follows).toBeUndefined();
    await plantLock(200, process.ppid, 'free'); // released by another process
    expect((await claim()).follows).toBe('planted-200');
  });

  it('serializes two stores of one process reaching the folder by different paths', async () => {
    const alias = join(temp.dir, '..', `${temp.dir.split('/').at(-1)}-alias`);
    await symlink(temp.dir, alias);
    try {
      // Two spellings of one folder: no shared in-process queue, only the lock files.
      const first = open();
      const second = open({ directory: alias });
      for (let round = 0; round < 15; round++) {
        const outcomes = await Promise.allSettled([
          save(first, `first-${round}`, round),
          save(second, `second-${round}`, round),
          save(first, `third-${round}`, round),
        ]);
        const won = outcomes.filter((outcome) => outcome.status === 'fulfilled');
        expect(won).toHaveLength(1);
        for (const outcome of outcomes) {
          if (outcome.status === 'rejected') {
            expect(isOrchestrationError(outcome.reason, 'CHECKPOINT_CONFLICT')).toBe(true);
          }
        }
      }
      expect((await first.list('task-1')).map((meta) => meta.seq)).toEqual(
        Array.from({ length: 15 }, (_, i) => 15 - i),
      );
    } finally {
      await rm(alias, { force: true });
    }
  });

  it('keeps a long-held lock fresh with its heartbeat', async () => {
    const dir = lockDir();
    const mtimes: number[] = [];
    await withTaskLock(dir, { staleMs: 60, timeoutMs: 1_000, label: 'test' }, async () => {
      const [gen] = (await readdir(dir)).filter((name) => /^\d+$/.test(name));
      for (let i = 0; i < 6; i++) {
        mtimes.push((await stat(join(dir, gen as string))).mtimeMs);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    });
    expect(new Set(mtimes).size).toBeGreaterThan(1);
  });
});
