import {
  assertValidId,
  checkpointIdTime,
  createContext,
  isContext,
  isOrchestrationError,
  MAX_JSON_DEPTH,
  parseContext,
} from 'mcp-orchestration';
import { describe, expect, it } from 'vitest';

/** `levels` nested arrays around `leaf`: nest(2, 1) is [[1]]. */
function nest(levels: number, leaf: unknown = 0): unknown {
  let value = leaf;
  for (let i = 0; i < levels; i++) value = [value];
  return value;
}

function codeOf(run: () => unknown): { code: string; path?: string } {
  try {
    run();
  } catch (error) {
    if (isOrchestrationError(error)) {
      return { code: error.code, path: (error as { path?: string }).path };
    }
    throw error;
  }
  throw new Error('expected a throw');
}

describe('createContext', () => {
  it('creates a context with a ULID id, the type, the data and empty metadata', () => {
    const before = Date.now();
    const note = createContext('NoteContext', { text: 'hello' });
    expect(note.contextType).toBe('NoteContext');
    expect(note.data).toEqual({ text: 'hello' });
    expect(note.metadata).toEqual({});
    expect(note.contextId).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(() => assertValidId('context', note.contextId)).not.toThrow();
    expect(checkpointIdTime(note.contextId)).toBeGreaterThanOrEqual(before);
    expect(createContext('NoteContext', 1).contextId).not.toBe(note.contextId);
  });

  it('takes an id and metadata', () => {
    const note = createContext('NoteContext', 'hi', {
      contextId: 'task-1_note.2',
      metadata: { author: 'ana', tags: ['a'] },
    });
    expect(note).toEqual({
      contextId: 'task-1_note.2',
      contextType: 'NoteContext',
      data: 'hi',
      metadata: { author: 'ana', tags: ['a'] },
    });
  });

  it('refuses ids and type names that are unsafe in a storage key', () => {
    expect(codeOf(() => createContext('T', 1, { contextId: 'a/b' })).code).toBe('INVALID_ID');
    expect(codeOf(() => createContext('T', 1, { contextId: '' })).code).toBe('INVALID_ID');
    expect(codeOf(() => createContext('Bad Type', 1)).code).toBe('INVALID_ID');
  });

  it('deep-freezes a copy: the context never changes, whatever happens to the input', () => {
    const input = { items: [{ name: 'a' }], nested: { deep: { list: [1, 2] } } };
    const context = createContext('ListContext', input);
    input.items.push({ name: 'b' });
    input.nested.deep.list[0] = 99;
    expect(context.data).toEqual({ items: [{ name: 'a' }], nested: { deep: { list: [1, 2] } } });
    expect(Object.isFrozen(context)).toBe(true);
    expect(Object.isFrozen(context.metadata)).toBe(true);
    expect(Object.isFrozen(context.data.nested.deep.list)).toBe(true);
    expect(() => {
      (context.data.items as { name: string }[]).push({ name: 'c' });
    }).toThrow(TypeError);
    expect(Object.isFrozen(input)).toBe(false);
  });

  it('freezes data nested to the depth limit without overflowing the stack', () => {
    const deep = createContext('Deep', nest(MAX_JSON_DEPTH - 1) as never);
    let node: unknown = deep.data;
    let levels = 0;
    while (Array.isArray(node)) {
      expect(Object.isFrozen(node)).toBe(true);
      node = node[0];
      levels++;
    }
    expect(levels).toBe(MAX_JSON_DEPTH - 1);
  });

  it.each([
    ['a function', { f: () => 1 }, '$.data.f'],
    ['undefined in an array', { list: [1, undefined] }, '$.data.list[1]'],
    ['undefined as an object value', { a: undefined }, '$.data.a'],
    ['a BigInt', { n: 1n }, '$.data.n'],
    ['a Date', { when: new Date(0) }, '$.data.when'],
    ['a Map', { m: new Map() }, '$.data.m'],
    ['a Set', { s: new Set([1]) }, '$.data.s'],
    ['NaN', { x: [0, Number.NaN] }, '$.data.x[1]'],
    ['Infinity', Number.POSITIVE_INFINITY, '$.data'],
  ])('refuses %s in data with NonJsonValueError naming the path', (_, data, path) => {
    expect(codeOf(() => createContext('T', data as never))).toEqual({
      code: 'NON_JSON_VALUE',
      path,
    });
  });

  it('refuses cycles and nesting deeper than MAX_JSON_DEPTH', () => {
    const cyclic: Record<string, unknown> = { a: {} };
    (cyclic.a as Record<string, unknown>).back = cyclic;
    expect(codeOf(() => createContext('T', cyclic as never))).toEqual({
      code: 'NON_JSON_VALUE',
      path: '$.data.a.back',
    });
    expect(codeOf(() => createContext('T', nest(MAX_JSON_DEPTH + 1) as never)).code).toBe(
      'DEPTH_LIMIT',
    );
    expect(() => createContext('T', nest(MAX_JSON_DEPTH) as never)).not.toThrow();
  });

  it('checks metadata the same way', () => {
    expect(codeOf(() => createContext('T', 1, { metadata: { at: new Date() } as never }))).toEqual({
      code: 'NON_JSON_VALUE',
      path: '$.metadata.at',
    });
    expect(codeOf(() => createContext('T', 1, { metadata: { u: undefined } as never }))).toEqual({
      code: 'NON_JSON_VALUE',
      path: '$.metadata.u',
    });
    expect(codeOf(() => createContext('T', 1, { metadata: [1] as never })).code).toBe(
      'CONTEXT_VALIDATION',
    );
  });

  it('keeps a __proto__ key as data', () => {
    const context = createContext('T', JSON.parse('{"__proto__": {"polluted": 1}}'));
    expect(Object.keys(context.data as object)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(context.data)).toBe(Object.prototype);
  });
});

describe('isContext and parseContext', () => {
  const good = { contextId: 'c1', contextType: 'T', data: { a: [1] }, metadata: { m: true } };

  it('accepts a well-formed context and returns a frozen copy with the same id', () => {
    expect(isContext(good)).toBe(true);
    const parsed = parseContext(good);
    expect(parsed).toEqual(good);
    expect(parsed).not.toBe(good);
    expect(Object.isFrozen(parsed.data)).toBe(true);
    expect(Object.isFrozen(good)).toBe(false);
  });

  it('returns a context createContext built as it is (it cannot change), and copies the others', () => {
    const built = createContext('T', { a: [1] }, { metadata: { m: true } });
    expect(parseContext(built)).toBe(built);
    const scalar = createContext('T', 'text');
    expect(parseContext(scalar)).toBe(scalar);
    expect(parseContext(parseContext(good))).toEqual(good);
    // Frozen on the outside only, or with data nobody checked: copied (and checked).
    const shallow = Object.freeze({ ...good, data: { a: [1] } });
    expect(parseContext(shallow)).not.toBe(shallow);
    expect(Object.isFrozen(parseContext(shallow).data)).toBe(true);
    const tampered = Object.freeze({ ...built, data: { when: new Date() } });
    expect(codeOf(() => parseContext(tampered))).toEqual({
      code: 'NON_JSON_VALUE',
      path: '$.data.when',
    });
    // A getter for data (it could answer differently each time) is not a built context: copied.
    const getter = Object.freeze({
      contextId: 'c2',
      contextType: 'T',
      get data() {
        return built.data;
      },
      metadata: built.metadata,
    });
    expect(parseContext(getter)).not.toBe(getter);
    const badId = Object.freeze({ ...built, contextId: 'a:b' });
    expect(() => parseContext(badId)).toThrow(
      expect.objectContaining({ code: 'CONTEXT_VALIDATION' }),
    );
  });

  it('lists every shape problem with its path', () => {
    const bad = { contextId: 'a:b', contextType: 7, metadata: [], extra: 1 };
    expect(isContext(bad)).toBe(false);
    try {
      parseContext(bad);
      expect.unreachable();
    } catch (error) {
      if (!isOrchestrationError(error, 'CONTEXT_VALIDATION')) throw error;
      expect(error.issues.map((issue) => issue.path)).toEqual([
        '$["extra"]',
        '$.contextId',
        '$.contextType',
        '$.data',
        '$.metadata',
      ]);
    }
    expect(isContext(null)).toBe(false);
    expect(isContext([good])).toBe(false);
  });

  it('refuses data JSON cannot carry with the typed error of assertJson', () => {
    expect(isContext({ ...good, data: { when: new Date() } })).toBe(false);
    expect(codeOf(() => parseContext({ ...good, data: { when: new Date() } }))).toEqual({
      code: 'NON_JSON_VALUE',
      path: '$.data.when',
    });
  });
});
