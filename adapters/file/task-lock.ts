import {
  type FileHandle,
  link,
  mkdir,
  open,
  readdir,
  rename,
  stat,
  unlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { StorageError } from '../../src/errors.js';
import { errorCode, isAlive, isNotFound, randomToken, sleep, TEMP_PREFIX } from './fs-utils.js';

/**
 * The cross-process lock of one task: a folder of numbered **generations** (`lock/1`, `lock/2`,
 * …), each a small JSON file `{ pid, host, token, state: 'held' | 'free' }`.
 *
 * - **Acquire**: read the highest generation `g`. If it is held by a live owner, wait (polling,
 *   up to `timeoutMs`). If it is free, or its owner is gone, write a temp file and `link()` it to
 *   `g + 1`: the link fails with `EEXIST` if another process got there first, so exactly one
 *   claimant wins, and the file appears complete. The winner then re-reads the folder: if a
 *   higher generation exists, or `g` is no longer the file it judged (the folder was deleted and
 *   recreated meanwhile), the claim is void and it tries again.
 * - **Release**: the owner rewrites its generation as `free` (temp + rename). Generations are never
 *   reused while the folder exists (the highest one always stays), so no process ever deletes or
 *   overwrites a lock that someone else holds: a stale lock is superseded, never broken.
 * - **Staleness**: a held generation is stale when its owner process is gone (same host:
 *   `process.kill(pid, 0)` fails; same process: the token is not one it holds, i.e. a previous
 *   process with a recycled pid) or its heartbeat is older than `staleMs` (the owner touches the
 *   file every `staleMs / 3`; this covers other hosts, recycled pids and frozen owners). After
 *   `kill -9` of a holder the next claimant takes over at once and learns that it recovered
 *   from a crash, so it can clean the dead holder's temp files.
 * - **In one process** callers queue on a promise per folder and never poll each other. The
 *   held tokens and queues live on `globalThis`, shared by every copy of this module.
 */

/** Options of {@link withTaskLock}. */
export interface TaskLockOptions {
  /** A held lock without a heartbeat for this long is taken over, in ms. */
  readonly staleMs: number;
  /** How long to wait for a live holder before failing with `StorageError`, in ms. */
  readonly timeoutMs: number;
  /** Names the lock in error messages, e.g. `task "t-1"`. */
  readonly label: string;
}

/** What the holder of a task lock can learn and do. */
export interface HeldTaskLock {
  /** The previous holder died holding the lock: its temp files may lie around. */
  readonly recoveredFromCrash: boolean;
  /**
   * This is the first claim of the lock folder (generation 1; generations are never reused while
   * the folder exists): the task's folder is new, or was deleted (renamed away by `deleteTask`,
   * perhaps by another process) and created again. So nothing a store instance remembers about
   * the files in it holds any more.
   */
  readonly firstClaim: boolean;
  /** This claim's token, unique to it. */
  readonly token: string;
  /**
   * The token of the claim this one took over from, when that claim ended with a normal release
   * (`undefined` after a crash, on a new folder, or when the previous file was unreadable). A
   * caller that remembers the token of its own last claim learns here whether anybody else held
   * the lock since.
   */
  readonly follows: string | undefined;
  /** The lock folder went away with its task (`deleteTask`): release must not touch the path. */
  abandon(): void;
}

interface LockInfo {
  readonly v: 1;
  readonly pid: number;
  readonly host: string;
  readonly token: string;
  readonly state: 'held' | 'free';
}

interface Generation {
  /** The parsed file; `undefined` when unreadable. */
  readonly info: LockInfo | undefined;
  /** The token, or the raw text when unreadable: what identifies this very file. */
  readonly identity: string;
  readonly mtimeMs: number;
}

const GENERATION = /^\d{1,15}$/;
/** Lock files are about 150 bytes; anything longer is unreadable anyway. */
const MAX_LOCK_FILE_BYTES = 1024;
/** Every this many generations (and after a crash) the folder is swept, not just the last one. */
const CLEANUP_EVERY = 64;
const HOST = hostname();
/** What every copy of this module in one process shares (two package versions may coexist). */
interface SharedLockState {
  /** Tokens of the locks this process holds right now. */
  readonly heldTokens: Set<string>;
  /** Per lock folder: the promise the next in-process caller waits for. */
  readonly localQueues: Map<string, Promise<void>>;
}

const SHARED = Symbol.for('mcp-orchestration/file-store/task-lock');
const registry = globalThis as unknown as Record<symbol, SharedLockState | undefined>;
const shared: SharedLockState = registry[SHARED] ?? {
  heldTokens: new Set(),
  localQueues: new Map(),
};
registry[SHARED] = shared;
const { heldTokens, localQueues } = shared;

function generations(names: readonly string[]): number[] {
  return names
    .filter((name) => GENERATION.test(name))
    .map(Number)
    .sort((a, b) => a - b);
}

async function listGenerations(dir: string): Promise<number[]> {
  try {
    return generations(await readdir(dir));
  } catch (error) {
    if (!isNotFound(error)) throw error;
    await mkdir(dir, { recursive: true });
    return [];
  }
}

async function readGeneration(dir: string, gen: number): Promise<Generation | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(join(dir, String(gen)), 'r');
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
  try {
    const buffer = Buffer.allocUnsafe(MAX_LOCK_FILE_BYTES);
    const [{ mtimeMs }, { bytesRead }] = await Promise.all([
      handle.stat(),
      handle.read(buffer, 0, buffer.length, 0),
    ]);
    const raw = buffer.toString('utf8', 0, bytesRead);
    let info: LockInfo | undefined;
    try {
      const parsed = JSON.parse(raw) as Partial<LockInfo>;
      if (
        parsed?.v === 1 &&
        Number.isSafeInteger(parsed.pid) &&
        typeof parsed.host === 'string' &&
        typeof parsed.token === 'string' &&
        (parsed.state === 'held' || parsed.state === 'free')
      ) {
        info = parsed as LockInfo;
      }
    } catch {
      info = undefined;
    }
    return { info, identity: info?.token ?? raw, mtimeMs };
  } finally {
    await handle.close();
  }
}

/** Whether a generation still keeps others out (see the staleness rules above). */
function isHeld(generation: Generation, staleMs: number): boolean {
  const info = generation.info;
  if (info?.state === 'free') return false;
  // This process knows for sure, heartbeat or not (its event loop may have been busy).
  if (info?.host === HOST && info.pid === process.pid) return heldTokens.has(info.token);
  if (Date.now() - generation.mtimeMs > staleMs) return false;
  if (info === undefined) return true; // unreadable but fresh: wait for its heartbeat to age
  return info.host !== HOST || isAlive(info.pid);
}

async function writeGeneration(dir: string, gen: number, info: LockInfo): Promise<boolean> {
  const temp = join(dir, `${TEMP_PREFIX}${randomToken()}`);
  await writeFile(temp, JSON.stringify(info), { flag: 'wx' });
  try {
    await link(temp, join(dir, String(gen)));
    return true;
  } catch (error) {
    if (errorCode(error) === 'EEXIST') return false;
    throw error;
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}

/**
 * Removes generations below `gen`, and temp files older than `staleMs` (left by a claimant that
 * died between writing its temp file and linking it); best effort.
 */
async function cleanUp(dir: string, gen: number, staleMs: number): Promise<void> {
  const names = await readdir(dir);
  for (const name of names) {
    const path = join(dir, name);
    if (GENERATION.test(name) && Number(name) < gen) await unlink(path).catch(() => undefined);
    else if (name.startsWith(TEMP_PREFIX)) {
      const handle = await open(path, 'r').catch(() => undefined);
      const stats = await handle?.stat().catch(() => undefined);
      await handle?.close();
      if (stats && Date.now() - stats.mtimeMs > staleMs) await unlink(path).catch(() => undefined);
    }
  }
}

interface Claim {
  readonly gen: number;
  readonly token: string;
  /** `dev:ino` of the generation file as claimed, to recognize it at release. */
  readonly file: string;
  readonly recoveredFromCrash: boolean;
  /** See {@link HeldTaskLock.follows}. */
  readonly follows: string | undefined;
}

async function acquire(dir: string, options: TaskLockOptions): Promise<Claim> {
  const deadline = Date.now() + options.timeoutMs;
  let delay = 1;
  for (;;) {
    const top = (await listGenerations(dir)).at(-1);
    const previous = top === undefined ? undefined : await readGeneration(dir, top);
    if (top !== undefined && previous === undefined) continue; // vanished: the folder was deleted
    if (previous !== undefined && isHeld(previous, options.staleMs)) {
      if (Date.now() > deadline) {
        const owner = previous.info ? `process ${previous.info.pid} on ${previous.info.host}` : '?';
        throw new StorageError(
          'file',
          `timed out after ${options.timeoutMs} ms waiting for the lock of ${options.label}, held by ${owner}`,
        );
      }
      await sleep(delay * (0.5 + Math.random()));
      delay = Math.min(delay * 2, 25);
      continue;
    }
    const gen = (top ?? 0) + 1;
    const token = randomToken();
    const info: LockInfo = { v: 1, pid: process.pid, host: HOST, token, state: 'held' };
    // Known before the file appears, so that this process never judges its own claim stale.
    heldTokens.add(token);
    let won: boolean;
    try {
      won = await writeGeneration(dir, gen, info);
    } catch (error) {
      heldTokens.delete(token);
      if (isNotFound(error)) continue; // the folder was deleted under us
      throw error;
    }
    if (!won) {
      heldTokens.delete(token);
      continue;
    }
    // Void if a higher generation exists or the one we judged is not there any more.
    const [names, judged, mine] = await Promise.all([
      readdir(dir).catch(() => [] as string[]),
      top === undefined ? undefined : readGeneration(dir, top),
      stat(join(dir, String(gen))).catch(() => undefined),
    ]);
    const higher = generations(names).some((g) => g > gen);
    if (mine && !higher && (top === undefined || judged?.identity === previous?.identity)) {
      const recoveredFromCrash = previous !== undefined && previous.info?.state !== 'free';
      if (recoveredFromCrash || gen % CLEANUP_EVERY === 0) {
        await cleanUp(dir, gen, options.staleMs).catch(() => undefined);
      } else if (top !== undefined) {
        await unlink(join(dir, String(top))).catch(() => undefined);
      }
      const follows = previous?.info?.state === 'free' ? previous.info.token : undefined;
      return { gen, token, file: `${mine.dev}:${mine.ino}`, recoveredFromCrash, follows };
    }
    heldTokens.delete(token);
    await unlink(join(dir, String(gen))).catch(() => undefined);
  }
}

async function release(dir: string, claim: Claim): Promise<void> {
  try {
    const current = await stat(join(dir, String(claim.gen)));
    if (`${current.dev}:${current.ino}` !== claim.file) return; // not ours: the folder was replaced
    const temp = join(dir, `${TEMP_PREFIX}${randomToken()}`);
    const info: LockInfo = {
      v: 1,
      pid: process.pid,
      host: HOST,
      token: claim.token,
      state: 'free',
    };
    await writeFile(temp, JSON.stringify(info), { flag: 'wx' });
    await rename(temp, join(dir, String(claim.gen))).catch(async (error: unknown) => {
      await unlink(temp).catch(() => undefined);
      throw error;
    });
  } catch {
    // Best effort: an unreleased lock is taken over once its heartbeat is older than staleMs.
  } finally {
    heldTokens.delete(claim.token);
  }
}

/**
 * Runs `fn` holding the lock whose folder is `dir` (see the module comment), then releases it.
 * Throws `StorageError` when a live holder keeps it longer than `options.timeoutMs`.
 */
export async function withTaskLock<T>(
  dir: string,
  options: TaskLockOptions,
  fn: (lock: HeldTaskLock) => Promise<T>,
): Promise<T> {
  const previous = localQueues.get(dir) ?? Promise.resolve();
  let done = () => {};
  const current = new Promise<void>((resolve) => {
    done = resolve;
  });
  const tail = previous.then(() => current);
  localQueues.set(dir, tail);
  try {
    await previous;
    const claim = await acquire(dir, options);
    const path = join(dir, String(claim.gen));
    const heartbeat = setInterval(
      () => {
        const time = new Date();
        utimes(path, time, time).catch(() => undefined);
      },
      Math.max(1, Math.floor(options.staleMs / 3)),
    );
    heartbeat.unref();
    let abandoned = false;
    try {
      return await fn({
        recoveredFromCrash: claim.recoveredFromCrash,
        firstClaim: claim.gen === 1,
        token: claim.token,
        follows: claim.follows,
        abandon: () => {
          abandoned = true;
        },
      });
    } finally {
      clearInterval(heartbeat);
      if (abandoned) heldTokens.delete(claim.token);
      else await release(dir, claim);
    }
  } finally {
    done();
    if (localQueues.get(dir) === tail) localQueues.delete(dir);
  }
}
