import type { UseStore } from 'idb-keyval';
import { createIndexedDbStore } from 'mcp-orchestration/indexeddb';
import { describe, expect, it } from 'vitest';

// The store itself is tested in Chromium (test/browser/); its options are checked before it
// touches IndexedDB, so Node checks them with a store that must never be used.
const unused = (() => Promise.reject(new Error('IndexedDB used'))) as unknown as UseStore;

describe('createIndexedDbStore options', () => {
  it('refuses a maxRecordBytes that is not an integer > 0, as the file and Redis stores do', () => {
    // NaN would lift the bound (every size passes); 0, -5 and 1.5 would fail every save.
    for (const bad of [Number.NaN, 0, -5, 1.5, Number.POSITIVE_INFINITY, '1024']) {
      const create = () => createIndexedDbStore({ store: unused, maxRecordBytes: bad as number });
      expect(create).toThrow(TypeError);
      expect(create).toThrow(`maxRecordBytes must be an integer > 0, got ${bad}`);
    }
    expect(() => createIndexedDbStore({ store: unused, maxRecordBytes: 1 })).not.toThrow();
    expect(() => createIndexedDbStore({ store: unused })).not.toThrow();
  });

  it('refuses a sweepPerSave that is not an integer ≥ 0', () => {
    for (const bad of [Number.NaN, -1, 1.5, Number.POSITIVE_INFINITY]) {
      expect(() => createIndexedDbStore({ store: unused, sweepPerSave: bad })).toThrow(
        `sweepPerSave must be an integer ≥ 0, got ${bad}`,
      );
    }
    expect(() => createIndexedDbStore({ store: unused, sweepPerSave: 0 })).not.toThrow();
  });
});
