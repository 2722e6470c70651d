import fc from 'fast-check';
import {
  assertJson,
  cloneJson,
  DepthLimitError,
  isJson,
  isOrchestrationError,
  MAX_JSON_DEPTH,
  NonJsonValueError,
} from 'mcp-orchestration';
import { describe, expect, it } from 'vitest';

function nested(depth: number): unknown {
  let value: unknown = 'leaf';
  for (let i = 0; i < depth; i++) value = { next: value };
  return value;
}

describe('assertJson', () => {
  it('accepts plain JSON values, null-prototype objects and shared references', () => {
    const shared = { a: 1 };
    const bare = Object.create(null) as Record<string, unknown>;
    bare.x = [1, 'two', true, null];
    for (const value of [
      null,
      0,
      -1.5,
      '',
      'ünïcødé 🚀',
      true,
      [],
      {},
      { shared, again: shared },
      bare,
    ]) {
      expect(() => assertJson(value)).not.toThrow();
    }
  });

  it.each([
    ['a function', { f: () => 1 }, '$.f'],
    ['undefined in an array', [1, undefined], '$[1]'],
    ['undefined as a property', { a: undefined }, '$.a'],
    ['a BigInt', { n: 10n }, '$.n'],
    ['a Date', { when: new Date(0) }, '$.when'],
    ['a Map', { m: new Map() }, '$.m'],
    ['a Set', [new Set()], '$[0]'],
    ['NaN', { x: Number.NaN }, '$.x'],
    ['Infinity', { deep: { x: Number.POSITIVE_INFINITY } }, '$.deep.x'],
    ['a symbol', { s: Symbol('s') }, '$.s'],
    // biome-ignore lint/suspicious/noSparseArray: the point of the test
    ['a hole in a sparse array', [1, , 3], '$[1]'],
    ['an odd key', { 'a b': { c: () => 0 } }, '$["a b"].c'],
    ['a symbol key', { inner: { [Symbol('s')]: 1 } }, '$.inner'],
    ['an array subclass element', { list: [Object.create(Array.prototype)] }, '$.list[0]'],
  ])('rejects %s and names its path', (_what, value, path) => {
    try {
      assertJson(value);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(NonJsonValueError);
      expect((error as NonJsonValueError).path).toBe(path);
      expect(isOrchestrationError(error, 'NON_JSON_VALUE')).toBe(true);
    }
  });

  it('rejects cycles without overflowing', () => {
    const a: Record<string, unknown> = { b: { c: [] as unknown[] } };
    ((a.b as Record<string, unknown>).c as unknown[]).push(a);
    expect(() => assertJson(a)).toThrow(/\$\.b\.c\[0\] is a reference to one of its own ancestors/);
  });

  it('accepts undefined properties only when asked, never in arrays', () => {
    expect(() => assertJson({ a: undefined }, { allowUndefinedProperties: true })).not.toThrow();
    expect(() => assertJson([undefined], { allowUndefinedProperties: true })).toThrow(
      NonJsonValueError,
    );
  });

  it('refuses nesting beyond the limit with a typed error, even far past where JSON overflows', () => {
    expect(() => assertJson(nested(MAX_JSON_DEPTH - 1))).not.toThrow();
    const error = (() => {
      try {
        assertJson(nested(100_000));
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(DepthLimitError);
    expect((error as DepthLimitError).limit).toBe(MAX_JSON_DEPTH);
    expect(() => assertJson(nested(11), { maxDepth: 10 })).toThrow(DepthLimitError);
  });

  it('does not walk into containers `skip` vouches for (internal: values checked before)', () => {
    const checked = Object.freeze({ when: new Date(0) });
    const value = { a: checked, b: { c: 1 } };
    expect(() => assertJson(value)).toThrow(NonJsonValueError);
    expect(() => assertJson(value, { skip: (container) => container === checked })).not.toThrow();
    expect(() => assertJson({ ...value, d: Number.NaN }, { skip: () => false })).toThrow(
      NonJsonValueError,
    );
  });

  it('isJson is the boolean form', () => {
    expect(isJson({ a: [1] })).toBe(true);
    expect(isJson({ a: new Date() })).toBe(false);
  });
});

describe('cloneJson', () => {
  it('copies deeply and keeps __proto__ as data', () => {
    const hostile = JSON.parse('{"__proto__": {"polluted": true}, "list": [{"x": 1}]}');
    const copy = cloneJson(hostile);
    expect(copy).toEqual(hostile);
    expect(copy.list).not.toBe(hostile.list);
    expect(Object.keys(copy)).toContain('__proto__');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('assertJson agrees with the definition of JSON it checks (property)', () => {
  /** The rules, written plainly: what assertJson accepts. */
  function reference(value: unknown, ancestors: object[] = []): boolean {
    if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
    if (typeof value === 'number') return Number.isFinite(value);
    if (typeof value !== 'object') return false;
    if (ancestors.includes(value) || ancestors.length >= MAX_JSON_DEPTH) return false;
    const inside = [...ancestors, value];
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        if (!(i in value) || !reference(value[i], inside)) return false;
      }
      return true;
    }
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) return false;
    if (Object.getOwnPropertySymbols(value).length > 0) return false;
    return Object.keys(value).every((key) =>
      reference((value as Record<string, unknown>)[key], inside),
    );
  }

  it('accepts exactly the values the rules accept', () => {
    fc.assert(
      fc.property(
        fc.anything({
          withSparseArray: true,
          withNullPrototype: true,
          withBoxedValues: true,
          withMap: true,
          withSet: true,
          withDate: true,
          withTypedArray: true,
          withBigInt: true,
        }),
        (value) => {
          expect(isJson(value)).toBe(reference(value));
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it('accepts any JSON value', () => {
    fc.assert(fc.property(fc.jsonValue(), (value) => isJson(value)));
  });
});
