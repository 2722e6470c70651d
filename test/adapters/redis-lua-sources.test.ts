import { createHash } from 'node:crypto';
import { appendFileSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { loadLuaScript } from '../../adapters/redis/lua-scripts.js';
import { luaIncludes, luaScripts } from '../../adapters/redis/lua-sources.js';
import { scripts } from '../../adapters/redis/store-context.js';
import {
  GENERATE_COMMAND,
  LUA_DIR,
  LUA_SOURCES_FILE,
  renderLuaSources,
} from '../../scripts/generate-lua-sources.js';

/**
 * The Redis store carries its Lua scripts in `adapters/redis/lua-sources.ts`, generated from
 * `adapters/redis/lua/**.lua` (`npm run generate:lua`), so a bundled application needs no file
 * next to it. These tests fail when the generated module is out of date with the `.lua` files.
 */

/** A script as the store used to read it from disk: the file, each include line inlined. */
function readFromDisk(file: string): string {
  return readFileSync(join(LUA_DIR, file), 'utf8').replace(
    /^--- @include "([A-Za-z][\w-]*)"$/gm,
    (_, include: string) => readFileSync(join(LUA_DIR, 'includes', `${include}.lua`), 'utf8'),
  );
}

const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');

let scratch: string | undefined;
afterEach(() => {
  if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
  scratch = undefined;
});

/** A copy of `adapters/redis/lua/` to change. */
function copyLuaDir(): string {
  scratch = mkdtempSync(join(tmpdir(), 'lua-sources-'));
  const dir = join(scratch, 'lua');
  cpSync(LUA_DIR, dir, { recursive: true });
  return dir;
}

describe('the Redis store’s generated Lua sources (adapters/redis/lua-sources.ts)', () => {
  it('are up to date with adapters/redis/lua/*.lua', () => {
    expect(
      readFileSync(LUA_SOURCES_FILE, 'utf8'),
      `adapters/redis/lua-sources.ts is out of date with adapters/redis/lua/: run \`${GENERATE_COMMAND}\``,
    ).toBe(renderLuaSources());
  });

  it('give every script the store runs exactly as its .lua file reads, includes inlined', () => {
    expect(Object.keys(scripts).length).toBeGreaterThan(10);
    for (const script of Object.values(scripts)) {
      const file = `${script.name}-${script.numKeys}.lua`;
      expect(script.source, file).toBe(readFromDisk(file));
      expect(script.source, file).not.toMatch(/^--- @include/m);
      // The hash EVALSHA sends is the one Redis gives the source.
      expect(script.sha, file).toBe(sha1(script.source));
    }
    expect(scripts.save.source).toContain(luaIncludes.taskKeys);
    expect(scripts.save.source).toContain(luaIncludes.saveRecord);
    expect(scripts.claimLease.source).toContain(luaIncludes.lease);
  });

  it('hold each .lua file as it reads', () => {
    expect(Object.keys(luaScripts)).toContain('saveMany-N');
    expect(Object.keys(luaIncludes).sort()).toEqual(['lease', 'saveRecord', 'taskKeys']);
    for (const [key, source] of Object.entries(luaScripts)) {
      expect(source, key).toBe(readFileSync(join(LUA_DIR, `${key}.lua`), 'utf8'));
    }
    for (const [key, source] of Object.entries(luaIncludes)) {
      expect(source, key).toBe(readFileSync(join(LUA_DIR, 'includes', `${key}.lua`), 'utf8'));
    }
  });

  it('go out of date when a script or an include changes, or a script is added', () => {
    const dir = copyLuaDir();
    const before = renderLuaSources(dir);

    appendFileSync(join(dir, 'includes', 'lease.lua'), '-- changed\n');
    const changedInclude = renderLuaSources(dir);
    expect(changedInclude).not.toBe(before);
    expect(changedInclude).toContain('-- changed\n');

    writeFileSync(join(dir, 'save-1.lua'), 'return 1\n');
    expect(renderLuaSources(dir)).not.toBe(changedInclude);

    writeFileSync(join(dir, 'ping-0.lua'), "return 'PONG'\n");
    expect(renderLuaSources(dir)).toContain("'ping-0': `return 'PONG'\n`,");
  });

  it('refuse a .lua file the store could not name', () => {
    const dir = copyLuaDir();
    writeFileSync(join(dir, 'save.lua'), 'return 1\n');
    expect(() => renderLuaSources(dir)).toThrow(/save\.lua is not named as/);
  });

  it('keep any text exactly: backslashes, backticks, ${, carriage returns', async () => {
    const dir = copyLuaDir();
    const dollar = '$'; // '$' then '{' in the Lua text, not a placeholder here
    // A backtick, `\n` as two characters, `${`, a backslash before a backtick, CRLF, `\\`.
    const tricky = `-- \`a\` \\n ${dollar}{b} \\\` $ { } \r\nreturn 'x\\\\y'\r\n`;
    const odd = `-- ${dollar}{odd}\\\n`;
    writeFileSync(join(dir, 'tricky-0.lua'), tricky);
    writeFileSync(join(dir, 'includes', 'odd-one.lua'), odd);
    const generated = join(dir, 'lua-sources.ts');
    writeFileSync(generated, renderLuaSources(dir));
    const module = (await import(pathToFileURL(generated).href)) as {
      luaScripts: Record<string, string>;
      luaIncludes: Record<string, string>;
    };
    expect(module.luaScripts['tricky-0']).toBe(tricky);
    expect(module.luaIncludes['odd-one']).toBe(odd);
    expect(module.luaScripts['save-1']).toBe(luaScripts['save-1']);
  });

  it('an unknown script fails loudly when the adapter loads it', () => {
    expect(() => loadLuaScript('nope', 1)).toThrow('no Lua script lua/nope-1.lua');
    expect(loadLuaScript('save', 1)).toEqual(scripts.save);
  });
});
