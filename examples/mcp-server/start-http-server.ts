/**
 * Serves the example MCP server over Streamable HTTP on 127.0.0.1, stateless: each POST to
 * `/mcp` gets a fresh server and transport (no sessions), other methods answer 405.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
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
  /** Stops listening and drops open connections. */
  close(): Promise<void>;
}

/** Starts the example server over Streamable HTTP on 127.0.0.1. */
export async function startHttpServer(options: HttpServerOptions = {}): Promise<RunningHttpServer> {
  const http = createServer((req, res) => {
    if (req.method !== 'POST' || req.url !== '/mcp') {
      res.writeHead(req.url === '/mcp' ? 405 : 404).end();
      return;
    }
    const server = createTextToolsServer(options);
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    server
      .connect(transport)
      .then(() => transport.handleRequest(req, res))
      .catch((error: unknown) => {
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
    close: () =>
      new Promise<void>((resolve, reject) => {
        http.closeAllConnections();
        http.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
