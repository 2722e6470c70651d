/**
 * Serves the example MCP server over Streamable HTTP on 127.0.0.1, with sessions as the SDK
 * documents them: a POST to `/mcp` without an `mcp-session-id` header starts a session (its own
 * transport and server, the id from `randomUUID`); later requests name it in that header: POST
 * (messages), GET (the server's SSE stream), DELETE (ends the session). All requests of a session
 * reach one server, so the `notifications/cancelled` a client sends when a call is aborted stops
 * that call on the server. A session lasts until its client sends DELETE or the HTTP server
 * closes. An unknown session id answers 404, a GET or DELETE without one 400. Node only.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { createTextToolsServer, type TextToolsServerOptions } from './create-text-tools-server.js';

/** Options of {@link startHttpServer}. */
export interface HttpServerOptions extends TextToolsServerOptions {
  /** Port to listen on; 0 picks a free one. Default: 0. */
  readonly port?: number;
}

/** A running HTTP server. */
export interface RunningHttpServer {
  /** The MCP endpoint, e.g. `http://127.0.0.1:41234/mcp`. */
  readonly url: URL;
  /** How many sessions are open (a client's DELETE ends its own). */
  sessionCount(): number;
  /** Closes every session (aborting calls in flight), stops listening, drops open connections. */
  close(): Promise<void>;
}

interface Session {
  readonly server: McpServer;
  readonly transport: StreamableHTTPServerTransport;
}

/** Answers a JSON-RPC error with no id, as the SDK's example server does. */
function rpcError(res: ServerResponse, status: number, code: number, message: string): void {
  res
    .writeHead(status, { 'content-type': 'application/json' })
    .end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }));
}

/** Starts the example server over Streamable HTTP on 127.0.0.1, one server per session. */
export async function startHttpServer(options: HttpServerOptions = {}): Promise<RunningHttpServer> {
  const sessions = new Map<string, Session>();

  /** A POST without a session: a fresh transport and server, kept if it was `initialize`. */
  const startSession = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const server = createTextToolsServer(options);
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: randomUUID,
      onsessioninitialized: (id) => {
        sessions.set(id, { server, transport });
      },
    });
    transport.onclose = () => {
      if (transport.sessionId !== undefined) sessions.delete(transport.sessionId);
    };
    await server.connect(transport);
    await transport.handleRequest(req, res);
    // Anything but `initialize` was refused by the transport (400): nothing to keep.
    if (transport.sessionId === undefined) await server.close();
  };

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.url !== '/mcp') {
      res.writeHead(404).end();
      return;
    }
    const id = req.headers['mcp-session-id'];
    if (id === undefined) {
      if (req.method === 'POST') return startSession(req, res);
      if (req.method === 'GET' || req.method === 'DELETE') {
        return rpcError(res, 400, -32000, 'Bad Request: Mcp-Session-Id header is required');
      }
      res.writeHead(405).end();
      return;
    }
    const session = typeof id === 'string' ? sessions.get(id) : undefined;
    if (!session) return rpcError(res, 404, -32001, 'Session not found');
    await session.transport.handleRequest(req, res);
  };

  const http = createServer((req, res) => {
    route(req, res).catch((error: unknown) => {
      console.error('MCP request failed:', error);
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port ?? 0, '127.0.0.1', resolve);
  });
  const { port } = http.address() as AddressInfo;
  return {
    url: new URL(`http://127.0.0.1:${port}/mcp`),
    sessionCount: () => sessions.size,
    close: async () => {
      await Promise.all([...sessions.values()].map(({ server }) => server.close()));
      await new Promise<void>((resolve, reject) => {
        http.closeAllConnections();
        http.close((error) => (error ? reject(error) : resolve()));
      });
    },
  };
}
