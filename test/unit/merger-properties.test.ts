import fc from 'fast-check';
import {
  ContextMergeStrategy,
  createContext,
  isJson,
  type JsonObject,
  type JsonValue,
  mergeContextData,
} from 'mcp-orchestration';
import { describe, expect, it } from 'vitest';

const BUILT_IN = [
  ContextMergeStrategy.Overwrite,
  ContextMergeStrategy.AppendList,
  ContextMergeStrategy.ConcatenateString,
  ContextMergeStrategy.RecursiveDictMerge,
] as const;

const strategy = fc.constantFrom(...BUILT_IN);
const json = fc.jsonValue({ maxDepth: 4 }) as fc.Arbitrary<JsonValue>;
const object = fc.dictionary(fc.string({ maxLength: 4 }), json, {
  maxKeys: 6,
}) as fc.Arbitrary<JsonObject>;

/**
 * Objects where a key always holds the same kind of value in every input: `o*` keys hold
 * objects, `s*` keys strings, `v*` keys other scalars or lists. Where kinds never clash, every
 * built-in strategy is associative.
 */
function consistent(depth: number): fc.Arbitrary<JsonObject> {
  const leaf = fc.oneof(
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.array(fc.integer(), { maxLength: 3 }),
  );
  return fc.record(
    {
      ...(depth > 0 ? { o1: consistent(depth - 1), o2: consistent(depth - 1) } : {}),
      s1: fc.string({ maxLength: 3 }),
      s2: fc.string({ maxLength: 3 }),
      v1: leaf,
      v2: leaf,
    },
    { requiredKeys: [] },
  ) as fc.Arbitrary<JsonObject>;
}

const same = (a: JsonValue, b: JsonValue) => expect(JSON.stringify(a)).toBe(JSON.stringify(b));

describe('merge properties (fast-check)', () => {
  it('Overwrite: the last value wins (per top-level key when both are objects)', () => {
    const isObject = (v: JsonValue): v is JsonObject =>
      v !== null && typeof v === 'object' && !Array.isArray(v);
    // The documented rule, written as plainly as possible.
    const lastWins = (a: JsonValue, b: JsonValue): JsonValue => {
      if (!isObject(a) || !isObject(b)) return b;
      const result: JsonObject = {};
      for (const source of [a, b]) {
        for (const [key, value] of Object.entries(source)) {
          Object.defineProperty(result, key, {
            value,
            enumerable: true,
            writable: true,
            configurable: true,
          });
        }
      }
      return result;
    };
    fc.assert(
      fc.property(fc.array(fc.oneof(json, object), { minLength: 1, maxLength: 4 }), (datas) => {
        const merged = mergeContextData(datas, { strategy: ContextMergeStrategy.Overwrite });
        same(merged, datas.reduce(lastWins));
      }),
    );
  });

  it('RecursiveDictMerge of objects with disjoint keys is their union', () => {
    const prefixed = (prefix: string) =>
      fc
        .dictionary(fc.string({ maxLength: 4 }), json, { maxKeys: 5 })
        .map((d) => Object.fromEntries(Object.entries(d).map(([k, v]) => [prefix + k, v])));
    fc.assert(
      fc.property(prefixed('a:'), prefixed('b:'), (a, b) => {
        const merged = mergeContextData([a, b] as JsonObject[]);
        same(merged, { ...a, ...b });
      }),
    );
  });

  it('every built-in strategy is associative on objects whose keys keep their kind', () => {
    fc.assert(
      fc.property(strategy, consistent(2), consistent(2), consistent(2), (s, a, b, c) => {
        const m = (datas: JsonValue[]) => mergeContextData(datas, { strategy: s });
        const left = m([m([a, b]), c]);
        same(left, m([a, m([b, c])]));
        same(left, m([a, b, c]));
      }),
    );
  });

  it('AppendList and Overwrite are associative on any objects', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(ContextMergeStrategy.AppendList, ContextMergeStrategy.Overwrite),
        object,
        object,
        object,
        (s, a, b, c) => {
          const m = (datas: JsonValue[]) => mergeContextData(datas, { strategy: s });
          same(m([m([a, b]), c]), m([a, m([b, c])]));
        },
      ),
    );
  });

  it('merging an object with an empty object is the identity, on either side', () => {
    fc.assert(
      fc.property(strategy, object, (s, a) => {
        same(mergeContextData([a, {}], { strategy: s }), a);
        same(mergeContextData([{}, a], { strategy: s }), a);
      }),
    );
  });

  it('results are JSON and frozen inputs are never mutated', () => {
    fc.assert(
      fc.property(strategy, fc.array(json, { maxLength: 4 }), (s, datas) => {
        const contexts = datas.map((data) => createContext('Input', data));
        const before = JSON.stringify(contexts);
        const merged = mergeContextData(
          contexts.map((c) => c.data),
          { strategy: s },
        );
        expect(isJson(merged)).toBe(true);
        expect(JSON.stringify(contexts)).toBe(before);
      }),
    );
  });
});
