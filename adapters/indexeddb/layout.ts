import type { TaskLease } from '../../src/checkpoint/checkpoint-store.js';
import { CorruptRecordError } from '../../src/errors.js';
import { isValidId } from '../../src/ids.js';
import { isRecord } from '../../src/objects.js';

/**
 * How the IndexedDB store lays out its data in ONE object store (which it owns: nothing else
 * should write array keys starting with `'task'` or `'expiry'` there). Every key is an array
 * built from ids that passed `assertValidId`, so keys never need escaping, and IndexedDB orders
 * them component by component (numbers numerically):
 *
 * | key | value |
 * |---|---|
 * | `['task', taskId, 'head']` | {@link HeadValue}: the head sequence number and when it lapses |
 * | `['task', taskId, 'seq', seq]` | {@link IndexValue}: a record's metadata and body length |
 * | `['task', taskId, 'id', checkpointId]` | the record's `seq` (lookup by id) |
 * | `['task', taskId, 'body', checkpointId]` | the record's body (a string) |
 * | `['task', taskId, 'logLength', name]` | the log's length |
 * | `['task', taskId, 'log', name, index]` | one log entry (a string) |
 * | `['task', taskId, 'lease']` | {@link TaskLease}: who holds the task's lease, until when (kept when lapsed) |
 * | `['expiry', expiresAt, taskId, seq]` | the checkpoint id; the sweep's queue of expiring records |
 *
 * All of a task's keys share the prefix `['task', taskId]`, so one range covers the task. The
 * lease key is the one key that does not make a task exist: `listTasks` and `deleteTask` judge a
 * task by its other keys.
 */

/** The head of a task: its sequence number, and when it lapses (absent: never). */
export interface HeadValue {
  readonly seq: number;
  /** The latest `expiresAt` of the records saved since the head was created; absent if one had none. */
  readonly expiresAt?: number;
}

/** What the index keeps about one record. */
export interface IndexValue {
  readonly seq: number;
  readonly checkpointId: string;
  readonly createdAt: number;
  readonly expiresAt?: number;
  /** The body's length in UTF-8 bytes, checked before the body is read. */
  readonly bytes: number;
}

const TASK = 'task';
const EXPIRY = 'expiry';
/** Sorts after every string and number component, closing a range. */
const HIGH: IDBValidKey = [];

export const headKey = (taskId: string): IDBValidKey => [TASK, taskId, 'head'];
export const leaseKey = (taskId: string): IDBValidKey => [TASK, taskId, 'lease'];
export const seqKey = (taskId: string, seq: number): IDBValidKey => [TASK, taskId, 'seq', seq];
export const idKey = (taskId: string, checkpointId: string): IDBValidKey => [
  TASK,
  taskId,
  'id',
  checkpointId,
];
export const bodyKey = (taskId: string, checkpointId: string): IDBValidKey => [
  TASK,
  taskId,
  'body',
  checkpointId,
];
export const logLengthKey = (taskId: string, name: string): IDBValidKey => [
  TASK,
  taskId,
  'logLength',
  name,
];
export const expiryKey = (expiresAt: number, taskId: string, seq: number): IDBValidKey => [
  EXPIRY,
  expiresAt,
  taskId,
  seq,
];

export const logKey = (taskId: string, name: string, index: number): IDBValidKey => [
  TASK,
  taskId,
  'log',
  name,
  index,
];

/** Every key of a task. */
export const taskRange = (taskId: string): IDBKeyRange =>
  IDBKeyRange.bound([TASK, taskId], [TASK, taskId, HIGH]);

/** Sorts after every key of the task and before the next task's: where a cursor skips a task. */
export const pastTask = (taskId: string): IDBValidKey => [TASK, taskId, HIGH];

/**
 * The keys of every task whose id sorts after `after` (of every task, without it), in id order.
 * The expiry queue lies outside (`'expiry' < 'task'`). Starting at `['task', '']` (no id is empty)
 * and ending before `['task', HIGH]` leaves out keys whose second component is a number, a date
 * or an array; a binary one, which no store writes, would sort after every string id.
 */
export const tasksRange = (after: string | undefined): IDBKeyRange =>
  after === undefined
    ? IDBKeyRange.bound([TASK, ''], [TASK, HIGH], false, true)
    : IDBKeyRange.bound(pastTask(after), [TASK, HIGH], true, true);

/** The task id of a key in {@link tasksRange}, or `undefined` if the key is not a task's. */
export function taskIdOfKey(key: IDBValidKey): string | undefined {
  if (!Array.isArray(key) || key[0] !== TASK) return undefined;
  const taskId = key[1];
  return typeof taskId === 'string' ? taskId : undefined;
}

/** The length keys of a task's logs: one per log that has entries. */
export const logLengthRange = (taskId: string): IDBKeyRange =>
  IDBKeyRange.bound([TASK, taskId, 'logLength'], [TASK, taskId, 'logLength', HIGH]);

/** A task's index entries, in sequence order. */
export const seqRange = (taskId: string): IDBKeyRange =>
  IDBKeyRange.bound([TASK, taskId, 'seq'], [TASK, taskId, 'seq', HIGH]);

/** A task's id lookups or bodies. */
export const byIdRange = (taskId: string, kind: 'id' | 'body'): IDBKeyRange =>
  IDBKeyRange.bound([TASK, taskId, kind], [TASK, taskId, kind, HIGH]);

/** Entries `[from, to)` of a log (`to` may be `Infinity`). */
export const logRange = (taskId: string, name: string, from: number, to: number): IDBKeyRange =>
  IDBKeyRange.bound(
    [TASK, taskId, 'log', name, from],
    [TASK, taskId, 'log', name, to],
    false,
    true,
  );

/** Expiry queue entries due at or before `now`, earliest first. */
export const dueRange = (now: number): IDBKeyRange =>
  IDBKeyRange.bound([EXPIRY], [EXPIRY, now, HIGH]);

/** The task id and sequence number named by an expiry queue key, or `undefined` if malformed. */
export function parseExpiryKey(
  key: IDBValidKey,
): { expiresAt: number; taskId: string; seq: number } | undefined {
  if (!Array.isArray(key) || key.length !== 4) return undefined;
  const [, expiresAt, taskId, seq] = key;
  if (typeof expiresAt !== 'number' || typeof taskId !== 'string' || typeof seq !== 'number') {
    return undefined;
  }
  return { expiresAt, taskId, seq };
}

const isInt = (value: unknown): value is number => Number.isSafeInteger(value);

/** Reads a stored head, throwing {@link CorruptRecordError} on a wrong shape. */
export function parseHead(taskId: string, value: unknown): HeadValue | undefined {
  if (value === undefined) return undefined;
  if (
    isRecord(value) &&
    isInt(value.seq) &&
    value.seq >= 0 &&
    (value.expiresAt === undefined || isInt(value.expiresAt))
  ) {
    return value as unknown as HeadValue;
  }
  throw new CorruptRecordError(taskId, 'head', 'the stored head has the wrong shape');
}

/**
 * Reads a stored lease, lapsed or not, as a fresh {@link TaskLease}; throws
 * {@link CorruptRecordError} on a wrong shape.
 */
export function parseLease(taskId: string, value: unknown): TaskLease | undefined {
  if (value === undefined) return undefined;
  if (isRecord(value) && isValidId(value.owner) && isInt(value.expiresAt)) {
    return { owner: value.owner, expiresAt: value.expiresAt };
  }
  throw new CorruptRecordError(taskId, 'lease', 'the stored lease has the wrong shape');
}

/**
 * Whether `value` is a well-formed index entry. Its checkpoint id must be one `load` takes: an id
 * it would refuse (`InvalidIdError`) is damage, not an id to hand out.
 */
export function isIndexValue(value: unknown): value is IndexValue {
  return (
    isRecord(value) &&
    isInt(value.seq) &&
    value.seq > 0 &&
    isValidId(value.checkpointId) &&
    isInt(value.createdAt) &&
    (value.expiresAt === undefined || isInt(value.expiresAt)) &&
    isInt(value.bytes) &&
    value.bytes >= 0
  );
}

/** Reads a stored index entry, throwing {@link CorruptRecordError} on a wrong shape. */
export function parseIndex(taskId: string, what: string, value: unknown): IndexValue | undefined {
  if (value === undefined) return undefined;
  if (isIndexValue(value)) return value;
  throw new CorruptRecordError(taskId, what, 'its index entry has the wrong shape');
}

/** Reads a stored counter (a sequence number or a log length). */
export function parseCount(taskId: string, what: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (isInt(value) && value >= 0) return value;
  throw new CorruptRecordError(taskId, what, 'the stored number has the wrong shape');
}
