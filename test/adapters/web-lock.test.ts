import { isOrchestrationError } from 'mcp-orchestration';
import { withWebLock } from 'mcp-orchestration/indexeddb';
import { describe, expect, it } from 'vitest';

// The Web Locks behaviour itself is tested in Chromium (test/browser/web-lock.browser.test.ts);
// Node before 24 has no `navigator.locks`, which is where a missing API is tested.
describe('withWebLock without the Web Locks API', () => {
  it.runIf(globalThis.navigator?.locks === undefined)(
    'rejects with a typed StorageError and never runs the task',
    async () => {
      let ran = false;
      const error = await withWebLock('mcp-orchestration:task:t1', async () => {
        ran = true;
      }).catch((caught: unknown) => caught);
      expect(isOrchestrationError(error, 'STORAGE_FAILED')).toBe(true);
      expect(String(error)).toContain('Web Locks API');
      expect(ran).toBe(false);
    },
  );
});
