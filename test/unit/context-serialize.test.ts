import fc from 'fast-check';
import {
  type Context,
  createContext,
  defineContextType,
  deserializeContext,
  isOrchestrationError,
  type JsonObject,
  type JsonValue,
  MAX_CONTEXT_BYTES,
  MAX_JSON_DEPTH,
  type OrchestrationError,
  serializeContext,
} from 'mcp-orchestration';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';

const ItemsContext = defineContextType(
  'ItemsContext',
  z.object({ items: z.array(z.object({ name: z.string() })) }),
);

function errorOf(run: () => unknown): OrchestrationError {
  try {
    run();
  } catch (error) {
    if (isOrchestrationError(error)) return error;
    throw error;
  }
  throw new Error('expected a throw');
}

function envelope(data: unknown, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    contextId: 'c1',
    contextType: 'ItemsContext',
    data,
    metadata: {},
    ...extra,
  });
}

describe('serializeContext / deserializeContext', () => {
  it('round-trips exactly, with fields in a fixed order', () => {
    const context = ItemsContext.create(
      { items: [{ name: 'a' }, { name: 'ü 😀 "q"' }] },
      { contextId: 'items-1', metadata: { by: 'test', nested: { n: [1.5, null, true] } } },
    );
    const text = serializeContext(context);
    expect(text.startsWith('{"contextId":"items-1","contextType":"ItemsContext","data":')).toBe(
      true,
    );
    const again = deserializeContext(text, ItemsContext);
    expectTypeOf(again).toEqualTypeOf<typeof context>();
    expect(again).toEqual(context);
    expect(Object.isFrozen(again.data.items)).toBe(true);
    expect(serializeContext(again)).toBe(text);
    expect(deserializeContext(text)).toEqual(context);
  });

  it('round-trips any JSON data and metadata (property)', () => {
    fc.assert(
      fc.property(
        fc.jsonValue({ maxDepth: 6 }),
        fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 3 })),
        (data, metadata) => {
          const context = createContext('AnyContext', data as JsonValue, {
            metadata: metadata as JsonObject,
          });
          const text = serializeContext(context);
          const again = deserializeContext(text);
          expect(again).toEqual(context);
          expect(serializeContext(again)).toBe(text);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('keeps hostile keys as data', () => {
    const text = envelope(JSON.parse('{"items":[],"__proto__":{"polluted":1}}'));
    const context = deserializeContext(text);
    expect(Object.keys(context.data as object)).toEqual(['items', '__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(serializeContext(context)).toBe(text);
  });

  it('refuses text that is not JSON, naming the cause', () => {
    const error = errorOf(() => deserializeContext('{"contextId": '));
    expect(error.code).toBe('CONTEXT_VALIDATION');
    expect(error.message).toMatch(/^Invalid Context: \$: is not valid JSON/);
    expect(error.cause).toBeInstanceOf(SyntaxError);
    expect(errorOf(() => deserializeContext(42 as never)).message).toMatch(/is number/);
  });

  it('refuses a wrong shape with the paths of the problems', () => {
    const error = errorOf(() =>
      deserializeContext('{"contextId":"../x","data":1,"metadata":null}'),
    );
    if (!isOrchestrationError(error, 'CONTEXT_VALIDATION')) throw error;
    expect(error.issues.map((issue) => issue.path)).toEqual([
      '$.contextId',
      '$.contextType',
      '$.metadata',
    ]);
    expect(errorOf(() => deserializeContext('[1]')).message).toMatch(/\$: is not a plain object/);
  });

  it('validates the schema and the type name when a type is given', () => {
    const bad = envelope({ items: [{ name: 'a' }, { name: 2 }] });
    expect(() => deserializeContext(bad)).not.toThrow();
    const error = errorOf(() => deserializeContext(bad, ItemsContext));
    if (!isOrchestrationError(error, 'CONTEXT_VALIDATION')) throw error;
    expect(error.issues[0]?.path).toBe('$.data.items[1].name');
    const other = envelope({ items: [] }, { contextType: 'OtherContext' });
    expect(errorOf(() => deserializeContext(other, ItemsContext)).message).toMatch(
      /\$\.contextType: is "OtherContext", expected "ItemsContext"/,
    );
  });

  it('refuses data nested deeper than MAX_JSON_DEPTH, naming the path', () => {
    const deep = `${'['.repeat(MAX_JSON_DEPTH + 1)}${']'.repeat(MAX_JSON_DEPTH + 1)}`;
    const error = errorOf(() => deserializeContext(envelope(JSON.parse(deep))));
    expect(error.code).toBe('DEPTH_LIMIT');
    expect((error as { path?: string }).path).toMatch(/^\$\.data(\[0\])+$/);
    // The message shortens so long a path (it may be written into an error checkpoint).
    expect(error.message.length).toBeLessThan(250);
    expect(error.message).toMatch(/^\$\.data\[0\].*…\(\d+ more characters\)….*\[0\] is nested/);
    // JSON.parse itself copes with far deeper text; the limit is what refuses it.
    const deeper = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    expect(
      errorOf(() =>
        deserializeContext(`{"contextId":"c","contextType":"T","data":${deeper},"metadata":{}}`),
      ).code,
    ).toBe('DEPTH_LIMIT');
  });

  it('bounds the size of the text (default MAX_CONTEXT_BYTES), counting UTF-8 bytes', () => {
    expect(MAX_CONTEXT_BYTES).toBe(16 * 1024 * 1024);
    const context = createContext('Big', 'é'.repeat(600));
    const text = serializeContext(context);
    const bytes = new TextEncoder().encode(text).length;
    expect(() => deserializeContext(text, undefined, { maxBytes: bytes })).not.toThrow();
    const error = errorOf(() => deserializeContext(text, undefined, { maxBytes: bytes - 1 }));
    if (!isOrchestrationError(error, 'RECORD_TOO_LARGE')) throw error;
    expect(error.bytes).toBe(bytes);
    expect(error.limit).toBe(bytes - 1);
    expect(errorOf(() => serializeContext(context, { maxBytes: bytes - 1 })).code).toBe(
      'RECORD_TOO_LARGE',
    );
    const huge = `"${'x'.repeat(MAX_CONTEXT_BYTES)}"`;
    expect(errorOf(() => deserializeContext(huge)).code).toBe('RECORD_TOO_LARGE');
  });

  it('refuses to serialize something that is not a well-formed context', () => {
    const fake = { contextId: 'c', contextType: 'T', data: { at: new Date() }, metadata: {} };
    expect(errorOf(() => serializeContext(fake as unknown as Context)).code).toBe('NON_JSON_VALUE');
    expect(errorOf(() => serializeContext({ contextId: 'c' } as unknown as Context)).code).toBe(
      'CONTEXT_VALIDATION',
    );
  });
});
