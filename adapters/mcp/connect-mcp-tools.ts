import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { Implementation } from '@modelcontextprotocol/sdk/types.js';
import { ToolCallError } from '../../src/errors.js';
import {
  listAllTools,
  type McpToolTarget,
  type McpToolTargetOptions,
  toolTargetOf,
} from './mcp-tool-target.js';

/** Options of {@link connectMcpTools} and the `connectMcp*` connectors. */
export interface ConnectMcpToolsOptions {
  /** Make targets for these tools only (each must exist). Default: every tool the server lists. */
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
  | { readonly transport: Transport };

/** The tools of one MCP server as targets, and the connection they share. */
export interface McpToolSet {
  /** The SDK client the targets call through. */
  readonly client: Client;
  /** One target per tool, in the server's order (or in the order of the `tools` option). */
  readonly targets: readonly McpToolTarget[];
  /** The target of a tool; throws `ToolCallError` (`reason: 'unknown-tool'`) when there is none. */
  target(toolName: string): McpToolTarget;
  /**
   * Closes the client and its transport (a stdio server process is ended) when the set made
   * them; leaves an injected client open. The targets cannot call after that. Idempotent.
   */
  close(): Promise<void>;
}

/** What the client of a set says it is when none is given. */
export const DEFAULT_MCP_CLIENT_INFO: Implementation = {
  name: 'mcp-orchestration',
  version: '0.1.0',
};

/**
 * Lists the tools of an MCP server and returns one {@link McpToolTarget} per tool (see
 * `mcpToolTarget` for what a call does), sharing one connection. Give it a connected SDK
 * `Client` (the project's habit: clients are injected) or a transport to connect over; the
 * `connectMcpStdio` and `connectMcpHttp` connectors make the transport for you.
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
  const owned = 'transport' in connection;
  const client = owned
    ? new Client(options.clientInfo ?? DEFAULT_MCP_CLIENT_INFO)
    : connection.client;
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= owned ? client.close() : Promise.resolve();
    return closed;
  };
  try {
    if (owned) await client.connect(connection.transport, { signal: options.signal });
    const listed = await listAllTools(client, options.signal);
    const wanted = options.tools ?? listed.map((tool) => tool.name);
    const targets = wanted.map((name) => {
      const tool = listed.find((candidate) => candidate.name === name);
      if (tool === undefined) {
        throw new ToolCallError(
          name,
          name,
          'unknown-tool',
          'the server lists no tool of this name',
        );
      }
      return toolTargetOf(client, tool, { ...options.targetOptions, ...options.perTool?.[name] });
    });
    return {
      client,
      targets,
      target(toolName) {
        const found = targets.find((target) => target.toolName === toolName);
        if (found) return found;
        throw new ToolCallError(toolName, toolName, 'unknown-tool', 'the set has no such tool');
      },
      close,
    };
  } catch (error) {
    await close().catch(() => {});
    // Aborted, the SDK rejects with its own McpError (-32001) wrapping the reason: give the
    // caller's reason, as a target's call does.
    throw options.signal?.aborted ? options.signal.reason : error;
  }
}
