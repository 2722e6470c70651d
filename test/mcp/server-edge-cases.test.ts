/**
 * What odd servers list and answer, over the SDK's in-memory transport: tool names that are not
 * target ids, schemas ajv cannot compile, answers nested too deep, timeouts out of range, and a
 * set that reconnects to a server whose tools changed.
 */

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  type CallToolResult,
  ListToolsRequestSchema,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import { createContext, InvalidIdError, ToolCallError, ToolInputError } from 'mcp-orchestration';
import { connectMcpTools, mcpToolTarget } from 'mcp-orchestration/mcp';
import { describe, expect, it } from 'vitest';
import { helpers } from './text-tools-server.js';

const textInput = {
  type: 'object' as const,
  properties: { text: { type: 'string' } },
};

/** A low-level SDK server listing `tools` and answering every call with `answer`. */
function serverWith(
  tools: readonly Tool[],
  answer: (name: string, args: unknown) => CallToolResult | Promise<CallToolResult> = () => ({
    content: [{ type: 'text', text: 'ok' }],
  }),
): Server {
  const server = new Server({ name: 'edge', version: '1.0.0' }, { capabilities: { tools: {} } });
  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: [...tools] }));
  server.setRequestHandler(CallToolRequestSchema, (request) =>
    answer(request.params.name, request.params.arguments),
  );
  return server;
}

/** The client side of an in-memory pair whose server side `server` serves. */
function transportTo(server: Server): InMemoryTransport {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  void server.connect(serverSide);
  return clientSide;
}

/** An output schema ajv cannot compile: its `$ref` points at a document it does not have. */
const unresolvable = {
  type: 'object' as const,
  properties: { x: { $ref: 'https://example.com/x.json' } },
};

describe('tool names that are not valid target ids', () => {
  const names = ['fs/read', 'github:create_issue', 'a'.repeat(201)];

  it('fail the connect with an InvalidIdError naming the way out', async () => {
    for (const name of names) {
      const tools = [
        { name: 'ok_tool', inputSchema: textInput },
        { name, inputSchema: textInput },
      ];
      const error = await connectMcpTools({ transport: transportTo(serverWith(tools)) }).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(InvalidIdError);
      expect((error as Error).message).toContain('perTool');
      expect((error as Error).message).toContain('tools option');
    }
  });

  it('are not checked when the tools option leaves them out, and take a targetId from perTool', async () => {
    const tools = [
      { name: 'ok_tool', inputSchema: textInput },
      ...names.map((name) => ({ name, inputSchema: textInput })),
    ];
    const filtered = await connectMcpTools(
      { transport: transportTo(serverWith(tools)) },
      { tools: ['ok_tool'] },
    );
    expect(filtered.targets.map((target) => target.targetId)).toEqual(['ok_tool']);
    await filtered.close();

    const renamed = await connectMcpTools(
      { transport: transportTo(serverWith(tools)) },
      {
        perTool: {
          'fs/read': { targetId: 'fs_read' },
          'github:create_issue': { targetId: 'github_create_issue' },
          ['a'.repeat(201)]: { targetId: 'long_one' },
        },
      },
    );
    try {
      expect(renamed.targets.map((target) => target.targetId)).toEqual([
        'ok_tool',
        'fs_read',
        'github_create_issue',
        'long_one',
      ]);
      // The default result type follows the target id when the tool's name is not an id.
      const result = await renamed
        .target('fs/read')
        .call(createContext('Path', { text: '/etc' }), helpers());
      expect(result.contextType).toBe('fs_read.result');
    } finally {
      await renamed.close();
    }
  });
});

describe('an output schema ajv cannot compile', () => {
  const tools: Tool[] = [
    { name: 'ok_tool', inputSchema: textInput },
    { name: 'remote_ref', inputSchema: textInput, outputSchema: unresolvable },
  ];
  const answer = (): CallToolResult => ({ content: [], structuredContent: { x: 1 } });

  it('does not stop a set whose tools option leaves the tool out', async () => {
    const set = await connectMcpTools(
      { transport: transportTo(serverWith(tools, answer)) },
      { tools: ['ok_tool'] },
    );
    expect(set.targets.map((target) => target.toolName)).toEqual(['ok_tool']);
    await set.close();
  });

  it('is a typed error naming the tool and the way out, and validateOutput: false skips it', async () => {
    const error = await connectMcpTools({
      transport: transportTo(serverWith(tools, answer)),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ToolCallError);
    expect(error).toMatchObject({
      reason: 'protocol',
      toolName: 'remote_ref',
      serverMessage: expect.stringContaining('pass validateOutput: false'),
    });
    expect((error as Error).message).toContain('its output schema cannot be compiled');

    const set = await connectMcpTools(
      { transport: transportTo(serverWith(tools, answer)) },
      { perTool: { remote_ref: { validateOutput: false } } },
    );
    try {
      const result = await set
        .target('remote_ref')
        .call(createContext('In', { text: 'x' }), helpers());
      expect(result.data).toEqual({ x: 1 });
    } finally {
      await set.close();
    }
  });
});

describe('an answer nested deeper than the JSON depth limit', () => {
  const deep = (levels: number): Record<string, unknown> => {
    let value: Record<string, unknown> = { end: true };
    for (let i = 0; i < levels; i++) value = { a: value };
    return value;
  };

  it('fails with the depth reason, in structured content and in content blocks', async () => {
    const tools: Tool[] = [
      { name: 'deep_struct', inputSchema: { type: 'object' } },
      { name: 'deep_block', inputSchema: { type: 'object' } },
    ];
    const set = await connectMcpTools({
      transport: transportTo(
        serverWith(tools, (name) =>
          name === 'deep_struct'
            ? { content: [], structuredContent: deep(1_500) }
            : {
                content: [
                  { type: 'text', text: 'see below' },
                  {
                    type: 'resource',
                    resource: { uri: 'x://y', text: 't', _meta: deep(1_500) },
                  },
                ],
              },
        ),
      ),
    });
    try {
      const structured = await set
        .target('deep_struct')
        .call(createContext('In', {}), helpers())
        .catch((e: unknown) => e);
      expect(structured).toMatchObject({ reason: 'protocol' });
      expect((structured as ToolCallError).serverMessage).toMatch(
        /^the structured content is not JSON: \$\.structuredContent\.a\.a.* is nested deeper than the limit of 1000 levels$/,
      );
      const block = await set
        .target('deep_block')
        .call(createContext('In', {}), helpers())
        .catch((e: unknown) => e);
      expect(block).toMatchObject({ reason: 'protocol' });
      expect((block as ToolCallError).serverMessage).toMatch(
        /^a content block is not JSON: \$\.content\[1\]\.resource\._meta\.a.* is nested deeper than the limit of 1000 levels$/,
      );
    } finally {
      await set.close();
    }
  });
});

describe('timeoutMs', () => {
  const tools: Tool[] = [{ name: 'slow', inputSchema: { type: 'object' } }];
  /** Answers after 50 ms. */
  const slowly = () =>
    new Promise<CallToolResult>((resolve) =>
      setTimeout(() => resolve({ content: [{ type: 'text', text: 'done' }] }), 50),
    );

  it('Infinity means no practical limit (the longest timer delay), not "time out at once"', async () => {
    for (const timeoutMs of [Number.POSITIVE_INFINITY, 2_147_483_647]) {
      const set = await connectMcpTools(
        { transport: transportTo(serverWith(tools, slowly)) },
        { targetOptions: { timeoutMs } },
      );
      try {
        const result = await set.target('slow').call(createContext('In', {}), helpers());
        expect(result.data).toEqual({ text: 'done' });
      } finally {
        await set.close();
      }
    }
  });

  it('out of 1..2^31 − 1 (or NaN) is a TypeError when the targets are made', async () => {
    for (const timeoutMs of [0, -1, Number.NaN, 2 ** 31, 1e12, Number.NEGATIVE_INFINITY]) {
      const error = await connectMcpTools(
        { transport: transportTo(serverWith(tools, slowly)) },
        { perTool: { slow: { timeoutMs } } },
      ).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TypeError);
      expect((error as Error).message).toContain('timeoutMs of tool slow must be');
      expect((error as Error).message).toContain('or Infinity');
    }
    const client = new Client({ name: 'test', version: '1.0.0' });
    await client.connect(transportTo(serverWith(tools, slowly)));
    try {
      await expect(mcpToolTarget(client, 'slow', { timeoutMs: 2 ** 31 })).rejects.toThrow(
        TypeError,
      );
    } finally {
      await client.close();
    }
  });
});

describe('a set made with newTransport, after the connection was lost', () => {
  it('reconnects at the next call, lists the tools again, and fails a tool that is gone', async () => {
    const first: Tool[] = [
      { name: 'echo', inputSchema: textInput },
      { name: 'gone_later', inputSchema: textInput },
    ];
    // After the restart, echo wants a number, and gone_later is no more.
    const second: Tool[] = [
      {
        name: 'echo',
        inputSchema: {
          type: 'object',
          properties: { n: { type: 'number' } },
          required: ['n'],
        },
      },
    ];
    const servers: Server[] = [];
    const set = await connectMcpTools({
      newTransport: () => {
        const server = serverWith(servers.length === 0 ? first : second, (_name, args) => ({
          content: [{ type: 'text', text: `${servers.length}:${JSON.stringify(args)}` }],
        }));
        servers.push(server);
        return transportTo(server);
      },
    });
    try {
      const before = await set.target('echo').call(createContext('In', { text: 'hi' }), helpers());
      expect(before.data).toEqual({ text: '1:{"text":"hi"}' });

      await servers[0]?.close(); // the connection is lost
      const after = await set.target('echo').call(createContext('In', { n: 2 }), helpers());
      expect(after.data).toEqual({ text: '2:{"n":2}' });
      expect(servers).toHaveLength(2);
      // The checks follow the schema listed now.
      const refused = await set
        .target('echo')
        .call(createContext('In', { text: 'hi' }), helpers())
        .catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(ToolInputError);
      expect(set.target('echo').tool.inputSchema.required).toEqual(['n']);
      const gone = await set
        .target('gone_later')
        .call(createContext('In', { text: 'x' }), helpers())
        .catch((e: unknown) => e);
      expect(gone).toMatchObject({ reason: 'unknown-tool', toolName: 'gone_later' });
    } finally {
      await set.close();
    }
    // Closed: a call fails, and nothing connects again.
    const closed = await set
      .target('echo')
      .call(createContext('In', { n: 3 }), helpers())
      .catch((e: unknown) => e);
    expect(closed).toMatchObject({ reason: 'disconnected' });
    expect(servers).toHaveLength(2);
  });

  it('over one transport ({ transport }), calls after the loss fail as disconnected', async () => {
    const server = serverWith([{ name: 'echo', inputSchema: textInput }]);
    const set = await connectMcpTools({ transport: transportTo(server) });
    await server.close();
    const error = await set
      .target('echo')
      .call(createContext('In', { text: 'x' }), helpers())
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ reason: 'disconnected' });
    await set.close();
  });
});
