import type { CheckpointRecordMeta, TaskLease } from '../../src/checkpoint/checkpoint-store.js';
import {
  CorruptRecordError,
  isOrchestrationError,
  RecordTooLargeError,
  StorageError,
} from '../../src/errors.js';
import { isValidId } from '../../src/ids.js';

/**
 * How the Redis store reads what its Lua scripts answer: status codes, record values and
 * metadata, and how failures map to typed errors. Internal to the adapter.
 */

/**
 * Status codes the scripts answer with (first element of every reply; a save that succeeded
 * answers its seq alone, an integer).
 */
export const Status = {
  Ok: 0,
  Conflict: 1,
  Exists: 2,
  Corrupt: 3,
  TooLarge: 4,
  Missing: 5,
  NoValue: 6,
  Large: 7,
  /** One save of a saveMany call failed in Redis (e.g. WRONGTYPE); the others are unaffected. */
  Failed: 8,
} as const;

/** Length of the nonce (shaped like a UUID) that starts every stored record value. */
export const NONCE_LENGTH = 36;

/**
 * A stored record value (layout v3): `"<nonce> <checkpointId> <createdAt>|<expiresAt>|<bytes>\n<body>"`,
 * `expiresAt` `''` when it never expires, `bytes` the body's length in UTF-8 bytes. Values written
 * by layout v2 are `"<nonce> <checkpointId>\n<body>"` (their metadata lives elsewhere).
 */
export function recordValue(
  nonce: string,
  checkpointId: string,
  createdAt: number,
  expiresAt: number | undefined,
  bytes: number,
  body: string,
): string {
  return `${nonce} ${checkpointId} ${createdAt}|${expiresAt ?? ''}|${bytes}\n${body}`;
}

/** An integer from a Redis reply (a number or a decimal string); `undefined` otherwise. */
export function integerOf(value: unknown): number | undefined {
  const number =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && /^-?\d+$/.test(value)
        ? Number(value)
        : Number.NaN;
  return Number.isSafeInteger(number) ? number : undefined;
}

/**
 * Record metadata from the reply's fields (`expiresAt` is `''` when it never expires). The id
 * comes from the task's index, as stored: one that `load` would refuse (an `InvalidIdError`) is a
 * corrupt index entry, as a seq that is not a whole number is.
 */
export function metaOf(
  taskId: string,
  checkpointId: string,
  seq: unknown,
  createdAt: unknown,
  expiresAt: unknown,
): CheckpointRecordMeta {
  if (!isValidId(checkpointId)) {
    throw new CorruptRecordError(
      taskId,
      checkpointId,
      'its index entry is not a valid checkpoint id',
    );
  }
  const seqNumber = integerOf(seq);
  const created = integerOf(createdAt);
  const expires = expiresAt === '' ? undefined : integerOf(expiresAt);
  const expiresOk = expiresAt === '' || expires !== undefined;
  if (seqNumber === undefined || seqNumber < 1 || created === undefined || !expiresOk) {
    throw new CorruptRecordError(taskId, checkpointId, 'its metadata does not parse');
  }
  return expires === undefined
    ? { taskId, checkpointId, seq: seqNumber, createdAt: created }
    : { taskId, checkpointId, seq: seqNumber, createdAt: created, expiresAt: expires };
}

/**
 * The metadata `list` gives a record whose stored header (or v2 metadata) is damaged: what the
 * task's index knows, its id, seq and `expiresAt` (from the expiry index; absent when that has
 * no entry or it does not parse), and `createdAt` 0, since only the damaged header held it. So
 * one damaged record does not hide the others from `list` (as on the file store, which lists a
 * record from its file name alone); `load` and `latest` of it are `CorruptRecordError`s. An id
 * or seq the index should never hold is still a `CorruptRecordError` from `list`.
 */
export function damagedMetaOf(
  taskId: string,
  checkpointId: string,
  seq: unknown,
  expiresAt: unknown,
): CheckpointRecordMeta {
  const meta = metaOf(taskId, checkpointId, seq, '0', '');
  const expires = integerOf(expiresAt);
  return expires === undefined ? meta : { ...meta, expiresAt: expires };
}

/** A lease from a lease script's reply fields (owner, expiresAt); corrupt when they do not parse. */
export function leaseOf(taskId: string, owner: unknown, expiresAt: unknown): TaskLease {
  const expires = integerOf(expiresAt);
  if (!isValidId(owner) || expires === undefined) {
    throw new CorruptRecordError(taskId, 'lease', 'its lease value does not parse');
  }
  return { owner, expiresAt: expires };
}

/**
 * Where the body starts in a record value (v3 or v2 header) whose header names `id`, or -1 when
 * its header does not.
 */
function bodyStart(id: string, value: string): number {
  const end = NONCE_LENGTH + 1 + id.length;
  if (value.charCodeAt(NONCE_LENGTH) !== 0x20 || !value.startsWith(id, NONCE_LENGTH + 1)) return -1;
  const next = value.charCodeAt(end);
  if (next === 0x0a) return end + 1; // v2: "<nonce> <id>\n"
  if (next !== 0x20) return -1;
  const newline = value.indexOf('\n', end);
  return newline < 0 ? -1 : newline + 1;
}

/** The body of a record value returned inline by a script; its header must name `id`. */
export function bodyOfValue(taskId: string, id: string, value: unknown): string {
  const start = typeof value === 'string' ? bodyStart(id, value) : -1;
  if (start < 0) throw new CorruptRecordError(taskId, id, 'its stored header does not match');
  return (value as string).slice(start);
}

/** Most characters of a v3 header after "<nonce> <id> " (see includes/taskKeys.lua). */
const META_CHARS = 64;

/**
 * The body of a record value fetched with GETRANGE after the script vouched for it, or
 * `undefined` when the value is no longer the one vouched for (deleted or saved anew meanwhile).
 */
export function bodyOfFetched(
  id: string,
  nonce: string,
  size: number,
  value: Buffer,
): string | undefined {
  if (value.length !== size) return undefined;
  // The header is ASCII: nonce, id and digits.
  const head = value.toString(
    'latin1',
    0,
    Math.min(size, NONCE_LENGTH + id.length + 2 + META_CHARS),
  );
  const start = head.startsWith(nonce) ? bodyStart(id, head) : -1;
  return start < 0 ? undefined : value.toString('utf8', start);
}

/** Error codes of a socket that could not reach Redis or lost it. */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * What an ioredis failure says about the connection to Redis, in words that need none of the
 * client's options (ioredis names them: `Reached the max retries per request limit (which is 2).
 * Refer to "maxRetriesPerRequest" option …`); `undefined` when it is about something else (an
 * error reply from Redis, say). The messages are ioredis 6.0.0's.
 */
export function connectionTrouble(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  const { message, name } = error;
  if (name === 'MaxRetriesPerRequestError' || message.startsWith('Reached the max retries')) {
    // ioredis drops the commands it holds after that many failed attempts to reconnect.
    return 'the connection to Redis was lost, and could not be made again before the client gave up on the command';
  }
  if (message === 'Command timed out') return 'Redis did not answer in time: Command timed out';
  if (message.startsWith('Socket timeout')) return 'Redis did not answer in time';
  if (message === 'Connection is closed.') {
    return 'the connection to Redis is closed (lost, with the client no longer reconnecting, or closed by its owner)';
  }
  if (message.startsWith("Stream isn't writeable") || message.startsWith("Cluster isn't ready")) {
    return 'not connected to Redis (the client does not hold commands until it is)';
  }
  if (
    name === 'ClusterAllFailedError' ||
    message === 'Cluster is disconnected.' ||
    message === 'Node is disconnected' ||
    message === 'None of startup nodes is available'
  ) {
    return `the connection to the Redis Cluster is lost: ${message}`;
  }
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && CONNECTION_CODES.has(code)) {
    return `the connection to Redis failed: ${message}`;
  }
  return undefined;
}

/**
 * A storage failure, unless `error` is already one of ours: `<operation> [of task T] failed:`,
 * then what happened to the connection ({@link connectionTrouble}) or the error's message; the
 * error itself is the `cause`.
 */
export function storageError(operation: string, error: unknown, taskId?: string): Error {
  if (isOrchestrationError(error)) return error;
  const what = taskId === undefined ? operation : `${operation} of task ${taskId}`;
  const message =
    connectionTrouble(error) ?? (error instanceof Error ? error.message : String(error));
  return new StorageError('redis', `${what} failed: ${message}`, { cause: error });
}

/** WRONGTYPE from Redis means a key of ours was overwritten: corrupt; anything else is storage. */
export function failure(
  operation: string,
  taskId: string,
  recordId: string,
  error: unknown,
): Error {
  if (error instanceof Error && error.message.startsWith('WRONGTYPE')) {
    return new CorruptRecordError(taskId, recordId, 'one of its keys holds the wrong type', {
      cause: error,
    });
  }
  return storageError(operation, error, taskId);
}

/** The typed error for a CORRUPT or TOO_LARGE reply (`{code, id, detail}` or `{code, detail}`). */
export function replyFailure(
  taskId: string,
  reply: readonly unknown[],
  maxRecordBytes: number,
  recordId = 'index',
): Error {
  const [code, id, detail] = reply.length >= 3 ? reply : [reply[0], recordId, reply[1]];
  const what = typeof id === 'string' && id !== '' ? id : recordId;
  if (code === Status.TooLarge) {
    return new RecordTooLargeError(`Checkpoint ${what}`, Number(detail), maxRecordBytes);
  }
  if (code === Status.Corrupt) return new CorruptRecordError(taskId, what, String(detail));
  return new StorageError('redis', `unexpected status ${String(code)} from Redis`);
}
