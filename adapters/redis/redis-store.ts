import { randomUUID } from 'node:crypto';
import {
  type CheckpointRecord,
  type CheckpointRecordMeta,
  type CheckpointStore,
  type CheckpointStoreOptions,
  DEFAULT_MAX_RECORD_BYTES,
  type NewCheckpointRecord,
  type ReadLogOptions,
  type SavedRecord,
  type SaveRecordOptions,
} from '../../src/checkpoint/checkpoint-store.js';
import {
  assertKeepLatest,
  assertLogEntries,
  assertReadLogOptions,
  assertSavable,
} from '../../src/checkpoint/store-guards.js';
import {
  CheckpointConflictError,
  CheckpointExistsError,
  CorruptRecordError,
  InvalidIdError,
  isOrchestrationError,
  RecordTooLargeError,
  StorageError,
} from '../../src/errors.js';
import { assertValidId } from '../../src/ids.js';
import { type LuaScript, loadLuaScript, type RedisClient, runLuaScript } from './lua-scripts.js';

/** Options of {@link createRedisStore}. */
export interface RedisStoreOptions extends CheckpointStoreOptions {
  /** The ioredis client (a `Redis` or a `Cluster`) to talk through; the store never closes it. Required. */
  readonly client: RedisClient;
  /** Namespace prepended to every key: `A-Z a-z 0-9 _ . : -`, at most 100 characters. Default: `'mcp:'`. */
  readonly prefix?: string;
}

/** The key prefix used when none is given. */
export const DEFAULT_REDIS_PREFIX = 'mcp:';

const PREFIX_PATTERN = /^[A-Za-z0-9_.:-]{0,100}$/;

const scripts = {
  save: loadLuaScript('save', 3),
  load: loadLuaScript('load', 3),
  latest: loadLuaScript('latest', 3),
  list: loadLuaScript('list', 3),
  head: loadLuaScript('head', 3),
  delete: loadLuaScript('delete', 3),
  deleteOld: loadLuaScript('deleteOld', 3),
  appendLog: loadLuaScript('appendLog', 2),
  deleteTask: loadLuaScript('deleteTask', 4),
} as const;

// Status codes the scripts answer with (first element of their reply).
const OK = 0;
const CONFLICT = 1;
const EXISTS = 2;
const CORRUPT = 3;
const TOO_LARGE = 4;
const MISSING = 5;

/** The keys of one task. All share the hash tag `{taskId}`: one cluster slot per task. */
interface TaskKeys {
  readonly idx: string;
  readonly exp: string;
  readonly meta: string;
  readonly logs: string;
  readonly recPrefix: string;
  readonly logPrefix: string;
}

/**
 * A {@link CheckpointStore} in Redis, through an ioredis client you own. Every operation is one
 * Lua script (one round trip, atomic on the server): a save writes the record, its index entry,
 * its expiry, the task's head and the keys' lifetimes together or not at all, and checks
 * `expectedSeq` in the same step. A task's keys are `<prefix>{<taskId>}:…`, so in a Redis Cluster
 * they share one slot. Records with an `expiresAt` get `PEXPIREAT`; the task's index and head
 * expire with its longest-lived record, so a fully expired task leaves no keys behind (logs have
 * no TTL and stay until `deleteTask`). A save re-sent by ioredis after a dropped connection is
 * recognized (each call carries a nonce) and answers with the original sequence number, so keep
 * ioredis' default `autoResendUnfulfilledCommands: true` (with `false`, ioredis 6.0.0 never
 * settles a command in flight when the connection drops: redis/ioredis#2193). A failure whose
 * outcome is unknown (connection lost mid-call) is a `StorageError`: the save happened whole or
 * not at all. `close()` does nothing: the client belongs to the caller. Enable
 * `enableAutoPipelining` on the client for throughput with many concurrent workflows. Redis ≥ 7.0.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { CheckpointManager } from 'mcp-orchestration';
 * import { createRedisStore } from 'mcp-orchestration/redis';
 *
 * const client = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', {
 *   enableAutoPipelining: true,
 * });
 * const manager = new CheckpointManager(createRedisStore({ client, prefix: 'tenant-a:' }));
 * // … later, when the process is done with Redis:
 * await client.quit();
 * ```
 */
export function createRedisStore(options: RedisStoreOptions): CheckpointStore {
  const { client } = options;
  if (client === null || typeof client !== 'object' || typeof client.evalsha !== 'function') {
    throw new TypeError('createRedisStore needs an ioredis client as `client`');
  }
  const prefix = options.prefix ?? DEFAULT_REDIS_PREFIX;
  if (typeof prefix !== 'string' || !PREFIX_PATTERN.test(prefix)) {
    throw new InvalidIdError(
      'Redis key prefix',
      String(prefix),
      'use up to 100 of A-Z a-z 0-9 _ . : -',
    );
  }
  const maxRecordBytes = options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
  if (!(Number.isSafeInteger(maxRecordBytes) && maxRecordBytes > 0)) {
    throw new TypeError(`maxRecordBytes must be an integer > 0, got ${maxRecordBytes}`);
  }
  const clock = options.now ?? Date.now;
  const now = () => String(Math.floor(clock()));

  function keysOf(taskId: string): TaskKeys {
    const base = `${prefix}{${taskId}}:`;
    return {
      idx: `${base}idx`,
      exp: `${base}exp`,
      meta: `${base}meta`,
      logs: `${base}logs`,
      recPrefix: `${base}r:`,
      logPrefix: `${base}log:`,
    };
  }

  /** Runs a script; transport and server failures become {@link StorageError}s. */
  async function run(
    operation: string,
    script: LuaScript,
    keys: readonly string[],
    args: readonly (string | number)[],
  ): Promise<unknown[]> {
    let reply: unknown;
    try {
      reply = await runLuaScript(client, script, keys, args);
    } catch (error) {
      throw storageError(operation, error);
    }
    if (!Array.isArray(reply) || typeof reply[0] !== 'number') {
      throw new StorageError('redis', `${operation}: unexpected reply from Redis`);
    }
    return reply;
  }

  /** Throws the typed error for a CORRUPT or TOO_LARGE reply. */
  function throwFailure(taskId: string, reply: unknown[], recordId = 'index'): never {
    const [code, id, detail] = reply.length >= 3 ? reply : [reply[0], recordId, reply[1]];
    const what = typeof id === 'string' && id !== '' ? id : recordId;
    if (code === TOO_LARGE) {
      throw new RecordTooLargeError(`Checkpoint ${what}`, Number(detail), maxRecordBytes);
    }
    if (code === CORRUPT) throw new CorruptRecordError(taskId, what, String(detail));
    throw new StorageError('redis', `unexpected status ${String(code)} from Redis`);
  }

  /** A record from a `{0, id, seq, createdAt, expiresAt, body}` reply, validated. */
  function recordOf(taskId: string, reply: unknown[]): CheckpointRecord {
    const [, checkpointId, seq, createdAt, expiresAt, body] = reply;
    const id = typeof checkpointId === 'string' ? checkpointId : '?';
    const meta = metaOf(taskId, id, seq, createdAt, expiresAt);
    if (typeof body !== 'string') throw new CorruptRecordError(taskId, id, 'its body is missing');
    return { ...meta, body };
  }

  function metaOf(
    taskId: string,
    checkpointId: string,
    seq: unknown,
    createdAt: unknown,
    expiresAt: unknown,
  ): CheckpointRecordMeta {
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

  async function readOne(
    operation: string,
    taskId: string,
    script: LuaScript,
    args: readonly string[],
  ): Promise<CheckpointRecord | undefined> {
    const k = keysOf(taskId);
    const reply = await run(
      operation,
      script,
      [k.idx, k.exp, k.meta],
      [k.recPrefix, now(), ...args],
    );
    if (reply[0] === MISSING) return undefined;
    if (reply[0] !== OK) throwFailure(taskId, reply);
    return recordOf(taskId, reply);
  }

  /** The status-and-number reply of head/delete/deleteOld/appendLog. */
  function numberOf(taskId: string, reply: unknown[]): number {
    if (reply[0] !== OK) throwFailure(taskId, reply);
    const value = integerOf(reply[1]);
    if (value === undefined) {
      throw new StorageError('redis', 'unexpected reply from Redis');
    }
    return value;
  }

  return {
    name: 'redis',

    async save(record: NewCheckpointRecord, saveOptions?: SaveRecordOptions): Promise<SavedRecord> {
      assertSavable(record, saveOptions, maxRecordBytes);
      const { taskId, checkpointId, createdAt, expiresAt, body } = record;
      const expected = saveOptions?.expectedSeq;
      const k = keysOf(taskId);
      const reply = await run(
        'save',
        scripts.save,
        [k.idx, k.exp, k.meta],
        [
          k.recPrefix,
          now(),
          checkpointId,
          String(createdAt),
          expiresAt === undefined ? '' : String(expiresAt),
          expected === undefined ? '' : String(expected),
          randomUUID(),
          body,
        ],
      );
      switch (reply[0]) {
        case OK:
          return { seq: numberOf(taskId, reply) };
        case CONFLICT:
          throw new CheckpointConflictError(taskId, expected ?? 0, Number(reply[1]));
        case EXISTS:
          throw new CheckpointExistsError(taskId, checkpointId);
        default:
          throwFailure(taskId, reply);
      }
    },

    async load(taskId: string, checkpointId: string): Promise<CheckpointRecord | undefined> {
      assertValidId('taskId', taskId);
      assertValidId('checkpointId', checkpointId);
      return readOne('load', taskId, scripts.load, [checkpointId, String(maxRecordBytes)]);
    },

    async latest(taskId: string): Promise<CheckpointRecord | undefined> {
      assertValidId('taskId', taskId);
      return readOne('latest', taskId, scripts.latest, [String(maxRecordBytes)]);
    },

    async list(taskId: string): Promise<CheckpointRecordMeta[]> {
      assertValidId('taskId', taskId);
      const k = keysOf(taskId);
      const reply = await run('list', scripts.list, [k.idx, k.exp, k.meta], [k.recPrefix, now()]);
      if (reply[0] !== OK) throwFailure(taskId, reply);
      const metas: CheckpointRecordMeta[] = [];
      for (let i = 1; i + 2 < reply.length + 1; i += 3) {
        const id = reply[i];
        const packed = reply[i + 2];
        if (typeof id !== 'string') throw new StorageError('redis', 'unexpected reply from Redis');
        const bar = typeof packed === 'string' ? packed.indexOf('|') : -1;
        if (typeof packed !== 'string' || bar < 0) {
          throw new CorruptRecordError(taskId, id, 'its metadata is missing');
        }
        metas.push(metaOf(taskId, id, reply[i + 1], packed.slice(0, bar), packed.slice(bar + 1)));
      }
      return metas;
    },

    async delete(taskId: string, checkpointId: string): Promise<boolean> {
      assertValidId('taskId', taskId);
      assertValidId('checkpointId', checkpointId);
      const k = keysOf(taskId);
      const args = [k.recPrefix, now(), checkpointId];
      const reply = await run('delete', scripts.delete, [k.idx, k.exp, k.meta], args);
      return numberOf(taskId, reply) === 1;
    },

    async deleteOld(taskId: string, keepLatest: number): Promise<number> {
      assertValidId('taskId', taskId);
      assertKeepLatest(keepLatest);
      const k = keysOf(taskId);
      const args = [k.recPrefix, now(), String(keepLatest)];
      return numberOf(
        taskId,
        await run('deleteOld', scripts.deleteOld, [k.idx, k.exp, k.meta], args),
      );
    },

    async head(taskId: string): Promise<number> {
      assertValidId('taskId', taskId);
      const k = keysOf(taskId);
      const reply = await run('head', scripts.head, [k.idx, k.exp, k.meta], [k.recPrefix, now()]);
      return numberOf(taskId, reply);
    },

    async appendLog(taskId: string, name: string, entries: readonly string[]): Promise<number> {
      assertValidId('taskId', taskId);
      assertValidId('log name', name);
      assertLogEntries(entries);
      const k = keysOf(taskId);
      const logKey = `${k.logPrefix}${name}`;
      if (entries.length === 0) {
        return command(taskId, `log ${name}`, 'appendLog', () => client.llen(logKey));
      }
      const reply = await run('appendLog', scripts.appendLog, [logKey, k.logs], [name, ...entries]);
      if (reply[0] !== OK) throwFailure(taskId, reply, `log ${name}`);
      return numberOf(taskId, reply);
    },

    async readLog(taskId: string, name: string, readOptions?: ReadLogOptions): Promise<string[]> {
      assertValidId('taskId', taskId);
      assertValidId('log name', name);
      assertReadLogOptions(readOptions);
      const from = readOptions?.from ?? 0;
      const limit = readOptions?.limit;
      if (limit === 0) return [];
      const stop = limit === undefined ? -1 : from + limit - 1;
      const logKey = `${keysOf(taskId).logPrefix}${name}`;
      return command(taskId, `log ${name}`, 'readLog', () => client.lrange(logKey, from, stop));
    },

    async deleteTask(taskId: string): Promise<boolean> {
      assertValidId('taskId', taskId);
      const k = keysOf(taskId);
      const reply = await run(
        'deleteTask',
        scripts.deleteTask,
        [k.idx, k.exp, k.meta, k.logs],
        [k.recPrefix, k.logPrefix, now()],
      );
      return numberOf(taskId, reply) === 1;
    },

    /** Does nothing: the injected client stays open for its owner to `quit()`. */
    async close(): Promise<void> {},
  };
}

/** Runs one plain command; WRONGTYPE means a corrupt key, anything else a storage failure. */
async function command<T>(
  taskId: string,
  recordId: string,
  operation: string,
  send: () => Promise<T>,
): Promise<T> {
  try {
    return await send();
  } catch (error) {
    if (error instanceof Error && error.message.startsWith('WRONGTYPE')) {
      throw new CorruptRecordError(taskId, recordId, 'its key holds the wrong type', {
        cause: error,
      });
    }
    throw storageError(operation, error);
  }
}

function storageError(operation: string, error: unknown): Error {
  if (isOrchestrationError(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new StorageError('redis', `${operation} failed: ${message}`, { cause: error });
}

/** An integer from a Redis reply (a number or a decimal string); `undefined` otherwise. */
function integerOf(value: unknown): number | undefined {
  const number =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && /^-?\d+$/.test(value)
        ? Number(value)
        : Number.NaN;
  return Number.isSafeInteger(number) ? number : undefined;
}
