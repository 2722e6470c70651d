import { appendFile, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type CheckpointStore,
  isOrchestrationError,
  type NewCheckpointRecord,
} from 'mcp-orchestration';
import { createFileStore } from 'mcp-orchestration/file';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { makeTempDir } from '../support/file-temp-dir.js';
import { rejectionOf } from '../support/rejection.js';

// What the file store adds to the contract: persistence on disk, its layout, recovery from the
// states a crash leaves behind (simulated here file by file; real kill -9 in file-processes).

let temp: Awaited<ReturnType<typeof makeTempDir>>;
let stores: CheckpointStore[] = [];
let clock = Date.now();

beforeEach(async () => {
  temp = await makeTempDir('file-store');
  stores = [];
  clock = Date.now();
});

afterEach(async () => {
  await Promise.all(stores.map((store) => store.close()));
  await temp.remove();
});

function open(options: { maxRecordBytes?: number; directory?: string } = {}): CheckpointStore {
  const store = createFileStore({ directory: temp.dir, now: () => clock, ...options });
  stores.push(store);
  return store;
}

function record(checkpointId: string, body = `{"id":"${checkpointId}"}`, ttlMs?: number) {
  const value: NewCheckpointRecord = {
    taskId: 'task-1',
    checkpointId,
    createdAt: clock,
    body,
    ...(ttlMs === undefined ? {} : { expiresAt: clock + ttlMs }),
  };
  return value;
}

const taskDir = () => join(temp.dir, 'tasks', 'task-1');
const recordsDir = () => join(taskDir(), 'records');
const recordFiles = async () => (await readdir(recordsDir())).sort();

describe('file store on disk', () => {
  it('keeps everything for the next store on the same directory', async () => {
    const first = open();
    await first.save(record('cp-1', 'one'));
    await first.save(record('cp-2', 'two', 60_000));
    await first.appendLog('task-1', 'lineage', ['a', 'b']);
    await first.close();
    const second = open();
    expect(await second.head('task-1')).toBe(2);
    expect((await second.list('task-1')).map((meta) => meta.checkpointId)).toEqual([
      'cp-2',
      'cp-1',
    ]);
    expect(await second.load('task-1', 'cp-2')).toEqual({
      ...record('cp-2', 'two', 60_000),
      seq: 2,
    });
    expect(await second.readLog('task-1', 'lineage')).toEqual(['a', 'b']);
  });

  it('lays a task out as one file per record named by seq, one file per log, and head.json once a record is deleted', async () => {
    const store = open();
    await store.save(record('cp-1', 'one'));
    await store.save(record('cp-2', 'two', 5_000));
    await store.save(record('cp-3', 'three', 1_000));
    await store.appendLog('task-1', 'lineage', ['x']);
    // A save writes its record file only: the file's name carries its seq and expiry.
    expect(await readdir(taskDir())).toEqual(expect.arrayContaining(['records', 'logs', 'lock']));
    expect(await readdir(taskDir())).not.toContain('head.json');
    expect(await recordFiles()).toEqual([
      `0000000000000001~${clock}~never~cp-1`,
      `0000000000000002~${clock}~${clock + 5_000}~cp-2`,
      `0000000000000003~${clock}~${clock + 1_000}~cp-3`,
    ]);
    // A delete writes head.json first (the head, and the expiry of the records it leaves), then
    // removes the file.
    expect(await store.delete('task-1', 'cp-3')).toBe(true);
    expect(JSON.parse(await readFile(join(taskDir(), 'head.json'), 'utf8'))).toEqual({
      v: 1,
      seq: 3,
      floor: 0,
      expiresAt: null,
    });
    expect(await store.head('task-1')).toBe(3);
    expect(await readFile(join(taskDir(), 'logs', 'lineage.log'), 'utf8')).toBe('[0,"x"]\n');
    const names = [...(await readdir(taskDir())), ...(await recordFiles())];
    expect(names.filter((name) => name.startsWith('.tmp-'))).toEqual([]);
  });

  it('keeps task ids that differ only in case apart, even on case-insensitive disks', async () => {
    const store = open();
    await store.save({ ...record('cp-1', 'upper'), taskId: 'Task' });
    await store.save({ ...record('cp-1', 'lower'), taskId: 'task' });
    expect((await store.load('Task', 'cp-1'))?.body).toBe('upper');
    expect((await store.load('task', 'cp-1'))?.body).toBe('lower');
    const dirs = await readdir(join(temp.dir, 'tasks'));
    expect(dirs).toHaveLength(2);
    expect(new Set(dirs.map((dir) => dir.toLowerCase())).size).toBe(2);
  });

  it('round-trips bodies with lone surrogates exactly, counted as 3 bytes each', async () => {
    const store = open({ maxRecordBytes: 9 });
    const body = 'a\ud800b\udc00'; // 1 + 3 + 1 + 3 bytes
    await store.save(record('lone', body));
    expect((await store.load('task-1', 'lone'))?.body).toBe(body);
    const error = await rejectionOf(store.save(record('over', `${body}xy`)));
    expect(isOrchestrationError(error, 'RECORD_TOO_LARGE')).toBe(true);
  });

  it('refuses to read back a file over the bound, judged by its size before reading', async () => {
    await open().save(record('big', 'x'.repeat(10_000)));
    const small = open({ maxRecordBytes: 1024 });
    const error = await rejectionOf(small.load('task-1', 'big'));
    expect(isOrchestrationError(error, 'RECORD_TOO_LARGE')).toBe(true);
    expect(error).toMatchObject({ limit: 1024 });
    expect((error as { bytes: number }).bytes).toBeGreaterThan(10_000); // the file's size
    expect((await small.list('task-1')).map((meta) => meta.checkpointId)).toEqual(['big']);
  });

  it('removes expired files lazily and starts over at 1 once everything expired', async () => {
    const store = open();
    await store.save(record('short', 'x', 100));
    await store.save(record('keep'));
    await store.save(record('newest', 'x', 100));
    clock += 100;
    expect((await store.list('task-1')).map((meta) => meta.checkpointId)).toEqual(['keep']);
    // A reader removes expired files; the newest, which holds the head, under the task lock,
    // once head.json holds the head, as a delete does.
    expect(await recordFiles()).toEqual([`0000000000000002~${clock - 100}~never~keep`]);
    expect(JSON.parse(await readFile(join(taskDir(), 'head.json'), 'utf8'))).toEqual({
      v: 1,
      seq: 3,
      floor: 0,
      expiresAt: null,
    });
    expect(await store.head('task-1')).toBe(3);
    await store.delete('task-1', 'keep');
    expect(await recordFiles()).toEqual([]);
    expect(await store.head('task-1')).toBe(3);
    await store.save(record('t-1', 'x', 50));
    clock += 50;
    expect(await store.head('task-1')).toBe(4); // 'keep' never expired: the head stays
    const other = open({ directory: join(temp.dir, 'other') });
    await other.save({ ...record('a', 'x', 10), taskId: 'task-1' });
    await other.save({ ...record('b', 'x', 20), taskId: 'task-1' });
    clock += 20;
    expect(await other.head('task-1')).toBe(0);
    expect(await other.save({ ...record('c'), taskId: 'task-1' })).toEqual({ seq: 1 });
    const otherRecords = await readdir(join(temp.dir, 'other', 'tasks', 'task-1', 'records'));
    expect(otherRecords).toEqual([`0000000000000001~${clock}~never~c`]);
  });

  describe('removes a task whose every record expired, files and folder, once it is seen', () => {
    const tasksDir = () => join(temp.dir, 'tasks');
    async function saveExpiring(store: CheckpointStore, taskId: string): Promise<void> {
      for (const id of ['cp-1', 'cp-2', 'cp-3']) {
        await store.save({ ...record(id, 'x'.repeat(1_000), 60_000), taskId });
      }
    }

    it.each([
      ['listTasks', (store: CheckpointStore) => store.listTasks()],
      ['head', (store: CheckpointStore) => store.head('task-1')],
      ['latest', (store: CheckpointStore) => store.latest('task-1')],
      ['list', (store: CheckpointStore) => store.list('task-1')],
      ['load', (store: CheckpointStore) => store.load('task-1', 'cp-3')],
      ['delete', (store: CheckpointStore) => store.delete('task-1', 'cp-3')],
      ['deleteOld', (store: CheckpointStore) => store.deleteOld('task-1', 0)],
    ])('by %s', async (_how, read) => {
      const store = open();
      await saveExpiring(store, 'task-1');
      await saveExpiring(store, 'Task-2'); // an id file too
      clock += 60_000;
      await read(store);
      expect(await readdir(tasksDir())).not.toContain('task-1');
      expect(await store.listTasks()).toEqual([]);
      expect(await readdir(tasksDir())).toEqual([]);
      expect(await store.deleteTask('task-1')).toBe(false);
      expect(await store.head('task-1')).toBe(0);
      // A new save starts the task over in a folder of its own.
      expect(await store.save(record('cp-1'), { expectedSeq: 0 })).toEqual({ seq: 1 });
      expect(await recordFiles()).toEqual([`0000000000000001~${clock}~never~cp-1`]);
    });

    it('by readers at once, in one process or two instances, none leaving a lock behind', async () => {
      const store = open();
      const other = open();
      for (let i = 0; i < 5; i++) {
        await saveExpiring(store, 'task-1');
        clock += 60_000;
        await Promise.all([
          store.head('task-1'),
          store.listTasks(),
          other.head('task-1'),
          other.latest('task-1'),
        ]);
        expect(await readdir(tasksDir())).toEqual([]);
      }
    });

    it('also when deleteOld left only head.json, which lapsed since', async () => {
      const store = open();
      await store.save(record('cp-1', 'x', 60_000));
      expect(await store.deleteOld('task-1', 0)).toBe(1);
      expect(await readdir(taskDir())).toContain('head.json');
      clock += 60_000;
      expect(await store.head('task-1')).toBe(0);
      expect(await readdir(tasksDir())).toEqual([]);
    });

    it('keeps the folder of a task with a log or a live lease, without its records', async () => {
      const store = open();
      await saveExpiring(store, 'task-1');
      await store.appendLog('task-1', 'lineage', ['a']);
      await saveExpiring(store, 'task-2');
      await store.claimLease('task-2', 'owner', 120_000);
      clock += 60_000;
      expect(await store.listTasks()).toEqual(['task-1']); // by its log: no records read
      expect(await store.head('task-1')).toBe(0);
      expect(await store.head('task-2')).toBe(0);
      for (const taskId of ['task-1', 'task-2']) {
        const dir = join(tasksDir(), taskId);
        expect(await readdir(join(dir, 'records'))).toEqual([]);
        expect(await readdir(dir)).not.toContain('head.json');
      }
      expect(await store.readLog('task-1', 'lineage')).toEqual(['a']);
      expect((await store.readLease('task-2'))?.owner).toBe('owner');
      expect(await store.deleteTask('task-1')).toBe(true); // its log
      expect(await store.releaseLease('task-2', 'owner')).toBe(true);
      expect(await readdir(tasksDir())).toEqual([]);
    });

    it('never removes a record a save wrote first', async () => {
      const writer = open();
      const reader = open();
      for (let i = 0; i < 20; i++) {
        await writer.save(record(`old-${i}`, 'x', 1_000));
        clock += 1_000;
        const [saved] = await Promise.all([
          writer.save(record(`new-${i}`)),
          reader.listTasks(),
          reader.head('task-1'),
          reader.latest('task-1'),
        ]);
        expect(await reader.load('task-1', `new-${i}`)).toMatchObject({ seq: saved.seq });
        expect(await reader.deleteTask('task-1')).toBe(true);
      }
    });
  });

  it('deleteTask removes the task folder and leaves no trash behind', async () => {
    const store = open();
    await store.save(record('cp-1'));
    await store.appendLog('task-1', 'lineage', ['a']);
    expect(await store.deleteTask('task-1')).toBe(true);
    expect(await readdir(join(temp.dir, 'tasks'))).toEqual([]);
    expect(await readdir(join(temp.dir, '.trash'))).toEqual([]);
  });
});

describe('file store saves from what they remember', () => {
  // A save reads the task from its files only when its store instance cannot know it: somebody
  // else held the task's lock since its last claim, it deleted records, or a record expired.
  const ids = async (store: CheckpointStore) =>
    (await store.list('task-1')).map((meta) => meta.checkpointId);

  it('sees the saves of another instance that took the lock in between', async () => {
    const a = open();
    const b = open();
    expect(await a.save(record('a-1'), { expectedSeq: 0 })).toEqual({ seq: 1 });
    await a.appendLog('task-1', 'notes', ['{}']); // a claim of its own: still knows the records
    expect(await b.save(record('b-1'), { expectedSeq: 1 })).toEqual({ seq: 2 });
    const conflict = await rejectionOf(a.save(record('a-2'), { expectedSeq: 1 }));
    expect(isOrchestrationError(conflict, 'CHECKPOINT_CONFLICT')).toBe(true);
    expect(conflict).toMatchObject({ expectedSeq: 1, actualSeq: 2 });
    const exists = await rejectionOf(a.save(record('b-1')));
    expect(isOrchestrationError(exists, 'CHECKPOINT_EXISTS')).toBe(true);
    expect(await a.save(record('a-2'), { expectedSeq: 2 })).toEqual({ seq: 3 });
    expect(await ids(b)).toEqual(['a-2', 'b-1', 'a-1']);
  });

  it('after its own delete and deleteOld, saves again what they removed', async () => {
    const store = open();
    await store.save(record('cp-1'));
    await store.save(record('cp-2'));
    expect(await store.delete('task-1', 'cp-2')).toBe(true);
    expect(await store.save(record('cp-2'))).toEqual({ seq: 3 });
    expect(await store.deleteOld('task-1', 1)).toBe(1);
    expect(await store.save(record('cp-1'))).toEqual({ seq: 4 });
    expect(await ids(store)).toEqual(['cp-1', 'cp-2']);
  });

  it('once a record expired, saves its id again and starts over when all expired', async () => {
    const store = open();
    await store.save(record('short', 'x', 10));
    await store.save(record('long', 'x', 1_000));
    clock += 10;
    expect(await store.save(record('short', 'x', 10))).toEqual({ seq: 3 });
    expect(await ids(store)).toEqual(['short', 'long']);
    clock += 1_000;
    expect(await store.save(record('long'), { expectedSeq: 0 })).toEqual({ seq: 1 });
    expect(await ids(store)).toEqual(['long']);
  });
});

describe('file store recovery from what a crash leaves', () => {
  it('reads around a torn log line and cuts it off at the next append', async () => {
    const store = open();
    await store.appendLog('task-1', 'lineage', ['a', 'b']);
    const log = join(taskDir(), 'logs', 'lineage.log');
    await appendFile(log, '[2,"torn ent');
    expect(await store.readLog('task-1', 'lineage')).toEqual(['a', 'b']);
    expect(await store.appendLog('task-1', 'lineage', [])).toBe(2);
    expect(await store.appendLog('task-1', 'lineage', ['c'])).toBe(3);
    expect(await store.readLog('task-1', 'lineage')).toEqual(['a', 'b', 'c']);
    expect(await readFile(log, 'utf8')).toBe('[0,"a","b"]\n[2,"c"]\n');
  });

  it('reports a damaged log line as CorruptRecordError, not a crash', async () => {
    const store = open();
    await store.appendLog('task-1', 'lineage', ['a']);
    await store.appendLog('task-1', 'lineage', ['b']);
    const log = join(taskDir(), 'logs', 'lineage.log');
    await writeFile(log, '[0,"a"]\n[5,"b"]\n');
    const error = await rejectionOf(store.readLog('task-1', 'lineage'));
    expect(isOrchestrationError(error, 'CORRUPT_RECORD')).toBe(true);
    await writeFile(log, '[0,"a"]\nnot json\n');
    expect(
      isOrchestrationError(
        await rejectionOf(store.appendLog('task-1', 'lineage', ['c'])),
        'CORRUPT_RECORD',
      ),
    ).toBe(true);
  });

  it('keeps records deleteOld hid even if their files come back (crash before unlink)', async () => {
    const store = open();
    for (const id of ['cp-1', 'cp-2', 'cp-3']) await store.save(record(id));
    const [first] = await recordFiles();
    const bytes = await readFile(join(recordsDir(), first as string));
    expect(await store.deleteOld('task-1', 1)).toBe(2);
    await writeFile(join(recordsDir(), first as string), bytes);
    expect((await store.list('task-1')).map((meta) => meta.checkpointId)).toEqual(['cp-3']);
    expect(await store.load('task-1', 'cp-1')).toBeUndefined();
    expect(await store.head('task-1')).toBe(3);
    expect(await store.save(record('cp-4'))).toEqual({ seq: 4 });
  });

  it('lets the head lapse with what deleteOld kept, though a hidden file is back', async () => {
    const store = open();
    await store.save(record('cp-1')); // never expires
    await store.save(record('cp-2', 'two', 10_000));
    const [first] = await recordFiles();
    const bytes = await readFile(join(recordsDir(), first as string));
    expect(await store.deleteOld('task-1', 1)).toBe(1);
    expect(JSON.parse(await readFile(join(taskDir(), 'head.json'), 'utf8'))).toEqual({
      v: 1,
      seq: 2,
      floor: 2,
      expiresAt: clock + 10_000,
    });
    // A crash before the unlink: cp-1's file is back, below the floor. Deleted, it no longer
    // keeps the task alive.
    await writeFile(join(recordsDir(), first as string), bytes);
    clock += 10_000;
    expect(await store.head('task-1')).toBe(0);
    expect(await store.save(record('cp-3'), { expectedSeq: 0 })).toEqual({ seq: 1 });
  });

  it('keeps the head of records newer than head.json, also once the newest is deleted', async () => {
    const store = open();
    await store.save(record('cp-1'));
    await store.save(record('cp-0'));
    expect(await store.delete('task-1', 'cp-0')).toBe(true); // head.json: seq 2
    const head = join(taskDir(), 'head.json');
    const before = await readFile(head, 'utf8');
    await store.save(record('cp-2', 'two', 1_000));
    expect(await readFile(head, 'utf8')).toBe(before); // the save left it behind its record
    expect(await store.head('task-1')).toBe(3);
    expect((await store.latest('task-1'))?.body).toBe('two');
    expect(await store.delete('task-1', 'cp-2')).toBe(true);
    expect(await store.head('task-1')).toBe(3);
    expect(await store.save(record('cp-3'), { expectedSeq: 3 })).toEqual({ seq: 4 });
  });

  it('ignores stray temp files beside the records', async () => {
    const store = open();
    await store.save(record('cp-1'));
    await writeFile(join(recordsDir(), '.tmp-deadbeef'), 'half a reco');
    expect((await store.list('task-1')).map((meta) => meta.checkpointId)).toEqual(['cp-1']);
    expect(await store.save(record('cp-2'))).toEqual({ seq: 2 });
  });

  it('reports a damaged head.json as CorruptRecordError', async () => {
    const store = open();
    await store.save(record('cp-1'));
    await writeFile(join(taskDir(), 'head.json'), '{"v":1,"seq":');
    const error = await rejectionOf(store.head('task-1'));
    expect(isOrchestrationError(error, 'CORRUPT_RECORD')).toBe(true);
  });

  it('reports a head.json with a negative seq or floor as CorruptRecordError', async () => {
    const store = open();
    await store.save(record('cp-1'));
    for (const head of [
      { v: 1, seq: -1, floor: 0, expiresAt: null },
      { v: 1, seq: 1, floor: -1, expiresAt: null },
    ]) {
      await writeFile(join(taskDir(), 'head.json'), JSON.stringify(head));
      const error = await rejectionOf(store.head('task-1'));
      expect(isOrchestrationError(error, 'CORRUPT_RECORD')).toBe(true);
      expect(error).toMatchObject({ taskId: 'task-1', recordId: 'head.json' });
    }
  });

  it('refuses a save after the largest safe head as corrupt, writing nothing', async () => {
    await open().save(record('cp-1'));
    const seq = Number.MAX_SAFE_INTEGER;
    await writeFile(
      join(taskDir(), 'head.json'),
      JSON.stringify({ v: 1, seq, floor: 0, expiresAt: null }),
    );
    const before = await recordFiles();
    // A new instance (the writer's own remembers the head it left, see records-memo.ts).
    const store = open();
    expect(await store.head('task-1')).toBe(seq);
    const error = await rejectionOf(store.save(record('cp-2')));
    expect(isOrchestrationError(error, 'CORRUPT_RECORD')).toBe(true);
    expect(error).toMatchObject({ taskId: 'task-1', recordId: 'head.json' });
    expect(await recordFiles()).toEqual(before);
    expect(await store.head('task-1')).toBe(seq);
  });

  it('deleteTask removes a task whose head.json is damaged (deleteOld refuses it)', async () => {
    const store = open();
    await store.save(record('cp-1'));
    await store.save(record('cp-2'));
    await store.appendLog('task-1', 'lineage', ['a']);
    expect(await store.delete('task-1', 'cp-1')).toBe(true);
    await writeFile(join(taskDir(), 'head.json'), '{"v":1,"seq":');
    const error = await rejectionOf(store.deleteOld('task-1', 0));
    expect(isOrchestrationError(error, 'CORRUPT_RECORD')).toBe(true);
    expect(await store.listTasks()).toEqual(['task-1']);
    expect(await store.deleteTask('task-1')).toBe(true);
    expect(await readdir(join(temp.dir, 'tasks'))).toEqual([]);
    expect(await store.listTasks()).toEqual([]);
    expect(await store.head('task-1')).toBe(0);
    expect(await store.readLog('task-1', 'lineage')).toEqual([]);
    expect(await store.deleteTask('task-1')).toBe(false);
    // Without a log too: the damaged head alone counts as something that existed.
    await store.save(record('cp-1'));
    await store.delete('task-1', 'cp-1');
    await writeFile(join(taskDir(), 'head.json'), 'not json');
    expect(await open().deleteTask('task-1')).toBe(true);
    expect(await store.listTasks()).toEqual([]);
  });
});

describe('file store failures and options', () => {
  it('turns file-system failures into StorageError with the cause', async () => {
    const file = join(temp.dir, 'not-a-directory');
    await writeFile(file, 'x');
    const store = open({ directory: file });
    for (const call of [
      () => store.save(record('cp-1')),
      () => store.list('task-1'),
      () => store.appendLog('task-1', 'lineage', ['a']),
      () => store.readLog('task-1', 'lineage'),
    ]) {
      const error = await rejectionOf(call());
      expect(isOrchestrationError(error, 'STORAGE_FAILED')).toBe(true);
      expect((error as Error).cause).toMatchObject({ code: 'ENOTDIR' });
    }
  });

  it('refuses work once closed, after letting running work finish', async () => {
    const store = open();
    const saving = store.save(record('cp-1'));
    await store.close();
    expect(await saving).toEqual({ seq: 1 });
    expect(isOrchestrationError(await rejectionOf(store.list('task-1')), 'STORAGE_FAILED')).toBe(
      true,
    );
    expect(await open().head('task-1')).toBe(1);
  });

  it('checks its options', () => {
    expect(() => createFileStore({ directory: '' })).toThrow(TypeError);
    for (const bad of [0, -1, 1.5]) {
      expect(() => createFileStore({ directory: temp.dir, maxRecordBytes: bad })).toThrow(
        TypeError,
      );
      expect(() => createFileStore({ directory: temp.dir, lockStaleMs: bad })).toThrow(TypeError);
      expect(() => createFileStore({ directory: temp.dir, lockTimeoutMs: bad })).toThrow(TypeError);
    }
  });

  it('beats the lock no less often than a timer takes, whatever lockStaleMs', async () => {
    // A lock heartbeat every lockStaleMs / 3 ms: from 3 × 2^31 ms on, a timer fires it every ms.
    const spy = vi.spyOn(globalThis, 'setInterval');
    try {
      const store = createFileStore({ directory: temp.dir, lockStaleMs: 1e10 });
      stores.push(store);
      await store.save(record('cp-1'));
      const delays = spy.mock.calls.map(([, ms]) => ms ?? 0);
      expect(delays.length).toBeGreaterThan(0);
      expect(Math.max(...delays)).toBe(2 ** 31 - 1);
    } finally {
      spy.mockRestore();
    }
  });
});
