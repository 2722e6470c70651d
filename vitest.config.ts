import { existsSync } from 'node:fs';
import { playwright } from '@vitest/browser-playwright';
import type { TestProjectInlineConfiguration } from 'vitest/config';
import { defineConfig } from 'vitest/config';

/**
 * Two projects: `node` runs every test under `test/` except `test/browser/`, and `browser` runs
 * `test/browser/**` in headless Chromium (vitest browser mode with playwright) against the real
 * IndexedDB. The browser is the system Chromium (`CHROMIUM_PATH`, default `/usr/bin/chromium`);
 * playwright never downloads one. Without it, CI fails here and a developer run skips the browser
 * project with a loud warning.
 */
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Whether this is a CI run (`CI` set to anything but empty, `0` or `false`). */
function inCi(): boolean {
  const ci = process.env.CI?.trim().toLowerCase();
  return ci !== undefined && ci !== '' && ci !== '0' && ci !== 'false';
}

function browserProject(): TestProjectInlineConfiguration | undefined {
  if (!existsSync(chromiumPath)) {
    const message = `Chromium not found at ${chromiumPath} (set CHROMIUM_PATH, or install Debian's chromium): the browser tests cannot run`;
    if (inCi()) throw new Error(message);
    const line = '!'.repeat(100);
    console.warn(
      `\n${line}\n!!! WARNING: ${message}.\n!!! SKIPPING the browser project (test/browser/**).\n${line}\n`,
    );
    return undefined;
  }
  return {
    extends: true,
    // Pre-bundled up front: optimizing a dependency mid-run reloads the page under test.
    optimizeDeps: { include: ['idb-keyval', 'xstate', '@xstate/store', '@statelyai/inspect'] },
    test: {
      name: 'browser',
      include: ['test/browser/**/*.test.ts'],
      browser: {
        enabled: true,
        headless: true,
        screenshotFailures: false,
        provider: playwright({
          launchOptions: {
            executablePath: chromiumPath,
            args: [
              '--no-sandbox',
              '--disable-gpu',
              '--disable-background-networking',
              '--disable-component-update',
              '--no-first-run',
              '--disable-sync',
            ],
          },
        }),
        instances: [{ browser: 'chromium' }],
      },
    },
  };
}

const browser = browserProject();

export default defineConfig({
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'], externalConditions: ['source'] } },
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'node',
          include: ['test/**/*.test.ts'],
          exclude: ['test/browser/**', 'test/e2e/**', '**/node_modules/**'],
          // Many tests do real I/O (fsync, Redis, child processes) on a 2-core machine running
          // test files in parallel: 5 s (vitest's default) is too tight under that load.
          testTimeout: 20_000,
          // eventsource-parser and eventsource (under the MCP SDK) export a `source` condition
          // pointing at their .ts sources, which Node cannot load once the SDK is externalized
          // (its imports then resolve with our `source` condition): vite compiles all three.
          server: {
            deps: { inline: ['@modelcontextprotocol/sdk', 'eventsource-parser', 'eventsource'] },
          },
        },
      },
      ...(browser === undefined ? [] : [browser]),
      {
        extends: true,
        test: {
          // End-to-end: example pages served by vite and driven in headless Chromium with
          // playwright-core (each test file skips loudly without Chromium, and fails under CI).
          name: 'e2e',
          include: ['test/e2e/**/*.e2e.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
