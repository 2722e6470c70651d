import { resolve } from 'node:path';
import type {
  AppendLogAtOptions,
  CheckpointRecord,
  CheckpointRecordMeta,
  CheckpointStore,
  CheckpointStoreOptions,
  ConditionalAppend,
  LeaseClaim,
  ListTasksOptions,
  NewCheckpointRecord,
  ReadLogOptions,
  SavedRecord,
  SaveRecordOptions,
  TaskLease,
} from '../../src/checkpoint/checkpoint-store.js';
import {
  assertAppendLogAtArgs,
  assertKeepLatest,
  assertLeaseArgs,
  assertLogEntries,
  assertNoAppendOnSave,
  assertReadLogOptions,
  assertSavable,
  listTasksOptions,
  maxRecordBytesOption,
} from '../../src/checkpoint/store-guards.js';
import { OrchestrationError, StorageError } from '../../src/errors.js';
import { assertValidId } from '../../src/ids.js';
import { claimTaskLease, readTaskLease, releaseTaskLease } from './lease-ops.js';
import { appendTaskLog, appendTaskLogAt, readTaskLog } from './log-ops.js';
import {
  deleteOldRecords,
  deleteRecord,
  latestRecord,
  listRecords,
  loadRecord,
  saveRecord,
  taskHead,
} from './record-ops.js';
import { RecordsMemos } from './records-memo.js';
import type { FileStoreContext } from './store-context.js';
import { deleteTaskFolder } from './task-deletion.js';
import { TaskIdFiles } from './task-ids.js';
import { listTaskIds } from './task-listing.js';
import { tasksPath } from './task-paths.js';

/**
 * The file store's factory, {@link createFileStore}: it checks the options, validates each call's
 * arguments, and runs the operations of `record-ops.ts`, `log-ops.ts`, `lease-ops.ts`,
 * `task-listing.ts` and `task-deletion.ts`, turning file-system failures into `StorageError`s.
 */

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
 * <directory>/tasks/<taskId>/head.json        head seq, deletion floor, expiry (after deletes)
 * <directory>/tasks/<taskId>/records/<seq>~<createdAt>~<expiresAt|never>~<checkpointId>
 * <directory>/tasks/<taskId>/logs/<name>.log  one JSON line per append
 * <directory>/tasks/<taskId>/lock/<generation> cross-process lock
 * <directory>/tasks/<taskId>/lock/stage-<token>/ what a lock claim in progress writes through
 * <directory>/tasks/<taskId>/lease.json       the task's lease (atomic replace)
 * <directory>/tasks/<taskId>/task-id          the id, when the folder's name is not (capitals)
 * ```
 * - **Atomic writes**: every record and `head.json` is written to a temp file in the lock claim's
 *   stage, fsynced, renamed into place, and the folder fsynced (a save writes its record only:
 *   `head.json` is written by deletes, before files go, and when a task starts over after
 *   everything expired). After a crash (even `kill -9` mid-write) a record is whole or absent;
 *   stray temp files are invisible and removed by the next lock holder.
 * - **Writers are serialized per task** by a lock that works across processes and store instances
 *   (generation files claimed with `link()`; see `task-lock.ts`). A holder that dies is detected
 *   by pid liveness (same host) or by its heartbeat aging past `lockStaleMs`, and superseded: a
 *   lock never stays stuck. A holder that is only stalled (event loop blocked, `SIGSTOP`) and
 *   wakes up after it was superseded writes nothing: every change goes through its claim's stage
 *   folder in the system call that makes it, and the claimant that took over removed that folder
 *   first (`claim-stage.ts`); the stalled operation runs again under a new claim. So the
 *   check-and-set of `expectedSeq` is atomic across processes, stalls included.
 * - **Reads take no lock**: records are immutable files and `head.json` is replaced atomically, so
 *   a reader sees whole files, and re-reads until `head.json` did not change during its listing.
 * - **The head** is the larger of `head.json`'s seq and the highest record file name, so it never
 *   goes down when records are deleted or expire; it returns to 0 once no record is live and the
 *   last expiry of the records has passed (a delete takes it from the records it leaves, or
 *   keeps it when it leaves none). `deleteOld` raises a floor in `head.json` (one atomic write)
 *   before removing files, so it is one batch even if the process dies halfway.
 * - **Expiry** uses the injected clock; expired files are removed lazily by reads and writes. A
 *   reader removes them without the lock, except the newest record (which may hold the head) and
 *   the files of a task whose every record expired: those it removes under the task lock, and
 *   with them the task's folder when nothing else (a log, a live lease) is in it
 *   (`task-sweep.ts`). `listTasks` does so for the tasks it reads the records of (those without
 *   a log), so an expired task leaves nothing on disk once it is listed or read.
 * - **Size bound**: bodies over `maxRecordBytes` are refused on write; on read, a file larger than
 *   the bound plus a 2 KiB header is refused unread.
 * - **Logs** are appended under the task lock, one line per append, never rewritten; a line torn
 *   by a crash is ignored by readers and cut off by the next append. An `appendLogAt` that waited
 *   for the lock while its task was deleted is refused (see `log-ops.ts`), and so is one with
 *   `requireHead` to a task without a head (never saved, or deleted before it was called).
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
  const maxRecordBytes = maxRecordBytesOption(options.maxRecordBytes);
  const staleMs = positive('lockStaleMs', options.lockStaleMs, 10_000);
  const timeoutMs = positive('lockTimeoutMs', options.lockTimeoutMs, 30_000);
  const now = options.now ?? Date.now;
  const inflight = new Set<Promise<unknown>>();
  const taskIds = new TaskIdFiles(tasksPath(root));
  const memos = new RecordsMemos();
  const ctx: FileStoreContext = { root, maxRecordBytes, staleMs, timeoutMs, now, taskIds, memos };
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

  return {
    name: STORE,

    async save(record: NewCheckpointRecord, saveOptions?: SaveRecordOptions): Promise<SavedRecord> {
      assertNoAppendOnSave(STORE, saveOptions);
      assertSavable(record, saveOptions, maxRecordBytes);
      return run('save', record.taskId, () => saveRecord(ctx, record, saveOptions));
    },

    async load(taskId: string, checkpointId: string): Promise<CheckpointRecord | undefined> {
      assertValidId('taskId', taskId);
      assertValidId('checkpointId', checkpointId);
      return run('load', taskId, () => loadRecord(ctx, taskId, checkpointId));
    },

    async latest(taskId: string): Promise<CheckpointRecord | undefined> {
      assertValidId('taskId', taskId);
      return run('latest', taskId, () => latestRecord(ctx, taskId));
    },

    async list(taskId: string): Promise<CheckpointRecordMeta[]> {
      assertValidId('taskId', taskId);
      return run('list', taskId, () => listRecords(ctx, taskId));
    },

    async delete(taskId: string, checkpointId: string): Promise<boolean> {
      assertValidId('taskId', taskId);
      assertValidId('checkpointId', checkpointId);
      return run('delete', taskId, () => deleteRecord(ctx, taskId, checkpointId));
    },

    async deleteOld(taskId: string, keepLatest: number): Promise<number> {
      assertValidId('taskId', taskId);
      assertKeepLatest(keepLatest);
      return run('deleteOld', taskId, () => deleteOldRecords(ctx, taskId, keepLatest));
    },

    async head(taskId: string): Promise<number> {
      assertValidId('taskId', taskId);
      return run('head', taskId, () => taskHead(ctx, taskId));
    },

    async appendLog(taskId: string, name: string, entries: readonly string[]): Promise<number> {
      assertValidId('taskId', taskId);
      assertValidId('log name', name);
      assertLogEntries(entries, maxRecordBytes, name);
      return run('appendLog', taskId, () => appendTaskLog(ctx, taskId, name, entries));
    },

    async appendLogAt(
      taskId: string,
      name: string,
      at: number,
      entries: readonly string[],
      appendOptions?: AppendLogAtOptions,
    ): Promise<ConditionalAppend> {
      assertAppendLogAtArgs(taskId, name, at, entries, maxRecordBytes);
      const requireHead = appendOptions?.requireHead === true;
      return run('appendLogAt', taskId, () =>
        appendTaskLogAt(ctx, taskId, name, at, entries, requireHead),
      );
    },

    async readLog(taskId: string, name: string, readOptions?: ReadLogOptions): Promise<string[]> {
      assertValidId('taskId', taskId);
      assertValidId('log name', name);
      assertReadLogOptions(readOptions);
      return run('readLog', taskId, () => readTaskLog(ctx, taskId, name, readOptions));
    },

    async deleteTask(taskId: string): Promise<boolean> {
      assertValidId('taskId', taskId);
      return run('deleteTask', taskId, () => deleteTaskFolder(ctx, taskId));
    },

    async claimLease(taskId: string, owner: string, ttlMs: number): Promise<LeaseClaim> {
      assertLeaseArgs(taskId, owner, ttlMs);
      return run('claimLease', taskId, () => claimTaskLease(ctx, taskId, owner, ttlMs));
    },

    async releaseLease(taskId: string, owner: string): Promise<boolean> {
      assertLeaseArgs(taskId, owner);
      return run('releaseLease', taskId, () => releaseTaskLease(ctx, taskId, owner));
    },

    async readLease(taskId: string): Promise<TaskLease | undefined> {
      assertValidId('taskId', taskId);
      return run('readLease', taskId, () => readTaskLease(ctx, taskId));
    },

    async listTasks(listOptions?: ListTasksOptions): Promise<string[]> {
      const { after, limit } = listTasksOptions(listOptions);
      return run('listTasks', undefined, () => listTaskIds(ctx, after, limit));
    },

    async close(): Promise<void> {
      closed = true;
      await Promise.allSettled([...inflight]);
    },
  };
}
