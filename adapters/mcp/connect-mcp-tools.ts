import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  ErrorCode,
  type Implementation,
  McpError,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import { ToolCallError } from '../../src/errors.js';
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

/** How long the ping that follows a transport error may wait for the server's answer (ms). */
const PROBE_TIMEOUT_MS = 5_000;

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

  const open = async (signal?: AbortSignal): Promise<Tool[]> => {
    const transport = await newTransport();
    if (closing) {
      await transport.close().catch(() => {});
      throw new Error('the tool set was closed');
    }
    // The client chains its own handler after this one.
    const reported = transport.onerror;
    transport.onerror = (error) => {
      reported?.(error);
      probe(transport);
    };
    try {
      await client.connect(transport, { signal });
      const listed = await listAllTools(client, signal);
      if (closing) throw new Error('the tool set was closed');
      tools = toolsByName(listed);
      live = transport;
      return listed;
    } catch (error) {
      await client.close().catch(() => {});
      throw error;
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
export function connectMcpTools(
  connection: McpConnection,
  options: ConnectMcpToolsOptions = {},
): Promise<McpToolSet> {
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
  const client = new Client(options.clientInfo ?? DEFAULT_MCP_CLIENT_INFO);
  const source =
    'transport' in connection
      ? ownedSource(client, () => connection.transport, false)
      : ownedSource(client, connection.newTransport, true);
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
