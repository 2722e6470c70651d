import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import {
  type CheckpointRecord,
  type CheckpointRecordMeta,
  type CheckpointStore,
  type CheckpointStoreOptions,
  DEFAULT_MAX_RECORD_BYTES,
  type LeaseClaim,
  type ListTasksOptions,
  type NewCheckpointRecord,
  type ReadLogOptions,
  type SavedRecord,
  type SaveRecordOptions,
  type TaskLease,
} from '../../src/checkpoint/checkpoint-store.js';
import {
  assertKeepLatest,
  assertLeaseArgs,
  assertLogEntries,
  assertLogEntriesRead,
  assertReadLogOptions,
  assertSavable,
  compareIds,
  listTasksOptions,
} from '../../src/checkpoint/store-guards.js';
import {
  CheckpointConflictError,
  CheckpointExistsError,
  CorruptRecordError,
  OrchestrationError,
  RecordTooLargeError,
  StorageError,
} from '../../src/errors.js';
import { assertValidId } from '../../src/ids.js';
import {
  errorCode,
  fsyncDirectory,
  isAlive,
  isNotFound,
  randomToken,
  removeFile,
  TEMP_PREFIX,
  writeFileAtomic,
} from './fs-utils.js';
import { liveLease, readLeaseFile, removeLeaseFile, writeLeaseFile } from './lease-file.js';
import { appendLogLine, corruptLog, logLength, readLogEntries } from './log-file.js';
import {
  encodeRecordFile,
  entryMeta,
  type RecordEntry,
  readRecordFile,
  recordFileName,
} from './record-file.js';
import { TaskIdFiles } from './task-ids.js';
import { type HeldTaskLock, withTaskLock } from './task-lock.js';
import { logPath, type TaskPaths, taskPaths, tasksPath, trashPath } from './task-paths.js';
import {
  headLags,
  headOf,
  readTaskView,
  removeRecords,
  sweepDead,
  type TaskView,
  writeHead,
} from './task-view.js';

/** Options of {@link createFileStore}. */
export interface FileStoreOptions extends CheckpointStoreOptions {
  /** The folder that holds everything (created on first write); it is the store's namespace. */
  readonly directory: string;
  /** A lock holder whose heartbeat is older than this is presumed dead, in ms. Default: 10000. */
  readonly lockStaleMs?: number;
  /** How long a write waits for another writer of the same task, in ms. Default: 30000. */
  readonly lockTimeoutMs?: number;
}

const STORE = 'file';

/** How many tasks `listTasks` checks at once. */
const LIST_CONCURRENCY = 16;

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!(Number.isSafeInteger(value) && value > 0)) {
    throw new TypeError(`${name} must be an integer > 0, got ${value}`);
  }
  return value;
}

/**
 * A {@link CheckpointStore} in a folder on disk, for Node: the default store when nothing else
 * is configured. Several store instances and several processes may share one folder.
 *
 * Layout, per task (ids are validated, so they are safe names; ids with capitals get a hash
 * suffix so they stay distinct on case-insensitive file systems):
 * ```text
 * <directory>/tasks/<taskId>/head.json        head seq, deletion floor, expiry (atomic replace)
 * <directory>/tasks/<taskId>/records/<seq>~<createdAt>~<expiresAt|never>~<checkpointId>
 * <directory>/tasks/<taskId>/logs/<name>.log  one JSON line per append
 * <directory>/tasks/<taskId>/lock/<generation> cross-process lock
 * <directory>/tasks/<taskId>/lease.json       the task's lease (atomic replace)
 * <directory>/tasks/<taskId>/task-id          the id, when the folder's name is not (capitals)
 * ```
 * - **Atomic writes**: every record and `head.json` is written to a temp file beside it, fsynced,
 *   renamed into place, and the folder fsynced. After a crash (even `kill -9` mid-write) a record
 *   is whole or absent; stray temp files are invisible and removed by the next lock holder.
 * - **Writers are serialized per task** by a lock that works across processes and store instances
 *   (generation files claimed with `link()`; see `task-lock.ts`). A holder that dies is detected
 *   by pid liveness (same host) or by its heartbeat aging past `lockStaleMs`, and superseded: a
 *   lock never stays stuck. So the check-and-set of `expectedSeq` is atomic across processes.
 * - **Reads take no lock**: records are immutable files and `head.json` is replaced atomically, so
 *   a reader sees whole files, and re-reads until `head.json` did not change during its listing.
 * - **The head** is the larger of `head.json`'s seq and the highest record file name, so it never
 *   goes down when records are deleted or expire; it returns to 0 once no record is live and the
 *   last one's expiry has passed. `deleteOld` raises a floor in `head.json` (one atomic write)
 *   before removing files, so it is one batch even if the process dies halfway.
 * - **Expiry** uses the injected clock; expired files are removed lazily by reads and writes.
 * - **Size bound**: bodies over `maxRecordBytes` are refused on write; on read, a file larger than
 *   the bound plus a 2 KiB header is refused unread.
 * - **Logs** are appended under the task lock, one line per append, never rewritten; a line torn
 *   by a crash is ignored by readers and cut off by the next append.
 * - **Leases** are a `lease.json` written under the task lock (see `lease-file.ts`), so claims
 *   are atomic across processes. A claim creates the task's folder if need be, but a folder with
 *   only a lease has no head and no log: it is not listed, and `deleteTask` of it returns false.
 * - **Listing tasks** reads the whole `tasks/` folder on every call (O(tasks) names; the `task-id`
 *   files are read once per store instance, see `task-ids.ts`), sorts the ids after `after`, and
 *   checks them in that order, a few at a time, until `limit` are live: a log file, or else the
 *   head as `head` computes it (`head.json` and the record names; no record is opened). A task
 *   folder from an older version whose name has a `~` and no `task-id` file cannot be named and
 *   is not listed until the task is next written.
 *
 * Failures of the file system are `StorageError`s (with the cause); unreadable records are
 * `CorruptRecordError`s.
 *
 * @example
 * ```ts
 * import { CheckpointManager } from 'mcp-orchestration';
 * import { createFileStore } from 'mcp-orchestration/file';
 *
 * const manager = new CheckpointManager(createFileStore({ directory: '.checkpoints' }));
 * ```
 */
export function createFileStore(options: FileStoreOptions): CheckpointStore {
  if (typeof options?.directory !== 'string' || options.directory.length === 0) {
    throw new TypeError('directory must be a non-empty path');
  }
  const root = resolve(options.directory);
  const maxRecordBytes = positive(
    'maxRecordBytes',
    options.maxRecordBytes,
    DEFAULT_MAX_RECORD_BYTES,
  );
  const staleMs = positive('lockStaleMs', options.lockStaleMs, 10_000);
  const timeoutMs = positive('lockTimeoutMs', options.lockTimeoutMs, 30_000);
  const now = options.now ?? Date.now;
  const inflight = new Set<Promise<unknown>>();
  const taskIds = new TaskIdFiles(tasksPath(root));
  let closed = false;

  /**
   * Runs an operation, turning file-system failures into `StorageError`s. `taskId`: the task it
   * is about, for the message (none for `listTasks`).
   */
  function run<T>(op: string, taskId: string | undefined, fn: () => Promise<T>): Promise<T> {
    if (closed) return Promise.reject(new StorageError(STORE, `${op}: the store is closed`));
    const promise = fn().catch((error: unknown) => {
      if (error instanceof OrchestrationError) throw error;
      const reason = error instanceof Error ? error.message : String(error);
      const what = taskId === undefined ? op : `${op} of task ${taskId}`;
      throw new StorageError(STORE, `${what} failed: ${reason}`, { cause: error });
    });
    inflight.add(promise);
    const forget = () => inflight.delete(promise);
    promise.then(forget, forget);
    return promise;
  }

  function locked<T>(
    paths: TaskPaths,
    taskId: string,
    fn: (lock: HeldTaskLock) => Promise<T>,
  ): Promise<T> {
    const label = `task ${JSON.stringify(taskId)}`;
    return withTaskLock(paths.lock, { staleMs, timeoutMs, label }, async (lock) => {
      if (lock.recoveredFromCrash) await removeTemps(paths);
      // A new folder (or one a crashed holder may have left half made) gets its id file from its
      // first holder, whatever it writes (a lease, say): other instances that remember the id file
      // of the folder it replaced go by that memory, since their own claims are not first ones.
      if (lock.firstClaim || lock.recoveredFromCrash) await taskIds.keep(paths, taskId, lock);
      return fn(lock);
    });
  }

  /** The task as a reader sees it (`locked`: as the lock holder sees it). */
  async function view(paths: TaskPaths, taskId: string, isLocked = false): Promise<TaskView> {
    return readTaskView(paths, taskId, now(), isLocked);
  }

  /**
   * Whether `listTasks` lists the task: it has a log, or its head, as `head` computes it with the
   * store's clock, is above 0.
   */
  async function isListed(taskId: string): Promise<boolean> {
    const paths = taskPaths(root, taskId);
    try {
      if (await hasLog(paths)) return true;
      return (await view(paths, taskId)).head > 0;
    } catch (error) {
      // A damaged head.json: only a save writes one, so the task was saved. Listed, so that the
      // damage shows where the task is used (head, latest: CorruptRecordError) rather than the
      // task silently missing, or every page failing.
      if (error instanceof CorruptRecordError) return true;
      if (errorCode(error) === 'ENOTDIR') return false; // a stray file in tasks/, not a task
      throw error;
    }
  }

  async function readEntry(
    paths: TaskPaths,
    taskId: string,
    entry: RecordEntry,
  ): Promise<CheckpointRecord | undefined> {
    return readRecordFile(join(paths.records, entry.fileName), taskId, entry, maxRecordBytes);
  }

  return {
    name: STORE,

    async save(record: NewCheckpointRecord, saveOptions?: SaveRecordOptions): Promise<SavedRecord> {
      assertSavable(record, saveOptions, maxRecordBytes);
      const { taskId, checkpointId } = record;
      const paths = taskPaths(root, taskId);
      return run('save', taskId, () =>
        locked(paths, taskId, async (lock) => {
          const current = await view(paths, taskId, true);
          const expected = saveOptions?.expectedSeq;
          if (expected !== undefined && expected !== current.head) {
            throw new CheckpointConflictError(taskId, expected, current.head);
          }
          if (current.live.some((entry) => entry.checkpointId === checkpointId)) {
            throw new CheckpointExistsError(taskId, checkpointId);
          }
          // Before the record, so that a listing that can see the record can name the task.
          await taskIds.keep(paths, taskId, lock);
          let expiry = current.expiry;
          let floor = current.stored?.floor ?? 0;
          if (current.reset) {
            // Everything expired: forget it all before numbering starts over at 1.
            await removeRecords(paths, current.dead, true);
            await writeHead(paths, { seq: 0, floor: 0, expiresAt: null });
            expiry = Number.NEGATIVE_INFINITY;
            floor = 0;
          }
          const seq = current.head + 1;
          const meta = {
            seq,
            createdAt: record.createdAt,
            expiresAt: record.expiresAt,
            checkpointId,
          };
          const entry: RecordEntry = { ...meta, fileName: recordFileName(meta) };
          const file = join(paths.records, entry.fileName);
          await writeFileAtomic(file, encodeRecordFile(taskId, entry, record.body));
          expiry = Math.max(expiry, record.expiresAt ?? Number.POSITIVE_INFINITY);
          const expiresAt = Number.isFinite(expiry) ? expiry : null;
          await writeHead(paths, { seq, floor, expiresAt }, { syncDirectory: false });
          if (!current.reset) await removeRecords(paths, current.dead, false);
          return { seq };
        }),
      );
    },

    async load(taskId: string, checkpointId: string): Promise<CheckpointRecord | undefined> {
      assertValidId('taskId', taskId);
      assertValidId('checkpointId', checkpointId);
      const paths = taskPaths(root, taskId);
      return run('load', taskId, async () => {
        const current = await view(paths, taskId);
        await sweepDead(paths, current);
        const entry = current.live.find((live) => live.checkpointId === checkpointId);
        return entry === undefined ? undefined : readEntry(paths, taskId, entry);
      });
    },

    async latest(taskId: string): Promise<CheckpointRecord | undefined> {
      assertValidId('taskId', taskId);
      const paths = taskPaths(root, taskId);
      return run('latest', taskId, async () => {
        for (;;) {
          const current = await view(paths, taskId);
          await sweepDead(paths, current);
          const entry = current.live[0];
          if (entry === undefined) return undefined;
          const record = await readEntry(paths, taskId, entry);
          if (record !== undefined) return record; // else deleted meanwhile: look again
        }
      });
    },

    async list(taskId: string): Promise<CheckpointRecordMeta[]> {
      assertValidId('taskId', taskId);
      const paths = taskPaths(root, taskId);
      return run('list', taskId, async () => {
        const current = await view(paths, taskId);
        await sweepDead(paths, current);
        return current.live.map((entry) => entryMeta(taskId, entry));
      });
    },

    async delete(taskId: string, checkpointId: string): Promise<boolean> {
      assertValidId('taskId', taskId);
      assertValidId('checkpointId', checkpointId);
      const paths = taskPaths(root, taskId);
      const matches = (entry: RecordEntry) => entry.checkpointId === checkpointId;
      return run('delete', taskId, async () => {
        const peek = await view(paths, taskId);
        await sweepDead(paths, peek);
        if (!peek.live.some(matches)) return false;
        return locked(paths, taskId, async () => {
          const current = await view(paths, taskId, true);
          const entry = current.live.find(matches);
          if (entry === undefined) return false;
          // Keep the head: repair head.json first if a crash left it behind the files.
          if (headLags(current)) await writeHead(paths, headOf(current));
          await removeRecords(paths, [entry, ...current.dead], true);
          return true;
        });
      });
    },

    async deleteOld(taskId: string, keepLatest: number): Promise<number> {
      assertValidId('taskId', taskId);
      assertKeepLatest(keepLatest);
      const paths = taskPaths(root, taskId);
      return run('deleteOld', taskId, async () => {
        const peek = await view(paths, taskId);
        await sweepDead(paths, peek);
        if (peek.live.length <= keepLatest) return 0;
        return locked(paths, taskId, async () => {
          const current = await view(paths, taskId, true);
          const doomed = current.live.slice(keepLatest);
          if (doomed.length === 0) return 0;
          const oldest = current.live[keepLatest - 1];
          const floor = oldest === undefined ? current.rawHead + 1 : oldest.seq;
          // One atomic write hides them all; removing the files is cleanup.
          await writeHead(paths, headOf(current, Math.max(current.stored?.floor ?? 0, floor)));
          await removeRecords(paths, [...doomed, ...current.dead], true);
          return doomed.length;
        });
      });
    },

    async head(taskId: string): Promise<number> {
      assertValidId('taskId', taskId);
      const paths = taskPaths(root, taskId);
      return run('head', taskId, async () => {
        const current = await view(paths, taskId);
        await sweepDead(paths, current);
        return current.head;
      });
    },

    async appendLog(taskId: string, name: string, entries: readonly string[]): Promise<number> {
      assertValidId('taskId', taskId);
      assertValidId('log name', name);
      assertLogEntries(entries, maxRecordBytes, name);
      const paths = taskPaths(root, taskId);
      const path = logPath(paths, name);
      const onCorrupt = corruptLog(taskId, name);
      if (entries.length === 0) return run('appendLog', taskId, () => logLength(path, onCorrupt));
      return run('appendLog', taskId, () =>
        locked(paths, taskId, async (lock) => {
          await taskIds.keep(paths, taskId, lock); // before the log: see save
          return appendLogLine(path, entries, onCorrupt);
        }),
      );
    },

    async readLog(taskId: string, name: string, readOptions?: ReadLogOptions): Promise<string[]> {
      assertValidId('taskId', taskId);
      assertValidId('log name', name);
      assertReadLogOptions(readOptions);
      const path = logPath(taskPaths(root, taskId), name);
      const from = readOptions?.from ?? 0;
      const limit = readOptions?.limit ?? Number.POSITIVE_INFINITY;
      return run('readLog', taskId, async () => {
        const range = {
          from,
          limit,
          maxEntryBytes: maxRecordBytes,
          tooLarge: (index: number, bytes: number) =>
            new RecordTooLargeError(`Log ${name} entry ${index}`, bytes, maxRecordBytes),
        };
        const entries = await readLogEntries(path, range, corruptLog(taskId, name));
        assertLogEntriesRead(entries, from, maxRecordBytes, name);
        return entries;
      });
    },

    async deleteTask(taskId: string): Promise<boolean> {
      assertValidId('taskId', taskId);
      const paths = taskPaths(root, taskId);
      return run('deleteTask', taskId, async () => {
        if (!(await exists(paths.dir))) return false;
        return locked(paths, taskId, async (lock) => {
          const current = await view(paths, taskId, true);
          const logs = await readdir(paths.logs).catch(() => [] as string[]);
          const existed =
            current.head > 0 || current.live.length > 0 || logs.some((n) => n.endsWith('.log'));
          // One rename takes the task away at once; the folder is then removed at leisure.
          const trash = trashPath(root);
          await mkdir(trash, { recursive: true });
          const doomed = join(trash, `${Date.now()}-${process.pid}-${randomToken()}`);
          await rename(paths.dir, doomed);
          lock.abandon();
          taskIds.forget(taskId);
          await fsyncDirectory(dirname(paths.dir));
          await rm(doomed, { recursive: true, force: true });
          await emptyTrash(trash);
          return existed;
        });
      });
    },

    async claimLease(taskId: string, owner: string, ttlMs: number): Promise<LeaseClaim> {
      assertLeaseArgs(taskId, owner, ttlMs);
      const paths = taskPaths(root, taskId);
      return run('claimLease', taskId, async () => {
        // Another owner's live lease, plain to see: refused without the lock (nor a folder).
        const seen = liveLease(await readLeaseFile(paths, taskId), now());
        if (seen !== undefined && seen.owner !== owner) return { granted: false, lease: seen };
        return locked(paths, taskId, async () => {
          const time = now();
          const held = liveLease(await readLeaseFile(paths, taskId), time);
          if (held !== undefined && held.owner !== owner) return { granted: false, lease: held };
          const lease: TaskLease = { owner, expiresAt: time + ttlMs };
          await writeLeaseFile(paths, lease);
          return { granted: true, lease };
        });
      });
    },

    async releaseLease(taskId: string, owner: string): Promise<boolean> {
      assertLeaseArgs(taskId, owner);
      const paths = taskPaths(root, taskId);
      const holds = async () =>
        liveLease(await readLeaseFile(paths, taskId), now())?.owner === owner;
      return run('releaseLease', taskId, async () => {
        if (!(await holds())) return false; // nothing to do: no lock taken, no folder made
        return locked(paths, taskId, async () => {
          if (!(await holds())) return false; // lapsed meanwhile (perhaps claimed by another)
          await removeLeaseFile(paths);
          return true;
        });
      });
    },

    async readLease(taskId: string): Promise<TaskLease | undefined> {
      assertValidId('taskId', taskId);
      const paths = taskPaths(root, taskId);
      return run('readLease', taskId, async () =>
        liveLease(await readLeaseFile(paths, taskId), now()),
      );
    },

    async listTasks(listOptions?: ListTasksOptions): Promise<string[]> {
      const { after, limit } = listTasksOptions(listOptions);
      return run('listTasks', undefined, async () => {
        const candidates = (await taskIds.list())
          .filter((id) => after === undefined || id > after)
          .sort(compareIds);
        return firstListed(candidates, limit, isListed);
      });
    },

    async close(): Promise<void> {
      closed = true;
      await Promise.allSettled([...inflight]);
    },
  };
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}

/** Whether the task has a log (a `*.log` file in `logs/`). */
async function hasLog(paths: TaskPaths): Promise<boolean> {
  let names: string[];
  try {
    names = await readdir(paths.logs);
  } catch (error) {
    if (isNotFound(error) || errorCode(error) === 'ENOTDIR') return false;
    throw error;
  }
  return names.some((name) => name.endsWith('.log'));
}

/**
 * The first `limit` of `candidates`, in their order, that pass `isListed`. Checked a few at a
 * time, never more at once than are still missing: a page costs `limit` checks when every task is
 * live, and the tasks past the page are never looked at.
 */
async function firstListed(
  candidates: readonly string[],
  limit: number,
  isListed: (taskId: string) => Promise<boolean>,
): Promise<string[]> {
  const listed: string[] = [];
  let next = 0;
  while (listed.length < limit && next < candidates.length) {
    const batch = candidates.slice(next, next + Math.min(limit - listed.length, LIST_CONCURRENCY));
    next += batch.length;
    const live = await Promise.all(batch.map(isListed));
    batch.forEach((taskId, i) => {
      if (live[i]) listed.push(taskId);
    });
  }
  return listed;
}

/** Removes the temp files a dead lock holder left in the task's folders. */
async function removeTemps(paths: TaskPaths): Promise<void> {
  for (const dir of [paths.dir, paths.records]) {
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names) {
      if (name.startsWith(TEMP_PREFIX)) await removeFile(join(dir, name));
    }
  }
}

/** Removes folders a `deleteTask` of a process that died left in the trash; best effort. */
async function emptyTrash(trash: string): Promise<void> {
  const names = await readdir(trash).catch(() => [] as string[]);
  for (const name of names) {
    const pid = Number(name.split('-')[1]);
    if (Number.isSafeInteger(pid) && pid !== process.pid && !isAlive(pid)) {
      await rm(join(trash, name), { recursive: true, force: true }).catch(() => undefined);
    }
  }
}
