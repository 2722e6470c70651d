import { describe, expect, it } from 'vitest';
import {
  BROWSER_ENTRIES,
  BROWSER_EXTERNALS,
  bundleForBrowser,
  isNodeBuiltin,
  repoRoot,
} from './browser-bundle.js';
import {
  findNodeImports,
  formatNodeImports,
  listTypeScript,
  scanNodeImports,
} from './node-imports.js';

/** The CLI is Node-only by design (its own entry); everything else in the core runs in browsers. */
const NODE_ONLY = ['src/cli'];

describe('the browser bundles', () => {
  for (const [name, file] of Object.entries(BROWSER_ENTRIES)) {
    it(`${name} (${file}) bundles for the browser with no Node built-in`, async () => {
      const bundle = await bundleForBrowser({ file });
      expect(
        bundle.builtins.map(({ specifier, importer }) => `${importer} imports '${specifier}'`),
      ).toEqual([]);
      // Whatever the bundle leaves out is one of the application's own browser dependencies.
      expect(bundle.externalImports.filter((path) => !BROWSER_EXTERNALS.includes(path))).toEqual(
        [],
      );
      expect(bundle.bytes).toBeGreaterThan(1_000);
      expect(bundle.gzipBytes).toBeLessThan(bundle.bytes);
    });
  }

  it('the check names a Node built-in that sneaks in, and who imports it', async () => {
    const bundle = await bundleForBrowser({
      contents: [
        "export * from './adapters/indexeddb.ts';",
        "export { readFile } from 'node:fs/promises';",
        "export { join } from 'path';",
      ].join('\n'),
      resolveDir: repoRoot,
    });
    expect(bundle.builtins).toEqual([
      { specifier: 'node:fs/promises', importer: '<stdin>' },
      { specifier: 'path', importer: '<stdin>' },
    ]);
    // The adapter opens its own database without idb-keyval (only its types are imported).
    expect(bundle.externalImports).toEqual(['node:fs/promises', 'path']);
  });
});

describe('Node built-in imports in src/ and machines/', () => {
  it('there are none (except in the Node-only CLI)', async () => {
    const files = [
      ...(await listTypeScript('src', NODE_ONLY)),
      ...(await listTypeScript('machines')),
    ];
    expect(files).toContain('src/index.ts');
    expect(files).toContain('machines/define-workflow.ts');
    expect(files.filter((file) => file.startsWith('src/cli/'))).toEqual([]);
    const found = await scanNodeImports(files);
    expect(found, `Node-only imports in browser code:\n${formatNodeImports(found)}`).toEqual([]);
  });

  it('the scan finds every import form and names file:line', () => {
    const source = [
      "import type { Stats } from 'node:fs';", // 1
      "// import { hostname } from 'os' (a comment is not an import)", // 2
      'import {', // 3
      '  join,', // 4
      "} from 'path';", // 5
      "export { randomUUID } from 'crypto';", // 6
      "const child = await import('node:child_process');", // 7
      "const fs = require('fs/promises');", // 8
      "import 'worker_threads';", // 9
      "import { createActor } from 'xstate';", // 10
      'const text = "import x from \'http\'";', // 11
      "import { sep } from './path';", // 12
    ].join('\n');
    expect(formatNodeImports(findNodeImports('src/example.ts', source))).toBe(
      [
        "src/example.ts:1 imports 'node:fs'",
        "src/example.ts:5 imports 'path'",
        "src/example.ts:6 imports 'crypto'",
        "src/example.ts:7 imports 'node:child_process'",
        "src/example.ts:8 imports 'fs/promises'",
        "src/example.ts:9 imports 'worker_threads'",
      ].join('\n'),
    );
  });

  it('knows Node built-ins from look-alike packages', () => {
    for (const name of ['fs', 'node:fs', 'fs/promises', 'node:test', 'path/posix', 'crypto']) {
      expect(isNodeBuiltin(name), name).toBe(true);
    }
    for (const name of ['xstate', '@xstate/store', 'idb-keyval', 'fsevents', './path', 'pathe']) {
      expect(isNodeBuiltin(name), name).toBe(false);
    }
  });
});
