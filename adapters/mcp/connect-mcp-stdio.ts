import type { ChildProcess } from 'node:child_process';
import type { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { redactArgs, redactUrl } from '../../src/redact.js';
import {
  type ConnectAttempt,
  type McpConnectFailure,
  reportedNote,
  shortMessage,
  shortText,
} from './connect-failure.js';
import type { ConnectMcpToolsOptions, McpToolSet } from './connect-mcp-tools.js';
import { openMcpToolSet } from './connect-mcp-tools.js';
import { assertConnectorOptions, STDIO_KEYS } from './option-keys.js';

/**
 * The SDK's stdio transport (Node only: it spawns processes), imported through a variable so
 * that bundlers building for the browser do not follow it; Node resolves it as usual.
 */
const STDIO_TRANSPORT_MODULE: string = '@modelcontextprotocol/sdk/client/stdio.js';

/** The longest `close()` waits for the process to exit (the SDK's end, then SIGTERM, then SIGKILL). */
const EXIT_WAIT_MS = 6_000;

/** How a server process ended. */
interface ProcessExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A stdio transport that knows how its process ended, and whose `close()` waits for it. */
interface WatchedStdioTransport extends StdioClientTransport {
  /** How the process ended; `undefined` while it runs (or when it never started). */
  readonly exit: ProcessExit | undefined;
}

/**
 * The SDK's stdio transport, watching its process: the SDK gives neither the exit code nor a way
 * to wait for the end of a process it was already ending (a failed `initialize` closes the
 * transport without waiting, and a second `close()` returns at once).
 */
function watchedTransportClass(
  Base: typeof StdioClientTransport,
): new (
  ...args: ConstructorParameters<typeof StdioClientTransport>
) => WatchedStdioTransport {
  return class extends Base {
    exit: ProcessExit | undefined;
    #exited: Promise<void> = Promise.resolve();

    override async start(): Promise<void> {
      await super.start();
      // The SDK's own field (private): without it, no exit code and no wait, as before.
      const child = (this as unknown as { _process?: ChildProcess })._process;
      if (child === undefined || typeof child.once !== 'function') return;
      const ended = (code: number | null, signal: NodeJS.Signals | null) => {
        this.exit ??= { code, signal };
      };
      if (child.exitCode !== null || child.signalCode !== null) {
        ended(child.exitCode, child.signalCode);
        return;
      }
      this.#exited = new Promise<void>((resolve) => {
        child.once('exit', (code, signal) => {
          ended(code, signal);
          resolve();
        });
      });
    }

    override async close(): Promise<void> {
      await super.close();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const givenUp = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, EXIT_WAIT_MS);
      });
      try {
        await Promise.race([this.#exited, givenUp]);
      } finally {
        clearTimeout(timer);
      }
    }
  };
}

/**
 * The command line as messages show it: secrets masked (`redactArgs`), arguments with spaces or
 * quotes JSON-quoted.
 */
function commandLine(command: string, args: readonly string[] | undefined): string {
  const quoted = [redactUrl(command), ...redactArgs(args ?? [])].map((word) =>
    /^[\w@%+=:,./-]+$/.test(word) ? word : JSON.stringify(word),
  );
  return shortText(quoted.join(' '));
}

/** The stdio reading of a failed connect: a command not found, a process that exited. */
function explainStdio(
  attempt: ConnectAttempt,
  cwd: string | undefined,
): McpConnectFailure | undefined {
  const { error, transport, phase } = attempt;
  const code = (error as { code?: unknown } | null)?.code;
  const syscall = (error as { syscall?: unknown } | null)?.syscall;
  if (typeof syscall === 'string' && syscall.startsWith('spawn') && typeof code === 'string') {
    if (code === 'ENOENT') {
      const where = cwd === undefined ? '' : `, or its working directory ${cwd} does not exist`;
      return { reason: 'not-found', detail: `no such command (ENOENT${where})` };
    }
    return { reason: 'spawn-failed', detail: `it could not be started: ${shortMessage(error)}` };
  }
  const exit = (transport as Partial<WatchedStdioTransport> | undefined)?.exit;
  if (exit === undefined) return undefined;
  const how =
    exit.code === null
      ? `was ended by ${exit.signal ?? 'a signal'}`
      : `exited with code ${exit.code}`;
  const when =
    phase === 'initialize' ? 'before it answered initialize' : 'before it answered tools/list';
  return {
    reason: 'exited',
    detail: `the process ${how} ${when}${reportedNote(attempt)}`,
    exitCode: exit.code,
  };
}

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
 * A connect that fails rejects with `McpConnectError` naming the command line: `not-found` (no
 * such command), `spawn-failed`, `exited` (the process ended before the tools were listed;
 * `exitCode`), `timeout` (`connectTimeoutMs`, default 60 s) or `protocol` (e.g. it writes what
 * is not JSON-RPC to stdout). The process has ended by then. A key the options do not take is a
 * `TypeError` naming it, before anything starts.
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
  assertConnectorOptions(options, 'connectMcpStdio', STDIO_KEYS);
  const { command, args, env, cwd, stderr, ...rest } = options;
  const { StdioClientTransport } = (await import(
    /* @vite-ignore */ STDIO_TRANSPORT_MODULE
  )) as typeof import('@modelcontextprotocol/sdk/client/stdio.js');
  const Watched = watchedTransportClass(StdioClientTransport);
  const newTransport = () =>
    new Watched({
      command,
      ...(args === undefined ? {} : { args: [...args] }),
      ...(env === undefined ? {} : { env: { ...env } }),
      ...(cwd === undefined ? {} : { cwd }),
      ...(stderr === undefined ? {} : { stderr }),
    });
  return openMcpToolSet({ newTransport }, rest, {
    server: {
      server: commandLine(command, args),
      explain: (attempt) => explainStdio(attempt, cwd),
    },
  });
}
