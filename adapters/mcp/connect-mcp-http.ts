import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  type ConnectMcpToolsOptions,
  connectMcpTools,
  type McpToolSet,
} from './connect-mcp-tools.js';

/** Options of {@link connectMcpHttp}. */
export interface McpHttpOptions extends ConnectMcpToolsOptions {
  /** The server's Streamable HTTP endpoint, e.g. `http://127.0.0.1:3000/mcp`. Required. */
  readonly url: string | URL;
  /** Extra `fetch` options of every request (e.g. an `Authorization` header). Default: none. */
  readonly requestInit?: RequestInit;
}

/**
 * Connects to an MCP server over Streamable HTTP (the SDK's `StreamableHTTPClientTransport`,
 * built on `fetch`, so it runs in browsers too) and returns its tools as targets; `close()`
 * ends the session on the server (`DELETE`, best effort: a server that is gone or keeps no
 * sessions is not waited for), then closes the client.
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
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    ...(requestInit === undefined ? {} : { requestInit }),
  });
  const set = await connectMcpTools({ transport }, rest);
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= transport
      .terminateSession()
      .catch(() => {})
      .then(() => set.close());
    return closed;
  };
  return { ...set, close };
}
