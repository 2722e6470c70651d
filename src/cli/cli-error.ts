import { isOrchestrationError } from 'mcp-orchestration';
import { printable } from './terminal-text.js';

/** The exit codes of `mcp-orch`. */
export const ExitCode = {
  /** It did what was asked. */
  Ok: 0,
  /** The operation failed: the store, the workflow (failed or cancelled run), the runtime. */
  Failure: 1,
  /** The command line is wrong: unknown command or option, missing argument, bad id, bad JSON. */
  Usage: 2,
  /** The task or checkpoint named does not exist in the store. */
  NotFound: 3,
  /** Interrupted by Ctrl-C (SIGINT); the task stays resumable. */
  Interrupted: 130,
  /** Its terminal closed (SIGHUP, 128 + 1); the task stays resumable, as after Ctrl-C. */
  HungUp: 129,
  /** Terminated (SIGTERM, 128 + 15: `kill`, a service manager); the task stays resumable. */
  Terminated: 143,
  /**
   * A run stopped because stdout's reader closed it (128 + SIGPIPE, as a shell reports a writer
   * killed by a closed pipe); the task stays resumable, as after Ctrl-C.
   */
  OutputClosed: 141,
} as const;

/** One of the {@link ExitCode} values. */
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Codes of the errors the command line itself raises (the library's own carry theirs). */
export type CliErrorCode =
  | 'USAGE'
  | 'BAD_JSON'
  | 'BAD_STORE'
  | 'FILE_NOT_FOUND'
  | 'BAD_WORKFLOW_FILE'
  | 'MISSING_DEPENDENCY'
  | 'STORE_UNREACHABLE'
  | 'CHECKPOINT_NOT_FOUND'
  /** A file the command writes (`inspect --out`) could not be written: no such folder, no right. */
  | 'WRITE_FAILED'
  /** A run that came to rest waiting for no event: nothing would ever move it on here. */
  | 'RUN_STALLED';

const USAGE_CODES: ReadonlySet<string> = new Set([
  'USAGE',
  'BAD_JSON',
  'BAD_STORE',
  'FILE_NOT_FOUND',
  'BAD_WORKFLOW_FILE',
  'INVALID_ID',
]);
const NOT_FOUND_CODES: ReadonlySet<string> = new Set(['TASK_NOT_FOUND', 'CHECKPOINT_NOT_FOUND']);

/** An error of the command line, with a stable `code` and the exit code it ends the process with. */
export class CliError extends Error {
  readonly code: CliErrorCode;
  constructor(code: CliErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'CliError';
  }
}

/** A {@link CliError} for a wrong command line (exit code 2). */
export function usageError(message: string): CliError {
  return new CliError('USAGE', message);
}

/** The code of an error: a `CliError`'s or library error's `code`, Node's `code`, else `ERROR`. */
export function errorCode(error: unknown): string {
  if (error instanceof CliError || isOrchestrationError(error)) return error.code;
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code !== '' ? code : 'ERROR';
}

/** The exit code an error ends the process with. */
export function exitCodeOf(error: unknown): ExitCode {
  const code = errorCode(error);
  if (USAGE_CODES.has(code)) return ExitCode.Usage;
  if (NOT_FOUND_CODES.has(code)) return ExitCode.NotFound;
  return ExitCode.Failure;
}

/** Hints that turn a library message into advice for the command line, by error code. */
const HINTS: Readonly<Record<string, string>> = {
  WORKFLOW_NOT_FOUND: 'pass the workflow module with --file FILE',
};

/** The one line `mcp-orch` prints on stderr for an error: `mcp-orch: <message> (<CODE>)`. */
export function formatError(error: unknown): string {
  const raw = error instanceof Error ? error.message : String(error);
  const code = errorCode(error);
  const hint = HINTS[code];
  // One line, and inert: a step's error may carry terminal control sequences (`\x1b[2J`).
  const message = printable(raw.replace(/\s*\r?\n\s*/g, ' ').trim()) || 'unknown error';
  return `mcp-orch: ${message}${hint === undefined ? '' : `; ${hint}`} (${code})`;
}
