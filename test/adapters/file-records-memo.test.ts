import { describe, expect, it } from 'vitest';
import { type RecordsMemo, RecordsMemos } from '../../adapters/file/records-memo.js';

// The file store's memory of the records it saved (see also file-store.test.ts, which checks
// that saves go by the files whenever the memo cannot be trusted).

const memo = (ids: string[], nextExpiry = Number.POSITIVE_INFINITY): RecordsMemo => ({
  head: ids.length,
  headId: ids.at(-1),
  ids: new Set(ids),
  nextExpiry,
});

describe('file store records memo', () => {
  it('is good for one claim that follows the one that left it, before anything expires', () => {
    const memos = new RecordsMemos();
    memos.put('t', 'token-1', memo(['a'], 100));
    expect(memos.take('t', 'token-1', 99)?.ids).toEqual(new Set(['a']));
    expect(memos.take('t', 'token-1', 99)).toBeUndefined(); // taken: one claim only
    memos.put('t', 'token-2', memo(['a'], 100));
    expect(memos.take('t', 'token-other', 0)).toBeUndefined();
    memos.put('t', 'token-3', memo(['a'], 100));
    expect(memos.take('t', 'token-3', 100)).toBeUndefined(); // 'a' expired
    memos.put('t', 'token-4', memo([]));
    expect(memos.take('t', 'token-4', 0)).toBeUndefined(); // nothing live: read the files
  });

  it('keeps at most 1,024 tasks and 200,000 ids, forgetting the least recently used', () => {
    const memos = new RecordsMemos();
    for (let i = 0; i < 1_025; i++) memos.put(`t${i}`, `k${i}`, memo([`c${i}`]));
    expect(memos.take('t0', 'k0', 0)).toBeUndefined();
    expect(memos.take('t1', 'k1', 0)).toBeDefined();
    const big = Array.from({ length: 150_000 }, (_, i) => `id${i}`);
    memos.put('big-1', 'b1', memo(big));
    memos.put('big-2', 'b2', memo(big)); // 300,000 ids: the older big one goes
    expect(memos.take('big-1', 'b1', 0)).toBeUndefined();
    expect(memos.take('big-2', 'b2', 0)?.ids.size).toBe(150_000);
    memos.put('huge', 'h', memo([...big, ...big.map((id) => `${id}x`)]));
    expect(memos.take('huge', 'h', 0)).toBeUndefined(); // over the bound alone: not kept
  });
});
