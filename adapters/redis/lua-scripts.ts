import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Cluster, Redis } from 'ioredis';

/** An ioredis client the Redis store can use: a single node or a cluster. */
export type RedisClient = Redis | Cluster;

/** A Lua script read from `lua/<name>-<numKeys>.lua`, with its includes resolved. */
export interface LuaScript {
  readonly name: string;
  readonly numKeys: number;
  readonly source: string;
  readonly sha: string;
}

const luaDir = new URL('./lua/', import.meta.url);
const INCLUDE = /^--- @include "([A-Za-z][\w-]*)"$/gm;

function readLua(path: string): string {
  return readFileSync(new URL(path, luaDir), 'utf8');
}

/** Reads `lua/<name>-<numKeys>.lua` and inlines its `--- @include "x"` lines (`lua/includes/x.lua`). */
export function loadLuaScript(name: string, numKeys: number): LuaScript {
  const source = readLua(`${name}-${numKeys}.lua`).replace(INCLUDE, (_, include: string) =>
    readLua(`includes/${include}.lua`),
  );
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
  if (keys.length !== script.numKeys) {
    throw new RangeError(`${script.name} takes ${script.numKeys} keys, got ${keys.length}`);
  }
  try {
    return await client.evalsha(script.sha, script.numKeys, ...keys, ...args);
  } catch (error) {
    if (!isNoScript(error)) throw error;
    return await client.eval(script.source, script.numKeys, ...keys, ...args);
  }
}
