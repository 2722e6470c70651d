import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import {
  StreamableHTTPClientTransport,
  StreamableHTTPError,
} from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { redactUrl } from '../../src/redact.js';
import {
  type ConnectAttempt,
  type McpConnectFailure,
  phaseRequest,
  shortMessage,
} from './connect-failure.js';
import type { ConnectMcpToolsOptions, McpToolSet } from './connect-mcp-tools.js';
import { openMcpToolSet } from './connect-mcp-tools.js';
import { assertConnectorOptions, HTTP_KEYS } from './option-keys.js';

/** How long `close()` waits for the server to end the session before closing anyway (ms). */
const SESSION_END_TIMEOUT_MS = 2_000;

/** Base64 of the UTF-8 bytes of `text` (`btoa` takes Latin-1 only). */
function base64Utf8(text: string): string {
  let binary = '';
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** A percent-encoded URL part, decoded (as it is, when it does not decode). */
function decoded(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

/**
 * The endpoint without its credentials (`fetch` refuses a URL with them), and `requestInit`
 * sending them as `Authorization: Basic` instead, unless it sets an `Authorization` header.
 */
function withoutCredentials(
  url: URL,
  requestInit: RequestInit | undefined,
): { endpoint: URL; requestInit: RequestInit | undefined } {
  if (url.username === '' && url.password === '') return { endpoint: url, requestInit };
  const endpoint = new URL(url.href);
  endpoint.username = '';
  endpoint.password = '';
  const headers = new Headers(requestInit?.headers);
  if (!headers.has('authorization')) {
    const user = decoded(url.username);
    const password = decoded(url.password);
    headers.set('authorization', `Basic ${base64Utf8(`${user}:${password}`)}`);
  }
  return { endpoint, requestInit: { ...requestInit, headers } };
}

/** Whether `error` is `fetch` failing to reach the server (refused, unknown host, cut off…). */
function isNetworkError(error: unknown): boolean {
  if (!(error instanceof TypeError)) return false;
  const cause = (error as { cause?: { code?: unknown } }).cause;
  // Node's fetch: "fetch failed", the socket's error as `cause`; browsers: "Failed to fetch"…
  return typeof cause?.code === 'string' || /fetch|network/i.test(error.message);
}

/** The HTTP reading of a failed connect: unreachable, an HTTP error status, not an MCP endpoint. */
function explainHttp(attempt: ConnectAttempt): McpConnectFailure | undefined {
  const { error, phase } = attempt;
  const request = phaseRequest(phase);
  if (isNetworkError(error)) {
    const cause = (error as { cause?: unknown }).cause;
    const why = cause instanceof Error ? cause.message : (error as Error).message;
    return { reason: 'unreachable', detail: `no answer to ${request}: ${shortMessage(why)}` };
  }
  if (error instanceof UnauthorizedError) {
    return {
      reason: 'http-status',
      detail: `it answered ${request} with HTTP 401 (unauthorized): ${shortMessage(error)}`,
      httpStatus: 401,
    };
  }
  if (error instanceof StreamableHTTPError) {
    const status = error.code;
    // The SDK's message starts "Streamable HTTP error: Error POSTing to endpoint: <body>".
    const said = shortMessage(error.message.replace(/^Streamable HTTP error: /, ''));
    if (typeof status === 'number' && status >= 100) {
      return {
        reason: 'http-status',
        detail: `it answered ${request} with HTTP ${status} (${said}); is this the server's MCP endpoint?`,
        httpStatus: status,
      };
    }
    return {
      reason: 'protocol',
      detail: `its answer to ${request} is not MCP (${said}); is this the server's MCP endpoint?`,
    };
  }
  return undefined;
}

/** Options of {@link connectMcpHttp}. */
export interface McpHttpOptions extends ConnectMcpToolsOptions {
  /**
   * The server's Streamable HTTP endpoint, e.g. `http://127.0.0.1:3000/mcp`. Required.
   * Credentials in it (`https://user:password@host/mcp`) are sent as `Authorization: Basic`
   * (unless `requestInit` sets an `Authorization` header) and masked in error messages.
   */
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
 * A connect that fails rejects with `McpConnectError` naming the URL (its password masked):
 * `unreachable` (refused, unknown host), `http-status` (e.g. 404: not the MCP endpoint; 401;
 * `httpStatus`), `protocol` (it answers, but not MCP: an HTML page, say), or `timeout`
 * (`connectTimeoutMs`, default 60 s; the request is aborted). A key the options do not take is a
 * `TypeError` naming it, before anything is sent.
 *
 * @example
 * ```ts
 * const tools = await connectMcpHttp({ url: 'http://127.0.0.1:3000/mcp' });
 * const keywords = tools.target('extract_keywords');
 * await tools.close();
 * ```
 */
export async function connectMcpHttp(options: McpHttpOptions): Promise<McpToolSet> {
  assertConnectorOptions(options, 'connectMcpHttp', HTTP_KEYS);
  const { url, requestInit: givenInit, ...rest } = options;
  const given = new URL(url);
  const { endpoint, requestInit } = withoutCredentials(given, givenInit);
  return openMcpToolSet(
    {
      newTransport: () =>
        new StreamableHTTPClientTransport(endpoint, {
          ...(requestInit === undefined ? {} : { requestInit }),
        }),
    },
    rest,
    {
      server: { server: redactUrl(given.href), explain: explainHttp },
      // Closing the client aborts a DELETE still in flight: end the session first.
      beforeClose: async (transport) => {
        if (transport instanceof StreamableHTTPClientTransport) await endSession(transport);
      },
    },
  );
}
