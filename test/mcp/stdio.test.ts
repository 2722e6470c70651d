import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import {
  createContext,
  isOrchestrationError,
  ToolCallError,
  ToolInputError,
} from 'mcp-orchestration';
import { connectMcpStdio, type McpToolSet } from 'mcp-orchestration/mcp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { helpers, isAlive, stdioServer } from './text-tools-server.js';

/** Starts the example server as a child process; returns its tools and its pid. */
async function startServer(): Promise<{ tools: McpToolSet; pid: number }> {
  const tools = await connectMcpStdio(stdioServer);
  const { transport } = tools.client;
  if (!(transport instanceof StdioClientTransport) || transport.pid === null) {
    throw new Error('expected a stdio transport with a child process');
  }
  return { tools, pid: transport.pid };
}

// One server for the calls that leave it running; the tests that end it start their own.
let tools: McpToolSet;
beforeAll(async () => {
  ({ tools } = await startServer());
});
afterAll(async () => {
  await tools?.close();
});

describe('MCP tools over stdio (the example server as a child process)', () => {
  it('lists the tools as targets, each with its schema', () => {
    expect(tools.targets.map((target) => target.targetId)).toEqual([
      'word_count',
      'extract_keywords',
      'first_sentence',
      'sleep',
      'badge',
    ]);
    const wordCount = tools.target('word_count');
    expect(wordCount.targetType).toBe('tool');
    expect(wordCount.description).toBe('Counts the words, characters and sentences of a text.');
    expect(wordCount.tool.inputSchema.required).toEqual(['text']);
  });

  it("a call sends the context's data as arguments and returns the structured content as the result context", async () => {
    const input = createContext('Doc', {
      text: 'Durable workflows resume. They never lose a step!',
    });
    const result = await tools.target('word_count').call(input, helpers());
    expect(result.contextType).toBe('word_count.result');
    expect(result.data).toEqual({ words: 8, characters: 49, sentences: 2 });
    expect(result.metadata).toEqual({
      tool: 'word_count',
      targetId: 'word_count',
      inputContextId: input.contextId,
      resultKind: 'structured',
    });
    expect(Object.isFrozen(result.data)).toBe(true);
  });

  it('a tool that answers in text gives { text }', async () => {
    const input = createContext('Doc', { text: 'First one. Second one.' });
    const result = await tools.target('first_sentence').call(input, helpers());
    expect(result.data).toEqual({ text: 'First one.' });
    expect(result.metadata.resultKind).toBe('text');
  });

  it('a tool that answers with images and links too gives { text, content } with those blocks', async () => {
    const input = createContext('Badge', { label: 'ok' });
    const result = await tools.target('badge').call(input, helpers());
    const data = result.data as { text: string; content: { type: string }[] };
    expect(data.text).toBe('badge for ok');
    expect(data.content.map((block) => block.type)).toEqual(['image', 'resource_link']);
    expect(data.content[0]).toMatchObject({ type: 'image', mimeType: 'image/svg+xml' });
    const image = data.content[0] as unknown as { data: string };
    const svg = Buffer.from(image.data, 'base64').toString();
    expect(svg).toContain('>ok</text>');
    expect(data.content[1]).toMatchObject({ uri: 'badge://ok', name: 'ok' });
    expect(result.metadata.resultKind).toBe('content');
  });

  it('arguments the input schema refuses fail with ToolInputError, and nothing is sent', async () => {
    const send = vi.spyOn(tools.client.transport as StdioClientTransport, 'send');
    const bad = createContext('Doc', { text: 42, limit: 0 });
    const error = await tools
      .target('extract_keywords')
      .call(bad, helpers())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ToolInputError);
    expect(isOrchestrationError(error, 'TOOL_INPUT_INVALID')).toBe(true);
    expect((error as ToolInputError).issues).toEqual([
      { path: '$.data.text', message: 'must be string' },
      { path: '$.data.limit', message: 'must be >= 1' },
    ]);
    const missing = await tools
      .target('word_count')
      .call(createContext('Doc', { words: 'no text' }), helpers())
      .catch((e: unknown) => e);
    expect((missing as ToolInputError).issues).toEqual([
      { path: '$.data.text', message: 'is required' },
    ]);
    const notAnObject = await tools
      .target('word_count')
      .call(createContext('Doc', 'just a string'), helpers())
      .catch((e: unknown) => e);
    expect((notAnObject as ToolInputError).issues[0]?.path).toBe('$.data');
    expect(send).not.toHaveBeenCalled();
    send.mockRestore();
  });

  it("an error result (isError) fails with ToolCallError carrying the server's message", async () => {
    const error = await tools
      .target('extract_keywords')
      .call(createContext('Doc', { text: 'a of the' }), helpers())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ToolCallError);
    expect(error).toMatchObject({
      code: 'TOOL_CALL_FAILED',
      reason: 'tool-error',
      toolName: 'extract_keywords',
      serverMessage: expect.stringContaining('No keywords'),
    });
  });

  it("aborting helpers.signal rejects the call with the signal's reason", async () => {
    const controller = new AbortController();
    const started = Date.now();
    const call = tools
      .target('sleep')
      .call(createContext('Nap', { ms: 10_000 }), helpers(controller.signal));
    const reason = new Error('step cancelled');
    setTimeout(() => controller.abort(reason), 200);
    // The reason itself, not a ToolCallError (timeout) whose message quotes it.
    await expect(call).rejects.toBe(reason);
    expect(Date.now() - started).toBeLessThan(5_000);
    // The connection is still good.
    const again = await tools
      .target('word_count')
      .call(createContext('Doc', { text: 'still here' }), helpers());
    expect(again.data).toMatchObject({ words: 2 });
  });

  it("aborting helpers.signal without a reason rejects with the signal's AbortError, not a timeout", async () => {
    const controller = new AbortController();
    const started = Date.now();
    const call = tools
      .target('sleep')
      .call(createContext('Nap', { ms: 10_000 }), helpers(controller.signal));
    setTimeout(() => controller.abort(), 200);
    const error = await call.catch((e: unknown) => e);
    expect(error).toBe(controller.signal.reason);
    expect(error).toBeInstanceOf(DOMException);
    expect(error).toMatchObject({ name: 'AbortError' });
    expect(error).not.toBeInstanceOf(ToolCallError);
    expect(Date.now() - started).toBeLessThan(5_000);
    // The connection is still good.
    const again = await tools
      .target('word_count')
      .call(createContext('Doc', { text: 'still here' }), helpers());
    expect(again.data).toMatchObject({ words: 2 });
  });

  it('the server process dying mid-call fails the call with ToolCallError (disconnected); the next call starts it again', async () => {
    const { tools, pid } = await startServer();
    const call = tools
      .target('sleep')
      .call(createContext('Nap', { ms: 10_000 }), helpers())
      .catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, 200));
    process.kill(pid, 'SIGKILL');
    expect(await call).toMatchObject({ code: 'TOOL_CALL_FAILED', reason: 'disconnected' });
    // The call in flight is not sent again; the next one goes to a new server process.
    const later = await tools
      .target('word_count')
      .call(createContext('Doc', { text: 'anyone?' }), helpers());
    expect(later.data).toMatchObject({ words: 1 });
    const { transport } = tools.client;
    const newPid = transport instanceof StdioClientTransport ? transport.pid : null;
    expect(newPid).not.toBeNull();
    expect(newPid).not.toBe(pid);
    expect(isAlive(newPid as number)).toBe(true);
    await tools.close();
    expect(isAlive(newPid as number)).toBe(false);
    // Closed: calls fail, and no process starts.
    const closed = await tools
      .target('word_count')
      .call(createContext('Doc', { text: 'anyone?' }), helpers())
      .catch((e: unknown) => e);
    expect(closed).toMatchObject({ code: 'TOOL_CALL_FAILED', reason: 'disconnected' });
    expect(tools.client.transport).toBeUndefined();
  });

  it('close() ends the server process and leaves no child behind', async () => {
    const { tools, pid } = await startServer();
    expect(isAlive(pid)).toBe(true);
    await tools.close();
    expect(isAlive(pid)).toBe(false);
    await tools.close(); // idempotent
  });
});
