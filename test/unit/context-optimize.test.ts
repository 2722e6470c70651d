import fc from 'fast-check';
import {
  createContext,
  estimateTokens,
  type JsonValue,
  type OptimizationLevel,
  optimizeContext,
} from 'mcp-orchestration';
import { describe, expect, it } from 'vitest';

interface Optimization {
  tokensBefore: number;
  tokensAfter: number;
  maxTokens: number;
  withinBudget: boolean;
  level: OptimizationLevel | null;
}

const optimizationOf = (metadata: Record<string, unknown>) =>
  metadata.optimization as unknown as Optimization;

describe('optimizeContext', () => {
  it('estimates one token per four characters of JSON by default', () => {
    expect(estimateTokens('')).toBe(0);
    expect(estimateTokens('abcd')).toBe(1);
    expect(estimateTokens('abcde')).toBe(2);
  });

  it('returns a new context even when the data already fits, keeping metadata', () => {
    const original = createContext('Notes', { text: 'short' }, { metadata: { by: 'ana' } });
    const result = optimizeContext(original, { maxTokens: 100 });
    expect(result.contextId).not.toBe(original.contextId);
    expect(result.contextType).toBe('Notes');
    expect(result.data).toEqual(original.data);
    expect(result.metadata).toEqual({
      by: 'ana',
      optimizedFrom: original.contextId,
      optimization: {
        tokensBefore: 4,
        tokensAfter: 4,
        maxTokens: 100,
        withinBudget: true,
        level: null,
      },
    });
    expect(Object.isFrozen(result.data)).toBe(true);
  });

  it('first drops null and empty properties (arrays keep their positions)', () => {
    const original = createContext('Sparse', {
      a: null,
      b: '',
      c: [],
      d: {},
      e: { f: null },
      list: [null, 1],
      keep: 'x'.repeat(40),
    });
    const result = optimizeContext(original, { maxTokens: 20 });
    expect(result.data).toEqual({ list: [null, 1], keep: 'x'.repeat(40) });
    expect(optimizationOf(result.metadata).level).toEqual({ dropEmpty: true });
    expect(optimizationOf(result.metadata).withinBudget).toBe(true);
  });

  it('then cuts long strings with a marker, never splitting a surrogate pair', () => {
    const original = createContext('Long', { text: 'a'.repeat(10_000) });
    const result = optimizeContext(original, { maxTokens: 200 });
    expect(result.data).toEqual({ text: `${'a'.repeat(500)}…[+9500 chars]` });
    expect(optimizationOf(result.metadata)).toMatchObject({
      tokensBefore: 2503,
      withinBudget: true,
      level: { maxStringLength: 500 },
    });

    const emoji = createContext('Emoji', `${'a'.repeat(19)}${'😀'.repeat(100)}`);
    const cut = optimizeContext(emoji, { maxTokens: 10 }).data as string;
    expect(cut).toBe(`${'a'.repeat(19)}…[+200 chars]`);
  });

  it('then shortens long arrays to their head and tail around a "…N more" item', () => {
    const numbers = Array.from({ length: 1000 }, (_, i) => i);
    const result = optimizeContext(createContext('Numbers', numbers), { maxTokens: 100 });
    const data = result.data as JsonValue[];
    expect(data).toHaveLength(100);
    expect(data.slice(0, 50)).toEqual(numbers.slice(0, 50));
    expect(data[50]).toBe('…901 more');
    expect(data.slice(51)).toEqual(numbers.slice(951));
    expect(optimizationOf(result.metadata).level).toMatchObject({ maxArrayLength: 100 });
  });

  it('finally collapses deep subtrees into "…{N keys}" / "…[N items]"', () => {
    let deep: JsonValue = { v: 'x', w: [1, 2] };
    for (let i = 0; i < 50; i++) deep = { l: deep };
    const result = optimizeContext(createContext('Deep', deep), { maxTokens: 10 });
    const { level, withinBudget, tokensAfter } = optimizationOf(result.metadata);
    expect(withinBudget).toBe(true);
    expect(tokensAfter).toBeLessThanOrEqual(10);
    const maxDepth = level?.maxDepth as number;
    let node = result.data;
    for (let i = 0; i < maxDepth; i++) node = (node as { l: JsonValue }).l;
    expect(node).toBe('…{1 key}');
    const twelve = Array.from({ length: 12 }, (_, i) => i + 1);
    expect(optimizeContext(createContext('L', [twelve]), { maxTokens: 4 }).data).toEqual([
      '…[12 items]',
    ]);
    expect(optimizeContext(createContext('L', [['a'.repeat(30)]]), { maxTokens: 4 }).data).toEqual([
      '…[1 item]',
    ]);
  });

  it('returns the smallest result and says so when the budget cannot be met', () => {
    const original = createContext('Wide', { a: 1, b: 2, c: 3 });
    const result = optimizeContext(original, { maxTokens: 0 });
    expect(result.data).toBe('…{3 keys}');
    expect(optimizationOf(result.metadata)).toMatchObject({
      tokensAfter: 3,
      withinBudget: false,
      level: { maxDepth: 0 },
    });
  });

  it('uses a custom estimator', () => {
    const words = (json: string) => json.split(/\s+/).length;
    const original = createContext('Prose', { text: Array(300).fill('word').join(' ') });
    const result = optimizeContext(original, { maxTokens: 50, estimateTokens: words });
    const { tokensBefore, tokensAfter } = optimizationOf(result.metadata);
    expect(tokensBefore).toBe(300);
    expect(tokensAfter).toBe(words(JSON.stringify(result.data)));
    expect(tokensAfter).toBeLessThanOrEqual(50);
  });

  it('refuses a budget or an estimate that is not a finite number', () => {
    const original = createContext('T', 1);
    expect(() => optimizeContext(original, { maxTokens: Number.NaN })).toThrow(RangeError);
    expect(() => optimizeContext(original, { maxTokens: -1 })).toThrow(RangeError);
    expect(() =>
      optimizeContext(original, { maxTokens: 1, estimateTokens: () => Number.NaN }),
    ).toThrow(RangeError);
  });

  it('fits the budget whenever it can, and never grows or touches the original (property)', () => {
    fc.assert(
      fc.property(
        fc.jsonValue({ maxDepth: 5 }),
        fc.integer({ min: 0, max: 120 }),
        (data, maxTokens) => {
          const original = createContext('Any', data as JsonValue);
          const before = JSON.stringify(original);
          const result = optimizeContext(original, { maxTokens });
          const info = optimizationOf(result.metadata);
          expect(JSON.stringify(original)).toBe(before);
          expect(info.tokensAfter).toBe(estimateTokens(JSON.stringify(result.data)));
          expect(info.withinBudget).toBe(info.tokensAfter <= maxTokens);
          expect(info.tokensAfter).toBeLessThanOrEqual(info.tokensBefore);
          if (info.tokensBefore <= maxTokens) expect(result.data).toEqual(original.data);
          // Whatever is data at depth 0 collapses to at most a short marker.
          if (!info.withinBudget) expect(info.tokensAfter).toBeLessThanOrEqual(8);
        },
      ),
      { numRuns: 200 },
    );
  });
});
