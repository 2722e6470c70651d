import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  ErrorCode,
  type Implementation,
  McpError,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import { ToolCallError } from '../../src/errors.js';
import { assertTimerDelay, MAX_TIMER_DELAY_MS } from '../../src/timer-delay.js';
import { type ConnectPhase, connectError, type McpServerDescription } from './connect-failure.js';
import {
  disconnectedError,
  fixedToolSource,
  listAllTools,
  type McpToolSource,
  type McpToolTarget,
  type McpToolTargetOptions,
  toolsByName,
  toolTargetOf,
} from './mcp-tool-target.js';
import { assertConnectArguments } from './option-keys.js';

/** How long the ping that follows a transport error may wait for the server's answer (ms). */
const PROBE_TIMEOUT_MS = 5_000;

/** How long a connect may take by default, from starting the transport to the tools listed (ms). */
const DEFAULT_CONNECT_TIMEOUT_MS = 60_000;

/** `connectTimeoutMs` as a timer delay (`Infinity`: the longest); out of range is a `TypeError`. */
function connectTimeoutOf(timeoutMs: number | undefined): number {
  if (timeoutMs === undefined) return DEFAULT_CONNECT_TIMEOUT_MS;
  assertTimerDelay('connectTimeoutMs', timeoutMs, 'no practical limit');
  return Math.min(timeoutMs, MAX_TIMER_DELAY_MS);
}

/** Options of {@link connectMcpTools} and the `connectMcp*` connectors. */
export interface ConnectMcpToolsOptions {
  /**
   * Make targets for these tools only (each must exist); the others are not checked at all (their
   * names, their schemas). Default: every tool the server lists.
   */
  readonly tools?: readonly string[];
  /** Options of every target. Default: none (each target's id is its tool's name). */
  readonly targetOptions?: Omit<McpToolTargetOptions, 'targetId'>;
  /** Options of one tool's target, by tool name; they win over `targetOptions`. Default: none. */
  readonly perTool?: Readonly<Record<string, McpToolTargetOptions>>;
  /**
   * Who the client says it is, when the set makes the client. Default:
   * {@link DEFAULT_MCP_CLIENT_INFO} (`{ name: 'mcp-orchestration', version: '0.1.0' }`).
   */
  readonly clientInfo?: Implementation;
  /** Aborts connecting and listing; the promise rejects with the signal's reason. Default: none. */
  readonly signal?: AbortSignal;
  /**
   * How long connecting may take (ms), from starting the transport (a stdio server's process)
   * to the last page of `tools/list`, at the first connect and at each reconnection: 1 to
   * 2 147 483 647, or `Infinity` for no practical limit; anything else is a `TypeError`. Past
   * it the connect fails with `McpConnectError` (`reason: 'timeout'`), the process ended or the
   * request aborted. Not used over an injected `client`. Default: 60 000.
   */
  readonly connectTimeoutMs?: number;
}

/** Where {@link connectMcpTools} gets its connection: your connected client, or a transport. */
export type McpConnection =
  /** A connected SDK client; yours to close (the set's `close()` leaves it open). */
  | { readonly client: Client }
  /** A transport not yet started; the set makes a client over it, and `close()` closes both. */
  | { readonly transport: Transport }
  /**
   * Makes a transport not yet started, each time the set connects: first, then again at the
   * first call after the connection was lost (the set reconnects). The set makes the client, and
   * `close()` closes it with the transport of the moment.
   */
  | { readonly newTransport: () => Transport | Promise<Transport> };

/** The tools of one MCP server as targets, and the connection they share. */
export interface McpToolSet {
  /** The SDK client the targets call through (the same one after a reconnection). */
  readonly client: Client;
  /** One target per tool, in the server's order (or in the order of the `tools` option). */
  readonly targets: readonly McpToolTarget[];
  /** The target of a tool; throws `ToolCallError` (`reason: 'unknown-tool'`) when there is none. */
  target(toolName: string): McpToolTarget;
  /**
   * Closes the client and its transport (a stdio server process is ended) when the set made
   * them; leaves an injected client open. The targets cannot call after that (`ToolCallError`,
   * `reason: 'disconnected'`), and the set never reconnects. Idempotent.
   */
  close(): Promise<void>;
}

/** What the client of a set says it is when none is given. */
export const DEFAULT_MCP_CLIENT_INFO: Implementation = {
  name: 'mcp-orchestration',
  version: '0.1.0',
};

/** Hooks of {@link openMcpToolSet} for the connectors. @internal */
export interface McpToolSetHooks {
  /** Runs first in the set's `close()`, with the transport of the moment (if connected). */
  readonly beforeClose?: (transport: Transport) => Promise<void>;
  /**
   * Names the server in an `McpConnectError`, and reads the transport's failures. Default: the
   * server is `over <the transport's class>`, its failures read the generic way.
   */
  readonly server?: McpServerDescription;
}

/** Waits for `promise`, or rejects with the signal's reason once it is aborted. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * Whether a ping that failed shows the connection lost: it could not be sent or was cut off (a
 * transport error, or the SDK's "connection closed"), rather than answered with an error or
 * left unanswered (timeout), which a live but busy server may do.
 */
function showsLost(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  const rpc = error instanceof McpError || (error instanceof Error && error.name === 'McpError');
  return !rpc || code === ErrorCode.ConnectionClosed;
}

/**
 * The connection of a set that made its client: connects over `newTransport`, watches the
 * transport (after any error it reports, a ping; when that cannot reach the server either, the
 * transport is closed, which fails the calls in flight as `disconnected`), and, when it can
 * make another transport, connects again at the first call after the connection was lost.
 */
function ownedSource(
  client: Client,
  newTransport: () => Transport | Promise<Transport>,
  canReconnect: boolean,
  connect: { readonly timeoutMs: number; readonly server: McpServerDescription | undefined },
): McpToolSource & {
  open(signal?: AbortSignal): Promise<Tool[]>;
  close(): Promise<void>;
} {
  let tools: ReadonlyMap<string, Tool> = new Map();
  /** The transport connected and listed, while it is the client's. */
  let live: Transport | undefined;
  let probing: Promise<void> | undefined;
  let reconnecting: Promise<void> | undefined;
  let closing = false;

  /** After a transport error: is the server still there? If not, closes the transport. */
  const probe = (transport: Transport): void => {
    if (probing !== undefined || closing || live !== transport) return;
    probing = Promise.resolve()
      .then(() => client.ping({ timeout: PROBE_TIMEOUT_MS }))
      .then(
        () => {},
        async (error: unknown) => {
          if (showsLost(error) && live === transport) {
            live = undefined;
            await transport.close().catch(() => {});
          }
        },
      )
      .finally(() => {
        probing = undefined;
      });
  };

  /**
   * Connects a new transport and lists the tools, within the connect timeout. A failure (but
   * an abort of `signal`, or the set closing) is an `McpConnectError`, thrown once the transport
   * is closed (a stdio server's process ended).
   */
  const open = async (signal?: AbortSignal): Promise<Tool[]> => {
    // Aborted by `signal`, or at the timeout: the SDK then cancels the request in flight.
    const deadline = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      deadline.abort(new Error(`connect timed out after ${connect.timeoutMs} ms`));
    }, connect.timeoutMs);
    const forward = () => deadline.abort(signal?.reason);
    if (signal?.aborted) forward();
    else signal?.addEventListener('abort', forward, { once: true });
    let transport: Transport | undefined;
    let phase: ConnectPhase = 'initialize';
    let reported: unknown;
    try {
      const made = await newTransport();
      transport = made;
      if (closing) {
        await made.close().catch(() => {});
        throw new Error('the tool set was closed');
      }
      // The client chains its own handler after this one.
      const reportedBefore = made.onerror;
      made.onerror = (error) => {
        reportedBefore?.(error);
        if (live !== made) reported ??= error;
        probe(made);
      };
      deadline.signal.throwIfAborted();
      await client.connect(made, { signal: deadline.signal, timeout: connect.timeoutMs });
      phase = 'list';
      const listed = await listAllTools(client, deadline.signal, connect.timeoutMs);
      if (closing) throw new Error('the tool set was closed');
      tools = toolsByName(listed);
      live = made;
      return listed;
    } catch (error) {
      clearTimeout(timer);
      // Read as it failed, before closing (which ends a process, and the process's exit is news
      // only when it came first).
      const failure =
        signal?.aborted || closing
          ? error
          : connectError(connect.server, {
              error,
              transport,
              phase,
              reported,
              timedOutAfterMs: timedOut ? connect.timeoutMs : undefined,
            });
      // Also waits for a process the SDK began to end when its `initialize` failed.
      await client.close().catch(() => {});
      throw failure;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', forward);
    }
  };

  return {
    client,
    open,
    async ready(target, signal) {
      signal.throwIfAborted();
      if (probing !== undefined) await untilAborted(probing, signal);
      if (closing) throw disconnectedError(target, 'the tool set was closed');
      if (reconnecting === undefined && live !== undefined && client.transport === live) {
        return tools;
      }
      if (!canReconnect && reconnecting === undefined) {
        throw disconnectedError(target, 'the client is not connected to the MCP server');
      }
      reconnecting ??= (async () => {
        live = undefined;
        // A transport the client still holds (lost, but not closed) is closed first.
        if (client.transport !== undefined) await client.close().catch(() => {});
        await open();
      })().finally(() => {
        reconnecting = undefined;
      });
      try {
        await untilAborted(reconnecting, signal);
      } catch (error) {
        if (signal.aborted) throw signal.reason;
        if (closing) throw disconnectedError(target, 'the tool set was closed');
        const reason = error instanceof Error ? error.message : String(error);
        throw disconnectedError(
          target,
          `the connection was lost, and connecting again failed: ${reason}`,
          error,
        );
      }
      return tools;
    },
    async close() {
      closing = true;
      live = undefined;
      await client.close();
      await reconnecting?.catch(() => {});
      // A reconnection that was starting closed its own transport.
    },
  };
}

/**
 * Lists the tools of an MCP server and returns one {@link McpToolTarget} per tool (see
 * `mcpToolTarget` for what a call does), sharing one connection. Give it a connected SDK
 * `Client` (the project's habit: clients are injected), a transport to connect over, or a
 * function that makes one; the `connectMcpStdio` and `connectMcpHttp` connectors pass the last.
 *
 * A set that made its client watches the connection: after an error of the transport it pings
 * the server, and when that fails too (no answer at all, not a slow one) it takes the
 * connection as lost and closes it, so calls in flight fail at once with `ToolCallError`
 * (`reason: 'disconnected'`) instead of waiting for their timeout. Given `newTransport`, the set
 * then reconnects at its next call (a new transport, a new `initialize`, the tools listed again):
 * a call that was in flight is never sent again, but a step's next attempt goes through. A tool
 * the server no longer lists then fails its calls with `reason: 'unknown-tool'`. Over an
 * injected client or one transport, calls after the connection was lost fail (`disconnected`).
 *
 * A connect over a transport that fails (the first, or a reconnection) rejects with
 * `McpConnectError` (`reason`: see `McpConnectFailureReason`; the SDK's error as `cause`), after
 * closing the transport; past `connectTimeoutMs` (default 60 s) with `reason: 'timeout'`. Over an
 * injected client, a failed listing rejects with the SDK's error. An abort of `signal` rejects
 * with its reason.
 *
 * A key either argument does not take is a `TypeError` naming it (and where it goes, e.g.
 * `connectMcpTools({ transport }, { tools })`), as is an unknown key of `targetOptions` or of an
 * entry of `perTool`.
 *
 * Targets have no `close()` of their own (they share the client): close the set.
 *
 * @example
 * ```ts
 * const client = new Client({ name: 'my-app', version: '1.0.0' });
 * await client.connect(transport);
 * const tools = await connectMcpTools({ client });
 * const counted = await tools.target('word_count').call(context, helpers);
 * ```
 */
export async function connectMcpTools(
  connection: McpConnection,
  options: ConnectMcpToolsOptions = {},
): Promise<McpToolSet> {
  assertConnectArguments(connection, options);
  return openMcpToolSet(connection, options);
}

/** {@link connectMcpTools}, with the connectors' hooks. @internal */
export async function openMcpToolSet(
  connection: McpConnection,
  options: ConnectMcpToolsOptions = {},
  hooks: McpToolSetHooks = {},
): Promise<McpToolSet> {
  if ('client' in connection) {
    const { client } = connection;
    const listed = await listAllTools(client, options.signal).catch((error: unknown) => {
      throw options.signal?.aborted ? options.signal.reason : error;
    });
    const source = fixedToolSource(client, listed);
    return toolSet(source, listed, options, () => Promise.resolve());
  }
  const connect = {
    timeoutMs: connectTimeoutOf(options.connectTimeoutMs),
    server: hooks.server,
  };
  const client = new Client(options.clientInfo ?? DEFAULT_MCP_CLIENT_INFO);
  const source =
    'transport' in connection
      ? ownedSource(client, () => connection.transport, false, connect)
      : ownedSource(client, connection.newTransport, true, connect);
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      const { transport } = client;
      if (transport !== undefined && hooks.beforeClose) await hooks.beforeClose(transport);
      await source.close();
    })();
    return closed;
  };
  try {
    options.signal?.throwIfAborted();
    const listed = await source.open(options.signal);
    return toolSet(source, listed, options, close);
  } catch (error) {
    await source.close().catch(() => {});
    // Aborted, the SDK rejects with its own McpError (-32001) wrapping the reason: give the
    // caller's reason, as a target's call does.
    throw options.signal?.aborted ? options.signal.reason : error;
  }
}

/** The set of the wanted tools among those listed (each must be there). */
function toolSet(
  source: McpToolSource,
  listed: readonly Tool[],
  options: ConnectMcpToolsOptions,
  close: () => Promise<void>,
): McpToolSet {
  const byName = toolsByName(listed);
  const wanted = options.tools ?? [...byName.keys()];
  const targets = wanted.map((name) => {
    const tool = byName.get(name);
    if (tool === undefined) {
      throw new ToolCallError(name, name, 'unknown-tool', 'the server lists no tool of this name');
    }
    return toolTargetOf(source, tool, { ...options.targetOptions, ...options.perTool?.[name] });
  });
  return {
    client: source.client,
    targets,
    target(toolName) {
      const found = targets.find((target) => target.toolName === toolName);
      if (found) return found;
      throw new ToolCallError(toolName, toolName, 'unknown-tool', 'the set has no such tool');
    },
    close,
  };
}
