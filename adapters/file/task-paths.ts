import { createHash } from 'node:crypto';
import { join } from 'node:path';

/** Where one task's files live under a file store's directory. */
export interface TaskPaths {
  /** `<directory>/tasks/<task>`: everything of the task, removed together. */
  readonly dir: string;
  /** `head.json`: the head sequence number, the deletion floor and the head's expiry. */
  readonly head: string;
  /** `records/`: one immutable file per checkpoint record. */
  readonly records: string;
  /** `logs/`: one append-only `<name>.log` per log. */
  readonly logs: string;
  /** `lock/`: the generations of the task's cross-process lock. */
  readonly lock: string;
  /** `lease.json`: the task's lease, if it ever had one (see `lease-file.ts`). */
  readonly lease: string;
  /**
   * `task-id`: the task's id, for the folders whose name is not the id (ids with capitals), since
   * {@link fileNameForId} cannot be reversed. See `task-ids.ts`.
   */
  readonly idFile: string;
}

/**
 * A file name for a validated id that stays distinct on case-insensitive file systems (macOS,
 * Windows): ids with capitals become `<lowercased>~<12 hex of sha256>`, since `~` never occurs in
 * an id. At most 213 characters for a 200-character id.
 */
export function fileNameForId(id: string): string {
  if (!/[A-Z]/.test(id)) return id;
  const digest = createHash('sha256').update(id).digest('hex').slice(0, 12);
  return `${id.toLowerCase()}~${digest}`;
}

/** The paths of a task under `root`; `taskId` must be valid already. */
export function taskPaths(root: string, taskId: string): TaskPaths {
  return taskPathsIn(join(tasksPath(root), fileNameForId(taskId)));
}

/** The paths of the task whose folder is `dir` (wherever it is, e.g. moved to the trash). */
export function taskPathsIn(dir: string): TaskPaths {
  return {
    dir,
    head: join(dir, 'head.json'),
    records: join(dir, 'records'),
    logs: join(dir, 'logs'),
    lock: join(dir, 'lock'),
    lease: join(dir, 'lease.json'),
    idFile: idFilePath(dir),
  };
}

/** The path of the id file in the task folder `dir` (see {@link TaskPaths.idFile}). */
export function idFilePath(dir: string): string {
  return join(dir, 'task-id');
}

/** `<directory>/tasks`: one folder per task, named by {@link fileNameForId}. */
export function tasksPath(root: string): string {
  return join(root, 'tasks');
}

/** The path of a task's log `name` (valid already). */
export function logPath(paths: TaskPaths, name: string): string {
  return join(paths.logs, `${fileNameForId(name)}.log`);
}

/** `<directory>/.trash`: deleted task folders are renamed here, then removed. */
export function trashPath(root: string): string {
  return join(root, '.trash');
}
