/**
 * What the checks of tools' schemas keep: ajv keeps every schema an instance compiles (and the
 * function compiled from it) for the instance's life, so opening tool sets, or listing schemas
 * that change, must not grow one process-wide instance for good.
 */

import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  ListToolsRequestSchema,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import { createContext, ToolInputError } from 'mcp-orchestration';
import { connectMcpTools } from 'mcp-orchestration/mcp';
import { describe, expect, it } from 'vitest';
import {
  compileJsonSchemaCheck,
  JSON_SCHEMA_COMPILES_PER_INSTANCE,
  jsonSchemaCheckHoldings,
} from '../../adapters/mcp/json-schema-check.js';
import { collectGarbage } from '../support/gc.js';
import { helpers } from './text-tools-server.js';

/** A small schema of its own for each `i`. */
function schemaNo(i: number): Record<string, unknown> {
  return {
    type: 'object',
    properties: { text: { type: 'string', maxLength: i } },
    required: ['text'],
  };
}

/** Compiles `count` schemas of their own and returns weak references to them. */
function compileTracked(count: number): WeakRef<object>[] {
  return Array.from({ length: count }, (_, i) => {
    const schema = schemaNo(100_000 + i);
    compileJsonSchemaCheck(schema);
    return new WeakRef(schema);
  });
}

/** Weak references to a tool's schemas (the objects its checks were compiled from). */
function schemasOf(tool: Tool): WeakRef<object>[] {
  return [new WeakRef(tool.inputSchema), new WeakRef(tool.outputSchema ?? {})];
}

/** The checks kept and schemas compiled by the current instance of each dialect, at most. */
function held(): { checks: number; compiles: number } {
  const dialects = Object.values(jsonSchemaCheckHoldings().dialects);
  return {
    checks: Math.max(0, ...dialects.map((d) => d.checks)),
    compiles: Math.max(0, ...dialects.map((d) => d.compiles)),
  };
}

/** A server listing one tool, `echo`, whose schemas are made from `n`; it answers `{ n }`. */
function serverNo(n: number): Server {
  const tool: Tool = {
    name: 'echo',
    inputSchema: { type: 'object', properties: { text: { type: 'string', maxLength: n } } },
    outputSchema: { type: 'object', properties: { n: { type: 'integer', maximum: n } } },
  };
  const server = new Server({ name: 'memory', version: '1.0.0' }, { capabilities: { tools: {} } });
  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: [tool] }));
  server.setRequestHandler(CallToolRequestSchema, () => ({
    content: [{ type: 'text', text: String(n) }],
    structuredContent: { n },
  }));
  return server;
}

/** Opens a tool set on `server` over an in-memory pair. */
async function open(server: Server) {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  return connectMcpTools({ transport: clientSide });
}

describe('compiled checks of JSON Schemas stay bounded', () => {
  it('compiles a schema once for every copy with the same JSON', () => {
    const before = jsonSchemaCheckHoldings().compiled;
    const checks = Array.from({ length: 20 }, () => compileJsonSchemaCheck(schemaNo(3)));
    expect(jsonSchemaCheckHoldings().compiled - before).toBe(1);
    for (const check of checks) {
      expect(check({ text: 'abc' }, '$')).toEqual([]);
      expect(check({ text: 'abcd' }, '$.data')).toEqual([
        { path: '$.data.text', message: 'must NOT have more than 3 characters' },
      ]);
    }
    // Another dialect is another compilation, checked its own way.
    const draft07 = compileJsonSchemaCheck({
      $schema: 'http://json-schema.org/draft-07/schema#',
      ...schemaNo(3),
    });
    expect(jsonSchemaCheckHoldings().compiled - before).toBe(2);
    expect(draft07({}, '$')).toEqual([{ path: '$.text', message: 'is required' }]);
  });

  it('keeps at most a bounded number of checks and compiled schemas over 2,000 distinct schemas', () => {
    const limit = JSON_SCHEMA_COMPILES_PER_INSTANCE;
    for (let i = 0; i < 2_000; i++) {
      const check = compileJsonSchemaCheck(schemaNo(1_000 + i));
      expect(check({ text: 'x' }, '$')).toEqual([]);
      const now = held();
      expect(now.checks).toBeLessThanOrEqual(limit);
      expect(now.compiles).toBeLessThanOrEqual(limit);
    }
    // A check compiled by an instance since replaced still checks.
    const early = compileJsonSchemaCheck(schemaNo(50_000));
    for (let i = 0; i < 2 * limit; i++) compileJsonSchemaCheck(schemaNo(60_000 + i));
    expect(early({ text: 7 }, '$')).toEqual([{ path: '$.text', message: 'must be string' }]);
  });

  it('lets the schemas it compiled go once their checks are dropped', async () => {
    // Made in a function of its own: an async function's registers would keep the last one.
    const schemas = compileTracked(10);
    for (let i = 0; i < 2_000; i++) compileJsonSchemaCheck(schemaNo(200_000 + i));
    await collectGarbage();
    expect(schemas.filter((schema) => schema.deref() !== undefined)).toHaveLength(0);
  });

  it('holds no schema of a tool set opened and closed, over many sets whose schemas change', async () => {
    const listed: WeakRef<object>[] = [];
    for (let n = 0; n < 300; n++) {
      const server = serverNo(n);
      const set = await open(server);
      try {
        if (n < 10) listed.push(...schemasOf(set.target('echo').tool));
        expect(held().checks).toBeLessThanOrEqual(JSON_SCHEMA_COMPILES_PER_INSTANCE);
        expect(held().compiles).toBeLessThanOrEqual(JSON_SCHEMA_COMPILES_PER_INSTANCE);
      } finally {
        await set.close();
        await server.close();
      }
    }
    // The checks of the latest set still work, both ways.
    const server = serverNo(5);
    const set = await open(server);
    try {
      const refused = await set
        .target('echo')
        .call(createContext('In', { text: 'too long' }), helpers())
        .catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(ToolInputError);
      const answer = await set.target('echo').call(createContext('In', { text: 'ok' }), helpers());
      expect(answer.data).toEqual({ n: 5 });
    } finally {
      await set.close();
      await server.close();
    }
    await collectGarbage();
    expect(listed.filter((schema) => schema.deref() !== undefined)).toHaveLength(0);
  });

  it('compiles nothing again when a tool set with the same schemas is opened again', async () => {
    const first = serverNo(7);
    await (await open(first)).close();
    await first.close();
    const before = jsonSchemaCheckHoldings().compiled;
    for (let i = 0; i < 50; i++) {
      const server = serverNo(7);
      const set = await open(server);
      await set.close();
      await server.close();
    }
    expect(jsonSchemaCheckHoldings().compiled).toBe(before);
  });
});
