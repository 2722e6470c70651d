import {
  ContextMergeStrategy,
  isOrchestrationError,
  type JsonValue,
  MAX_JSON_DEPTH,
  mergeContextData,
  type OrchestrationError,
} from 'mcp-orchestration';
import { describe, expect, it } from 'vitest';

type Row = [label: string, a: JsonValue, b: JsonValue, expected: JsonValue];

function merge2(strategy: ContextMergeStrategy, a: JsonValue, b: JsonValue): JsonValue {
  return mergeContextData([a, b], { strategy });
}

function errorOf(run: () => unknown): OrchestrationError {
  try {
    run();
  } catch (error) {
    if (isOrchestrationError(error)) return error;
    throw error;
  }
  throw new Error('expected a throw');
}

describe('ContextMergeStrategy', () => {
  it('has the seed names as camel-case keys and snake-case values', () => {
    expect(ContextMergeStrategy).toEqual({
      Overwrite: 'overwrite',
      AppendList: 'append_list',
      ConcatenateString: 'concatenate_string',
      RecursiveDictMerge: 'recursive_dict_merge',
      Custom: 'custom',
    });
  });
});

describe('Overwrite: newer values replace older ones, shallowly', () => {
  const rows: Row[] = [
    [
      'object + object: top-level keys of b replace whole values; keys only in a are kept',
      { a: 1, n: { x: 1, l: [1] }, k: 'a' },
      { n: { y: 2 }, k: 'b', z: 0 },
      { a: 1, n: { y: 2 }, k: 'b', z: 0 },
    ],
    ['list + list → b', [1, 2], [3], [3]],
    ['list + scalar → b', [1], 'x', 'x'],
    ['scalar + list → b', 1, [2], [2]],
    ['object + list → b', { a: 1 }, [1], [1]],
    ['list + object → b', [1], { a: 1 }, { a: 1 }],
    ['string + string → b', 'a', 'b', 'b'],
    ['string + number → b', 'a', 1, 1],
    ['null + object → b', null, { a: 1 }, { a: 1 }],
    ['object + null → null', { a: 1 }, null, null],
    ['a null value replaces an object value', { a: { x: 1 } }, { a: null }, { a: null }],
    [
      'nested lists inside objects are replaced with their top-level key',
      { k: { l: [1], m: 1 } },
      { k: { l: [2] } },
      { k: { l: [2] } },
    ],
  ];
  it.each(rows)('%s', (_, a, b, expected) => {
    expect(merge2(ContextMergeStrategy.Overwrite, a, b)).toEqual(expected);
  });

  it('keeps the key order: a’s keys, then b’s new keys', () => {
    const merged = merge2(ContextMergeStrategy.Overwrite, { x: 1, y: 2 }, { z: 3, x: 4 });
    expect(Object.keys(merged as object)).toEqual(['x', 'y', 'z']);
  });
});

describe('AppendList: values are gathered into lists', () => {
  const rows: Row[] = [
    [
      'object + object: shared keys are listed, missing keys are kept unwrapped',
      { a: 1, b: [1], c: 'x', o: { p: 1 } },
      { a: 2, b: [2, 3], d: 4, o: { q: 2 } },
      { a: [1, 2], b: [1, 2, 3], c: 'x', o: [{ p: 1 }, { q: 2 }], d: 4 },
    ],
    ['list + list → concatenation', [1], [2, 3], [1, 2, 3]],
    ['list + scalar → appended', [1], 2, [1, 2]],
    ['list + object → appended', [1], { a: 1 }, [1, { a: 1 }]],
    ['scalar + list → prepended', 1, [2], [1, 2]],
    ['object + list → prepended', { a: 1 }, [2], [{ a: 1 }, 2]],
    ['string + string → both in a list', 'a', 'b', ['a', 'b']],
    ['string + number → both in a list', 'a', 1, ['a', 1]],
    ['object + scalar → both in a list', { a: 1 }, 1, [{ a: 1 }, 1]],
    ['scalar + object → both in a list', 1, { a: 1 }, [1, { a: 1 }]],
    ['null + list → null is an item', null, [1], [null, 1]],
    ['list + null → null is an item', [1], null, [1, null]],
    ['a null value is listed like any other', { k: null }, { k: 1 }, { k: [null, 1] }],
    [
      'nested lists inside objects are not merged',
      { k: { l: [1] } },
      { k: { l: [2] } },
      { k: [{ l: [1] }, { l: [2] }] },
    ],
    ['a list value is spliced, never nested', { k: [1] }, { k: 2 }, { k: [1, 2] }],
    ['a list of lists stays one list of lists', { k: [[1]] }, { k: [[2]] }, { k: [[1], [2]] }],
  ];
  it.each(rows)('%s', (_, a, b, expected) => {
    expect(merge2(ContextMergeStrategy.AppendList, a, b)).toEqual(expected);
  });

  it('gathers a key of three inputs into one flat list', () => {
    const merged = mergeContextData([{ x: 1 }, { x: [2, 3] }, { y: 0 }, { x: 4 }], {
      strategy: ContextMergeStrategy.AppendList,
    });
    expect(merged).toEqual({ x: [1, 2, 3, 4], y: 0 });
  });
});

describe('ConcatenateString: strings are concatenated everywhere, the rest merges recursively', () => {
  const rows: Row[] = [
    ['string + string → a + b (default separator: none)', 'a', 'b', 'ab'],
    [
      'object + object: merged key by key, recursively; missing keys kept',
      { s: 'a', o: { t: 'x', n: 1 }, only: 'a' },
      { s: 'b', o: { t: 'y' }, extra: 'z' },
      { s: 'ab', o: { t: 'xy', n: 1 }, only: 'a', extra: 'z' },
    ],
    ['string + number → b', 'a', 1, 1],
    ['number + string → b', 1, 'a', 'a'],
    ['list + list → b', ['a'], ['b'], ['b']],
    ['list + scalar → b', ['a'], 'b', 'b'],
    ['scalar + list → b', 'a', ['b'], ['b']],
    ['object + list → b', { a: 'x' }, ['y'], ['y']],
    ['list + object → b', ['y'], { a: 'x' }, { a: 'x' }],
    ['string + null → null', 'a', null, null],
    ['null + string → b', null, 'a', 'a'],
    [
      'nested lists inside objects: b’s list replaces a’s',
      { k: { l: ['a'], s: 'x' } },
      { k: { l: ['b'], s: 'y' } },
      { k: { l: ['b'], s: 'xy' } },
    ],
  ];
  it.each(rows)('%s', (_, a, b, expected) => {
    expect(merge2(ContextMergeStrategy.ConcatenateString, a, b)).toEqual(expected);
  });

  it('puts the separator option between two strings', () => {
    const merged = mergeContextData([{ log: 'one' }, { log: 'two' }, { log: 'three' }], {
      strategy: ContextMergeStrategy.ConcatenateString,
      separator: '\n',
    });
    expect(merged).toEqual({ log: 'one\ntwo\nthree' });
  });

  it('refuses a separator that is not a string with a TypeError naming it', () => {
    const cases: [unknown, string][] = [
      [5, 'number'],
      [null, 'null'],
      [{ s: '-' }, 'object'],
    ];
    for (const [separator, shown] of cases) {
      expect(() =>
        mergeContextData(['a', 'b'], {
          strategy: ContextMergeStrategy.ConcatenateString,
          separator: separator as never,
        }),
      ).toThrow(new TypeError(`separator must be a string, not ${shown}`));
    }
  });
});

describe('RecursiveDictMerge (the default): objects merge deeply, anything else: b wins', () => {
  const rows: Row[] = [
    [
      'object + object: merged key by key, recursively; missing keys kept',
      { a: 1, o: { x: 1, y: { p: 1 } }, l: [1] },
      { o: { y: { q: 2 }, z: 3 }, l: [2], b: 2 },
      { a: 1, o: { x: 1, y: { p: 1, q: 2 }, z: 3 }, l: [2], b: 2 },
    ],
    ['list + list → b', [1], [2], [2]],
    ['list + scalar → b', [1], 2, 2],
    ['scalar + list → b', 1, [2], [2]],
    ['object + list → b', { a: 1 }, [2], [2]],
    ['list + object → b', [2], { a: 1 }, { a: 1 }],
    ['string + string → b', 'a', 'b', 'b'],
    ['string + number → b', 'a', 1, 1],
    ['a null value replaces an object', { a: { x: 1 } }, { a: null }, { a: null }],
    ['an object replaces a null value', { a: null }, { a: { x: 1 } }, { a: { x: 1 } }],
    [
      'nested lists inside objects: b’s list replaces a’s, other keys kept',
      { k: { l: [1], m: 1 } },
      { k: { l: [2] } },
      { k: { l: [2], m: 1 } },
    ],
  ];
  it.each(rows)('%s', (_, a, b, expected) => {
    expect(merge2(ContextMergeStrategy.RecursiveDictMerge, a, b)).toEqual(expected);
  });

  it('is the default strategy', () => {
    expect(mergeContextData([{ o: { a: 1 } }, { o: { b: 2 } }])).toEqual({ o: { a: 1, b: 2 } });
  });
});

describe('every strategy', () => {
  const strategies = [
    ContextMergeStrategy.Overwrite,
    ContextMergeStrategy.AppendList,
    ContextMergeStrategy.ConcatenateString,
    ContextMergeStrategy.RecursiveDictMerge,
  ];

  it('folds left, starting from initialContextData when given', () => {
    const datas = [{ s: 'b' }, { s: 'c' }];
    const options = { strategy: ContextMergeStrategy.ConcatenateString };
    expect(mergeContextData(datas, { ...options, initialContextData: { s: 'a', t: 1 } })).toEqual({
      s: 'abc',
      t: 1,
    });
    expect(mergeContextData(datas, options)).toEqual({ s: 'bc' });
  });

  it.each(strategies)('%s: no input gives initialContextData, or {}', (strategy) => {
    expect(mergeContextData([], { strategy })).toEqual({});
    expect(mergeContextData([], { strategy, initialContextData: [1] })).toEqual([1]);
    expect(mergeContextData([{ only: 1 }], { strategy })).toEqual({ only: 1 });
  });

  it.each(strategies)('%s: the result shares nothing with the inputs', (strategy) => {
    const a = { o: { l: [1] }, s: 'x', only: { deep: [1] } };
    const b = { o: { l: [2] }, s: 'y', more: { deep: [2] } };
    const before = JSON.stringify([a, b]);
    const merged = mergeContextData([a, b], { strategy }) as Record<string, unknown>;
    const stack: unknown[] = [merged];
    while (stack.length > 0) {
      const node = stack.pop();
      if (node === null || typeof node !== 'object') continue;
      expect([a, b, a.o, b.o, a.o.l, b.o.l, a.only, b.more, a.only.deep]).not.toContain(node);
      stack.push(...Object.values(node));
    }
    expect(JSON.stringify([a, b])).toBe(before);
  });

  it.each(strategies)('%s: __proto__, constructor and prototype keys are data', (strategy) => {
    const hostile = JSON.parse(
      '{"__proto__": {"polluted": 1}, "constructor": {"prototype": {"polluted": 2}}, "prototype": 3}',
    );
    const merged = mergeContextData([hostile, JSON.parse('{"__proto__": {"x": 1}}')], {
      strategy,
    }) as Record<string, unknown>;
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(merged)).toBe(Object.prototype);
    expect(Object.keys(merged)).toEqual(['__proto__', 'constructor', 'prototype']);
    expect(Object.hasOwn(merged, '__proto__')).toBe(true);
    expect(JSON.stringify(merged)).toContain('"__proto__":');
  });

  it.each(strategies)(
    '%s: merges values nested to the depth limit without overflow',
    (strategy) => {
      const deep = (leaf: JsonValue): JsonValue => {
        let value = leaf;
        for (let i = 0; i < MAX_JSON_DEPTH - 2; i++) value = { k: value };
        return value;
      };
      const merged = mergeContextData([deep({ a: 'x' }), deep({ b: 'y' })], { strategy });
      expect(JSON.stringify(merged).length).toBeGreaterThan(MAX_JSON_DEPTH * 5);
    },
  );

  it('refuses inputs JSON cannot carry, naming the path', () => {
    const error = errorOf(() => mergeContextData([{ a: 1 }, { f: (() => 1) as never }]));
    expect(error.code).toBe('NON_JSON_VALUE');
    expect(error.message).toMatch(/^\$\.datas\[1\]\.f is a function/);
    expect(
      errorOf(() => mergeContextData([], { initialContextData: { d: new Date() } as never }))
        .message,
    ).toMatch(/^\$\.initialContextData\.d is a Date/);
  });

  it('refuses a result nested deeper than the limit (AppendList adds a level at the top)', () => {
    let deep: JsonValue = 0;
    for (let i = 0; i < MAX_JSON_DEPTH - 1; i++) deep = [deep];
    const options = { strategy: ContextMergeStrategy.AppendList };
    expect(errorOf(() => mergeContextData([1, { k: deep }], options)).code).toBe('DEPTH_LIMIT');
    expect(mergeContextData([1, deep], options)).toHaveLength(2);
  });

  it('refuses datas that is not an array with a TypeError naming it', () => {
    expect(() => mergeContextData('abc' as never)).toThrow(
      new TypeError('datas must be an array of JSON values, not string'),
    );
    expect(() => mergeContextData({ 0: 1, length: 1 } as never)).toThrow(
      new TypeError('datas must be an array of JSON values, not object'),
    );
    expect(() => mergeContextData(null as never)).toThrow(
      new TypeError('datas must be an array of JSON values, not null'),
    );
  });

  it('refuses an unknown strategy', () => {
    const error = errorOf(() => mergeContextData([1, 2], { strategy: 'zip' as never }));
    expect(error.code).toBe('MERGE_FAILED');
    expect(error.message).toBe('Unknown merge strategy "zip"');
  });
});

describe('Custom: customMergeFunc(base, next) decides', () => {
  it('is folded left over the inputs, after initialContextData', () => {
    const calls: Array<[JsonValue, JsonValue]> = [];
    const sum = (base: JsonValue, next: JsonValue): JsonValue => {
      calls.push([base, next]);
      return (base as number) + (next as number);
    };
    const options = { strategy: ContextMergeStrategy.Custom, customMergeFunc: sum };
    expect(mergeContextData([1, 2, 3], options)).toBe(6);
    expect(calls).toEqual([
      [1, 2],
      [3, 3],
    ]);
    expect(mergeContextData([1, 2], { ...options, initialContextData: 10 })).toBe(13);
  });

  it('needs a function', () => {
    const error = errorOf(() => mergeContextData([1], { strategy: ContextMergeStrategy.Custom }));
    expect(error.code).toBe('MERGE_FAILED');
    expect(error.message).toMatch(/needs a customMergeFunc/);
  });

  it('wraps a throwing function in a MergeError with the cause', () => {
    const boom = new Error('boom');
    const error = errorOf(() =>
      mergeContextData([1, 2], {
        strategy: ContextMergeStrategy.Custom,
        customMergeFunc: () => {
          throw boom;
        },
      }),
    );
    expect(error.code).toBe('MERGE_FAILED');
    expect(error.message).toBe('customMergeFunc threw while merging input 1: boom');
    expect(error.cause).toBe(boom);
    // Named as the caller names its inputs, with the error's own class.
    const named = errorOf(() =>
      mergeContextData([1, 2], {
        strategy: ContextMergeStrategy.Custom,
        customMergeFunc: () => {
          throw new TypeError('no score');
        },
        inputNames: ['region a', 'region b'],
      }),
    );
    expect(named.message).toBe('customMergeFunc threw while merging region b: TypeError: no score');
  });

  it('checks that the function returns JSON', () => {
    for (const bad of [new Date(), undefined, { n: Number.NaN }]) {
      const error = errorOf(() =>
        mergeContextData([1, 2], {
          strategy: ContextMergeStrategy.Custom,
          customMergeFunc: () => bad as never,
        }),
      );
      expect(error.code).toBe('MERGE_FAILED');
      expect(isOrchestrationError(error.cause, 'NON_JSON_VALUE')).toBe(true);
    }
  });

  it('gets private copies: changing its arguments does not change the caller’s data', () => {
    const a = { list: [1] };
    const b = { list: [2] };
    const merged = mergeContextData([a, b], {
      strategy: ContextMergeStrategy.Custom,
      customMergeFunc: (base, next) => {
        const target = base as { list: JsonValue[] };
        target.list.push(...(next as { list: JsonValue[] }).list);
        return target;
      },
    });
    expect(merged).toEqual({ list: [1, 2] });
    expect(a).toEqual({ list: [1] });
    expect(b).toEqual({ list: [2] });
  });
});
