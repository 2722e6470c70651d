import {
  type FileHandle,
  link,
  mkdir,
  open,
  readdir,
  rename,
  rm,
  stat,
  unlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { StorageError } from '../../src/errors.js';
import { MAX_TIMER_DELAY_MS } from '../../src/timer-delay.js';
import { ClaimStage, LockLostError, STAGE_PREFIX } from './claim-stage.js';
import {
  errorCode,
  isAlive,
  isNotFound,
  randomToken,
  removeEmptyFolder,
  sleep,
  TEMP_PREFIX,
} from './fs-utils.js';

/**
 * The cross-process lock of one task: a folder of numbered **generations** (`lock/1`, `lock/2`,
 * …), each a small JSON file `{ pid, host, token, state: 'held' | 'free' }`, and for each claim
 * in progress a **stage** folder `lock/stage-<token>` through which it writes (`claim-stage.ts`).
 *
 * - **Acquire**: read the highest generation `g`. If it is held by a live owner, wait (polling,
 *   up to `timeoutMs`). If it is free, or its owner is gone, make the claim's stage (taking over
 *   the empty one a released `g` left), then write a temp file and `link()` it to `g + 1`: the
 *   link fails with `EEXIST` if another process got there first, so exactly one claimant wins,
 *   and the file appears complete. The winner then re-reads the folder: if a higher generation
 *   exists, or `g` is no longer the file it judged (the folder was deleted and recreated
 *   meanwhile), the claim is void and it tries again.
 * - **Release**: the owner rewrites its generation as `free` (temp + rename), leaving its stage
 *   empty for the next claim to take over (or removing it, if a failed step left something in
 *   it). Generations are never reused while the folder exists (the highest one always stays), so
 *   no process ever deletes or overwrites a lock that someone else holds: a stale lock is
 *   superseded, never broken.
 * - **Staleness**: a held generation is stale when its owner process is gone (same host:
 *   `process.kill(pid, 0)` fails; same process: the token is not one it holds, i.e. a previous
 *   process with a recycled pid) or its heartbeat is older than `staleMs` (the owner touches the
 *   file every `staleMs / 3`; this covers other hosts, recycled pids and owners that are alive
 *   but stalled: a stopped or frozen process would otherwise hold the task forever). After
 *   `kill -9` of a holder the next claimant takes over at once and learns that it recovered
 *   from a crash, so it can clean the dead holder's temp files.
 * - **Fencing**: a stalled owner that was superseded may wake up and go on writing; it is never
 *   told. So the claimant that takes over, once its claim is valid and before anything else,
 *   fences every superseded claim: it empties and removes their stages (before it removes their
 *   generation files, so that a claimant dying halfway leaves them to the next). Every change a
 *   holder makes needs its stage in the very system call that makes it, so a superseded holder's
 *   change either landed before the fence, where the new holder sees it, or fails with
 *   `LockLostError` and the operation runs again under a new claim (see `claim-stage.ts`).
 *   Taking over is what keeps a lock from blocking forever; fencing is what makes it safe.
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
  /**
   * The claim's stage: every change of the task goes through it, so that a holder that was
   * superseded while stalled changes nothing (see `claim-stage.ts`).
   */
  readonly stage: ClaimStage;
  /**
   * Intents of superseded holders that this claim revoked (`<offset>-<log file>`): each log must
   * be cut back to its offset, then the intent cleared, before the log is appended to.
   */
  readonly revoked: readonly string[];
  /** The lock folder went away with its task (`deleteTask`): release must not touch the path. */
  abandon(): void;
  /**
   * Ends this claim by removing the lock folder, for a holder that removes the task's folder
   * piece by piece (see `task-sweep.ts`), once nothing else is left in it: only while this claim
   * is the newest generation, its generations removed first, then its stage, then the folder with
   * `rmdir`, which refuses a folder that is not empty, so a claimant that comes meanwhile (it
   * makes its stage before its generation) keeps the folder and gets the lock. The claim ends
   * either way once its generation is gone (as with {@link abandon}). Returns whether the folder
   * went; `false`, with the claim still held, when another claim superseded this one.
   */
  removeFolder(): Promise<boolean>;
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
/** Claims of one call fenced by other processes before it gives up (see {@link withTaskLock}). */
const MAX_FENCED_CLAIMS = 5;
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

/**
 * Whether the owner of a superseded generation may still be running, and so may still write
 * (unknown owners, and owners on other hosts, may).
 */
function mayStillRun(info: LockInfo | undefined): boolean {
  if (info === undefined || info.host !== HOST) return true;
  if (info.pid === process.pid) return heldTokens.has(info.token);
  return isAlive(info.pid);
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
 * The sweep after a takeover (and every {@link CLEANUP_EVERY} generations): fences the stage of
 * every generation below `gen` (a held one's owner may still be running), then removes those
 * generations; fences stages no generation names once older than `staleMs` (left by a claimant
 * that died before linking its generation, or by one that died releasing); removes temp files
 * older than `staleMs` (left by a claimant that died between writing its temp file and linking
 * it). Fencing must succeed (its errors are thrown); the rest is best effort. Returns the intents
 * revoked into `stage`.
 */
async function cleanUp(
  dir: string,
  gen: number,
  staleMs: number,
  stage: ClaimStage,
): Promise<string[]> {
  const names = await readdir(dir);
  const revoked: string[] = [];
  const named = new Set<string>();
  const lower: number[] = [];
  // A superseded generation that cannot be read names no stage: then every stage no generation
  // names is fenced, however young.
  let unknownOwner = false;
  for (const name of names) {
    if (!GENERATION.test(name)) continue;
    const generation = await readGeneration(dir, Number(name));
    if (generation === undefined) continue; // removed meanwhile
    const { info } = generation;
    if (info !== undefined) named.add(`${STAGE_PREFIX}${info.token}`);
    if (Number(name) >= gen) continue;
    lower.push(Number(name));
    if (info === undefined) {
      unknownOwner = true;
      continue;
    }
    const superseded = join(dir, `${STAGE_PREFIX}${info.token}`);
    const mayRun = info.state === 'held' && mayStillRun(info);
    for (const payload of await stage.fence(superseded, mayRun)) {
      if (!revoked.includes(payload)) revoked.push(payload);
    }
  }
  for (const name of names) {
    const path = join(dir, name);
    if (name.startsWith(STAGE_PREFIX)) {
      if (named.has(name) || path === stage.dir) continue;
      if (!unknownOwner && !(await isOlder(path, staleMs))) continue;
      for (const payload of await stage.fence(path, true)) {
        if (!revoked.includes(payload)) revoked.push(payload);
      }
    } else if (name.startsWith(TEMP_PREFIX) && (await isOlder(path, staleMs))) {
      await unlink(path).catch(() => undefined);
    }
  }
  for (const old of lower) await unlink(join(dir, String(old))).catch(() => undefined);
  return revoked;
}

/**
 * Whether the file or folder at `path` was last changed (its content or its name: `ctime`) more
 * than `ms` ago; false if gone.
 */
async function isOlder(path: string, ms: number): Promise<boolean> {
  const stats = await stat(path).catch(() => undefined);
  return stats !== undefined && Date.now() - stats.ctimeMs > ms;
}

interface Claim {
  readonly gen: number;
  readonly token: string;
  /** `dev:ino` of the generation file as claimed, to recognize it at release. */
  readonly file: string;
  readonly recoveredFromCrash: boolean;
  /** See {@link HeldTaskLock.follows}. */
  readonly follows: string | undefined;
  readonly stage: ClaimStage;
  /** See {@link HeldTaskLock.revoked}. */
  readonly revoked: readonly string[];
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
    const stage = new ClaimStage(dir, token, options.label);
    // Known before the file appears, so that this process never judges its own claim stale.
    heldTokens.add(token);
    let won: boolean;
    try {
      // The stage exists before the generation naming it: whoever supersedes the claim finds it.
      // A released claim's stage is taken over (see `claim-stage.ts`); a held one's is fenced.
      const released = previous?.info?.state === 'free' ? previous.info.token : undefined;
      await stage.create(released && join(dir, `${STAGE_PREFIX}${released}`));
      won = await writeGeneration(dir, gen, info);
    } catch (error) {
      heldTokens.delete(token);
      await stage.discard();
      if (isNotFound(error)) continue; // the folder was deleted under us
      throw error;
    }
    if (!won) {
      heldTokens.delete(token);
      await stage.discard();
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
      let revoked: string[] = [];
      if (recoveredFromCrash || gen % CLEANUP_EVERY === 0) {
        // Fences the superseded claims before this one reads or writes anything of the task.
        try {
          revoked = await cleanUp(dir, gen, options.staleMs, stage);
        } catch (error) {
          heldTokens.delete(token); // whoever comes next (this process at once) takes over
          if (error instanceof LockLostError) continue; // superseded already: try again
          throw error;
        }
      } else if (top !== undefined) {
        // Released normally (its stage, empty, is now this claim's): nothing to fence.
        await unlink(join(dir, String(top))).catch(() => undefined);
      }
      const follows = previous?.info?.state === 'free' ? previous.info.token : undefined;
      const file = `${mine.dev}:${mine.ino}`;
      return { gen, token, file, recoveredFromCrash, follows, stage, revoked };
    }
    heldTokens.delete(token);
    await unlink(join(dir, String(gen))).catch(() => undefined);
    await stage.discard();
  }
}

async function release(dir: string, claim: Claim): Promise<void> {
  try {
    // A free generation's stage is empty (or gone). When a revoked intent is still in it (its log
    // not cut yet), the claim stays held instead, for the next claimant to finish.
    if (!(await claim.stage.release())) return;
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
 * Throws `StorageError` when a live holder keeps it longer than `options.timeoutMs`. When `fn`
 * throws `LockLostError` (this process stalled, and another took the lock over and fenced its
 * claim), `fn` runs again under a new claim, so it must have changed nothing it cannot see
 * again before the step that threw; after {@link MAX_FENCED_CLAIMS} claims the error is thrown.
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
    for (let attempt = 1; ; attempt++) {
      const claim = await acquire(dir, options);
      const path = join(dir, String(claim.gen));
      const heartbeat = setInterval(
        () => {
          const time = new Date();
          utimes(path, time, time).catch(() => undefined);
        },
        // At most the longest delay a timer takes (a longer one would fire every ms).
        Math.min(Math.max(1, Math.floor(options.staleMs / 3)), MAX_TIMER_DELAY_MS),
      );
      heartbeat.unref();
      let abandoned = false;
      try {
        return await fn({
          recoveredFromCrash: claim.recoveredFromCrash,
          firstClaim: claim.gen === 1,
          token: claim.token,
          follows: claim.follows,
          stage: claim.stage,
          revoked: claim.revoked,
          abandon: () => {
            abandoned = true;
          },
          removeFolder: async () => {
            const gens = generations(await readdir(dir));
            if (gens.some((gen) => gen > claim.gen)) return false; // superseded
            const mine = await stat(path).catch(() => undefined);
            if (mine === undefined || `${mine.dev}:${mine.ino}` !== claim.file) return false;
            abandoned = true;
            // Lower generations first: while any is left, the highest is this claim's.
            for (const gen of gens) await unlink(join(dir, String(gen))).catch(() => undefined);
            await rm(claim.stage.dir, { recursive: true, force: true });
            return removeEmptyFolder(dir); // not empty: a claimant came
          },
        });
      } catch (error) {
        // Superseded while stalled: the step that threw did nothing; run `fn` again.
        if (error instanceof LockLostError && attempt < MAX_FENCED_CLAIMS) continue;
        throw error;
      } finally {
        clearInterval(heartbeat);
        if (abandoned) heldTokens.delete(claim.token);
        else await release(dir, claim);
      }
    }
  } finally {
    done();
    if (localQueues.get(dir) === tail) localQueues.delete(dir);
  }
}
