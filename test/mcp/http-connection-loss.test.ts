/**
 * A Streamable HTTP server that goes away: killed (a child process), closed, or restarted on the
 * same port (its sessions lost). Calls in flight fail promptly as `disconnected`, and the set
 * starts a new session at a later call.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { createContext, ToolCallError } from 'mcp-orchestration';
import { connectMcpHttp, type McpToolSet } from 'mcp-orchestration/mcp';
import { describe, expect, it } from 'vitest';
import { startHttpServer } from '../../examples/mcp-server/start-http-server.js';
import { helpers, isAlive } from './text-tools-server.js';

/** Starts the example server over HTTP as a child process; resolves once it listens. */
async function spawnHttpServer(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join('examples', 'mcp-server', 'main.ts'), '--http', '0', '--test-tools'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const url = await new Promise<string>((resolve, reject) => {
    let printed = '';
    child.stdout?.on('data', (chunk) => {
      printed += String(chunk);
      const listening = /listening on (\S+)/.exec(printed);
      if (listening?.[1]) resolve(listening[1]);
    });
    child.once('exit', (code) => reject(new Error(`the server exited (${code})`)));
  });
  return { child, url };
}

/**
 * Starts a long `sleep` call; resolves once the server has accepted it (the POST's answer, an
 * SSE stream, has begun: the transport's `send` resolved), to `call`, what the call settles to.
 */
async function sleepAccepted(set: McpToolSet): Promise<{ call: Promise<unknown> }> {
  const transport = set.client.transport as StreamableHTTPClientTransport;
  const send = transport.send.bind(transport);
  const accepted = new Promise<void>((resolve, reject) => {
    transport.send = (message, options) => {
      transport.send = send;
      const sent = send(message, options);
      sent.then(resolve, reject);
      return sent;
    };
  });
  const call = set
    .target('sleep')
    .call(createContext('Nap', { ms: 30_000 }), helpers())
    .catch((e: unknown) => e);
  await accepted;
  return { call };
}

const wordCount = (set: McpToolSet) =>
  set.target('word_count').call(createContext('Doc', { text: 'back again' }), helpers());

describe('MCP tools over Streamable HTTP when the server goes away', () => {
  // Before, the call waited for its timeoutMs (here 8 s, 60 s by default) and failed as a timeout.
  it('a call in flight when the server process is killed fails promptly as disconnected', async () => {
    const { child, url } = await spawnHttpServer();
    const set = await connectMcpHttp({ url, targetOptions: { timeoutMs: 8_000 } });
    try {
      const { call } = await sleepAccepted(set);
      const killed = Date.now();
      child.kill('SIGKILL');
      const error = await call;
      expect(error).toBeInstanceOf(ToolCallError);
      expect(error).toMatchObject({ reason: 'disconnected', toolName: 'sleep' });
      expect(Date.now() - killed).toBeLessThan(4_000);
    } finally {
      await set.close();
      if (child.pid !== undefined && isAlive(child.pid)) child.kill('SIGKILL');
    }
  });

  it('a call in flight when the server closes its sessions and stops fails promptly as disconnected', async () => {
    const own = await startHttpServer({ testTools: true });
    const set = await connectMcpHttp({ url: own.url, targetOptions: { timeoutMs: 8_000 } });
    try {
      const { call } = await sleepAccepted(set);
      const stopped = Date.now();
      await own.close();
      // Seen when the client's stream comes back to nothing (about 1 s), then a ping fails.
      expect(await call).toMatchObject({ reason: 'disconnected', toolName: 'sleep' });
      expect(Date.now() - stopped).toBeLessThan(4_000);
    } finally {
      await set.close();
    }
  });

  it('after the server restarted (its sessions gone: 404), a later call starts a new session', async () => {
    const own = await startHttpServer({ testTools: true });
    const port = Number(own.url.port);
    const set = await connectMcpHttp({ url: own.url, tools: ['word_count'] });
    await own.close();
    const restarted = await startHttpServer({ testTools: true, port });
    try {
      // The first call may still go to the old session (and is not sent again); a later one,
      // such as a step's next attempt, goes through.
      const first = await wordCount(set).catch((e: unknown) => e);
      if (first instanceof ToolCallError) expect(first.reason).toBe('transport');
      const second = await wordCount(set);
      expect(second.data).toMatchObject({ words: 2 });
      expect(restarted.sessionCount()).toBe(1);

      // Closed: the session ends, and no call starts another one.
      await set.close();
      expect(restarted.sessionCount()).toBe(0);
      const after = await wordCount(set).catch((e: unknown) => e);
      expect(after).toMatchObject({ reason: 'disconnected' });
      expect(restarted.sessionCount()).toBe(0);
    } finally {
      await set.close();
      await restarted.close();
    }
  });
});
