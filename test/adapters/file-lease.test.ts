import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type CheckpointStore,
  createRuntime,
  isOrchestrationError,
  type LeaseClaim,
  MAX_LEASE_TTL_MS,
} from 'mcp-orchestration';
import { createFileStore } from 'mcp-orchestration/file';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fileNameForId } from '../../adapters/file/task-paths.js';
import { spawnWriter, type WriterProcess } from '../support/file-child-process.js';
import { makeTempDir } from '../support/file-temp-dir.js';
import { rejectionOf } from '../support/rejection.js';

// Leases on disk: the lease file, how a lease-only folder stays out of listings, damaged lease
// files, and real processes racing for leases. The contract is in
// test/conformance/cases/leases.cases.ts.

const MINUTE = 60_000;

let temp: Awaited<ReturnType<typeof makeTempDir>>;
let stores: CheckpointStore[] = [];
let children: WriterProcess[] = [];
let clock = Date.now();

beforeEach(async () => {
  temp = await makeTempDir('file-lease');
  stores = [];
  children = [];
  clock = Date.now();
});

afterEach(async () => {
  for (const { child } of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  await Promise.all(children.map((child) => child.exited));
  await Promise.all(stores.map((store) => store.close()));
  await temp.remove();
});

function open(): CheckpointStore {
  const store = createFileStore({ directory: temp.dir, now: () => clock });
  stores.push(store);
  return store;
}

const folder = (taskId: string) => join(temp.dir, 'tasks', fileNameForId(taskId));
const leaseFile = (taskId: string) => join(folder(taskId), 'lease.json');

async function expectCorrupt(promise: Promise<unknown>): Promise<void> {
  const error = await rejectionOf(promise);
  expect(isOrchestrationError(error, 'CORRUPT_RECORD')).toBe(true);
  expect((error as Error).message).toContain('lease.json');
}

describe('file store leases on disk', () => {
  it('keeps a lease in lease.json, seen by another store instance, gone on release', async () => {
    const store = open();
    const { lease } = await store.claimLease('task-1', 'worker-a', 5 * MINUTE);
    expect(JSON.parse(await readFile(leaseFile('task-1'), 'utf8'))).toEqual({
      v: 1,
      owner: 'worker-a',
      expiresAt: clock + 5 * MINUTE,
    });
    // Only the lock and the lease: no head, no records, no temp file left.
    expect((await readdir(folder('task-1'))).sort()).toEqual(['lease.json', 'lock']);
    const other = open();
    expect(await other.readLease('task-1')).toEqual(lease);
    expect(await other.claimLease('task-1', 'worker-b', MINUTE)).toEqual({ granted: false, lease });
    expect(await other.releaseLease('task-1', 'worker-a')).toBe(true);
    // The task held nothing but the lease: its folder goes with it.
    expect(await readdir(join(temp.dir, 'tasks'))).toEqual([]);
    expect(await store.readLease('task-1')).toBeUndefined();
  });

  it('keeps the folder of a task with records, a log or a head on release', async () => {
    const store = open();
    await store.save({ taskId: 'saved', checkpointId: 'cp-1', createdAt: clock, body: '{}' });
    await store.appendLog('logged', 'lineage', ['{}']);
    await store.save({ taskId: 'emptied', checkpointId: 'cp-1', createdAt: clock, body: '{}' });
    await store.delete('emptied', 'cp-1');
    for (const id of ['saved', 'logged', 'emptied']) {
      expect((await store.claimLease(id, 'worker-a', MINUTE)).granted).toBe(true);
      expect(await store.releaseLease(id, 'worker-a')).toBe(true);
    }
    expect(await store.listTasks()).toEqual(['emptied', 'logged', 'saved']);
    expect(await store.head('emptied')).toBe(1);
    expect(await store.readLog('logged', 'lineage')).toEqual(['{}']);
  });

  it('a save that expected a task deleted meanwhile leaves no folder behind', async () => {
    const store = open();
    await store.save({ taskId: 'gone', checkpointId: 'cp-1', createdAt: clock, body: '{}' });
    expect(await open().deleteTask('gone')).toBe(true);
    const refused = await rejectionOf(
      store.save(
        { taskId: 'gone', checkpointId: 'cp-2', createdAt: clock, body: '{}' },
        { expectedSeq: 1 },
      ),
    );
    expect(isOrchestrationError(refused, 'CHECKPOINT_CONFLICT')).toBe(true);
    expect(await readdir(join(temp.dir, 'tasks'))).toEqual([]);
  });

  it('a runtime resuming an unknown task under a lease leaves no folder behind', async () => {
    const runtime = createRuntime({ store: open(), lease: { owner: 'worker-a', ttlMs: MINUTE } });
    const error = await rejectionOf(runtime.resume('never-saved'));
    expect(isOrchestrationError(error, 'TASK_NOT_FOUND')).toBe(true);
    await runtime.close();
    expect(await readdir(join(temp.dir, 'tasks'))).toEqual([]);
  });

  it('refuses and releases nothing without creating a folder', async () => {
    const store = open();
    expect(await store.releaseLease('task-1', 'worker-a')).toBe(false);
    expect(await store.readLease('task-1')).toBeUndefined();
    expect(await readdir(temp.dir)).toEqual([]);
  });

  it('leaves a lapsed lease file alone on release, and replaces it on the next claim', async () => {
    const store = open();
    await store.claimLease('task-1', 'worker-a', MINUTE);
    const before = await readFile(leaseFile('task-1'), 'utf8');
    clock += MINUTE;
    expect(await store.releaseLease('task-1', 'worker-a')).toBe(false);
    expect(await readFile(leaseFile('task-1'), 'utf8')).toBe(before);
    expect((await store.claimLease('task-1', 'worker-b', MINUTE)).lease.owner).toBe('worker-b');
    expect(JSON.parse(await readFile(leaseFile('task-1'), 'utf8')).owner).toBe('worker-b');
  });

  it('does not list a task with only a lease, even one whose folder name is not its id', async () => {
    const store = open();
    for (const id of ['plain', 'Task-Upper']) {
      expect((await store.claimLease(id, 'worker-a', MINUTE)).granted).toBe(true);
    }
    expect(await store.listTasks()).toEqual([]);
    expect(await open().listTasks()).toEqual([]);
    expect(await store.head('Task-Upper')).toBe(0);
    // deleteTask of a lease alone: false (no task), and the lease and the folder are gone.
    expect(await store.deleteTask('Task-Upper')).toBe(false);
    expect(await store.readLease('Task-Upper')).toBeUndefined();
    expect(await readdir(join(temp.dir, 'tasks'))).toEqual(['plain']);
  });

  it('lists a task saved after another instance deleted it and claimed its lease', async () => {
    const writer = open();
    await writer.save({ taskId: 'Task-Back', checkpointId: 'cp-1', createdAt: clock, body: '{}' });
    const other = open();
    expect(await other.deleteTask('Task-Back')).toBe(true);
    // The claim makes the folder anew: the writer must not trust its memory of the id file.
    expect((await other.claimLease('Task-Back', 'worker-a', MINUTE)).granted).toBe(true);
    await writer.save({ taskId: 'Task-Back', checkpointId: 'cp-2', createdAt: clock, body: '{}' });
    expect(await open().listTasks()).toEqual(['Task-Back']);
  });
});

describe('file store damaged lease files', () => {
  const damaged: Array<[string, string]> = [
    ['not JSON', '{"v":1,"owner":'],
    ['not an object', '42'],
    ['a bad owner', '{"v":1,"owner":"../x","expiresAt":1}'],
    ['no expiry', '{"v":1,"owner":"worker-a","expiresAt":null}'],
    ['an unknown version', '{"v":2,"owner":"worker-a","expiresAt":1}'],
    // Over the 512-byte bound, though valid JSON: refused after reading 513 bytes at most.
    ['too long', `{"v":1,"owner":"worker-a","expiresAt":1${' '.repeat(10_000)}}`],
  ];

  it.each(damaged)('reports a lease file with %s as CorruptRecordError', async (_, text) => {
    const store = open();
    await store.claimLease('task-1', 'worker-a', MINUTE);
    await writeFile(leaseFile('task-1'), text);
    await expectCorrupt(store.readLease('task-1'));
    await expectCorrupt(store.claimLease('task-1', 'worker-a', MINUTE));
    await expectCorrupt(store.claimLease('task-1', 'worker-b', MINUTE));
    await expectCorrupt(store.releaseLease('task-1', 'worker-a'));
    expect(await readFile(leaseFile('task-1'), 'utf8')).toBe(text); // left as found
    // deleteTask clears it.
    await store.deleteTask('task-1');
    expect((await store.claimLease('task-1', 'worker-b', MINUTE)).granted).toBe(true);
  });
});

/** A child process that claims `task-0`..`task-<n-1>` in order, `concurrency` at a time. */
const CLAIMER = `
const [storeUrl, helperUrl, directory, owner, count, concurrency] = process.argv.slice(2);
const { createFileStore } = await import(storeUrl);
const { waitForGo } = await import(helperUrl);
const store = createFileStore({ directory, lockTimeoutMs: 20000 });
process.stdout.write('ready\\n');
await waitForGo();
const claims = [];
let next = 0;
async function worker() {
  while (next < Number(count)) {
    const i = next++;
    claims[i] = await store.claimLease('task-' + i, owner, ${MAX_LEASE_TTL_MS});
  }
}
await Promise.all(Array.from({ length: Number(concurrency) }, worker));
await store.close();
process.stdout.write(JSON.stringify(claims) + '\\n');
`;

describe('file store leases across processes', () => {
  it('two processes racing for the same free leases: exactly one wins each', async () => {
    const tasks = 150;
    const script = join(temp.dir, 'claimer.mjs');
    await writeFile(script, CLAIMER);
    const storeUrl = new URL('../../adapters/file.ts', import.meta.url).href;
    const helperUrl = new URL('../support/file-child-process.ts', import.meta.url).href;
    const directory = join(temp.dir, 'store');
    const owners = ['proc-a', 'proc-b'];
    const claimers = owners.map((owner) =>
      spawnWriter(script, [storeUrl, helperUrl, directory, owner, String(tasks), '4']),
    );
    children.push(...claimers);
    await Promise.all(claimers.map((child) => child.waitFor((line) => line === 'ready')));
    for (const child of claimers) child.go();
    const results = await Promise.all(
      claimers.map(async (child) => {
        const line = await child.waitFor((text) => text.startsWith('['));
        expect((await child.exited).code).toBe(0);
        return JSON.parse(line) as LeaseClaim[];
      }),
    );
    const store = createFileStore({ directory });
    stores.push(store);
    const wins = [0, 0];
    for (let i = 0; i < tasks; i++) {
      const [a, b] = results.map((claims) => claims[i]) as [LeaseClaim, LeaseClaim];
      expect([a.granted, b.granted].filter(Boolean)).toHaveLength(1);
      // Both saw the same lease: the winner's, as it is on disk.
      expect(b.lease).toEqual(a.lease);
      expect(await store.readLease(`task-${i}`)).toEqual(a.lease);
      const winner = a.granted ? 0 : 1;
      expect(a.lease.owner).toBe(owners[winner]);
      wins[winner] = (wins[winner] ?? 0) + 1;
    }
    // Both raced for real: each won some.
    expect(wins[0]).toBeGreaterThan(0);
    expect(wins[1]).toBeGreaterThan(0);
  }, 60_000);
});
