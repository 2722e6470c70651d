import { createHash } from 'node:crypto';
import { type Cluster, Command, type Redis } from 'ioredis';
import { luaIncludes, luaScripts } from './lua-sources.js';

/** An ioredis client the Redis store can use: a single node or a cluster. */
export type RedisClient = Redis | Cluster;

/**
 * A Lua script, `lua/<name>-<numKeys>.lua`, with its includes resolved. `numKeys` `'N'`: the
 * script takes any number of keys (`lua/<name>-N.lua`).
 */
export interface LuaScript {
  readonly name: string;
  readonly numKeys: number | 'N';
  readonly source: string;
  readonly sha: string;
}

const INCLUDE = /^--- @include "([A-Za-z][\w-]*)"$/gm;

/**
 * `lua/<name>-<numKeys>.lua` with its `--- @include "x"` lines replaced by `lua/includes/x.lua`.
 * The files' text comes from `lua-sources.ts`, generated from them (`npm run generate:lua`), so
 * the store reads no file: a bundled application carries its scripts in its JavaScript.
 */
export function loadLuaScript(name: string, numKeys: number | 'N'): LuaScript {
  const file = `${name}-${numKeys}`;
  const script = luaScripts[file];
  if (script === undefined) throw new Error(`redis store: no Lua script lua/${file}.lua`);
  const source = script.replace(INCLUDE, (_, include: string) => {
    const text = luaIncludes[include];
    if (text === undefined) {
      throw new Error(
        `redis store: lua/${file}.lua includes a missing lua/includes/${include}.lua`,
      );
    }
    return text;
  });
  return { name, numKeys, source, sha: createHash('sha1').update(source).digest('hex') };
}

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}

/**
 * Runs a script with EVALSHA, falling back to EVAL (which also caches it on the server) when the
 * server does not know it yet. Only the script's own source is ever evaluated, never stored data.
 */
export async function runLuaScript(
  client: RedisClient,
  script: LuaScript,
  keys: readonly string[],
  args: readonly (string | number)[],
): Promise<unknown> {
  if (script.numKeys !== 'N' && keys.length !== script.numKeys) {
    throw new RangeError(`${script.name} takes ${script.numKeys} keys, got ${keys.length}`);
  }
  try {
    return await client.evalsha(script.sha, keys.length, ...keys, ...args);
  } catch (error) {
    if (!isNoScript(error)) throw error;
    return await client.eval(script.source, keys.length, ...keys, ...args);
  }
}

/**
 * Like {@link runLuaScript}, but the call is written to the connection at once, past ioredis'
 * auto-pipelining (which holds every command while the client's previous auto-pipeline is in
 * flight): for callers that batch themselves and keep several calls in flight, in order.
 */
export async function sendLuaScript(
  client: RedisClient,
  script: LuaScript,
  keys: readonly string[],
  args: readonly (string | number)[],
): Promise<unknown> {
  const send = (name: 'evalsha' | 'eval', text: string) => {
    const command = new Command(name, [text, keys.length, ...keys, ...args], {
      keyPrefix: client.options?.keyPrefix,
      replyEncoding: 'utf8',
    });
    client.sendCommand(command);
    return command.promise;
  };
  try {
    return await send('evalsha', script.sha);
  } catch (error) {
    if (!isNoScript(error)) throw error;
    return await send('eval', script.source);
  }
}
