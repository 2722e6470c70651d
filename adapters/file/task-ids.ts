import { type FileHandle, open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { isValidId } from '../../src/ids.js';
import type { ClaimStage } from './claim-stage.js';
import { errorCode, isNotFound, readAtMost } from './fs-utils.js';
import { fileNameForId, idFilePath, type TaskPaths } from './task-paths.js';

/**
 * Which task a folder under `<directory>/tasks/` belongs to, for `listTasks`.
 *
 * A folder is named by its task's id when the id has no capital letter. Otherwise the name is
 * `<lowercased>~<hash>` ({@link fileNameForId}), which cannot be reversed, so such a task keeps
 * its id in a `task-id` file in its folder: the id's characters (ASCII), nothing else.
 *
 * - **Written** by the lock holder of a save or an append, before anything else of the task, and
 *   by the first lock holder of a new folder whatever it writes (a lease claim, say), with an
 *   atomic replace through the claim's stage (temp file, fsync, rename, folder fsync): whoever
 *   sees a record or a log of the task also sees the id file. Folders named by their id get
 *   none (nothing to learn from it, and a first save pays no extra fsyncs).
 * - **Read** at most {@link MAX_ID_FILE_BYTES} bytes; an id file that is longer, does not hold a
 *   valid id, or holds an id that does not map back to the folder's name (copied from another
 *   folder, damaged) is ignored: the folder is not listed, as if it had none. One bad file does
 *   not fail every listing, and the next write to the task by a store instance rewrites it.
 * - **Folders from before id files**: one named by its id needs none. One with `~` and no id
 *   file cannot be named, so it is not listed until a store instance of this version writes to
 *   the task (it adds the file then); its records and logs stay readable by id meanwhile.
 *
 * A store instance remembers which tasks have their id file (so only the first write of a task
 * pays a read) and which id each folder name maps to (so listing reads each id file once), both
 * bounded. The first is forgotten when the folder may have been replaced: `deleteTask` by this
 * instance, or a lock claim that finds the lock folder new (another instance or process deleted
 * and recreated the task). The second never goes stale: a name maps to one id whatever happens
 * to the folder.
 */

/** Longest id file read: ids are at most 200 ASCII characters. Longer files are ignored unread. */
export const MAX_ID_FILE_BYTES = 256;

/** How many id files listing reads at once. */
const READ_CONCURRENCY = 32;

/** Entries each memo keeps before it forgets the oldest. */
const MEMO_ENTRIES = 50_000;

/** What the lock holder knows about the folder (see `HeldTaskLock`). */
export interface FolderFreshness {
  readonly firstClaim: boolean;
  readonly recoveredFromCrash: boolean;
  /** The claim's stage, through which the id file is written. */
  readonly stage: ClaimStage;
}

/** The id files of one store instance's tasks (see the module comment). */
export class TaskIdFiles {
  readonly #tasksDir: string;
  /** Tasks whose folder (as last seen by this instance) has its id file. */
  readonly #kept = new Set<string>();
  /** Folder name → task id, verified. */
  readonly #names = new Map<string, string>();

  /** `tasksDir`: `<directory>/tasks`. */
  constructor(tasksDir: string) {
    this.#tasksDir = tasksDir;
  }

  /**
   * Makes sure the task's folder has its id file, if its name is not the id; the caller holds the
   * task lock and is about to write the task. Costs nothing once this instance knows the file is
   * there; a read (and a write, when missing or wrong) otherwise.
   */
  async keep(paths: TaskPaths, taskId: string, folder: FolderFreshness): Promise<void> {
    if (fileNameForId(taskId) === taskId) return;
    // A new folder (or one a crashed holder may have left half made) has no id file yet.
    const fresh = folder.firstClaim || folder.recoveredFromCrash;
    if (!fresh && this.#kept.has(taskId)) return;
    if ((await readIdFile(paths.idFile)) !== taskId) {
      await folder.stage.writeFile(paths.idFile, [Buffer.from(taskId, 'ascii')]);
    }
    this.#kept.add(taskId);
    trim(this.#kept);
  }

  /** Forgets that the task has its id file: its folder is going away (`deleteTask`). */
  forget(taskId: string): void {
    this.#kept.delete(taskId);
  }

  /**
   * The ids of the task folders under `<directory>/tasks/` (in no order): one `readdir` and the
   * id files not read before. Folders that cannot be named are left out (see the module comment).
   */
  async list(): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.#tasksDir);
    } catch (error) {
      if (isNotFound(error)) return []; // nothing was ever written
      throw error;
    }
    const ids: string[] = [];
    const unread: string[] = [];
    for (const name of names) {
      if (!name.includes('~')) {
        // Named by its id (anything else there, e.g. a stray file with a capital, is skipped).
        if (isIdOfFolder(name, name)) ids.push(name);
      } else {
        const known = this.#names.get(name);
        if (known !== undefined) ids.push(known);
        else unread.push(name);
      }
    }
    for (let start = 0; start < unread.length; start += READ_CONCURRENCY) {
      const batch = unread.slice(start, start + READ_CONCURRENCY);
      const read = await Promise.all(batch.map((name) => this.#idOfHashedFolder(name)));
      for (const id of read) if (id !== undefined) ids.push(id);
    }
    return ids;
  }

  /** The id in the id file of folder `name` (a `~` name), if it is there and maps back to it. */
  async #idOfHashedFolder(name: string): Promise<string | undefined> {
    const id = await readIdFile(idFilePath(join(this.#tasksDir, name)));
    // Missing: a folder from before id files, or one whose first write is under way.
    if (id === undefined || !isIdOfFolder(id, name)) return undefined;
    this.#names.set(name, id);
    trim(this.#names);
    return id;
  }
}

/** Whether `id` is a valid task id whose folder is named `name`. */
function isIdOfFolder(id: string, name: string): boolean {
  return isValidId(id) && fileNameForId(id) === name;
}

/**
 * The text of an id file, or `undefined` when there is none (or its folder is not a folder) or
 * it is longer than {@link MAX_ID_FILE_BYTES}: at most that many bytes (and one) are read.
 */
export async function readIdFile(path: string): Promise<string | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if (isNotFound(error) || errorCode(error) === 'ENOTDIR') return undefined;
    throw error;
  }
  try {
    return await readAtMost(handle, MAX_ID_FILE_BYTES);
  } catch (error) {
    if (errorCode(error) === 'EISDIR') return undefined; // a folder named task-id: not ours
    throw error;
  } finally {
    await handle.close();
  }
}

/** Bounds a memo just added to: forgets its oldest entry past {@link MEMO_ENTRIES}. */
function trim(memo: Set<string> | Map<string, string>): void {
  if (memo.size <= MEMO_ENTRIES) return;
  const oldest = memo.keys().next();
  if (!oldest.done) memo.delete(oldest.value);
}
