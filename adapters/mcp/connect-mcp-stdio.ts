import type { ConnectMcpToolsOptions, McpToolSet } from './connect-mcp-tools.js';
import { openMcpToolSet } from './connect-mcp-tools.js';

/**
 * The SDK's stdio transport (Node only: it spawns processes), imported through a variable so
 * that bundlers building for the browser do not follow it; Node resolves it as usual.
 */
const STDIO_TRANSPORT_MODULE: string = '@modelcontextprotocol/sdk/client/stdio.js';

/** Options of {@link connectMcpStdio}: how to start the server process. */
export interface McpStdioOptions extends ConnectMcpToolsOptions {
  /** The program to run, e.g. `process.execPath` or `'npx'`. Required. */
  readonly command: string;
  /** Its arguments. Default: none. */
  readonly args?: readonly string[];
  /**
   * Its whole environment. Default: the SDK's safe subset of this process's (`HOME`, `PATH`,
   * `USER`…, from `getDefaultEnvironment()`); spread that in to add to it.
   */
  readonly env?: Readonly<Record<string, string>>;
  /** Its working directory. Default: this process's. */
  readonly cwd?: string;
  /** Where its stderr goes: `'inherit'`, `'ignore'` or `'pipe'`. Default: `'inherit'`. */
  readonly stderr?: 'inherit' | 'ignore' | 'pipe';
}

/**
 * Starts an MCP server as a child process and talks to it over stdio (the SDK's
 * `StdioClientTransport`), returning its tools as targets; `close()` ends the process (stdin
 * closed, then `SIGTERM`, then `SIGKILL`). If the process dies, calls in flight fail with
 * `ToolCallError` (`reason: 'disconnected'`), and the next call starts the server again (same
 * command, arguments and environment); a call is never sent twice.
 *
 * Node only. The transport module is imported when this is first called, through a variable
 * that bundlers do not follow, so `mcp-orchestration/mcp` bundles for the browser (where
 * `connectMcpHttp` and `connectMcpTools` work) without Node's `child_process`.
 *
 * @example
 * ```ts
 * const tools = await connectMcpStdio({
 *   command: process.execPath,
 *   args: ['--import', 'tsx', 'examples/mcp-server/main.ts'],
 * });
 * const wordCount = tools.target('word_count');
 * await tools.close();
 * ```
 */
export async function connectMcpStdio(options: McpStdioOptions): Promise<McpToolSet> {
  const { command, args, env, cwd, stderr, ...rest } = options;
  const { StdioClientTransport } = (await import(
    /* @vite-ignore */ STDIO_TRANSPORT_MODULE
  )) as typeof import('@modelcontextprotocol/sdk/client/stdio.js');
  const newTransport = () =>
    new StdioClientTransport({
      command,
      ...(args === undefined ? {} : { args: [...args] }),
      ...(env === undefined ? {} : { env: { ...env } }),
      ...(cwd === undefined ? {} : { cwd }),
      ...(stderr === undefined ? {} : { stderr }),
    });
  return openMcpToolSet({ newTransport }, rest);
}
