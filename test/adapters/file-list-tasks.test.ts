import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type CheckpointStore,
  isOrchestrationError,
  type NewCheckpointRecord,
} from 'mcp-orchestration';
import { createFileStore } from 'mcp-orchestration/file';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fileNameForId } from '../../adapters/file/task-paths.js';
import { makeTempDir } from '../support/file-temp-dir.js';
import { rejectionOf } from '../support/rejection.js';

// listTasks on disk: how the file store names task folders whose name is not their id (ids with
// capitals keep a `task-id` file), and how it copes with folders from before that file existed
// and with damaged ones. The contract itself is in test/conformance/cases/listing.cases.ts.

let temp: Awaited<ReturnType<typeof makeTempDir>>;
let stores: CheckpointStore[] = [];
const clock = Date.now();

beforeEach(async () => {
  temp = await makeTempDir('file-list-tasks');
  stores = [];
});

afterEach(async () => {
  await Promise.all(stores.map((store) => store.close()));
  await temp.remove();
});

function open(directory = temp.dir): CheckpointStore {
  const store = createFileStore({ directory, now: () => clock });
  stores.push(store);
  return store;
}

function record(taskId: string, checkpointId = 'cp-1'): NewCheckpointRecord {
  return { taskId, checkpointId, createdAt: clock, body: '{}' };
}

const folder = (taskId: string) => join(temp.dir, 'tasks', fileNameForId(taskId));
const idFile = (taskId: string) => join(folder(taskId), 'task-id');

describe('file store listTasks: task ids on disk', () => {
  it('lists a task id with capitals from a new store instance on the same directory', async () => {
    const first = open();
    await first.save(record('Task-Upper'));
    await first.appendLog('Log-Only', 'lineage', ['x']);
    await first.save(record('plain'));
    await first.close();
    const second = open();
    expect(await second.listTasks()).toEqual(['Log-Only', 'Task-Upper', 'plain']);
    expect(await second.listTasks({ after: 'Log-Only' })).toEqual(['Task-Upper', 'plain']);
    // The id file holds the id alone; a folder named by its id needs none.
    expect(await readFile(idFile('Task-Upper'), 'utf8')).toBe('Task-Upper');
    expect(await readdir(folder('plain'))).not.toContain('task-id');
  });

  it('writes the id file again when another instance deleted and the task came back', async () => {
    const writer = open();
    await writer.save(record('Task-Back')); // writer now knows the id file is there
    expect(await open().deleteTask('Task-Back')).toBe(true);
    // Same writer, new folder: its lock folder is new, so the writer does not trust its memory.
    expect(await writer.appendLog('Task-Back', 'lineage', ['again'])).toBe(1);
    expect(await open().listTasks()).toEqual(['Task-Back']);
  });

  it('lists folders from before id files that are named by their id', async () => {
    // As an older version left them: a log only, and a head.json only (records deleted).
    await mkdir(join(folder('legacy-log'), 'logs'), { recursive: true });
    await writeFile(join(folder('legacy-log'), 'logs', 'lineage.log'), '[0,"x"]\n');
    await mkdir(folder('legacy-head'), { recursive: true });
    const head = { v: 1, seq: 3, floor: 4, expiresAt: null };
    await writeFile(join(folder('legacy-head'), 'head.json'), JSON.stringify(head));
    // An empty folder (a lock taken, nothing written) is no task.
    await mkdir(join(folder('legacy-empty'), 'lock'), { recursive: true });
    const store = open();
    expect(await store.listTasks()).toEqual(['legacy-head', 'legacy-log']);
    expect(await store.head('legacy-head')).toBe(3);
  });

  it('skips a folder with ~ and no id file, until the task is written again', async () => {
    await open().save(record('Old-Upper'));
    await open().save(record('New-Upper'));
    await rm(idFile('Old-Upper')); // as an older version left it
    const store = open();
    expect(await store.listTasks()).toEqual(['New-Upper']);
    // Still there by id: only listing cannot name it.
    expect(await store.head('Old-Upper')).toBe(1);
    // The next write by this version adds the id file.
    await store.save(record('Old-Upper', 'cp-2'));
    expect(await open().listTasks()).toEqual(['New-Upper', 'Old-Upper']);
  });

  it('skips damaged id files without failing the listing, and repairs them on the next write', async () => {
    const ids = ['Garbage-Id', 'Huge-Id', 'Other-Id', 'Dir-Id', 'Fine-Id'];
    const writer = open();
    for (const id of ids) await writer.save(record(id));
    await writeFile(idFile('Garbage-Id'), '\u0000../x{');
    await writeFile(idFile('Huge-Id'), 'Huge-Id'.repeat(2_000)); // over the bound: ignored, at most 257 bytes read
    await writeFile(idFile('Other-Id'), 'Fine-Id'); // valid, but not this folder's id
    await rm(idFile('Dir-Id'));
    await mkdir(idFile('Dir-Id'));
    await writeFile(join(temp.dir, 'tasks', 'stray-file'), 'not a folder');
    await writeFile(join(temp.dir, 'tasks', 'Stray~Name'), 'not a folder');
    const reader = open();
    expect(await reader.listTasks()).toEqual(['Fine-Id']);
    // A new instance writing to them puts the right id back (a folder in the way stays skipped).
    const repairer = open();
    for (const id of ['Garbage-Id', 'Huge-Id', 'Other-Id']) {
      await repairer.appendLog(id, 'lineage', ['x']);
    }
    expect(await open().listTasks()).toEqual(['Fine-Id', 'Garbage-Id', 'Huge-Id', 'Other-Id']);
    expect(await readFile(idFile('Huge-Id'), 'utf8')).toBe('Huge-Id');
  });

  it('lists a task with a damaged head.json, so that the damage shows when it is used', async () => {
    const store = open();
    await store.save(record('damaged'));
    await writeFile(join(folder('damaged'), 'head.json'), '{"v":1,"seq":');
    expect(await store.listTasks()).toEqual(['damaged']);
    expect(isOrchestrationError(await rejectionOf(store.head('damaged')), 'CORRUPT_RECORD')).toBe(
      true,
    );
  });
});

describe('file store listTasks: cost and failures', () => {
  it('checks only the tasks it needs for the page', async () => {
    const store = open();
    for (const id of ['a', 'b', 'c']) await store.save(record(id));
    // A head.json that cannot be read (a folder): checking 'c' fails, so only a page without it
    // succeeds.
    await rm(join(folder('c'), 'head.json'), { force: true });
    await mkdir(join(folder('c'), 'head.json'));
    expect(await store.listTasks({ limit: 2 })).toEqual(['a', 'b']);
    const error = await rejectionOf(store.listTasks());
    expect(isOrchestrationError(error, 'STORAGE_FAILED')).toBe(true);
    expect((error as Error).message).toContain('listTasks failed');
    expect((error as Error).cause).toMatchObject({ code: 'EISDIR' });
  });

  it('turns file-system failures into StorageError and refuses work once closed', async () => {
    const file = join(temp.dir, 'not-a-directory');
    await writeFile(file, 'x');
    const error = await rejectionOf(open(file).listTasks());
    expect(isOrchestrationError(error, 'STORAGE_FAILED')).toBe(true);
    expect((error as Error).cause).toMatchObject({ code: 'ENOTDIR' });
    const store = open();
    expect(await store.listTasks()).toEqual([]); // nothing written yet: no tasks/ folder
    await store.close();
    expect(isOrchestrationError(await rejectionOf(store.listTasks()), 'STORAGE_FAILED')).toBe(true);
  });
});
