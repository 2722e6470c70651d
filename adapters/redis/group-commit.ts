/**
 * The Redis store's save path, with group commit. Internal to the adapter.
 *
 * A save into an idle store goes at once as one `save` call, as without batching; saves issued
 * while its calls are in flight wait and go together as one `saveMany` call, with those issued
 * in the same tick (flushed by `process.nextTick`, no timer). A queue waits while two calls are
 * in flight, and a long one goes as two calls, so the client prepares one while Redis runs the
 * other; a call (with the `SETEX`s of its large values) is written to the connection directly
 * (past ioredis' auto-pipelining), in order, corked into one write. Each save of a call keeps its
 * own all-or-nothing semantics, nonce and answer (a conflict or a corrupt task fails only that
 * save), and saves of one task apply in the order they were issued. A save's log entries
 * (`appendLog`) ride after its value in the same call and land with its record or not at all.
 * A call re-sent after a lost reply answers as its first run did: applied saves by their nonces
 * (their entries are not appended again), refused ones from the answers the first run kept
 * (`…:ans:<nonce>`, 5 minutes). Through a Redis `Cluster` (keys of different tasks may live in
 * different slots) only saves of one task are batched, one call in flight per task; a single
 * node has one lane for all tasks. A call carries at most 256 saves and 1 MiB of values and
 * entries (a larger value goes alone).
 */
import { randomUUID } from 'node:crypto';
import { Command, type Redis } from 'ioredis';
import type {
  NewCheckpointRecord,
  SavedRecord,
  SaveRecordOptions,
} from '../../src/checkpoint/checkpoint-store.js';
import { assertSavable } from '../../src/checkpoint/store-guards.js';
import {
  CheckpointConflictError,
  CheckpointExistsError,
  isOrchestrationError,
  StorageError,
} from '../../src/errors.js';
import { sendLuaScript } from './lua-scripts.js';
import { connectionTrouble, failure, recordValue, replyFailure, Status } from './redis-replies.js';
import { type StoreContext, scripts } from './store-context.js';

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
 * Most saves, and most value characters, in one saveMany call: a longer queue goes as several
 * calls sent together, so one script never holds the server for long.
 */
const BATCH_SAVES = 256;
const BATCH_CHARS = 1024 * 1024;

/**
 * Calls a lane keeps in flight before saves wait (one through a Cluster, see createGroupCommit);
 * a flush may send one more, or more when the queue is over {@link BATCH_SAVES}.
 */
const LANE_CALLS = 2;

/** A queue of at least twice this many saves is split over the lane's free calls. */
const SPLIT_SAVES = 16;

const NO_ENTRIES: readonly string[] = Object.freeze([]);

/**
 * A save waiting in its lane: what its packed argument needs, its value, and how to answer. One
 * object per save, no closures of its own (a save's Node-side cost counts).
 */
interface PendingSave {
  readonly taskId: string;
  /** `<prefix>{taskId}:`, the base of the task's keys (without the client's keyPrefix). */
  readonly base: string;
  readonly now: number;
  readonly checkpointId: string;
  readonly expiresAt: number | undefined;
  readonly expectedSeq: number | undefined;
  /** `SaveRecordOptions.expectedId`, or `''`. */
  readonly expectedId: string;
  readonly nonce: string;
  /**
   * The record value (with its header: nonce, id, createdAt, expiresAt, the body's size): an
   * argument of the call, or sent ahead into `<base>tmp:<nonce>`.
   */
  readonly value: string;
  /** Whether the value rides inline (up to {@link INLINE_SAVE_CHARS}). */
  readonly inline: boolean;
  /** The log the save appends `entries` to (`appendLog`), or `''`. */
  readonly log: string;
  /** The entries it appends (arguments of the call after its value); none: `[]`. */
  readonly entries: readonly string[];
  /** Characters of the save in a call (its value, inline or sent ahead, and its entries). */
  readonly chars: number;
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

/** A store's `save`: checks the record, then hands it to the group commit. */
export type SaveFunction = (
  record: NewCheckpointRecord,
  saveOptions?: SaveRecordOptions,
) => Promise<SavedRecord>;

/** The `save` of the store with this context, with its own lanes and nonces. */
export function createGroupCommit(context: StoreContext): SaveFunction {
  const { client, cluster, prefix, clientPrefix, maxRecordBytes, clock } = context;
  // Nonces: a random UUID's first 23 characters (92 random bits), drawn once per store, then a
  // 12-hex-digit counter: unique per save call like a random UUID each (same shape, 36
  // characters), for a fraction of the cost.
  const noncePrefix = `${randomUUID().slice(0, 23)}-`;
  let nonceCount = 0;
  const nextNonce = () => noncePrefix + (nonceCount++).toString(16).padStart(12, '0');

  // A lane holds the saves waiting for their call and counts its calls in flight; it exists (in
  // `lanes`) while busy. One lane for a single node (one connection: calls run in the order
  // sent); one per task through a Cluster (a call's keys must share a slot).
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
      let chars = (queue[start] as PendingSave).chars;
      while (end < queue.length && end - start < size) {
        chars += (queue[end] as PendingSave).chars;
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
   * A save's arguments in one
   * (`group|now|expiresAt|expectedSeq|expectedId|checkpointId|log|count`): every argument of a
   * call costs the client and the server, a save's eight as one cost less.
   * createdAt and the body's size travel in the value's header, which the script does not read;
   * the log's entries follow the value.
   */
  function packed(save: PendingSave, group: number): string {
    const { now, expiresAt, expectedSeq, expectedId, checkpointId, log, entries } = save;
    const appended = entries.length === 0 ? '|' : `${log}|${entries.length}`;
    const expected = `${expectedSeq ?? ''}|${expectedId}`;
    return `${group}|${now}|${expiresAt ?? ''}|${expected}|${checkpointId}|${appended}`;
  }

  /** A save's arguments: packed, its value (or nonce), then its log entries. */
  function pushArgs(args: string[], save: PendingSave, group: number): void {
    args.push(packed(save, group), save.inline ? save.value : save.nonce);
    for (const entry of save.entries) args.push(entry);
  }

  /** A lone save: one save-1 call. */
  async function saveOne(lane: Lane, save: PendingSave): Promise<void> {
    let reply: unknown;
    try {
      const keys = [`${save.base}idx`];
      const args: string[] = [];
      pushArgs(args, save, 1);
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
      pushArgs(args, save, group);
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
        case Status.NoValue: {
          // The value sent ahead was lost on the way (its SETEX failed), or it expired.
          const trouble = connectionTrouble(save.tempError);
          const why = trouble === undefined ? '' : ` (${trouble})`;
          const message = `save of task ${taskId} failed: the record value did not reach Redis${why}`;
          throw new StorageError('redis', message, {
            cause: save.tempError ?? new Error('the value sent ahead was gone when the save ran'),
          });
        }
        default:
          throw replyFailure(taskId, answer, maxRecordBytes, checkpointId);
      }
    } catch (error) {
      save.reject(error);
    }
  }

  return (record: NewCheckpointRecord, saveOptions?: SaveRecordOptions): Promise<SavedRecord> => {
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
    const append = saveOptions?.appendLog;
    const entries = append?.entries ?? NO_ENTRIES;
    const inline = body.length <= INLINE_SAVE_CHARS;
    let chars = value.length;
    for (const entry of entries) chars += entry.length;
    return new Promise<SavedRecord>((resolve, reject) => {
      enqueue({
        taskId,
        base: `${prefix}{${taskId}}:`,
        now: Math.floor(clock()),
        checkpointId,
        expiresAt,
        expectedSeq: saveOptions?.expectedSeq,
        expectedId: saveOptions?.expectedId ?? '',
        nonce,
        value,
        inline,
        log: entries.length === 0 ? '' : (append?.name ?? ''),
        entries,
        chars,
        resolve,
        reject,
      });
    });
  };
}
