import type { JsonValue } from 'mcp-orchestration';
import { describe, expect, it } from 'vitest';
import { appendSplice } from '../../src/checkpoint/json-append-splice.js';
import { applySplice } from '../../src/checkpoint/text-splice.js';

describe('appendSplice: the splice of a value that grew, from its structure', () => {
  it('makes the same text as JSON.stringify of the next value', () => {
    const items = ['a', 'b"', 'c\\n'];
    const messages = [{ role: 'user', text: 'hi' }];
    const inner = { log: 'start', n: 1 };
    const cases: [JsonValue, JsonValue][] = [];
    const add = (base: JsonValue, next: JsonValue) => cases.push([base, next]);
    const data = { items, tail: { x: 1 }, __last: 'z' };
    add(data, { ...data, items: [...items, 'd', 'é😀'] }); // appended, members after it
    add({ items: [] }, { items: ['first'] }); // into an empty array
    add({ messages }, { messages: [...messages, { role: 'agent', text: 'ho' }] });
    add({ deep: { inner } }, { deep: { inner: { ...inner, log: 'start, then more "quoted"' } } });
    add(['x', inner], ['x', { ...inner, log: 'start!' }]); // the last item changed, into it
    add('abc', 'abcdef\n');
    const proto = JSON.parse('{"__proto__":{"k":1},"s":"a"}') as Record<string, JsonValue>;
    const protoNext = JSON.parse('{"__proto__":null,"s":"ab"}') as Record<string, JsonValue>;
    Object.defineProperty(protoNext, '__proto__', {
      value: Object.getOwnPropertyDescriptor(proto, '__proto__')?.value,
      enumerable: true,
    });
    add(proto, protoNext); // an own __proto__ member before the one that grew
    add(data, data); // the same
    // What did not change is the same values in both, as createContext shares them.
    for (const [base, next] of cases) {
      const baseJson = JSON.stringify(base);
      const splice = appendSplice(base, baseJson, next);
      expect(splice, baseJson).toBeDefined();
      expect(applySplice(baseJson, splice)).toBe(JSON.stringify(next));
    }
  });

  it('leaves to the text comparison what did not grow by appending along one path', () => {
    const items = ['a', 'b'];
    const refuse: [JsonValue, JsonValue][] = [
      [{ items }, { items: ['a'] }], // shrank
      [{ items }, { items: ['x', 'b', 'c'] }], // changed in the middle
      [
        { a: 'x', b: 'y' },
        { a: 'xx', b: 'yy' },
      ], // two values changed
      [{ a: 1 }, { b: 1 }], // other keys
      [
        { a: 1, b: 2 },
        { b: 2, a: 1 },
      ], // other order
      ['abc', 'xbc'],
      ['ab\ud83d', 'ab\ud83d\ude00'], // completes a surrogate pair
      [1, 2],
    ];
    for (const [base, next] of refuse) {
      expect(appendSplice(base, JSON.stringify(base), next), JSON.stringify(next)).toBeUndefined();
    }
  });
});
