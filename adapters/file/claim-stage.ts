import {
  constants,
  copyFile,
  type FileHandle,
  link,
  mkdir,
  open,
  readdir,
  rename,
  rm,
  rmdir,
  stat,
  unlink,
} from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import {
  errorCode,
  fsyncDirectory,
  isNotEmpty,
  isNotFound,
  randomToken,
  TEMP_PREFIX,
  writeChunks,
} from './fs-utils.js';

/**
 * The **stage** of a task-lock claim: the fence that makes taking over a stalled holder safe.
 *
 * A holder can be superseded while it still runs (its event loop stalled past `lockStaleMs`,
 * `SIGSTOP`, a suspended host…), and it is never told: it may wake up between any two system
 * calls. So no change a holder makes may depend on its claim being current when it checked, only
 * when the change lands. Each claim has a folder `lock/stage-<token>` (`<token>` is in its
 * generation file), there *before* its generation file is linked, and every change of the task
 * goes through it, in one system call that needs the folder to be there:
 *
 * - **A file written** (record, `head.json`, `lease.json`, `task-id`, a cut log) is a temp file
 *   in the stage, fsynced, then renamed into place: the rename is the commit.
 * - **A file removed** (record, `lease.json`) is renamed into the stage, then unlinked: the
 *   rename is the commit.
 * - **A log line** is written in place, so it is guarded by an **intent**: a name
 *   `i-<token>-<offset>-<log file>` made in the stage (a hard link to the log: no inode to
 *   allocate) after the log is opened and before the line is written, and unlinked after it: the
 *   commit. A claimant that takes over renames the intent into its own stage as
 *   `r-<offset>-<log file>` (**revoked**), then replaces the log by a copy cut back to
 *   `<offset>`, so that whatever the superseded holder writes, before or after, lands in a file
 *   nobody reads any more. Exactly one of the unlink and the rename wins: the holder commits its
 *   line, or it learns that its append did not happen. (A reader, which takes no lock, may read
 *   such a line before it is cut, as it may read a line that a power cut then loses before its
 *   append returned: what an append promises holds once it has returned.)
 *
 * **Fencing**: the claimant that supersedes a held generation (after its own claim is valid, and
 * before it reads or writes anything of the task) empties that claim's stage and removes it. A
 * system call of the superseded holder then either ran before, and its effect is there for the
 * new holder to see, or fails with `ENOENT` (a removed folder takes no new entries, and a name in
 * it resolves no more), and the holder gets {@link LockLostError}: nothing of that step happened,
 * and the operation starts over under a new claim (so a conditional save that lost its seq ends in
 * `CheckpointConflictError`). A temp file is discarded. An intent is revoked, unless its holder is
 * known to be dead (same host, pid gone): a dead holder's complete line stands, as after any
 * crash. Revoked intents stay in the new holder's stage until their log is cut, so a claimant that
 * dies meanwhile passes them on to the next.
 *
 * **Reuse**: making and removing a folder per claim is slow (an inode, a block and the orphan
 * list on ext4), so a claim that ends with its stage empty leaves it there, and the next claim of
 * the lock, when it follows that released generation, takes it over with one `rename` to its own
 * name (before linking its generation; only if there is none does it make one). A stage that is
 * not empty at release (what a failed step left) is emptied and removed; if a revoked intent is
 * still in it, it stays, and so does the claim: its generation is not marked free, and the next
 * claimant takes it over and finishes the work. A stage no generation names (a claimant died
 * before linking its generation) is removed once older than `lockStaleMs`. Removing a stage is
 * always safe: at worst a live holder runs its operation again.
 */

/** Prefix of a stage folder in the lock folder; what follows is the claim's token. */
export const STAGE_PREFIX = 'stage-';
/** Prefix of an intent in a stage (see the module comment). */
const INTENT = 'i-';
/** Prefix of a revoked intent, carried over to the stage of the claimant that revoked it. */
const REVOKED = 'r-';
/** Fencing rounds before giving up on a stage that keeps getting new entries. */
const MAX_FENCE_ROUNDS = 100;

/**
 * A write found its claim's stage gone: another process took the task lock over (this one was
 * stalled) or deleted the task. Nothing of the step that threw happened; the task lock runs the
 * operation again under a new claim.
 */
export class LockLostError extends Error {
  constructor(label: string, options?: { cause?: unknown }) {
    super(
      `lost the lock of ${label}: another process took it over while this one was stalled`,
      options,
    );
    this.name = 'LockLostError';
  }
}

/** Ignores a {@link LockLostError}: for cleanup after an operation's commit. */
export function ignoreLockLost(error: unknown): void {
  if (!(error instanceof LockLostError)) throw error;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if (isNotFound(error) || errorCode(error) === 'ENOTDIR') return false;
    throw error;
  }
}

/** The folder through which one claim changes its task (see the module comment). */
export class ClaimStage {
  /** `lock/stage-<token>`. */
  readonly dir: string;
  /** The claim's token. */
  readonly #token: string;
  readonly #label: string;
  /** Names this claim put in the stage that may still be there. */
  #left = 0;
  /** Revoked intents carried into the stage whose log is not cut yet. */
  readonly #revoked = new Set<string>();

  constructor(lockDir: string, token: string, label: string) {
    this.dir = join(lockDir, `${STAGE_PREFIX}${token}`);
    this.#token = token;
    this.#label = label;
  }

  /** The error for a step that found the stage gone. */
  lost(cause?: unknown): LockLostError {
    return new LockLostError(this.#label, { cause });
  }

  /**
   * Makes the stage, before the claim's generation is linked: by taking over `previous` (the
   * stage a released claim left, see the module comment) when it is there, else as a new folder.
   */
  async create(previous: string | undefined): Promise<void> {
    if (previous !== undefined) {
      try {
        await rename(previous, this.dir);
        return;
      } catch (error) {
        // Gone: taken by another claimant, or never made (a first claim, an older version).
        if (!isNotFound(error)) throw error;
      }
    }
    await mkdir(this.dir);
  }

  /** Removes the stage of a claim that never held the lock (it lost the race, or was void). */
  async discard(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true }).catch(() => undefined);
  }

  /**
   * Readies the stage for release: true when the claim may be marked free. An empty stage stays,
   * for the next claim to take over; one with leftovers is emptied and removed; one that still
   * holds a revoked intent stays as it is, and then the claim must stay held (false), so that the
   * next claimant takes it over and cuts the log.
   */
  async release(): Promise<boolean> {
    if (this.#left === 0 && this.#revoked.size === 0) return true;
    for (let round = 0; round < 3; round++) {
      try {
        await rmdir(this.dir);
        return true;
      } catch (error) {
        if (isNotFound(error)) return true;
        if (!isNotEmpty(error)) throw error;
      }
      const names = await readdir(this.dir).catch(() => [] as string[]);
      if (names.some((name) => name.startsWith(REVOKED))) return false;
      for (const name of names) await rm(join(this.dir, name), { recursive: true, force: true });
    }
    return false;
  }

  /** A new temp file name in the stage. */
  #tempPath(): string {
    return join(this.dir, `${TEMP_PREFIX}${randomToken()}`);
  }

  /** Unlinks a name this claim put in the stage (best effort: else it is left for release). */
  async #drop(path: string): Promise<void> {
    try {
      await unlink(path);
    } catch (error) {
      if (!isNotFound(error)) return;
    }
    this.#left -= 1;
  }

  /**
   * Renames `from` (a temp file in the stage) to `path`: the commit of a write. Makes `path`'s
   * folder when it is missing; throws {@link LockLostError} when `from` is gone (fenced).
   */
  async #commit(from: string, path: string): Promise<void> {
    try {
      await rename(from, path);
      this.#left -= 1;
      return;
    } catch (error) {
      if (!isNotFound(error)) throw error;
      if (!(await exists(from))) throw this.lost(error);
    }
    await mkdir(dirname(path), { recursive: true });
    try {
      await rename(from, path);
      this.#left -= 1;
    } catch (error) {
      if (isNotFound(error) && !(await exists(from))) throw this.lost(error);
      throw error;
    }
  }

  /** Opens a new temp file in the stage (`flags`: `wx` or `wx+`). */
  async #openTemp(flags: string): Promise<[string, FileHandle]> {
    const temp = this.#tempPath();
    try {
      const handle = await open(temp, flags);
      this.#left += 1;
      return [temp, handle];
    } catch (error) {
      if (isNotFound(error)) throw this.lost(error);
      throw error;
    }
  }

  /**
   * Replaces `path` with `chunks` atomically: a temp file in the stage, fsynced, renamed over
   * `path` (the commit), and `path`'s folder fsynced so that the new name survives a power loss.
   * A reader sees the old file or the new one, never a mix; after a crash the temp file stays in
   * the stage, which the next claimant removes.
   */
  async writeFile(path: string, chunks: readonly Uint8Array[]): Promise<void> {
    const [temp, handle] = await this.#openTemp('wx');
    await this.#fillAndCommit(
      temp,
      path,
      async () => handle,
      (file) => writeChunks(file, chunks),
    );
  }

  /**
   * Replaces `path` by a copy of its first `length` bytes (a new file: whoever has the old one
   * open writes to a file nobody reads any more); does nothing when there is no such file.
   */
  async replaceWithCopy(path: string, length: number): Promise<void> {
    const temp = this.#tempPath();
    try {
      await copyFile(path, temp, constants.COPYFILE_EXCL);
      this.#left += 1;
    } catch (error) {
      if (!isNotFound(error)) throw error;
      if (!(await exists(this.dir))) throw this.lost(error);
      return; // no such file
    }
    await this.#fillAndCommit(
      temp,
      path,
      () => open(temp, 'r+'),
      async (file) => {
        if ((await file.stat()).size > length) await file.truncate(length);
      },
    );
  }

  /**
   * Fills the stage's temp file `temp` through the handle `openFile` gives (then synced and
   * closed) and commits it as `path`, its folder synced; on failure drops it.
   */
  async #fillAndCommit(
    temp: string,
    path: string,
    openFile: () => Promise<FileHandle>,
    fill: (file: FileHandle) => Promise<void>,
  ): Promise<void> {
    try {
      const file = await openFile();
      try {
        await fill(file);
        await file.sync();
      } finally {
        await file.close();
      }
      await this.#commit(temp, path);
    } catch (error) {
      await this.#drop(temp);
      throw error;
    }
    await fsyncDirectory(dirname(path));
  }

  /**
   * Removes `path` by renaming it into the stage (the commit), then unlinking it; true if it was
   * there. The caller fsyncs the folder.
   */
  async removeFile(path: string): Promise<boolean> {
    const temp = this.#tempPath();
    try {
      await rename(path, temp);
      this.#left += 1;
    } catch (error) {
      if (!isNotFound(error)) throw error;
      // The stage was there after the rename failed, so it was there during it: `path` was not.
      if (await exists(this.dir)) return false;
      throw this.lost(error);
    }
    // Gone from its folder: that was the commit. A fencer may have unlinked it first.
    await this.#drop(temp);
    return true;
  }

  /**
   * Creates `path` empty and opens it for reading and writing, unless it exists (then
   * `undefined`): made in the stage and linked into place, so a superseded holder creates nothing.
   */
  async createFile(path: string): Promise<FileHandle | undefined> {
    const [temp, handle] = await this.#openTemp('wx+');
    try {
      await this.#link(temp, path);
      return handle;
    } catch (error) {
      await handle.close();
      if (errorCode(error) === 'EEXIST') return undefined;
      throw error;
    } finally {
      await this.#drop(temp);
    }
  }

  /** Links `from` (in the stage) to `path`, making `path`'s folder when it is missing. */
  async #link(from: string, path: string): Promise<void> {
    try {
      await link(from, path);
      return;
    } catch (error) {
      if (!isNotFound(error)) throw error;
      if (!(await exists(from))) throw this.lost(error);
    }
    await mkdir(dirname(path), { recursive: true });
    await link(from, path);
  }

  /**
   * Records the intent to write `file` at `payload` (`<offset>-<log file>`), as a hard link to
   * it named by the claim's token too (so that nothing a released claim may have left in a stage
   * it passed on is ever taken for this claim's intent); throws {@link LockLostError} when the
   * stage is gone. Returns what {@link endIntent} takes.
   */
  async beginIntent(payload: string, file: string): Promise<string> {
    const path = join(this.dir, `${INTENT}${this.#token}-${payload}`);
    try {
      await link(file, path);
    } catch (error) {
      if (!isNotFound(error)) throw error;
      if (!(await exists(this.dir))) throw this.lost(error);
      // `file` is gone (its folder was moved away): an empty file says the same.
      try {
        await (await open(path, 'wx')).close();
      } catch (created) {
        if (isNotFound(created)) throw this.lost(created);
        throw created;
      }
    }
    this.#left += 1;
    return path;
  }

  /**
   * Ends an intent: the commit of what was written under it. Throws {@link LockLostError} when a
   * claimant that took over revoked it (the write is undone, or lands in a file nobody reads).
   */
  async endIntent(intent: string): Promise<void> {
    try {
      await unlink(intent);
      this.#left -= 1;
    } catch (error) {
      if (isNotFound(error)) throw this.lost(error);
      throw error;
    }
  }

  /** Forgets a revoked intent carried over to this stage, once its log is cut. */
  async clearRevoked(payload: string): Promise<void> {
    await rm(join(this.dir, `${REVOKED}${payload}`), { recursive: true, force: true });
    this.#revoked.delete(payload);
  }

  /**
   * Fences the stage folder `dir` of a superseded claim (see the module comment): empties it and
   * removes it, carrying its claim's intents over to this stage as revoked (an intent of a holder
   * that cannot run any more, `mayRun` false, is dropped instead, as is anything else; revoked
   * ones always carry over).
   * Returns the payloads it carried over. Throws {@link LockLostError} when this stage is gone.
   */
  async fence(dir: string, mayRun: boolean): Promise<string[]> {
    const carried: string[] = [];
    // Its own intents name its token; any other is left from a claim whose stage it took over.
    const ownIntent = `${INTENT}${basename(dir).slice(STAGE_PREFIX.length)}-`;
    for (let round = 0; ; round++) {
      let names: string[];
      try {
        names = await readdir(dir);
      } catch (error) {
        if (isNotFound(error) || errorCode(error) === 'ENOTDIR') return carried;
        throw error;
      }
      for (const name of names) {
        const path = join(dir, name);
        const payload = name.startsWith(REVOKED)
          ? name.slice(REVOKED.length)
          : mayRun && name.startsWith(ownIntent)
            ? name.slice(ownIntent.length)
            : undefined;
        if (payload === undefined) {
          await rm(path, { recursive: true, force: true });
          continue;
        }
        const target = join(this.dir, `${REVOKED}${payload}`);
        try {
          // Over a revoked intent of the same payload already here: it says the same.
          await rm(target, { recursive: true, force: true });
          await rename(path, target);
          this.#revoked.add(payload);
          if (!carried.includes(payload)) carried.push(payload);
        } catch (error) {
          if (!isNotFound(error)) throw error;
          // Committed meanwhile (its holder removed it), or this stage is gone.
          if (!(await exists(this.dir))) throw this.lost(error);
        }
      }
      try {
        await rmdir(dir);
        return carried;
      } catch (error) {
        if (isNotFound(error)) return carried;
        if (!isNotEmpty(error) || round >= MAX_FENCE_ROUNDS) throw error;
      }
    }
  }
}
