import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { ConnectMcpToolsOptions, McpToolSet } from './connect-mcp-tools.js';
import { openMcpToolSet } from './connect-mcp-tools.js';

/** How long `close()` waits for the server to end the session before closing anyway (ms). */
const SESSION_END_TIMEOUT_MS = 2_000;

/** Options of {@link connectMcpHttp}. */
export interface McpHttpOptions extends ConnectMcpToolsOptions {
  /** The server's Streamable HTTP endpoint, e.g. `http://127.0.0.1:3000/mcp`. Required. */
  readonly url: string | URL;
  /** Extra `fetch` options of every request (e.g. an `Authorization` header). Default: none. */
  readonly requestInit?: RequestInit;
}

/**
 * Asks the server to end the transport's session; settles after at most the timeout, and never
 * rejects.
 */
async function endSession(transport: StreamableHTTPClientTransport): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const givenUp = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, SESSION_END_TIMEOUT_MS);
  });
  try {
    await Promise.race([transport.terminateSession().catch(() => {}), givenUp]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Connects to an MCP server over Streamable HTTP (the SDK's `StreamableHTTPClientTransport`,
 * built on `fetch`, so it runs in browsers too) and returns its tools as targets; `close()`
 * ends the session on the server (`DELETE`, best effort: an error is ignored, and a server that
 * has not answered within 2 s is not waited for), then closes the client.
 *
 * When the server goes away (it died, or restarted and no longer knows the session: 404), calls
 * in flight fail with `ToolCallError` (`reason: 'disconnected'`) as soon as the set has seen it
 * (a stream cut or a request failed, then a ping failed too), and the next call starts a new
 * session (a new `initialize`); a call is never sent twice.
 *
 * @example
 * ```ts
 * const tools = await connectMcpHttp({ url: 'http://127.0.0.1:3000/mcp' });
 * const keywords = tools.target('extract_keywords');
 * await tools.close();
 * ```
 */
export async function connectMcpHttp(options: McpHttpOptions): Promise<McpToolSet> {
  const { url, requestInit, ...rest } = options;
  const endpoint = new URL(url);
  return openMcpToolSet(
    {
      newTransport: () =>
        new StreamableHTTPClientTransport(endpoint, {
          ...(requestInit === undefined ? {} : { requestInit }),
        }),
    },
    rest,
    {
      // Closing the client aborts a DELETE still in flight: end the session first.
      beforeClose: async (transport) => {
        if (transport instanceof StreamableHTTPClientTransport) await endSession(transport);
      },
    },
  );
}
