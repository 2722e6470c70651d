import { describe, expect, it } from 'vitest';
import { compileJsonSchemaCheck } from '../../adapters/mcp/json-schema-check.js';

describe("a tool's JSON Schema, checked before the call (input) and after it (output)", () => {
  it('reports every problem with a JSON path under the prefix', () => {
    const check = compileJsonSchemaCheck({
      type: 'object',
      properties: {
        email: { type: 'string', format: 'email' },
        tags: { type: 'array', items: { type: 'integer' } },
        'odd key': { type: 'string' },
      },
      required: ['email', 'odd key'],
      additionalProperties: false,
    });
    expect(check({ email: 'x@example.com', 'odd key': 'ok' }, '$.data')).toEqual([]);
    expect(check({ email: 'nope', tags: [1, 'two'], extra: true }, '$.data')).toEqual([
      { path: '$.data["odd key"]', message: 'is required' },
      { path: '$.data.extra', message: 'is not allowed' },
      { path: '$.data.email', message: 'must match format "email"' },
      { path: '$.data.tags[1]', message: 'must be integer' },
    ]);
  });

  it('reads the dialect from $schema: draft-07, 2019-09, 2020-12 (also the default)', () => {
    const tuple2020 = { type: 'array', prefixItems: [{ type: 'string' }], items: false };
    const check2020 = compileJsonSchemaCheck({
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'object',
      properties: { pair: tuple2020 },
    });
    expect(check2020({ pair: ['a', 'b'] }, '$')).toEqual([
      { path: '$.pair', message: 'must NOT have more than 1 items' },
    ]);
    const noDialect = compileJsonSchemaCheck({ type: 'object', properties: { pair: tuple2020 } });
    expect(noDialect({ pair: ['a'] }, '$')).toEqual([]);
    const draft07 = compileJsonSchemaCheck({
      $schema: 'http://json-schema.org/draft-07/schema#',
      type: 'object',
      properties: { pair: { type: 'array', items: [{ type: 'string' }], additionalItems: false } },
    });
    expect(draft07({ pair: [1] }, '$')).toEqual([{ path: '$.pair[0]', message: 'must be string' }]);
    const draft2019 = compileJsonSchemaCheck({
      $schema: 'https://json-schema.org/draft/2019-09/schema',
      type: 'object',
      properties: { n: { type: 'number' } },
      unevaluatedProperties: false,
    });
    expect(draft2019({ n: 1, m: 2 }, '$')).toHaveLength(1);
  });
});
