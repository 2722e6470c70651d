import { createServer, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  createContext,
  ToolCallError,
  type ToolInputError,
  type ToolTarget,
} from 'mcp-orchestration';
import {
  connectMcpHttp,
  connectMcpTools,
  type McpToolSet,
  type McpToolTarget,
  mcpToolTarget,
} from 'mcp-orchestration/mcp';
import { afterAll, beforeAll, describe, expect, expectTypeOf, it, vi } from 'vitest';
import type { SleepEnd } from '../../examples/mcp-server/create-text-tools-server.js';
import {
  type RunningHttpServer,
  startHttpServer,
} from '../../examples/mcp-server/start-http-server.js';
import { helpers } from './text-tools-server.js';

let server: RunningHttpServer;
let tools: McpToolSet;

beforeAll(async () => {
  server = await startHttpServer({ testTools: true });
  tools = await connectMcpHttp({ url: server.url, targetOptions: { timeoutMs: 10_000 } });
});
afterAll(async () => {
  await tools?.close();
  await server?.close();
});

describe('MCP tools over Streamable HTTP (the example server on 127.0.0.1)', () => {
  it('an MCP tool target is a ToolTarget', () => {
    expectTypeOf<McpToolTarget>().toExtend<ToolTarget>();
    expectTypeOf(tools.target('word_count').call).returns.resolves.toHaveProperty('data');
  });

  it('lists the tools and calls one: structured content becomes the result context', async () => {
    expect(tools.targets.map((target) => target.toolName)).toContain('extract_keywords');
    const text = 'Checkpoints make workflows durable. Durable workflows resume from checkpoints.';
    const result = await tools
      .target('extract_keywords')
      .call(createContext('Doc', { text, limit: 3 }), helpers());
    expect(result.data).toEqual({
      keywords: [
        { word: 'checkpoints', count: 2 },
        { word: 'durable', count: 2 },
        { word: 'workflows', count: 2 },
      ],
    });
  });

  it('a call longer than timeoutMs fails with ToolCallError (timeout)', async () => {
    const quick = await connectMcpHttp({
      url: server.url,
      tools: ['sleep'],
      perTool: { sleep: { targetId: 'nap', timeoutMs: 300 } },
    });
    try {
      expect(quick.targets.map((target) => target.targetId)).toEqual(['nap']);
      const error = await quick
        .target('sleep')
        .call(createContext('Nap', { ms: 5_000 }), helpers())
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ToolCallError);
      expect(error).toMatchObject({ reason: 'timeout', targetId: 'nap', rpcCode: -32001 });
    } finally {
      await quick.close();
    }
  });

  it("aborting helpers.signal rejects with the signal's reason", async () => {
    const controller = new AbortController();
    const reason = new Error('workflow stopped');
    const call = tools
      .target('sleep')
      .call(createContext('Nap', { ms: 10_000 }), helpers(controller.signal));
    setTimeout(() => controller.abort(reason), 100);
    // The reason itself, not a ToolCallError (timeout) whose message quotes it.
    await expect(call).rejects.toBe(reason);
    // An already aborted signal sends nothing and rejects at once.
    await expect(
      tools
        .target('word_count')
        .call(createContext('Doc', { text: 'x' }), helpers(controller.signal)),
    ).rejects.toBe(reason);
  });

  it("aborting helpers.signal without a reason rejects with the signal's AbortError, not a timeout", async () => {
    const controller = new AbortController();
    const call = tools
      .target('sleep')
      .call(createContext('Nap', { ms: 10_000 }), helpers(controller.signal));
    setTimeout(() => controller.abort(), 100);
    const error = await call.catch((e: unknown) => e);
    expect(error).toBe(controller.signal.reason);
    expect(error).toBeInstanceOf(DOMException);
    expect(error).toMatchObject({ name: 'AbortError' });
    expect(error).not.toBeInstanceOf(ToolCallError);
    // The session is still good.
    const again = await tools
      .target('word_count')
      .call(createContext('Doc', { text: 'still here' }), helpers());
    expect(again.data).toMatchObject({ words: 2 });
  });

  it('aborting helpers.signal cancels the call on the server too: its sleep ends early', async () => {
    const ends: SleepEnd[] = [];
    const own = await startHttpServer({ testTools: true, onSleepEnd: (end) => ends.push(end) });
    const set = await connectMcpHttp({ url: own.url });
    try {
      const controller = new AbortController();
      const call = set
        .target('sleep')
        .call(createContext('Nap', { ms: 30_000 }), helpers(controller.signal));
      const reason = new Error('workflow stopped');
      setTimeout(() => controller.abort(reason), 200);
      await expect(call).rejects.toBe(reason);
      // The server's sleep ended because the client's notifications/cancelled reached it (its
      // reason is the client's), not after 30 s, nor because a connection closed.
      await vi.waitFor(() => expect(ends).toHaveLength(1), { timeout: 3_000 });
      expect(ends[0]).toMatchObject({
        cancelled: true,
        reason: expect.stringContaining('workflow stopped'),
      });
      expect(ends[0]?.sleptMs).toBeLessThan(3_000);
      // The session is still good.
      const again = await set
        .target('word_count')
        .call(createContext('Doc', { text: 'still here' }), helpers());
      expect(again.data).toMatchObject({ words: 2 });
    } finally {
      await set.close();
      await own.close();
    }
  });

  it("close() ends the client's session on the server", async () => {
    const own = await startHttpServer({ testTools: true });
    try {
      const first = await connectMcpHttp({ url: own.url });
      const second = await connectMcpHttp({ url: own.url });
      expect(own.sessionCount()).toBe(2);
      await first.close();
      expect(own.sessionCount()).toBe(1);
      await first.close(); // once is enough
      await second.close();
      expect(own.sessionCount()).toBe(0);
    } finally {
      await own.close();
    }
  });

  it('close() does not wait more than about 2 s for a server that never answers the DELETE', async () => {
    // A proxy to the example server that holds every DELETE without answering.
    const held: ServerResponse[] = [];
    const proxy = createServer((req, res) => {
      if (req.method === 'DELETE') {
        held.push(res);
        return;
      }
      const upstream = request(
        server.url,
        { method: req.method, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const { port } = proxy.address() as AddressInfo;
    try {
      const set = await connectMcpHttp({ url: `http://127.0.0.1:${port}/mcp` });
      const started = Date.now();
      await set.close();
      expect(held).toHaveLength(1);
      expect(Date.now() - started).toBeGreaterThanOrEqual(1_900);
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      proxy.closeAllConnections();
      await new Promise((resolve) => proxy.close(resolve));
    }
  });

  it('without client-side checks the server refuses bad arguments itself, as a tool error', async () => {
    const unchecked = await connectMcpHttp({
      url: server.url,
      tools: ['word_count'],
      targetOptions: { validateInput: false },
    });
    try {
      const error = await unchecked
        .target('word_count')
        .call(createContext('Doc', { text: 42 }), helpers())
        .catch((e: unknown) => e);
      expect(error).toMatchObject({
        reason: 'tool-error',
        serverMessage: expect.stringContaining('Input validation error'),
      });
    } finally {
      await unchecked.close();
    }
  });

  it('toArguments builds the arguments from the context; issues then sit under $.arguments', async () => {
    const client = new Client({ name: 'test', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(server.url));
    try {
      const target = await mcpToolTarget(client, 'word_count', {
        targetId: 'count_summary',
        resultContextType: 'SummaryCounts',
        toArguments: (context) => ({ text: (context.data as { summary: string }).summary }),
      });
      const result = await target.call(
        createContext('Report', { summary: 'Two words', body: 'ignored' }),
        helpers(),
      );
      expect(result).toMatchObject({
        contextType: 'SummaryCounts',
        data: { words: 2 },
        metadata: { targetId: 'count_summary' },
      });
      const bad = await target
        .call(createContext('Report', { summary: 7 }), helpers())
        .catch((e: unknown) => e);
      expect((bad as ToolInputError).issues).toEqual([
        { path: '$.arguments.text', message: 'must be string' },
      ]);
    } finally {
      await client.close();
    }
  });

  it("an injected client stays open after the set's close(); unknown tools are typed errors", async () => {
    const client = new Client({ name: 'test', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(server.url));
    try {
      const set = await connectMcpTools({ client }, { tools: ['word_count'] });
      await set.close();
      const after = await mcpToolTarget(client, 'word_count');
      const result = await after.call(createContext('Doc', { text: 'still open' }), helpers());
      expect(result.data).toMatchObject({ words: 2 });

      await expect(mcpToolTarget(client, 'translate')).rejects.toMatchObject({
        code: 'TOOL_CALL_FAILED',
        reason: 'unknown-tool',
        toolName: 'translate',
      });
      await expect(connectMcpTools({ client }, { tools: ['translate'] })).rejects.toMatchObject({
        reason: 'unknown-tool',
      });
      expect(() => set.target('translate')).toThrow(ToolCallError);
    } finally {
      await client.close();
    }
  });

  it('a server that is gone fails the call with ToolCallError (transport)', async () => {
    const other = await startHttpServer();
    const set = await connectMcpHttp({ url: other.url, tools: ['word_count'] });
    await other.close();
    try {
      const error = await set
        .target('word_count')
        .call(createContext('Doc', { text: 'hello' }), helpers())
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'TOOL_CALL_FAILED', reason: 'transport' });
    } finally {
      await set.close();
    }
  });
});
