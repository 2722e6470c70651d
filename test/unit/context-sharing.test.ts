import { cloneJson, createContext, isOrchestrationError, type JsonValue } from 'mcp-orchestration';
import { describe, expect, it } from 'vitest';
import { copyJsonSharing } from '../../src/context/validated-json.js';

// createContext copies its data so that the caller's later changes never reach the context, but
// what is already a frozen, checked part of a context cannot change either: it is shared.

describe('createContext shares what other contexts froze', () => {
  it('a context made from another shares its items, and copies what is new', () => {
    const first = createContext('Talk', {
      messages: [{ role: 'user', text: 'hello' }],
      meta: { turns: 1 },
    });
    const mine = { role: 'agent', text: 'hi' };
    const next = createContext('Talk', {
      ...first.data,
      messages: [...first.data.messages, mine],
    });
    expect(next.data.messages[0]).toBe(first.data.messages[0]); // shared
    expect(next.data.meta).toBe(first.data.meta);
    expect(next.data.messages[1]).not.toBe(mine); // copied
    expect(next.data.messages[1]).toEqual(mine);
    mine.text = 'changed';
    expect(next.data.messages[1]?.text).toBe('hi');
    expect(Object.isFrozen(next.data.messages[1])).toBe(true);
    // The new item is shared in turn by the context made from this one.
    const third = createContext('Talk', { messages: [...next.data.messages] });
    expect(third.data.messages[1]).toBe(next.data.messages[1]);
  });

  it('copies exactly as a JSON round trip does', () => {
    const values: JsonValue[] = [
      { a: -0, b: [1, -0, 'x', null, true], c: { d: { e: [] } } },
      JSON.parse('{"__proto__":{"x":1},"y":2}') as JsonValue,
      { '2': 'b', '1': 'a', z: 'z', '\ud800': 'lone' },
      [[], {}, '', 0, 1e21, 5e-324],
      'text',
      -0,
    ];
    for (const value of values) {
      const copy = copyJsonSharing(value);
      expect(JSON.stringify(copy)).toBe(JSON.stringify(value));
      expect(copy).toStrictEqual(cloneJson(value));
      expect(Object.keys(copy ?? {})).toEqual(Object.keys(cloneJson(value) ?? {}));
    }
    const proto = copyJsonSharing(JSON.parse('{"__proto__":{"x":1}}') as JsonValue) as object;
    expect(Object.getPrototypeOf(proto)).toBe(Object.prototype);
    expect(Object.hasOwn(proto, '__proto__')).toBe(true);
  });

  it('refuses a value that an accessor changed between its check and its copy', () => {
    for (const later of [() => 1, new Date(0), Number.NaN, undefined]) {
      let reads = 0;
      const data = {
        get value() {
          reads += 1;
          return reads === 1 ? 'checked' : later;
        },
      };
      const error = (() => {
        try {
          createContext('Odd', data as unknown as JsonValue);
        } catch (caught) {
          return caught;
        }
        return undefined;
      })();
      expect(isOrchestrationError(error, 'NON_JSON_VALUE'), String(later)).toBe(true);
    }
  });
});
