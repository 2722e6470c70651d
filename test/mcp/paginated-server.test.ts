import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  ListToolsRequestSchema,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import { createContext } from 'mcp-orchestration';
import { connectMcpTools } from 'mcp-orchestration/mcp';
import { describe, expect, it } from 'vitest';
import { helpers } from './text-tools-server.js';

const objectOf = (properties: Record<string, object>) => ({
  type: 'object' as const,
  properties,
  required: Object.keys(properties),
});

/**
 * Two pages of tools: `broken` (page 1) answers with output its own schema refuses; the input
 * schema of `odd` (page 2) points at a definition it does not have.
 */
const pages: Tool[][] = [
  [
    {
      name: 'broken',
      inputSchema: objectOf({}),
      outputSchema: objectOf({ total: { type: 'number' } }),
    },
  ],
  [
    { name: 'echo', inputSchema: objectOf({ say: { type: 'string' } }) },
    { name: 'odd', inputSchema: objectOf({ x: { $ref: '#/$defs/missing' } }) },
  ],
];

/** A low-level SDK server (no McpServer checks of its own) with paginated tools/list. */
function paginatedServer(): Server {
  const server = new Server(
    { name: 'paginated', version: '1.0.0' },
    { capabilities: { tools: {} } },
  );
  server.setRequestHandler(ListToolsRequestSchema, (request) => {
    const page = Number(request.params?.cursor ?? 0);
    return { tools: pages[page] ?? [], ...(page === 0 ? { nextCursor: '1' } : {}) };
  });
  server.setRequestHandler(CallToolRequestSchema, (request) =>
    request.params.name === 'broken'
      ? { content: [], structuredContent: { total: 'many' } }
      : { content: [{ type: 'text', text: String(request.params.arguments?.say) }] },
  );
  return server;
}

describe('a server with paginated tools/list', () => {
  it('lists every page, and checks structured output against the schema on any page', async () => {
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await paginatedServer().connect(serverSide);
    const tools = await connectMcpTools(
      { transport: clientSide },
      { perTool: { odd: { validateInput: false } } },
    );
    try {
      expect(tools.targets.map((target) => target.toolName)).toEqual(['broken', 'echo', 'odd']);
      const echoed = await tools
        .target('echo')
        .call(createContext('Say', { say: 'hi' }), helpers());
      expect(echoed.data).toEqual({ text: 'hi' });
      // The SDK keeps output validators of the last listed page only; the target checks itself.
      const error = await tools
        .target('broken')
        .call(createContext('Empty', {}), helpers())
        .catch((e: unknown) => e);
      expect(error).toMatchObject({
        code: 'TOOL_CALL_FAILED',
        reason: 'protocol',
        serverMessage: expect.stringContaining('$.structuredContent.total: must be number'),
      });
    } finally {
      await tools.close();
    }
  });

  it('an input schema that cannot be compiled is a typed error naming the way out', async () => {
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await paginatedServer().connect(serverSide);
    const error = await connectMcpTools({ transport: clientSide }).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'TOOL_CALL_FAILED',
      reason: 'protocol',
      toolName: 'odd',
      serverMessage: expect.stringContaining('pass validateInput: false'),
    });
  });
});

describe('connectMcpTools aborted by its signal', () => {
  /** A server whose tools/list never answers; `listed` resolves when the request arrives. */
  async function stuckServer() {
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    const server = new Server({ name: 'stuck', version: '1.0.0' }, { capabilities: { tools: {} } });
    let arrived: () => void = () => {};
    const listed = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    server.setRequestHandler(ListToolsRequestSchema, () => {
      arrived();
      return new Promise<never>(() => {});
    });
    await server.connect(serverSide);
    return { clientSide, listed, server };
  }

  // The SDK rejects an aborted request with its own McpError (-32001, "Request timed out"
  // style), which said nothing of the abort.
  it("rejects with the signal's reason while listing, and with its AbortError without one", async () => {
    for (const reason of [new Error('user gave up'), undefined]) {
      const { clientSide, listed, server } = await stuckServer();
      const controller = new AbortController();
      const connecting = connectMcpTools(
        { transport: clientSide },
        { signal: controller.signal },
      ).catch((e: unknown) => e);
      await listed;
      controller.abort(reason);
      const error = await connecting;
      if (reason === undefined) expect(error).toMatchObject({ name: 'AbortError' });
      else expect(error).toBe(reason);
      await server.close();
    }
  });

  it('rejects with the reason of a signal aborted before it starts, connecting nothing', async () => {
    const { clientSide, server } = await stuckServer();
    const reason = new Error('never mind');
    const error = await connectMcpTools(
      { transport: clientSide },
      { signal: AbortSignal.abort(reason) },
    ).catch((e: unknown) => e);
    expect(error).toBe(reason);
    await server.close();
  });
});
