import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CheckpointStore } from 'mcp-orchestration';
import { createFileStore, type FileStoreOptions } from 'mcp-orchestration/file';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTempDir } from '../support/file-temp-dir.js';

// A lock holder that stalls (event loop blocked, SIGSTOP, …) longer than lockStaleMs is taken
// over, and wakes up not knowing it. Whatever it then writes must not land: the fence of the
// lock's claim stages (adapters/file/claim-stage.ts). The stalled holder is a real child process
// whose event loop is blocked at a chosen moment (a file-system call or the store's clock) until
// the test lets it go; the test process takes the lock over meanwhile.

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TASK = 'task-1';
const STALE_MS = 300;

let temp: Awaited<ReturnType<typeof makeTempDir>>;
let stores: CheckpointStore[] = [];
let children: ChildProcess[] = [];

beforeEach(async () => {
  temp = await makeTempDir('file-fencing');
  stores = [];
  children = [];
});

afterEach(async () => {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  await Promise.all(stores.map((store) => store.close()));
  await temp.remove();
});

function open(options: Partial<FileStoreOptions> = {}): CheckpointStore {
  const store = createFileStore({
    directory: join(temp.dir, 'store'),
    lockStaleMs: STALE_MS,
    ...options,
  });
  stores.push(store);
  return store;
}

const record = (checkpointId: string) => ({
  taskId: TASK,
  checkpointId,
  createdAt: Date.now(),
  body: `{"by":"${checkpointId}"}`,
});

/**
 * The child's program (ES module, run with tsx): a file store on the test's folder, and `arm(kind,
 * pattern)` to stall the process once, at the next call of that kind: `now` (the store's clock,
 * which it reads right after taking the task lock), `rename` (to a path matching `pattern`) or
 * `write` (a file-handle write of bytes starting with `pattern`). Stalled, it prints `stalled`
 * and blocks its event loop (no timer, so no lock heartbeat, runs) until the test creates the
 * wake-up file. `report(value)` prints one JSON line.
 */
const PRELUDE = `
import { existsSync, writeSync } from 'node:fs';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { pathToFileURL } from 'node:url';
const require = createRequire(import.meta.url);
const config = JSON.parse(process.env.FENCING_CHILD);
const fsp = require('node:fs/promises');
let trap;
const arm = (kind, pattern) => { trap = { kind, pattern }; };
function stall() {
  trap = undefined;
  writeSync(1, 'stalled\\n');
  const until = Date.now() + 30000;
  while (!existsSync(config.wake) && Date.now() < until) {}
}
const rename = fsp.rename;
fsp.rename = function (from, to, ...rest) {
  if (trap?.kind === 'rename' && new RegExp(trap.pattern).test(String(to))) stall();
  return rename.call(this, from, to, ...rest);
};
syncBuiltinESMExports();
const probe = await fsp.open(config.wake + '.probe', 'w');
const handleProto = Object.getPrototypeOf(probe);
await probe.close();
const write = handleProto.write;
handleProto.write = function (data, ...rest) {
  if (trap?.kind === 'write' && Buffer.isBuffer(data) && data.toString('utf8', 0, 64).startsWith(trap.pattern)) stall();
  return write.call(this, data, ...rest);
};
const now = () => {
  if (trap?.kind === 'now') stall();
  return Date.now();
};
const { createFileStore } = await import(pathToFileURL(config.module).href);
const store = createFileStore({ directory: config.directory, lockStaleMs: config.staleMs, now });
const report = (value) => writeSync(1, JSON.stringify(value) + '\\n');
const outcome = (promise) =>
  promise.then((value) => ({ value }), (error) => ({ error: error.code ?? String(error) }));
const record = (checkpointId) => ({ taskId: config.task, checkpointId, createdAt: Date.now(), body: '{"by":"' + checkpointId + '"}' });
`;

interface Stalling {
  /** Resolves once the child is stalled (holding the task lock, its heartbeat stopped). */
  readonly stalled: Promise<void>;
  /** Lets the child go on; resolves with the JSON line it reports, once it has exited. */
  wake(): Promise<unknown>;
}

/** Runs `body` (JavaScript, after {@link PRELUDE}) in a child process. */
function runChild(body: string): Stalling {
  const wakeFile = join(temp.dir, 'wake');
  const config = {
    directory: join(temp.dir, 'store'),
    staleMs: STALE_MS,
    task: TASK,
    wake: wakeFile,
    module: join(ROOT, 'adapters', 'file.ts'),
  };
  const child = spawn(
    process.execPath,
    ['--conditions=source', '--import', 'tsx', '--input-type=module', '-e', PRELUDE + body],
    {
      cwd: ROOT,
      env: { ...process.env, FENCING_CHILD: JSON.stringify(config) },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8');
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = once(child, 'exit');
  const stalled = new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (chunk: string) => {
      stdout += chunk;
      if (stdout.includes('stalled\n')) resolve();
    });
    exited.then(() => reject(new Error(`the child exited before it stalled: ${stderr}`)));
  });
  return {
    stalled,
    async wake() {
      await writeFile(wakeFile, '');
      const [code] = await exited;
      expect(code, stderr).toBe(0);
      const lines = stdout.split('\n').filter((line) => line.startsWith('{'));
      return JSON.parse(lines.at(-1) ?? 'null');
    },
  };
}

describe('file store: a stalled lock holder that was taken over', () => {
  it.each([
    ['right after taking the lock', "arm('now')"],
    ['right before its record lands', "arm('rename', '/records/')"],
  ])(
    'gets a conflict for its conditional save (stalled %s)',
    async (_when, arm) => {
      const child = runChild(`
      await store.save(record('A-1'), { expectedSeq: 0 });
      ${arm};
      report(await outcome(store.save(record('A-2'), { expectedSeq: 1 })));
    `);
      await child.stalled;
      const store = open();
      expect(await store.save(record('B-2'), { expectedSeq: 1 })).toEqual({ seq: 2 });
      expect(await child.wake()).toEqual({ error: 'CHECKPOINT_CONFLICT' });
      expect((await store.list(TASK)).map((meta) => `${meta.seq}:${meta.checkpointId}`)).toEqual([
        '2:B-2',
        '1:A-1',
      ]);
      expect((await store.latest(TASK))?.checkpointId).toBe('B-2');
      expect(await store.head(TASK)).toBe(2);
    },
    30_000,
  );

  it('does not write over the log line of the new holder (stalled before its write)', async () => {
    const child = runChild(`
      await store.appendLog(config.task, 'lineage', ['a1']);
      arm('write', '[1,');
      report(await outcome(store.appendLog(config.task, 'lineage', ['a2'])));
    `);
    await child.stalled;
    const store = open();
    expect(await store.appendLog(TASK, 'lineage', ['b1'])).toBe(2);
    // Its append did not happen where it aimed: it ran again, after the new holder's.
    expect(await child.wake()).toEqual({ value: 3 });
    expect(await store.readLog(TASK, 'lineage')).toEqual(['a1', 'b1', 'a2']);
    expect(await store.appendLog(TASK, 'lineage', ['b2'])).toBe(4);
  }, 30_000);

  it('appends nothing with appendLogAt when the new holder appended meanwhile (its append runs again)', async () => {
    const child = runChild(`
      await store.appendLog(config.task, 'lineage', ['a1']);
      arm('write', '[1,');
      report(await outcome(store.appendLogAt(config.task, 'lineage', 1, ['a2'])));
    `);
    await child.stalled;
    const store = open();
    expect(await store.appendLogAt?.(TASK, 'lineage', 1, ['b1'])).toEqual({
      appended: true,
      length: 2,
    });
    // Run again under a new claim, the append finds the log longer than it knew: refused.
    expect(await child.wake()).toEqual({ value: { appended: false, length: 2 } });
    expect(await store.readLog(TASK, 'lineage')).toEqual(['a1', 'b1']);
    expect(await store.appendLog(TASK, 'lineage', ['b2'])).toBe(3);
  }, 30_000);

  it.each([
    ['records', 'before its records folder goes'],
    ['logs', 'before its logs folder goes'],
    ['lock', 'before its lock folder goes'],
  ])(
    'removes nothing the new holder saved when it removes an expired task (stalled %s)',
    async (folder) => {
      // The child sees its one record expired, removes it under the lock, and stalls as it
      // removes the task's folders (rmdir, which refuses a folder that is not empty).
      const child = runChild(`
      const rmdir = fsp.rmdir;
      let stallAt;
      fsp.rmdir = function (path, ...rest) {
        if (stallAt !== undefined && String(path).endsWith('/' + stallAt)) {
          stallAt = undefined;
          stall();
        }
        return rmdir.call(this, path, ...rest);
      };
      syncBuiltinESMExports();
      await store.save({ ...record('A-1'), expiresAt: Date.now() + 100 });
      await new Promise((resolve) => setTimeout(resolve, 200));
      stallAt = ${JSON.stringify(folder)};
      report(await outcome(store.head(config.task)));
    `);
      await child.stalled;
      const store = open();
      expect(await store.save(record('B-1'), { expectedSeq: 0 })).toEqual({ seq: 1 });
      expect(await child.wake()).toEqual({ value: 0 });
      expect((await store.list(TASK)).map((meta) => `${meta.seq}:${meta.checkpointId}`)).toEqual([
        '1:B-1',
      ]);
      expect(await store.save(record('B-2'), { expectedSeq: 1 })).toEqual({ seq: 2 });
      expect(await store.listTasks()).toEqual([TASK]);
    },
    30_000,
  );

  it('is not granted a lease the new holder granted meanwhile', async () => {
    const child = runChild(`
      arm('rename', 'lease\\\\.json$');
      report(await outcome(store.claimLease(config.task, 'owner-a', 60000)));
    `);
    await child.stalled;
    const store = open();
    expect((await store.claimLease(TASK, 'owner-b', 60_000)).granted).toBe(true);
    const claim = (await child.wake()) as { value: { granted: boolean; lease: { owner: string } } };
    expect(claim.value.granted).toBe(false);
    expect(claim.value.lease.owner).toBe('owner-b');
    expect((await store.readLease(TASK))?.owner).toBe('owner-b');
  }, 30_000);
});

// States a crash (kill -9, power cut) can leave between the steps of a claim, made by hand.

const taskDir = () => join(temp.dir, 'store', 'tasks', TASK);
const lockDir = () => join(taskDir(), 'lock');
const logFile = () => join(taskDir(), 'logs', 'lineage.log');

/** Writes lock generation `gen` as a holder would have left it, with its (empty) stage. */
async function plantHolder(gen: number, pid: number, token: string): Promise<string> {
  await mkdir(lockDir(), { recursive: true });
  const info = { v: 1, pid, host: hostname(), token, state: 'held' };
  await writeFile(join(lockDir(), String(gen)), JSON.stringify(info));
  const stage = join(lockDir(), `stage-${token}`);
  await mkdir(stage);
  return stage;
}

/** The pid of a process that has exited (and been reaped). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await once(child, 'exit');
  return child.pid as number;
}

/**
 * What the lock folder holds besides its newest generation and that claim's stage (left empty
 * for the next claim to take over): should be nothing once a claim has ended.
 */
async function strayLockEntries(): Promise<string[]> {
  const names = await readdir(lockDir());
  const top = Math.max(...names.filter((name) => /^\d+$/.test(name)).map(Number));
  const { token, state } = JSON.parse(await readFile(join(lockDir(), String(top)), 'utf8'));
  expect(state).toBe('free');
  const stage = `stage-${token}`;
  if (names.includes(stage)) expect(await readdir(join(lockDir(), stage))).toEqual([]);
  return names.filter((name) => name !== String(top) && name !== stage);
}

describe('file store: crash states of the claim stages', () => {
  it('drops what a dead holder left in its stage: its record never landed; its line stands', async () => {
    const store = open({ lockTimeoutMs: 1_000 });
    await store.save(record('cp-1'), { expectedSeq: 0 });
    expect(await store.appendLog(TASK, 'lineage', ['x'])).toBe(1);
    const end = (await readFile(logFile())).length;
    // Died after writing its record's temp file (not renamed: no commit) and after writing its
    // log line under an intent it never ended: a complete line stands, as after any crash.
    const stage = await plantHolder(9, await deadPid(), 'dead');
    await writeFile(join(stage, '.tmp-0123'), 'a record that never landed');
    await writeFile(join(stage, `i-dead-${end}-lineage.log`), '');
    await writeFile(logFile(), '[1,"y"]\n', { flag: 'a' });
    // A claimant that died between making its stage and linking its generation: removed once
    // older than lockStaleMs.
    await mkdir(join(lockDir(), 'stage-orphan'));
    await new Promise((resolve) => setTimeout(resolve, STALE_MS + 100));

    expect((await store.list(TASK)).map((meta) => meta.checkpointId)).toEqual(['cp-1']);
    expect(await store.save(record('cp-2'), { expectedSeq: 1 })).toEqual({ seq: 2 });
    expect((await store.list(TASK)).map((meta) => meta.checkpointId)).toEqual(['cp-2', 'cp-1']);
    expect(await store.readLog(TASK, 'lineage')).toEqual(['x', 'y']);
    expect(await store.appendLog(TASK, 'lineage', ['z'])).toBe(3);
    expect(await strayLockEntries()).toEqual([]);
  });

  it('cuts the line a live holder wrote under its intent, when it takes the lock over', async () => {
    const store = open({ lockTimeoutMs: 2_000, lockStaleMs: 1_000 });
    expect(await store.appendLog(TASK, 'lineage', ['x'])).toBe(1);
    const end = (await readFile(logFile())).length;
    // The test runner's parent: alive, but its heartbeat is old (stalled). It wrote its line and
    // did not end its intent: the line is not committed, and the holder will retry it.
    const stage = await plantHolder(5, process.ppid, 'stalled');
    await writeFile(join(stage, `i-stalled-${end}-lineage.log`), '');
    await writeFile(logFile(), '[1,"uncommitted"]\n', { flag: 'a' });
    const past = new Date(Date.now() - 5_000);
    await utimes(join(lockDir(), '5'), past, past);

    expect(await store.appendLog(TASK, 'lineage', ['y'])).toBe(2);
    expect(await store.readLog(TASK, 'lineage')).toEqual(['x', 'y']);
    expect(await strayLockEntries()).toEqual([]);
  });

  it('finishes a revoked intent whose log a claimant that died never cut', async () => {
    const store = open({ lockTimeoutMs: 1_000, lockStaleMs: 60_000 });
    expect(await store.appendLog(TASK, 'lineage', ['x'])).toBe(1);
    const end = (await readFile(logFile())).length;
    // A claimant took over a stalled holder, moved its intent into its own stage, and died
    // before cutting the log: the stalled holder's line is still there.
    const stage = await plantHolder(3, await deadPid(), 'fencer');
    await writeFile(join(stage, `r-${end}-lineage.log`), '');
    await writeFile(logFile(), '[1,"uncommitted"]\n', { flag: 'a' });

    // Any write of the task takes the lock over and cuts the log before anything else.
    expect(await store.save(record('cp-1'), { expectedSeq: 0 })).toEqual({ seq: 1 });
    expect(await store.readLog(TASK, 'lineage')).toEqual(['x']);
    expect(await store.appendLog(TASK, 'lineage', ['y'])).toBe(2);
    expect(await store.readLog(TASK, 'lineage')).toEqual(['x', 'y']);
    expect(await strayLockEntries()).toEqual([]);
  });

  it('passes one empty stage from claim to claim, and leaves no temp file', async () => {
    const store = open();
    await store.save(record('cp-1'));
    const [first] = (await readdir(lockDir())).filter((name) => name.startsWith('stage-'));
    await store.appendLog(TASK, 'lineage', ['x']);
    await store.claimLease(TASK, 'owner', 60_000);
    await store.releaseLease(TASK, 'owner');
    await store.delete(TASK, 'cp-1');
    expect(await strayLockEntries()).toEqual([]);
    const stages = (await readdir(lockDir())).filter((name) => name.startsWith('stage-'));
    expect(stages).toHaveLength(1);
    expect(stages).not.toContain(first); // renamed for each claim's token
    const names = [...(await readdir(taskDir())), ...(await readdir(join(taskDir(), 'records')))];
    expect(names.filter((name) => name.startsWith('.tmp-'))).toEqual([]);
  });
});

describe('file store: an append that waits for the lock while its task is deleted', () => {
  /** Keeps every claimant of the task's lock waiting for about lockStaleMs (a live holder). */
  async function busyLock(): Promise<void> {
    const gens = (await readdir(lockDir())).filter((name) => /^\d+$/.test(name)).map(Number);
    await plantHolder(Math.max(0, ...gens) + 1, process.ppid, 'busy');
  }

  it.each([
    ['nothing', async (_store: CheckpointStore) => {}],
    [
      'a new save of the task',
      async (store: CheckpointStore) => {
        expect(await store.save(record('new-1'), { expectedSeq: 0 })).toEqual({ seq: 1 });
      },
    ],
  ])(
    'is refused, even at length 0, and makes no folder (with %s between)',
    async (_between, between) => {
      const store = open();
      await store.save(record('cp-1'), { expectedSeq: 0 });
      await busyLock();
      // The deletion queues for the lock first; the append (called while the task is there) and
      // whatever comes between queue after it, in this process.
      const deleted = store.deleteTask(TASK);
      await new Promise((resolve) => setTimeout(resolve, 50));
      const betweenDone = between(store);
      const append = store.appendLogAt?.(TASK, 'contexts', 0, ['late']);
      expect(await deleted).toBe(true);
      await betweenDone;
      expect(await append).toEqual({ appended: false, length: 0 });
      expect(await store.readLog(TASK, 'contexts')).toEqual([]);
      const saved = (await store.list(TASK)).map((meta) => meta.checkpointId);
      expect(await store.listTasks()).toEqual(saved.length > 0 ? [TASK] : []);
      if (saved.length === 0) expect(await readdir(join(temp.dir, 'store', 'tasks'))).toEqual([]);
      // Called now, an append at the log's length appends, as always.
      expect(await store.appendLogAt?.(TASK, 'contexts', 0, ['new'])).toEqual({
        appended: true,
        length: 1,
      });
      expect(await store.readLog(TASK, 'contexts')).toEqual(['new']);
    },
    30_000,
  );

  it('leaves no folder behind for a refused append to a task that never was', async () => {
    const store = open();
    expect(await store.appendLogAt?.(TASK, 'lineage', 1, ['x'])).toEqual({
      appended: false,
      length: 0,
    });
    expect(await readdir(join(temp.dir, 'store', 'tasks'))).toEqual([]);
  });
});
