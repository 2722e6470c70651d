import { fileURLToPath } from 'node:url';
import { defaultClientConditions, defineConfig } from 'vite';

/** The repository root: the page imports the package by name, from its TypeScript sources. */
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Vite config of the browser example (`npx vite examples/browser-agent`). The `source` export
 * condition makes `mcp-orchestration` and `mcp-orchestration/indexeddb` resolve to the package's
 * TypeScript (no build first); an application using the published package needs none of this.
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  resolve: { conditions: ['source', ...defaultClientConditions] },
  // Pre-bundled up front: optimizing a dependency after the first load reloads the page.
  optimizeDeps: { include: ['xstate', '@xstate/store', 'idb-keyval'] },
  server: { fs: { allow: [repoRoot] } },
  build: { target: 'es2022' },
});
