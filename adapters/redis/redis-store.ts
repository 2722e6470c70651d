import { randomUUID } from 'node:crypto';
import { type Cluster, Command, type Redis } from 'ioredis';
import {
  type CheckpointRecord,
  type CheckpointRecordMeta,
  type CheckpointStore,
  type CheckpointStoreOptions,
  DEFAULT_MAX_RECORD_BYTES,
  type LeaseClaim,
  type ListTasksOptions,
  type NewCheckpointRecord,
  type ReadLogOptions,
  type SavedRecord,
  type SaveRecordOptions,
  type TaskLease,
} from '../../src/checkpoint/checkpoint-store.js';
import {
  assertKeepLatest,
  assertLeaseArgs,
  assertLogEntries,
  assertReadLogOptions,
  assertSavable,
  compareIds,
  listTasksOptions,
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
import { assertValidId, isValidId } from '../../src/ids.js';
import {
  type LuaScript,
  loadLuaScript,
  type RedisClient,
  runLuaScript,
  sendLuaScript,
} from './lua-scripts.js';
import {
  bodyOfFetched,
  bodyOfValue,
  failure,
  integerOf,
  leaseOf,
  metaOf,
  recordValue,
  replyFailure,
  Status,
  storageError,
} from './redis-replies.js';

/** Options of {@link createRedisStore}. */
export interface RedisStoreOptions extends CheckpointStoreOptions {
  /** The ioredis client (`Redis` or `Cluster`; its `keyPrefix` is honored) to talk through; never closed by the store. Required. */
  readonly client: RedisClient;
  /** Namespace prepended to every key: `A-Z a-z 0-9 _ . : -`, at most 100 characters. Default: `'mcp:'`. */
  readonly prefix?: string;
}

/** The key prefix used when none is given. */
export const DEFAULT_REDIS_PREFIX = 'mcp:';

const PREFIX_PATTERN = /^[A-Za-z0-9_.:-]{0,100}$/;

/**
 * Record values up to this many characters ride inline, as an argument of the save script's
 * call; larger ones go ahead into a temp key (`SETEX`, same write) and are `RENAME`d into place,
 * since big strings are slow through Lua. Below this size the extra command costs more than it
 * saves (measured in client and server CPU time per save).
 */
const INLINE_SAVE_CHARS = 8 * 1024;

/**
 * How long a record value sent ahead of its save script may wait for it, in seconds. Set with
 * SETEX: on Redis 7.0, `SET … PX` of a 100 KB value measured 4× slower than SETEX. Also how long
 * a saveMany call with a refused save keeps its answers for a re-send.
 */
const TEMP_TTL_SECONDS = 300;

/**
 * Record values up to this many bytes come back inside the read script's reply; larger ones are
 * fetched with a bounded GETRANGE right after (passing big strings through Lua costs more than
 * the extra round trip: measured 0.23 vs 0.37 ms at 100 KB).
 */
const INLINE_BYTES = 64 * 1024;

/**
 * Most saves, and most value characters, in one saveMany call: a longer queue goes as several
 * calls sent together, so one script never holds the server for long.
 */
const BATCH_SAVES = 256;
const BATCH_CHARS = 1024 * 1024;

/**
 * Calls a lane keeps in flight before saves wait (one through a Cluster, see createRedisStore);
 * a flush may send one more, or more when the queue is over {@link BATCH_SAVES}.
 */
const LANE_CALLS = 2;

/** A queue of at least twice this many saves is split over the lane's free calls. */
const SPLIT_SAVES = 16;

/** Keys listTasks asks SCAN for per call (its `COUNT` hint). */
const SCAN_COUNT = 1000;

/** Candidate tasks listTasks checks at once (their head scripts are in flight together). */
const LIST_BATCH = 100;

/**
 * How much longer than a lease's TTL its key lives, by the server's clock (a relative TTL, so
 * an offset between the store's clock and the server's does not matter): the store's clock
 * decides when a lease lapses, this backstop only clears lapsed leases nobody claims again.
 */
const LEASE_KEY_MARGIN_MS = 60_000;

/**
 * The key suffixes that make a task a candidate for listTasks: its index (a head lives there),
 * its v2 metadata hash (a head that was never migrated, possibly with no index) and its log
 * names (it has a log). The SCAN pattern {@link TASK_MARKER_GLOB} admits these and `log:<name>`
 * (dropped by this list), but none of the record, expiry, temp, answer or lease keys.
 */
const TASK_MARKERS: ReadonlySet<string> = new Set(['idx', 'meta', 'logs']);
const TASK_MARKER_GLOB = '}:[ilm][deo][gtx]*';

/** Escapes Redis glob metacharacters (`* ? [ ] \`), so `text` matches only itself in MATCH. */
function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

const scripts = {
  save: loadLuaScript('save', 1),
  saveMany: loadLuaScript('saveMany', 'N'),
  load: loadLuaScript('load', 3),
  latest: loadLuaScript('latest', 3),
  list: loadLuaScript('list', 3),
  head: loadLuaScript('head', 3),
  delete: loadLuaScript('delete', 3),
  deleteOld: loadLuaScript('deleteOld', 3),
  appendLog: loadLuaScript('appendLog', 2),
  readLog: loadLuaScript('readLog', 1),
  deleteTask: loadLuaScript('deleteTask', 5),
  claimLease: loadLuaScript('claimLease', 1),
  releaseLease: loadLuaScript('releaseLease', 1),
  readLease: loadLuaScript('readLease', 1),
} as const;

/** The keys of one task. All share the hash tag `{taskId}`: one cluster slot per task. */
interface TaskKeys {
  readonly base: string;
  /** Index, expiry and metadata keys: the first keys of every record script. */
  readonly task: readonly [string, string, string];
  readonly logs: string;
  /** The task's lease (`"<expiresAt> <owner>"`, see `lua/includes/lease.lua`). */
  readonly lease: string;
  /** Key of one log, for commands and declared keys. */
  readonly log: (name: string) => string;
  /** Record and log key prefixes as the scripts receive them (with the client's keyPrefix). */
  readonly recPrefix: string;
  readonly logPrefix: string;
}

/**
 * A save waiting in its lane: what its packed argument needs, its value, and how to answer. One
 * object per save, no closures of its own (a save's Node-side cost counts: see createRedisStore).
 */
interface PendingSave {
  readonly taskId: string;
  /** `<prefix>{taskId}:`, the base of the task's keys (without the client's keyPrefix). */
  readonly base: string;
  readonly now: number;
  readonly checkpointId: string;
  readonly expiresAt: number | undefined;
  readonly expectedSeq: number | undefined;
  readonly nonce: string;
  /**
   * The record value (with its header: nonce, id, createdAt, expiresAt, the body's size): an
   * argument of the call, or sent ahead into `<base>tmp:<nonce>`.
   */
  readonly value: string;
  /** Whether the value rides inline (up to {@link INLINE_SAVE_CHARS}). */
  readonly inline: boolean;
  /** Why the value's SETEX failed, once it did. */
  tempError?: unknown;
  /** The caller's promise: settled by {@link answerSave} or with a typed error. */
  readonly resolve: (saved: SavedRecord) => void;
  readonly reject: (error: unknown) => void;
}

/** Saves waiting to be sent together, and the calls in flight that hold them back. */
interface Lane {
  readonly name: string;
  queue: PendingSave[];
  inFlight: number;
  /** A flush is due at the end of the tick. */
  scheduled: boolean;
}

/**
 * A {@link CheckpointStore} in Redis, through an ioredis client you own. Every operation on a task
 * is one round trip and one Lua script, atomic on the server: a save's script checks `expectedSeq`
 * and moves record, index entry, expiry, head and the keys' lifetimes together, or nothing. A value
 * up to 8 Ki characters rides inline as the script's argument; a larger one is written ahead into a
 * temp key (`SETEX`, in the same write to the connection) and `RENAME`d into place, since big
 * strings are slow through Lua. A task's keys are `<prefix>{<taskId>}:…`, so in a Redis Cluster
 * they share one slot. Records with an `expiresAt` get `PEXPIREAT`; the task's index and head
 * expire with its longest-lived record, so a fully expired task leaves no keys behind (logs have no
 * TTL and stay until `deleteTask`). Reads check the size bound in Redis before fetching; values
 * over 64 KiB are fetched with a bounded `GETRANGE` (a second round trip) rather than through Lua.
 *
 * Layout v3 (`lua/includes/taskKeys.lua` has the full list): `idx` (zset: id → seq ≥ 1 for
 * every live record, plus reserved members scoring ≤ 0: `:head` −head, `:until` −lifetime or
 * −inf, `:next` −first expiry or −inf, and a long `:layout …` member that keeps the zset a
 * skiplist), `exp` (zset id → expiresAt), `r:<id>` (the record value, with its metadata in the
 * header: `"<nonce> <id> <createdAt>|<expiresAt>|<bytes>\n<body>"`). A save is three commands
 * on the fast path: one `ZMSCORE` of `:head`, `:until`, `:next` and the id, one `ZADD` of the
 * record and the new head, one `SET`; a TTL adds the `exp` entry (and `PEXPIREAT` of the task
 * keys when it extends their lifetime), and the expiry index is scanned only when `:next` says
 * something can have expired. Its five fields travel as one packed argument and it declares one
 * key per task (the others are derived in Lua), because every argument of a batch costs both
 * sides. Tasks written by layout v2 (a `meta` hash with `:seq`, `:until`, `:next`, `:layout` and
 * an entry per record; values `"<nonce> <id>\n<body>"`) are migrated by the first script that
 * touches them: head, lifetime and `:next` move into `idx`, their old records stay and are read
 * with their metadata from `meta`, which goes away with the last of them. Do not run adapter
 * versions from before and after layout v3 against one prefix at once.
 *
 * A save re-sent by ioredis after a dropped connection is recognized (each call carries a nonce)
 * and answers with the original sequence number, so keep ioredis' default
 * `autoResendUnfulfilledCommands: true` (with `false`, ioredis 6.0.0 never settles a command in
 * flight when the connection drops: redis/ioredis#2193). A failure whose outcome is unknown
 * (connection lost mid-call) is a `StorageError`: the save happened whole or not at all; a
 * large value whose script never ran stays in its temp key until its 5-minute TTL. `close()`
 * does nothing: the client belongs to the caller. Enable `enableAutoPipelining` on the client
 * for throughput with many concurrent workflows. Redis ≥ 7.0.
 *
 * Group commit: a save into an idle store goes at once as one `save` call, as without batching;
 * saves issued while its calls are in flight wait and go together as one `saveMany` call, with
 * those issued in the same tick (flushed by `process.nextTick`, no timer). A queue waits while
 * two calls are in flight, and a long one goes as two calls, so the client prepares one while
 * Redis runs the other; a call (with the `SETEX`s of its large values) is written to the
 * connection directly (past ioredis' auto-pipelining), in order, corked into one write. Each
 * save of a call keeps its own all-or-nothing semantics, nonce and answer (a conflict or a
 * corrupt task fails only that save), and saves of one task apply in the order they were issued. A
 * call re-sent after a lost reply answers as its first run did: applied saves by their nonces,
 * refused ones from the answers the first run kept (`…:ans:<nonce>`, 5 minutes). Through a Redis
 * `Cluster` (keys of different tasks may live in different slots) only saves of one task are
 * batched, one call in flight per task; a single node has one lane for all tasks. A call carries
 * at most 256 saves and 1 MiB of values (a larger value goes alone).
 *
 * Listing tasks (`listTasks`) is the one operation that reads more than one task. There is no
 * index of tasks (one would be a key every save of every task writes, in one slot of a
 * Cluster); it walks the keyspace with `SCAN … MATCH <keyPrefix><prefix>{*}:… COUNT 1000`
 * (never `KEYS`; on every master of a Cluster), collects the ids of the tasks that have an
 * index, a v2 metadata hash or a log, and checks those after `after` in id order, 100 at once,
 * with the head script (by the store's clock, sweeping what expired as `head` does) and the
 * size of their log names set, until the page is full. So a page costs O(keys in the database)
 * and holds the candidates' ids in memory: an operation for supervisors and tools, not for the
 * path of a step. It is no snapshot: a task saved or deleted meanwhile may or may not appear.
 *
 * A task's lease is one key, `<prefix>{<taskId>}:lease` (`"<expiresAt> <owner>"`), claimed,
 * released and read by one script each. The store's clock decides when it lapses (a lapsed lease
 * may stay stored and counts as none); the key's own TTL, the lease's plus a minute on the
 * server's clock, only clears leases nobody claims again. `deleteTask` deletes it too.
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
    const reason = 'use up to 100 of A-Z a-z 0-9 _ . : -';
    throw new InvalidIdError('Redis key prefix', String(prefix), reason);
  }
  const maxRecordBytes = options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
  if (!(Number.isSafeInteger(maxRecordBytes) && maxRecordBytes > 0)) {
    throw new TypeError(`maxRecordBytes must be an integer > 0, got ${maxRecordBytes}`);
  }
  // ioredis prepends a client's `keyPrefix` to declared keys, not to the record and log key
  // prefixes the scripts receive as arguments: those get it here.
  const clientPrefix = client.options?.keyPrefix ?? '';
  const clock = options.now ?? Date.now;
  // Nonces: a random UUID's first 23 characters (92 random bits), drawn once per store, then a
  // 12-hex-digit counter: unique per save call like a random UUID each (same shape, 36
  // characters), for a fraction of the cost.
  const noncePrefix = `${randomUUID().slice(0, 23)}-`;
  let nonceCount = 0;
  const nextNonce = () => noncePrefix + (nonceCount++).toString(16).padStart(12, '0');
  const now = () => String(Math.floor(clock()));

  function keysOf(taskId: string): TaskKeys {
    const base = `${prefix}{${taskId}}:`;
    const scriptBase = `${clientPrefix}${base}`;
    return {
      base,
      task: [`${base}idx`, `${base}exp`, `${base}meta`],
      logs: `${base}logs`,
      lease: `${base}lease`,
      log: (name) => `${base}log:${name}`,
      recPrefix: `${scriptBase}r:`,
      logPrefix: `${scriptBase}log:`,
    };
  }

  /**
   * Runs a script; a wrong-typed key is corrupt, any other failure a {@link StorageError}.
   * `send`: {@link sendLuaScript} for the group commit's calls.
   */
  async function run(
    operation: string,
    taskId: string,
    script: LuaScript,
    keys: readonly string[],
    args: readonly (string | number)[],
    send = runLuaScript,
  ): Promise<unknown[]> {
    let reply: unknown;
    try {
      reply = await send(client, script, keys, args);
    } catch (error) {
      throw failure(operation, taskId, 'index', error);
    }
    if (!Array.isArray(reply) || typeof reply[0] !== 'number') {
      throw new StorageError('redis', `${operation}: unexpected reply from Redis`);
    }
    return reply;
  }

  /** The number in a `{0, n}` reply (head, delete, deleteOld, appendLog, deleteTask). */
  function numberOf(taskId: string, reply: unknown[], recordId?: string): number {
    if (reply[0] !== Status.Ok) throw replyFailure(taskId, reply, maxRecordBytes, recordId);
    const value = integerOf(reply[1]);
    if (value === undefined) throw new StorageError('redis', 'unexpected reply from Redis');
    return value;
  }

  /**
   * load/latest: the script checks the record and the bound; a value over {@link INLINE_BYTES}
   * is then fetched with GETRANGE. If it changed in between (deleted or saved anew), the read is
   * done again with the value inline, atomically, so it always ends.
   */
  async function readOne(
    operation: string,
    taskId: string,
    script: LuaScript,
    args: readonly string[],
  ): Promise<CheckpointRecord | undefined> {
    const k = keysOf(taskId);
    // Second pass: everything inline (a value is its body plus a header of at most 36 + 2 + 200 + 64 bytes).
    for (const inline of [INLINE_BYTES, maxRecordBytes + 1024]) {
      const scriptArgs = [k.recPrefix, now(), ...args, String(maxRecordBytes), String(inline)];
      const reply = await run(operation, taskId, script, k.task, scriptArgs);
      if (reply[0] === Status.Missing) return undefined;
      const [code, id, seq, createdAt, expiresAt, value, size] = reply;
      if (code !== Status.Ok && code !== Status.Large) {
        throw replyFailure(taskId, reply, maxRecordBytes);
      }
      if (typeof id !== 'string') throw new StorageError('redis', 'unexpected reply from Redis');
      const meta = metaOf(taskId, id, seq, createdAt, expiresAt);
      if (code === Status.Ok) return { ...meta, body: bodyOfValue(taskId, id, value) };
      const bytes = integerOf(size);
      if (typeof value !== 'string' || bytes === undefined) {
        throw new StorageError('redis', 'unexpected reply from Redis');
      }
      const key = `${k.base}r:${id}`;
      const fetched = await command(taskId, id, operation, () =>
        client.getrangeBuffer(key, 0, bytes - 1),
      );
      const body = bodyOfFetched(id, value, bytes, fetched);
      if (body !== undefined) return { ...meta, body };
    }
    // The second pass returns every value inline (or fails typed) and never gets here.
    throw new StorageError('redis', `${operation}: unexpected reply from Redis`);
  }

  /** Runs one plain command: WRONGTYPE means a corrupt key, anything else a storage failure. */
  async function command<T>(
    taskId: string,
    recordId: string,
    operation: string,
    send: () => Promise<T>,
  ): Promise<T> {
    try {
      return await send();
    } catch (error) {
      throw failure(operation, taskId, recordId, error);
    }
  }

  /**
   * The ids of every task of this store after `after` (unsorted, each once) that has one of the
   * {@link TASK_MARKERS} keys: one SCAN pass over the keyspace of each master (the client itself
   * when it is a single node). SCAN patterns and results ignore the client's keyPrefix, so it is
   * part of the pattern and stripped here; a key under the prefix that is no task key of ours
   * (no valid id between `{` and `}:`, another suffix) is skipped.
   */
  async function scanTaskIds(after: string | undefined): Promise<Set<string>> {
    const start = `${clientPrefix}${prefix}{`;
    // The store prefix cannot contain `{`, so `<prefix>{` never matches a longer store prefix.
    const pattern = `${globEscape(start)}*${TASK_MARKER_GLOB}`;
    const ids = new Set<string>();
    const scanNode = async (node: Redis) => {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT);
        cursor = next;
        for (const key of keys) {
          if (!key.startsWith(start)) continue;
          const close = key.indexOf('}:', start.length);
          if (close < 0 || !TASK_MARKERS.has(key.slice(close + 2))) continue;
          const id = key.slice(start.length, close);
          if ((after === undefined || id > after) && isValidId(id)) ids.add(id);
        }
      } while (cursor !== '0');
    };
    try {
      await Promise.all((await nodesToScan()).map(scanNode));
    } catch (error) {
      throw storageError('listTasks', error);
    }
    return ids;
  }

  /**
   * What SCAN must visit: every master of a Cluster (a key lives on the master of its slot), or
   * the single node. Until a Cluster client is ready it knows no nodes, or only its startup
   * nodes (all taken for masters until it has read the slots): a PING, queued until then,
   * waits for it.
   */
  async function nodesToScan(): Promise<Redis[]> {
    if (!cluster) return [client as Redis];
    if (client.status !== 'ready') await client.ping();
    const masters = (client as Cluster).nodes('master');
    if (masters.length === 0) throw new Error('the Redis Cluster client knows no master');
    return masters;
  }

  /**
   * Whether a task is listed: its head by the store's clock (the head script, which also sweeps
   * what expired, as `head` does) is above 0, or it has a log (its log names set is not empty).
   * A task with a key of the wrong type is listed (its reads report the corruption), so one
   * damaged task does not hide the others.
   */
  async function isListed(taskId: string): Promise<boolean> {
    const k = keysOf(taskId);
    try {
      const reply = await run('listTasks', taskId, scripts.head, k.task, [k.recPrefix, now()]);
      if (numberOf(taskId, reply) > 0) return true;
      return (await command(taskId, 'logs', 'listTasks', () => client.scard(k.logs))) > 0;
    } catch (error) {
      // A damaged task is listed: it exists, and reading it reports why it cannot be used.
      if (isOrchestrationError(error, 'CORRUPT_RECORD')) return true;
      throw error;
    }
  }

  // Group commit. A lane holds the saves waiting for their call and counts its calls in flight;
  // it exists (in `lanes`) while busy. One lane for a single node (one connection: calls run in
  // the order sent); one per task through a Cluster (a call's keys must share a slot).
  const cluster = client.isCluster === true;
  const maxInFlight = cluster ? 1 : LANE_CALLS;
  const lanes = new Map<string, Lane>();

  function enqueue(save: PendingSave): void {
    const name = cluster ? save.taskId : '';
    const lane = lanes.get(name);
    if (lane === undefined) {
      // An idle lane: the save goes at once, alone (no added latency); saves issued meanwhile
      // (this tick included) wait in the lane.
      const idle: Lane = { name, queue: [], inFlight: 0, scheduled: false };
      lanes.set(name, idle);
      send(idle, [save]);
      return;
    }
    lane.queue.push(save);
    schedule(lane);
  }

  /**
   * Flushes the lane once the current tick's promise jobs have run (so saves issued alongside
   * join; no timer), unless all its calls are in flight: then when one of them settles.
   */
  function schedule(lane: Lane): void {
    if (lane.scheduled || lane.inFlight >= maxInFlight) return;
    lane.scheduled = true;
    process.nextTick(flush, lane);
  }

  /** Sends what waits in a lane, in submission order: a long queue as two calls. */
  function flush(lane: Lane): void {
    lane.scheduled = false;
    const { queue } = lane;
    if (queue.length === 0) {
      if (lane.inFlight === 0) lanes.delete(lane.name);
      return;
    }
    lane.queue = [];
    // Two calls let the client work on one while Redis runs the other (even next to a lone save
    // in flight: at most one more call then).
    const parts = queue.length >= 2 * SPLIT_SAVES ? maxInFlight : 1;
    const size = Math.min(BATCH_SAVES, Math.ceil(queue.length / parts));
    for (let start = 0; start < queue.length; ) {
      let end = start + 1;
      let chars = (queue[start] as PendingSave).value.length;
      while (end < queue.length && end - start < size) {
        chars += (queue[end] as PendingSave).value.length;
        if (chars > BATCH_CHARS) break;
        end++;
      }
      send(lane, queue.slice(start, end));
      start = end;
    }
  }

  /**
   * Sends saves as one call of the lane: each large value with SETEX into its temp key, then
   * the script, written to the connection together (one write); once it settled, what waits
   * goes next.
   */
  function send(lane: Lane, saves: readonly PendingSave[]): void {
    lane.inFlight++;
    // A single node's socket gathers the commands into one write (not through a Cluster); the
    // script call alone is one write already.
    const ahead = saves.some((save) => !save.inline);
    const stream = cluster || !ahead ? undefined : (client as Redis).stream;
    const corked = typeof stream?.cork === 'function' && stream.writable;
    if (corked) stream.cork();
    try {
      if (ahead) for (const save of saves) if (!save.inline) sendValue(save);
      // Both never reject, and release the lane before they answer.
      if (saves.length === 1) void saveOne(lane, saves[0] as PendingSave);
      else void saveMany(lane, saves);
    } finally {
      if (corked) stream.uncork();
    }
  }

  /**
   * One call of the lane settled: what waits goes next. Runs before the call's saves are
   * answered, so a caller that saves again on its answer finds the lane as it now is (idle:
   * its save goes at once).
   */
  function release(lane: Lane): void {
    lane.inFlight--;
    if (lane.queue.length > 0) schedule(lane);
    else if (lane.inFlight === 0 && !lane.scheduled) lanes.delete(lane.name);
  }

  /**
   * Writes a save's value into its temp key (SETEX), straight to the connection (past ioredis'
   * auto-pipelining, so it stays ahead of the script call sent next).
   */
  function sendValue(save: PendingSave): void {
    const command = new Command(
      'setex',
      [`${save.base}tmp:${save.nonce}`, TEMP_TTL_SECONDS, save.value],
      { keyPrefix: clientPrefix === '' ? undefined : clientPrefix, replyEncoding: 'utf8' },
    );
    command.promise.catch((error: unknown) => {
      save.tempError = error;
    });
    client.sendCommand(command);
  }

  /**
   * A save's arguments in one (`group|now|expiresAt|expectedSeq|checkpointId`): every argument
   * of a call costs the client and the server, a save's five as one cost less. createdAt and
   * the body's size travel in the value's header, which the script does not read.
   */
  function packed(save: PendingSave, group: number): string {
    const { now, expiresAt, expectedSeq, checkpointId } = save;
    return `${group}|${now}|${expiresAt ?? ''}|${expectedSeq ?? ''}|${checkpointId}`;
  }

  /** A lone save: one save-1 call. */
  async function saveOne(lane: Lane, save: PendingSave): Promise<void> {
    let reply: unknown;
    try {
      const keys = [`${save.base}idx`];
      const args = [packed(save, 1), save.inline ? save.value : save.nonce];
      try {
        reply = await sendLuaScript(client, scripts.save, keys, args);
      } catch (error) {
        throw failure('save', save.taskId, 'index', error);
      }
    } catch (error) {
      release(lane);
      if (!save.inline) {
        // The script did not run (or failed): drop the value sent ahead, best effort (it also
        // expires by itself). Wait for it only when Redis answered, i.e. it is reachable.
        const dropped = client.del(`${save.base}tmp:${save.nonce}`).catch(() => 0);
        if (isOrchestrationError(error, 'CORRUPT_RECORD')) await dropped;
      }
      save.reject(error);
      return;
    }
    release(lane);
    answerSave(save, reply);
  }

  /** Several saves in one saveMany call; each caller gets its own answer. */
  async function saveMany(lane: Lane, batch: readonly PendingSave[]): Promise<void> {
    const first = batch[0] as PendingSave;
    const groups = new Map<string, number>();
    const keys = [`${first.base}ans:${first.nonce}`];
    const args: string[] = [String(TEMP_TTL_SECONDS)];
    for (const save of batch) {
      let group = groups.get(save.base);
      if (group === undefined) {
        group = groups.size + 1;
        groups.set(save.base, group);
        keys.push(`${save.base}idx`);
      }
      args.push(packed(save, group), save.inline ? save.value : save.nonce);
    }
    let reply: unknown;
    try {
      reply = await sendLuaScript(client, scripts.saveMany, keys, args);
    } catch (error) {
      release(lane);
      for (const save of batch) save.reject(failure('save', save.taskId, 'index', error));
      return;
    }
    release(lane);
    const answers = Array.isArray(reply) && reply.length === batch.length ? reply : undefined;
    for (let i = 0; i < batch.length; i++) answerSave(batch[i] as PendingSave, answers?.[i]);
  }

  /** Settles a save's promise from its script answer: its seq, or `{status, …}`. */
  function answerSave(save: PendingSave, answer: unknown): void {
    if (typeof answer === 'number' && Number.isSafeInteger(answer) && answer > 0) {
      save.resolve({ seq: answer });
      return;
    }
    if (!Array.isArray(answer) || typeof answer[0] !== 'number') {
      save.reject(new StorageError('redis', 'save: unexpected reply from Redis'));
      return;
    }
    const { taskId, checkpointId } = save;
    try {
      switch (answer[0]) {
        case Status.Conflict:
          throw new CheckpointConflictError(taskId, save.expectedSeq ?? 0, Number(answer[1]));
        case Status.Exists:
          throw new CheckpointExistsError(taskId, checkpointId);
        case Status.Failed:
          // A Redis command failed for this save (WRONGTYPE: corrupt), with nothing written.
          throw failure('save', taskId, 'index', new Error(String(answer[1])));
        case Status.NoValue:
          throw new StorageError('redis', 'save failed: the record value did not reach Redis', {
            cause: save.tempError ?? new Error('the value sent ahead was gone when the save ran'),
          });
        default:
          throw replyFailure(taskId, answer, maxRecordBytes, checkpointId);
      }
    } catch (error) {
      save.reject(error);
    }
  }

  return {
    name: 'redis',

    save(record: NewCheckpointRecord, saveOptions?: SaveRecordOptions): Promise<SavedRecord> {
      try {
        assertSavable(record, saveOptions, maxRecordBytes);
      } catch (error) {
        return Promise.reject(error);
      }
      const { taskId, checkpointId, createdAt, expiresAt, body } = record;
      const nonce = nextNonce();
      const value = recordValue(
        nonce,
        checkpointId,
        createdAt,
        expiresAt,
        Buffer.byteLength(body, 'utf8'),
        body,
      );
      return new Promise<SavedRecord>((resolve, reject) => {
        enqueue({
          taskId,
          base: `${prefix}{${taskId}}:`,
          now: Math.floor(clock()),
          checkpointId,
          expiresAt,
          expectedSeq: saveOptions?.expectedSeq,
          nonce,
          value,
          inline: body.length <= INLINE_SAVE_CHARS,
          resolve,
          reject,
        });
      });
    },

    async load(taskId: string, checkpointId: string): Promise<CheckpointRecord | undefined> {
      assertValidId('taskId', taskId);
      assertValidId('checkpointId', checkpointId);
      return readOne('load', taskId, scripts.load, [checkpointId]);
    },

    async latest(taskId: string): Promise<CheckpointRecord | undefined> {
      assertValidId('taskId', taskId);
      return readOne('latest', taskId, scripts.latest, []);
    },

    async list(taskId: string): Promise<CheckpointRecordMeta[]> {
      assertValidId('taskId', taskId);
      const k = keysOf(taskId);
      const reply = await run('list', taskId, scripts.list, k.task, [k.recPrefix, now()]);
      if (reply[0] !== Status.Ok) throw replyFailure(taskId, reply, maxRecordBytes);
      const metas: CheckpointRecordMeta[] = [];
      for (let i = 1; i + 2 < reply.length + 1; i += 3) {
        const id = reply[i];
        const packed = reply[i + 2];
        if (typeof id !== 'string') throw new StorageError('redis', 'unexpected reply from Redis');
        // "createdAt|expiresAt|bodyBytes"
        const fields = typeof packed === 'string' ? packed.split('|') : [];
        if (fields.length !== 3) {
          const reason = 'its stored header or metadata is missing or does not parse';
          throw new CorruptRecordError(taskId, id, reason);
        }
        metas.push(metaOf(taskId, id, reply[i + 1], fields[0], fields[1]));
      }
      return metas;
    },

    async delete(taskId: string, checkpointId: string): Promise<boolean> {
      assertValidId('taskId', taskId);
      assertValidId('checkpointId', checkpointId);
      const k = keysOf(taskId);
      const args = [k.recPrefix, now(), checkpointId];
      return numberOf(taskId, await run('delete', taskId, scripts.delete, k.task, args)) === 1;
    },

    async deleteOld(taskId: string, keepLatest: number): Promise<number> {
      assertValidId('taskId', taskId);
      assertKeepLatest(keepLatest);
      const k = keysOf(taskId);
      const args = [k.recPrefix, now(), String(keepLatest)];
      return numberOf(taskId, await run('deleteOld', taskId, scripts.deleteOld, k.task, args));
    },

    async head(taskId: string): Promise<number> {
      assertValidId('taskId', taskId);
      const k = keysOf(taskId);
      return numberOf(
        taskId,
        await run('head', taskId, scripts.head, k.task, [k.recPrefix, now()]),
      );
    },

    async appendLog(taskId: string, name: string, entries: readonly string[]): Promise<number> {
      assertValidId('taskId', taskId);
      assertValidId('log name', name);
      assertLogEntries(entries, maxRecordBytes, name);
      const k = keysOf(taskId);
      const logKey = k.log(name);
      if (entries.length === 0) {
        return command(taskId, `log ${name}`, 'appendLog', () => client.llen(logKey));
      }
      const args = [name, ...entries];
      const reply = await run('appendLog', taskId, scripts.appendLog, [logKey, k.logs], args);
      return numberOf(taskId, reply, `log ${name}`);
    },

    async readLog(taskId: string, name: string, readOptions?: ReadLogOptions): Promise<string[]> {
      assertValidId('taskId', taskId);
      assertValidId('log name', name);
      assertReadLogOptions(readOptions);
      const from = readOptions?.from ?? 0;
      const limit = readOptions?.limit;
      if (limit === 0) return [];
      const stop = limit === undefined ? -1 : from + limit - 1;
      const logKey = keysOf(taskId).log(name);
      const args = [from, stop, maxRecordBytes];
      const reply = await run('readLog', taskId, scripts.readLog, [logKey], args);
      if (reply[0] === Status.TooLarge) {
        throw new RecordTooLargeError(
          `Log ${name} entry ${reply[1]}`,
          Number(reply[2]),
          maxRecordBytes,
        );
      }
      if (reply[0] !== Status.Ok) throw replyFailure(taskId, reply, maxRecordBytes, `log ${name}`);
      const entries = reply.slice(1);
      if (!entries.every((entry) => typeof entry === 'string')) {
        throw new StorageError('redis', 'readLog: unexpected reply from Redis');
      }
      return entries as string[];
    },

    async deleteTask(taskId: string): Promise<boolean> {
      assertValidId('taskId', taskId);
      const k = keysOf(taskId);
      const keys = [...k.task, k.logs, k.lease];
      const args = [k.recPrefix, k.logPrefix, now()];
      return (
        numberOf(taskId, await run('deleteTask', taskId, scripts.deleteTask, keys, args)) === 1
      );
    },

    /**
     * SCANs the keyspace for the prefix's task keys (every master of a Cluster), then checks
     * the candidates after `after` in id order, {@link LIST_BATCH} at a time, with the head
     * script (the store's clock decides what expired) and their log names, until `limit` are
     * found. O(keys in the database) per page, plus the candidates' ids in memory: for
     * supervisors and tools, not for the path of a step.
     */
    async listTasks(listOptions?: ListTasksOptions): Promise<string[]> {
      const { after, limit } = listTasksOptions(listOptions);
      const candidates = [...(await scanTaskIds(after))].sort(compareIds);
      const listed: string[] = [];
      for (let i = 0; i < candidates.length && listed.length < limit; i += LIST_BATCH) {
        const batch = candidates.slice(i, i + LIST_BATCH);
        const live = await Promise.all(batch.map(isListed));
        for (let j = 0; j < batch.length && listed.length < limit; j++) {
          if (live[j]) listed.push(batch[j] as string);
        }
      }
      return listed;
    },

    async claimLease(taskId: string, owner: string, ttlMs: number): Promise<LeaseClaim> {
      assertLeaseArgs(taskId, owner, ttlMs);
      const at = Math.floor(clock());
      const expiresAt = at + ttlMs;
      const keys = [keysOf(taskId).lease];
      const args = [String(at), owner, String(expiresAt), String(ttlMs + LEASE_KEY_MARGIN_MS)];
      const reply = await run('claimLease', taskId, scripts.claimLease, keys, args);
      if (reply[0] !== Status.Ok) throw replyFailure(taskId, reply, maxRecordBytes, 'lease');
      // {0, 1}: granted; {0, 0, owner, expiresAt}: refused, with the holder's lease.
      if (reply[1] === 1) return { granted: true, lease: { owner, expiresAt } };
      if (reply[1] !== 0) {
        throw new StorageError('redis', 'claimLease: unexpected reply from Redis');
      }
      return { granted: false, lease: leaseOf(taskId, reply[2], reply[3]) };
    },

    async releaseLease(taskId: string, owner: string): Promise<boolean> {
      assertLeaseArgs(taskId, owner);
      const keys = [keysOf(taskId).lease];
      const reply = await run('releaseLease', taskId, scripts.releaseLease, keys, [now(), owner]);
      return numberOf(taskId, reply, 'lease') === 1;
    },

    async readLease(taskId: string): Promise<TaskLease | undefined> {
      assertValidId('taskId', taskId);
      const keys = [keysOf(taskId).lease];
      const reply = await run('readLease', taskId, scripts.readLease, keys, [now()]);
      if (reply[0] !== Status.Ok) throw replyFailure(taskId, reply, maxRecordBytes, 'lease');
      return reply.length === 1 ? undefined : leaseOf(taskId, reply[1], reply[2]);
    },

    /** Does nothing: the injected client stays open for its owner to `quit()`. */
    async close(): Promise<void> {},
  };
}
