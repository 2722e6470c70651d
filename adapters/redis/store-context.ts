/**
 * What the Redis store's modules share: its Lua scripts, and a context bound to one store's
 * client and settings that runs them (and plain commands) with failures mapped to typed errors.
 * Internal to the adapter.
 */
import { StorageError } from '../../src/errors.js';
import { type LuaScript, loadLuaScript, type RedisClient, runLuaScript } from './lua-scripts.js';
import { keysOf, type TaskKeys } from './redis-keys.js';
import { failure, integerOf, replyFailure, Status } from './redis-replies.js';

/**
 * The store's Lua scripts (`lua/<name>-<numKeys>.lua`, built into the adapter by `lua-sources.ts`),
 * resolved and hashed once when the adapter loads.
 */
export const scripts = {
  save: loadLuaScript('save', 1),
  saveMany: loadLuaScript('saveMany', 'N'),
  load: loadLuaScript('load', 3),
  latest: loadLuaScript('latest', 3),
  list: loadLuaScript('list', 3),
  head: loadLuaScript('head', 3),
  delete: loadLuaScript('delete', 3),
  deleteOld: loadLuaScript('deleteOld', 3),
  appendLog: loadLuaScript('appendLog', 2),
  appendLogAt: loadLuaScript('appendLogAt', 5),
  readLog: loadLuaScript('readLog', 1),
  deleteTask: loadLuaScript('deleteTask', 5),
  claimLease: loadLuaScript('claimLease', 1),
  releaseLease: loadLuaScript('releaseLease', 1),
  readLease: loadLuaScript('readLease', 1),
} as const;

/** A store's validated settings, as {@link createStoreContext} takes them. */
export interface StoreSettings {
  readonly client: RedisClient;
  readonly prefix: string;
  readonly maxRecordBytes: number;
  readonly clock: () => number;
}

/** One store's client, settings and the helpers every operation uses. */
export interface StoreContext extends StoreSettings {
  /** Whether the client is a Redis `Cluster` (tasks' keys may live on different nodes). */
  readonly cluster: boolean;
  /** The client's `keyPrefix` (`''` when none): ioredis adds it to neither SCAN nor script args. */
  readonly clientPrefix: string;
  /** The store's clock, as the scripts take it: whole milliseconds, in decimal. */
  now(): string;
  /** The keys of one task. */
  keysOf(taskId: string): TaskKeys;
  /** Runs a script; a wrong-typed key is corrupt, any other failure a {@link StorageError}. */
  run(
    operation: string,
    taskId: string,
    script: LuaScript,
    keys: readonly string[],
    args: readonly (string | number)[],
  ): Promise<unknown[]>;
  /** Runs one plain command: WRONGTYPE means a corrupt key, anything else a storage failure. */
  command<T>(
    taskId: string,
    recordId: string,
    operation: string,
    send: () => Promise<T>,
  ): Promise<T>;
  /** The number in a `{0, n}` reply (head, delete, deleteOld, appendLog, deleteTask). */
  numberOf(taskId: string, reply: unknown[], recordId?: string): number;
}

/** The context of a store with these (already validated) settings. */
export function createStoreContext(settings: StoreSettings): StoreContext {
  const { client, prefix, maxRecordBytes, clock } = settings;
  // ioredis prepends a client's `keyPrefix` to declared keys, not to the record and log key
  // prefixes the scripts receive as arguments: those get it here.
  const clientPrefix = client.options?.keyPrefix ?? '';

  async function run(
    operation: string,
    taskId: string,
    script: LuaScript,
    keys: readonly string[],
    args: readonly (string | number)[],
  ): Promise<unknown[]> {
    let reply: unknown;
    try {
      reply = await runLuaScript(client, script, keys, args);
    } catch (error) {
      throw failure(operation, taskId, 'index', error);
    }
    if (!Array.isArray(reply) || typeof reply[0] !== 'number') {
      throw new StorageError('redis', `${operation}: unexpected reply from Redis`);
    }
    return reply;
  }

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

  function numberOf(taskId: string, reply: unknown[], recordId?: string): number {
    if (reply[0] !== Status.Ok) throw replyFailure(taskId, reply, maxRecordBytes, recordId);
    const value = integerOf(reply[1]);
    if (value === undefined) throw new StorageError('redis', 'unexpected reply from Redis');
    return value;
  }

  return {
    client,
    prefix,
    maxRecordBytes,
    clock,
    cluster: client.isCluster === true,
    clientPrefix,
    now: () => String(Math.floor(clock())),
    keysOf: (taskId) => keysOf(prefix, clientPrefix, taskId),
    run,
    command,
    numberOf,
  };
}
