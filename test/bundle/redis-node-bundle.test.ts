import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import type { createRedisStore as CreateRedisStore } from 'mcp-orchestration/redis';
import { afterAll, expect, it } from 'vitest';
import {
  createTestClient,
  deleteKeysUnder,
  describeRedis,
  randomPrefix,
} from '../support/redis.js';
import { repoRoot } from './browser-bundle.js';

/**
 * The Redis store bundled into a Node application (esbuild `--platform=node`, as for a container
 * or a lambda, ioredis left to the application): it must carry its Lua scripts in its
 * JavaScript, since a bundle has no `lua/` folder next to it, and reach no Node built-in but the
 * one it needs (`node:crypto`).
 */

// Inside the repository, so that the bundle's `import 'ioredis'` resolves; test/artifacts is
// ignored by git.
const artifacts = join(repoRoot, 'test', 'artifacts');
mkdirSync(artifacts, { recursive: true });
const outDir = mkdtempSync(join(artifacts, 'redis-node-bundle-'));
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

async function bundleRedisStore() {
  const outfile = join(outDir, 'server.mjs');
  const result = await build({
    absWorkingDir: repoRoot,
    entryPoints: [join(repoRoot, 'adapters/redis/index.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    conditions: ['source'],
    external: ['ioredis'],
    metafile: true,
    outfile,
    logLevel: 'silent',
  });
  const imports = Object.values(result.metafile.outputs).flatMap((out) =>
    out.imports.filter((imported) => imported.external).map((imported) => imported.path),
  );
  return { outfile, imports: [...new Set(imports)].sort() };
}

it('the Redis store bundles for Node reading no file and importing only ioredis and node:crypto', async () => {
  const { imports } = await bundleRedisStore();
  expect(imports).toEqual(['ioredis', 'node:crypto']);
});

describeRedis('the Redis store bundled for Node', () => {
  it('loads and runs its scripts (no lua/ folder next to the bundle)', async () => {
    const { outfile } = await bundleRedisStore();
    const { createRedisStore } = (await import(pathToFileURL(outfile).href)) as {
      createRedisStore: typeof CreateRedisStore;
    };
    const client = createTestClient();
    const prefix = randomPrefix();
    const store = createRedisStore({ client, prefix });
    try {
      await store.save({ taskId: 't1', checkpointId: 'c1', createdAt: 1, body: '{"a":1}' });
      expect((await store.latest('t1'))?.body).toBe('{"a":1}');
      expect((await store.claimLease('t1', 'me', 60_000)).granted).toBe(true);
    } finally {
      await store.close();
      await deleteKeysUnder(client, prefix);
      await client.quit();
    }
  });
});
