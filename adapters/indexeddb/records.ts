import { isExpired } from '../../src/checkpoint/store-guards.js';
import { isOrchestrationError } from '../../src/errors.js';
import {
  bodyKey,
  byIdRange,
  dueRange,
  expiryKey,
  type HeadValue,
  headKey,
  type IndexValue,
  idKey,
  isIndexValue,
  logLengthRange,
  parseExpiryKey,
  parseHead,
  parseIndex,
  pastTask,
  seqKey,
  seqRange,
  taskIdOfKey,
  tasksRange,
} from './layout.js';
import { request, walk } from './transaction.js';

/**
 * Reads and removals shared by the IndexedDB store's operations. Each takes the raw object store
 * of the running transaction (see `runTransaction`), so it joins that transaction.
 */

/** The raw value under `key`. */
export const get = (store: IDBObjectStore, key: IDBValidKey): Promise<unknown> =>
  request(store.get(key));

/** A task's head as read at some time. */
export interface HeadRead {
  /** What is stored, lapsed or not. */
  readonly value: HeadValue | undefined;
  /** The stored head if it has not lapsed. */
  readonly live: HeadValue | undefined;
  /** The head sequence number: 0 when there is none or it lapsed. */
  readonly seq: number;
}

/** Reads a task's head at `time`. */
export async function readHead(
  store: IDBObjectStore,
  taskId: string,
  time: number,
): Promise<HeadRead> {
  const value = parseHead(taskId, await get(store, headKey(taskId)));
  const live = value !== undefined && !isExpired(value.expiresAt, time) ? value : undefined;
  return { value, live, seq: live?.seq ?? 0 };
}

/** `undefined` for a `CorruptRecordError` (a damaged head), else the error again. */
function unlessCorrupt(error: unknown): undefined {
  if (isOrchestrationError(error, 'CORRUPT_RECORD')) return undefined;
  throw error;
}

/**
 * Tasks one key cursor visits before a fresh cursor takes over. In Chromium, jumping a cursor
 * (`continue(key)`) gets slower the longer the cursor lives: jumping past 8,000 tasks took ~8 s
 * on one cursor and ~1.4 s on cursors of 256 (headless Chromium 156).
 */
const TASKS_PER_CURSOR = 256;

/**
 * The ids of the first `limit` tasks after `after` (all, without it) that are live at `time`: a
 * head that {@link readHead} reads above 0 (what `head()` answers), or a log. A key cursor stops
 * at one key per task and jumps past the rest of the task's keys, so a page costs O(tasks
 * visited), dead tasks (a lapsed head, leftovers the sweep has not reached) included. The ids
 * come in key order, which for strings is code-unit order: the order `listTasks` promises. A
 * task whose head is wrong-shaped is listed (its `head()` is a `CorruptRecordError`): it exists,
 * and a supervisor reading it learns why it cannot be used, while the others stay listable.
 */
export async function liveTaskIds(
  store: IDBObjectStore,
  after: string | undefined,
  limit: number,
  time: number,
): Promise<string[]> {
  const ids: string[] = [];
  let last = after;
  for (;;) {
    const cursorRequest = store.openKeyCursor(tasksRange(last));
    let cursor = await request(cursorRequest);
    for (let visited = 0; visited < TASKS_PER_CURSOR; visited++) {
      // The range ends here, or at a key whose id is binary (those sort after every string).
      const taskId = cursor === null ? undefined : taskIdOfKey(cursor.key);
      if (cursor === null || taskId === undefined) return ids;
      // Three requests queued at once, run in order by IndexedDB: one wait per task, not three.
      cursor.continue(pastTask(taskId));
      const [head, logLength, next] = await Promise.all([
        readHead(store, taskId, time).catch(unlessCorrupt),
        request(store.getKey(logLengthRange(taskId))),
        request(cursorRequest),
      ]);
      // A head that cannot be read is listed: the task exists, and reading it reports why.
      if (head === undefined || head.seq > 0 || logLength !== undefined) ids.push(taskId);
      if (ids.length === limit) return ids;
      last = taskId;
      cursor = next;
    }
  }
}

/** Deletes a record's keys (index entry, id lookup if it still points here, body, expiry entry). */
export async function removeRecord(
  store: IDBObjectStore,
  taskId: string,
  meta: IndexValue,
): Promise<void> {
  store.delete(seqKey(taskId, meta.seq));
  if (meta.expiresAt !== undefined) store.delete(expiryKey(meta.expiresAt, taskId, meta.seq));
  const pointsAt = await get(store, idKey(taskId, meta.checkpointId));
  if (pointsAt === meta.seq) {
    store.delete(idKey(taskId, meta.checkpointId));
    store.delete(bodyKey(taskId, meta.checkpointId));
  }
}

/**
 * After a delete: the head takes the lifetime of `left`, the live records the delete left (as
 * Redis gives a task's keys theirs); with none left it keeps its own, so it outlives explicit
 * deletes until the task would have expired anyway. A damaged head is left as it is.
 */
export async function headLivesWith(
  store: IDBObjectStore,
  taskId: string,
  time: number,
  left: readonly IndexValue[],
): Promise<void> {
  if (left.length === 0) return;
  const head = (await readHead(store, taskId, time).catch(unlessCorrupt))?.live;
  if (head === undefined) return;
  let expiresAt: number | undefined = Number.NEGATIVE_INFINITY;
  for (const meta of left) {
    if (meta.expiresAt === undefined) expiresAt = undefined;
    else if (expiresAt !== undefined) expiresAt = Math.max(expiresAt, meta.expiresAt);
  }
  if (expiresAt === head.expiresAt) return;
  store.put(
    expiresAt === undefined ? { seq: head.seq } : { seq: head.seq, expiresAt },
    headKey(taskId),
  );
}

/** Removes up to `limit` records whose expiry is due; returns how many went. */
export async function sweep(store: IDBObjectStore, time: number, limit: number): Promise<number> {
  if (limit <= 0) return 0;
  const due: IDBValidKey[] = [];
  await walk(store.openCursor(dueRange(time)), (cursor) => {
    due.push(cursor.primaryKey);
    return due.length < limit;
  });
  let removed = 0;
  for (const key of due) {
    store.delete(key);
    const entry = parseExpiryKey(key);
    if (entry === undefined) continue;
    const meta = await get(store, seqKey(entry.taskId, entry.seq));
    // Only what really expired goes (the sequence number may have been reused since).
    if (isIndexValue(meta) && isExpired(meta.expiresAt, time)) {
      await removeRecord(store, entry.taskId, meta);
      removed++;
    }
    const head = await get(store, headKey(entry.taskId));
    const stale = parseHeadQuietly(entry.taskId, head);
    if (stale !== undefined && isExpired(stale.expiresAt, time)) {
      store.delete(headKey(entry.taskId));
    }
  }
  return removed;
}

/** Removes every checkpoint record of a task (not its logs); for a head that lapsed. */
export async function purgeRecords(store: IDBObjectStore, taskId: string): Promise<void> {
  const metas = (await request(store.getAll(seqRange(taskId)))).filter(isIndexValue);
  for (const meta of metas) {
    if (meta.expiresAt !== undefined) store.delete(expiryKey(meta.expiresAt, taskId, meta.seq));
  }
  store.delete(seqRange(taskId));
  store.delete(byIdRange(taskId, 'id'));
  store.delete(byIdRange(taskId, 'body'));
}

/** All of a task's index entries, oldest first; a wrong-shaped one is a `CorruptRecordError`. */
export async function indexEntries(store: IDBObjectStore, taskId: string): Promise<IndexValue[]> {
  const values = await request(store.getAll(seqRange(taskId)));
  return values.map((value) => parseIndex(taskId, 'index', value) as IndexValue);
}

function parseHeadQuietly(taskId: string, value: unknown): HeadValue | undefined {
  try {
    return parseHead(taskId, value);
  } catch {
    return undefined;
  }
}
