import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { isExpired } from '../../src/checkpoint/store-guards.js';
import { CorruptRecordError } from '../../src/errors.js';
import type { ClaimStage } from './claim-stage.js';
import { fsyncDirectory, isNotFound, readSmallFile, removeFile } from './fs-utils.js';
import { parseRecordFileName, type RecordEntry } from './record-file.js';
import type { TaskPaths } from './task-paths.js';

/**
 * What `head.json` holds. Written atomically (temp + fsync + rename) by lock holders only: by a
 * `delete` or `deleteOld` before it removes files, and by the save that starts a task over after
 * everything expired. Other saves leave it as it is (it may be missing): their record files carry
 * their seq and expiry.
 * - `seq`: the head sequence number as of the last write. The effective head is the larger of
 *   it and the highest record file name, so it never lags what the records say.
 * - `floor`: records with a lower seq are deleted. `deleteOld` raises it in one atomic write,
 *   then removes the files; a crash in between leaves files that are already invisible.
 * - `expiresAt`: when the head lapses (`null`: never), as of the last write: the last expiry of
 *   the records a delete left live (a delete that leaves none keeps the one before, so the head
 *   outlives explicit deletes until the task would have expired anyway). Records saved since
 *   extend it by their names. Once it has passed and no record is live, the task counts as never
 *   saved: its head is 0.
 */
export interface HeadFile {
  readonly seq: number;
  readonly floor: number;
  readonly expiresAt: number | null;
}

/** One consistent reading of a task's records and head at one instant of the clock. */
export interface TaskView {
  /** The effective head: 0 when the task was never saved or everything expired. */
  readonly head: number;
  /** The head before applying expiry: max of `head.json` and the record file names. */
  readonly rawHead: number;
  /** `head.json` as read (`undefined`: no such file). */
  readonly stored: HeadFile | undefined;
  /**
   * When the head lapses: the later of `head.json`'s `expiresAt` and the expiry of every record
   * file at or above the floor (`Infinity`: never; `-Infinity`: no record ever).
   */
  readonly expiry: number;
  /** Everything expired: the head counts as 0 and the next save starts over at 1. */
  readonly reset: boolean;
  /** Live records, newest (highest seq) first. */
  readonly live: readonly RecordEntry[];
  /** Record files that are expired or below the floor: removable at any time. */
  readonly dead: readonly RecordEntry[];
}

const HEAD_VERSION = 1;
const CONSISTENT_READ_ATTEMPTS = 20;

/** `null` (never) as `Infinity`. */
function expiryNumber(expiresAt: number | null | undefined): number {
  return expiresAt === null || expiresAt === undefined ? Number.POSITIVE_INFINITY : expiresAt;
}

/** Whether `value` is a safe integer ≥ 0 (what a seq or a floor is). */
function isCount(value: unknown): boolean {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

function parseHead(taskId: string, raw: string): HeadFile {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (error) {
    throw new CorruptRecordError(taskId, 'head.json', 'it is not JSON', { cause: error });
  }
  const head = value as { v?: unknown; seq?: unknown; floor?: unknown; expiresAt?: unknown };
  if (
    typeof value !== 'object' ||
    value === null ||
    head.v !== HEAD_VERSION ||
    !isCount(head.seq) ||
    !isCount(head.floor) ||
    !(head.expiresAt === null || Number.isSafeInteger(head.expiresAt))
  ) {
    throw new CorruptRecordError(taskId, 'head.json', 'it does not have the expected shape');
  }
  return {
    seq: head.seq as number,
    floor: head.floor as number,
    expiresAt: head.expiresAt as number | null,
  };
}

function readHeadRaw(paths: TaskPaths): Promise<string | undefined> {
  return readSmallFile(paths.head, 512);
}

async function readRecordNames(paths: TaskPaths): Promise<RecordEntry[]> {
  let names: string[];
  try {
    names = await readdir(paths.records);
  } catch (error) {
    if (isNotFound(error)) return [];
    throw error;
  }
  const entries: RecordEntry[] = [];
  for (const name of names) {
    const entry = parseRecordFileName(name);
    if (entry !== undefined) entries.push(entry);
  }
  return entries;
}

/** Derives the view from `head.json` and the record files (pure). */
export function computeView(
  stored: HeadFile | undefined,
  files: readonly RecordEntry[],
  now: number,
): TaskView {
  const floor = stored?.floor ?? 0;
  let rawHead = stored?.seq ?? 0;
  let expiry = stored === undefined ? Number.NEGATIVE_INFINITY : expiryNumber(stored.expiresAt);
  const live: RecordEntry[] = [];
  const dead: RecordEntry[] = [];
  for (const file of files) {
    rawHead = Math.max(rawHead, file.seq);
    // A file below the floor is deleted (a crash left it): its expiry is no longer the task's.
    if (file.seq >= floor) expiry = Math.max(expiry, expiryNumber(file.expiresAt));
    if (file.seq >= floor && !isExpired(file.expiresAt, now)) live.push(file);
    else dead.push(file);
  }
  live.sort((a, b) => b.seq - a.seq);
  const reset = live.length === 0 && rawHead > 0 && expiry <= now;
  return { head: reset ? 0 : rawHead, rawHead, stored, expiry, reset, live, dead };
}

/**
 * Reads a task. Without the lock (`locked` false), writers may be busy: `head.json` is read
 * before and after the directory listing, and the reading is retried until both agree, so the
 * view never mixes a `head.json` with files from another moment (a `deleteOld` or a reset half
 * done). The lock holder is the only writer, so it reads once.
 */
export async function readTaskView(
  paths: TaskPaths,
  taskId: string,
  now: number,
  locked: boolean,
): Promise<TaskView> {
  let before = locked ? undefined : await readHeadRaw(paths);
  for (let attempt = 1; ; attempt++) {
    const files = await readRecordNames(paths);
    const after = await readHeadRaw(paths);
    if (locked)
      return computeView(after === undefined ? undefined : parseHead(taskId, after), files, now);
    if (after === before || attempt >= CONSISTENT_READ_ATTEMPTS) {
      return computeView(after === undefined ? undefined : parseHead(taskId, after), files, now);
    }
    before = after;
  }
}

/**
 * Writes `head.json` atomically (its folder fsynced too), through the lock claim's stage: a
 * holder that was superseded meanwhile writes nothing (`LockLostError`).
 */
export async function writeHead(
  paths: TaskPaths,
  head: HeadFile,
  stage: ClaimStage,
): Promise<void> {
  const text = JSON.stringify({ v: HEAD_VERSION, ...head });
  await stage.writeFile(paths.head, [Buffer.from(text, 'utf8')]);
}

/**
 * The `head.json` a delete writes before it removes files: it keeps the view's head and floor
 * (or a raised `floor`), and its expiry is that of `remaining`, the live records the delete
 * leaves (as Redis gives a task's keys the lifetime of the records left). When it leaves none,
 * the view's expiry stays, so the head outlives the deletes until the task would have expired
 * anyway (Redis keeps the keys' lifetime then too).
 */
export function headAfterDelete(
  view: TaskView,
  remaining: readonly RecordEntry[],
  floor = view.stored?.floor ?? 0,
): HeadFile {
  let expiry = remaining.length === 0 ? view.expiry : Number.NEGATIVE_INFINITY;
  for (const entry of remaining) expiry = Math.max(expiry, expiryNumber(entry.expiresAt));
  return { seq: view.rawHead, floor, expiresAt: Number.isFinite(expiry) ? expiry : null };
}

/** Whether `head.json` holds `head` already. */
export function headIsStored(view: TaskView, head: HeadFile): boolean {
  const stored = view.stored;
  return (
    stored !== undefined &&
    stored.seq === head.seq &&
    stored.floor === head.floor &&
    stored.expiresAt === head.expiresAt
  );
}

/**
 * Removes record files; returns how many were there. With `syncDirectory`, flushes the removals.
 * A lock holder passes its claim's `stage`, through which each file goes (`LockLostError` when
 * the holder was superseded: the files from there on stay); a reader sweeping expired files
 * passes none.
 */
export async function removeRecords(
  paths: TaskPaths,
  entries: readonly RecordEntry[],
  syncDirectory: boolean,
  stage?: ClaimStage,
): Promise<number> {
  let removed = 0;
  for (const entry of entries) {
    const path = join(paths.records, entry.fileName);
    if (await (stage === undefined ? removeFile(path) : stage.removeFile(path))) removed++;
  }
  if (syncDirectory && entries.length > 0) await fsyncDirectory(paths.records);
  return removed;
}

/**
 * Lazy expiry by a reader that does not hold the lock: removes the dead files no writer still
 * needs, i.e. all but the newest record above `head.json`'s seq (saves leave `head.json` behind,
 * so that record may be the only trace of the head; writers remove it, and so does the reader's
 * sweep under the lock that follows this one, see `task-sweep.ts`). Failures are ignored: it is
 * cleanup.
 */
export async function sweepDead(paths: TaskPaths, view: TaskView): Promise<void> {
  const storedSeq = view.stored?.seq ?? 0;
  const sweepable = view.dead.filter((entry) => entry.seq <= storedSeq || entry.seq < view.rawHead);
  if (sweepable.length > 0) await removeRecords(paths, sweepable, false).catch(() => undefined);
}
