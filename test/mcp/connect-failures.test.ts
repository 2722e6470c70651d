/**
 * Connects that fail, against real sockets and processes: a port nothing listens on, URLs that
 * answer 404, 401, an HTML page or nothing at all; a command that does not exist or cannot be
 * run, a process that exits before `initialize` or during `tools/list`, one that writes what is
 * not JSON-RPC. Each rejects with a typed `McpConnectError` naming the server and the reason, the
 * original error as its `cause`, and leaves no process or request behind.
 */
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { createContext, isOrchestrationError, McpConnectError } from 'mcp-orchestration';
import { connectMcpHttp, connectMcpStdio } from 'mcp-orchestration/mcp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { helpers, isAlive } from './text-tools-server.js';

/** Listens on a free port of 127.0.0.1; resolves to its `/mcp` URL. */
async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
}

async function stop(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

/** A URL on a port that nothing listens on (it was free a moment ago). */
async function refusedUrl(): Promise<string> {
  const server = createServer();
  const url = await listen(server);
  await stop(server);
  return url;
}

/** A plain HTTP server (not MCP) answering every request with `answer`. */
async function httpServer(
  answer: (request: IncomingMessage, response: ServerResponse) => void,
): Promise<{ server: Server; url: string }> {
  const server = createServer((request, response) => {
    request.resume();
    answer(request, response);
  });
  return { server, url: await listen(server) };
}

/** What `promise` rejects with (it must reject). */
async function rejection(promise: Promise<unknown>): Promise<McpConnectError> {
  const error = await promise.then(
    () => {
      throw new Error('expected the connect to fail');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(McpConnectError);
  expect(isOrchestrationError(error, 'MCP_CONNECT_FAILED')).toBe(true);
  return error as McpConnectError;
}

describe('connectMcpHttp to a URL that is not a working MCP server', () => {
  it('a port nothing listens on: unreachable, naming the URL, the fetch error as cause', async () => {
    const url = await refusedUrl();
    const error = await rejection(connectMcpHttp({ url }));
    expect(error).toMatchObject({ code: 'MCP_CONNECT_FAILED', reason: 'unreachable', server: url });
    expect(error.message).toContain(url);
    expect(error.message).toContain('(unreachable)');
    expect(error.message).toContain('ECONNREFUSED');
    expect(error.cause).toBeInstanceOf(TypeError);
  });

  it('masks a token in the query string', async () => {
    const refused = new URL(await refusedUrl());
    refused.search = '?token=t0ken&mode=x';
    const error = await rejection(connectMcpHttp({ url: refused }));
    expect(error.server).toBe(refused.href.replace('t0ken', '***'));
    expect(`${error.message} ${JSON.stringify(error)}`).not.toContain('t0ken');
  });

  it('masks the password of a URL with credentials, which it sends as Basic auth', async () => {
    const refused = new URL(await refusedUrl());
    refused.username = 'alice';
    refused.password = 's3cret';
    const error = await rejection(connectMcpHttp({ url: refused }));
    expect(error.reason).toBe('unreachable');
    expect(error.server).toBe(refused.href.replace('s3cret', '***'));
    expect(error.message).toContain('alice:***@');
    expect(`${error.message} ${String(error.cause)} ${JSON.stringify(error)}`).not.toContain(
      's3cret',
    );

    const authorizations: (string | undefined)[] = [];
    const { server, url } = await httpServer((request, response) => {
      authorizations.push(request.headers.authorization);
      response.writeHead(401, { 'content-type': 'text/plain' }).end('Unauthorized');
    });
    try {
      const withCredentials = new URL(url);
      withCredentials.username = 'alice';
      withCredentials.password = 's3cret';
      const unauthorized = await rejection(connectMcpHttp({ url: withCredentials }));
      expect(unauthorized).toMatchObject({ reason: 'http-status', httpStatus: 401 });
      expect(unauthorized.message).not.toContain('s3cret');
      expect(authorizations[0]).toBe(`Basic ${Buffer.from('alice:s3cret').toString('base64')}`);
    } finally {
      await stop(server);
    }
  });

  it('a URL that answers 404: http-status with the status', async () => {
    const { server, url } = await httpServer((_request, response) => {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('Not Found');
    });
    try {
      const error = await rejection(connectMcpHttp({ url }));
      expect(error).toMatchObject({ reason: 'http-status', httpStatus: 404, server: url });
      expect(error.message).toContain('HTTP 404');
      expect(error.cause).toMatchObject({ code: 404 });
    } finally {
      await stop(server);
    }
  });

  it('a URL that answers an HTML page: protocol', async () => {
    const { server, url } = await httpServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>hi</body></html>');
    });
    try {
      const error = await rejection(connectMcpHttp({ url }));
      expect(error).toMatchObject({ reason: 'protocol', httpStatus: undefined });
      expect(error.message).toContain('text/html');
    } finally {
      await stop(server);
    }
  });

  it('a server that never answers: timeout after connectTimeoutMs, the request aborted', async () => {
    let closed: () => void = () => {};
    const requestClosed = new Promise<void>((resolve) => {
      closed = resolve;
    });
    const { server, url } = await httpServer((request) => {
      request.once('close', closed);
    });
    try {
      const started = Date.now();
      const error = await rejection(connectMcpHttp({ url, connectTimeoutMs: 300 }));
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(error).toMatchObject({ reason: 'timeout', server: url });
      expect(error.message).toContain('300 ms');
      // The client gave the request up: the server sees it closed.
      await requestClosed;
    } finally {
      await stop(server);
    }
  });

  it('connectTimeoutMs out of 1..2^31 − 1 (or NaN) is a TypeError, Infinity is allowed', async () => {
    const url = await refusedUrl();
    for (const connectTimeoutMs of [0, -1, Number.NaN, 2 ** 31]) {
      await expect(connectMcpHttp({ url, connectTimeoutMs })).rejects.toThrow(TypeError);
    }
    const error = await rejection(
      connectMcpHttp({ url, connectTimeoutMs: Number.POSITIVE_INFINITY }),
    );
    expect(error.reason).toBe('unreachable');
  });
});

describe('connectMcpStdio with a command that is not a working MCP server', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mcp-connect-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('a command that does not exist: not-found, naming the command, the spawn error as cause', async () => {
    const command = join(dir, 'no-such-server');
    const error = await rejection(connectMcpStdio({ command }));
    expect(error).toMatchObject({ reason: 'not-found', server: command });
    expect(error.message).toContain(command);
    expect(error.cause).toMatchObject({ code: 'ENOENT' });
  });

  it('a file that is not executable: spawn-failed', async () => {
    const command = join(dir, 'not-executable.sh');
    await writeFile(command, '#!/bin/sh\nexit 0\n');
    await chmod(command, 0o644);
    const error = await rejection(connectMcpStdio({ command }));
    expect(error).toMatchObject({ reason: 'spawn-failed', server: command });
    expect(error.cause).toMatchObject({ code: 'EACCES' });
  });

  it('a process that exits at once with code 3: exited, with the exit code and the command line', async () => {
    const error = await rejection(
      connectMcpStdio({ command: process.execPath, args: ['-e', 'process.exit(3)'] }),
    );
    expect(error).toMatchObject({ reason: 'exited', exitCode: 3 });
    expect(error.server).toBe(`${process.execPath} -e "process.exit(3)"`);
    expect(error.message).toContain('exited with code 3 before it answered initialize');
    expect(error.cause).toMatchObject({ code: -32000 });
  });

  it('masks secrets of the command line in the error: secret options, URL credentials', async () => {
    const error = await rejection(
      connectMcpStdio({
        command: process.execPath,
        args: [
          '-e',
          'process.exit(3)',
          '--token',
          'tok3n',
          '--api-key=k3y',
          'https://u:pw@h/?sig=s1g',
        ],
      }),
    );
    expect(error.server).toBe(
      `${process.execPath} -e "process.exit(3)" --token "***" "--api-key=***" "https://u:***@h/?sig=***"`,
    );
    const shown = `${error.message} ${JSON.stringify(error)}`;
    for (const secret of ['tok3n', 'k3y', 'pw@', 's1g']) expect(shown).not.toContain(secret);
  });

  it('masks secrets in option values, env-style assignments and headers of the command line', async () => {
    const lines: [string[], string][] = [
      [
        [
          '--url=https://user:S3CRET4@h/mcp',
          'https://S3CRET5@h/?token=S3CRET6',
          '-e',
          'GITHUB_TOKEN=S3CRET7',
        ],
        '"--url=https://user:***@h/mcp" "https://***@h/?token=***" -e "GITHUB_TOKEN=***"',
      ],
      [
        [
          '--header',
          'Authorization: Bearer S3CRET8',
          'API_KEY=S3CRET9',
          '--env=TOKEN=S3CRETA',
          '-H',
          'X-Api-Key: S3CRETB',
        ],
        '--header "Authorization: ***" "API_KEY=***" "--env=TOKEN=***" -H "X-Api-Key: ***"',
      ],
    ];
    for (const [args, shown] of lines) {
      const error = await rejection(
        connectMcpStdio({ command: process.execPath, args: ['-e', 'process.exit(3)', ...args] }),
      );
      expect(error.server).toBe(`${process.execPath} -e "process.exit(3)" ${shown}`);
      expect(`${error.message} ${JSON.stringify(error)}`).not.toContain('S3CRET');
    }
  });

  it('a process that exits at once with code 0: exited too', async () => {
    const error = await rejection(
      connectMcpStdio({ command: process.execPath, args: ['-e', 'process.exit(0)'] }),
    );
    expect(error).toMatchObject({ reason: 'exited', exitCode: 0 });
  });

  it('a process that exits when initialize arrives: exited', async () => {
    const error = await rejection(
      connectMcpStdio({
        command: process.execPath,
        args: ['-e', 'process.stdin.once("data", () => process.exit(7))'],
      }),
    );
    expect(error).toMatchObject({ reason: 'exited', exitCode: 7 });
  });

  it('a process that answers initialize, then exits at tools/list: exited, saying when', async () => {
    const server = `
      const lines = require('node:readline').createInterface({ input: process.stdin });
      lines.on('line', (line) => {
        const message = JSON.parse(line);
        if (message.method === 'initialize') {
          const result = {
            protocolVersion: message.params.protocolVersion,
            capabilities: { tools: {} },
            serverInfo: { name: 'quitter', version: '1.0.0' },
          };
          process.stdout.write(JSON.stringify({ jsonrpc: '2.0', id: message.id, result }) + '\\n');
        }
        if (message.method === 'tools/list') process.exit(5);
      });`;
    const error = await rejection(
      connectMcpStdio({ command: process.execPath, args: ['-e', server] }),
    );
    expect(error).toMatchObject({ reason: 'exited', exitCode: 5 });
    expect(error.message).toContain('before it answered tools/list');
  });

  it('a process that answers initialize with a JSON-RPC error: protocol (its end at close is not news)', async () => {
    const server = `
      const lines = require('node:readline').createInterface({ input: process.stdin });
      lines.on('line', (line) => {
        const message = JSON.parse(line);
        const error = { code: -32603, message: 'not today' };
        process.stdout.write(JSON.stringify({ jsonrpc: '2.0', id: message.id, error }) + '\\n');
      });`;
    const error = await rejection(
      connectMcpStdio({ command: process.execPath, args: ['-e', server] }),
    );
    expect(error).toMatchObject({ reason: 'protocol', exitCode: undefined });
    expect(error.message).toContain('JSON-RPC error -32603: MCP error -32603: not today');
  });

  it('a process that writes what is not JSON-RPC and never answers: protocol, and it is ended', async () => {
    const pidFile = join(dir, 'garbage.pid');
    const script =
      'require("node:fs").writeFileSync(process.argv[1], String(process.pid));' +
      'console.log("hello, this is not JSON-RPC"); setInterval(() => {}, 1000);';
    const error = await rejection(
      connectMcpStdio({
        command: process.execPath,
        args: ['-e', script, pidFile],
        connectTimeoutMs: 500,
      }),
    );
    expect(error.reason).toBe('protocol');
    expect(error.message).toContain('within the connect timeout of 500 ms');
    expect(error.message).toContain('not a JSON-RPC message');
    const pid = Number(await readFile(pidFile, 'utf8'));
    expect(isAlive(pid)).toBe(false);
  });

  it('a process that says nothing: timeout, and it is ended', async () => {
    const pidFile = join(dir, 'silent.pid');
    const script =
      'require("node:fs").writeFileSync(process.argv[1], String(process.pid));' +
      'setInterval(() => {}, 1000);';
    const error = await rejection(
      connectMcpStdio({
        command: process.execPath,
        args: ['-e', script, pidFile],
        connectTimeoutMs: 500,
      }),
    );
    expect(error.reason).toBe('timeout');
    const pid = Number(await readFile(pidFile, 'utf8'));
    expect(isAlive(pid)).toBe(false);
  });

  it("a reconnection that fails: the call's ToolCallError (disconnected) has the McpConnectError as cause", async () => {
    // The example server the first time; at the next start, exit 4.
    const marker = join(dir, 'started-once');
    const script =
      'const fs = require("node:fs");' +
      'if (fs.existsSync(process.argv[1])) process.exit(4);' +
      'fs.writeFileSync(process.argv[1], "");' +
      'import("./examples/mcp-server/main.ts");';
    const tools = await connectMcpStdio({
      command: process.execPath,
      args: ['--import', 'tsx', '-e', script, marker],
      cwd: process.cwd(),
    });
    try {
      const pid = (tools.client.transport as StdioClientTransport).pid as number;
      process.kill(pid, 'SIGKILL');
      await vi.waitFor(() => expect(tools.client.transport).toBeUndefined());
      const error = await tools
        .target('word_count')
        .call(createContext('Doc', { text: 'anyone there?' }), helpers())
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'TOOL_CALL_FAILED', reason: 'disconnected' });
      const cause = (error as Error).cause;
      expect(cause).toBeInstanceOf(McpConnectError);
      expect(cause).toMatchObject({ reason: 'exited', exitCode: 4 });
      expect((error as Error).message).toContain('exited with code 4');
    } finally {
      await tools.close();
    }
  });
});
