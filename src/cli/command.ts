import { assertValidId, type JsonValue } from 'mcp-orchestration';
import { CliError, type ExitCode, usageError } from './cli-error.js';
import type { OpenedStore } from './open-store.js';
import type { ProgressStream } from './progress-display.js';
import { printable } from './terminal-text.js';

/** An option a command takes, for `parseArgs` and its help. */
export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  /** The value's name in the help (`--keep N`). */
  readonly value?: string;
  readonly description: string;
}

/** Where a command writes and what it knows of its environment. */
export interface CommandIO {
  readonly stdout: ProgressStream;
  readonly stderr: ProgressStream;
  readonly env: NodeJS.ProcessEnv;
  /**
   * Aborted when stdout's reader goes away (`mcp-orch run … | head -1`); later writes to stdout
   * are dropped. A run stops then, as on Ctrl-C (see `watchRun`); other commands keep their exit
   * code, as they did what was asked and the reader chose to read less.
   */
  readonly outputClosed?: AbortSignal;
}

/** One parsed invocation of a command. */
export interface Invocation {
  readonly positionals: readonly string[];
  readonly io: CommandIO;
  /** A string option's value, if given. */
  string(name: string): string | undefined;
  /** Whether a boolean option was given. */
  flag(name: string): boolean;
  /** The store of `--store` (opened once, closed when the command ends). */
  store(): Promise<OpenedStore>;
}

/** A subcommand of `mcp-orch`. */
export interface Command {
  readonly name: string;
  /** Its synopsis after `mcp-orch `, e.g. `status TASK [--json]`. */
  readonly usage: string;
  /** One line for the command list. */
  readonly summary: string;
  /** More lines for `mcp-orch <command> --help`. */
  readonly details?: string;
  /** Options beside `--store`, `--json` and `--help`, by long name. */
  readonly options: Readonly<Record<string, OptionSpec>>;
  /** How many positional arguments it takes after its name. */
  readonly positionals: { readonly min: number; readonly max: number };
  run(invocation: Invocation): Promise<ExitCode>;
}

/** Options every command takes. */
export const COMMON_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  store: {
    type: 'string',
    value: 'STORE',
    description:
      'file:DIR or redis://host:port[/db][?prefix=P&timeout=10s] (default: file:$MCP_ORCHESTRATION_DIR, else file:.mcp-orchestration)',
  },
  json: { type: 'boolean', description: 'print machine-readable JSON' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
};

/** An id from the command line, checked like every id that reaches a store (`INVALID_ID`). */
export function idArgument(kind: 'taskId' | 'checkpointId', value: string | undefined): string {
  assertValidId(kind, value);
  return value;
}

/** A task id from the command line (see {@link idArgument}). */
export function taskIdArgument(value: string | undefined): string {
  return idArgument('taskId', value);
}

/** Parses a JSON argument (`--input`), naming the option on failure. */
export function jsonArgument(option: string, text: string): JsonValue {
  try {
    return JSON.parse(text) as JsonValue;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new CliError('BAD_JSON', `--${option} is not JSON: ${reason}`, { cause: error });
  }
}

/**
 * Writes `value` as indented JSON and a newline; control characters `JSON.stringify` leaves as
 * they are (DEL, C1) escaped too, so that stored data printed as JSON cannot drive the terminal.
 */
export function writeJson(io: CommandIO, value: unknown): void {
  io.stdout.write(`${printable(JSON.stringify(value, null, 2))}\n`);
}

/**
 * Writes lines of text, their terminal control characters (ESC, BEL, CR…, from step errors or
 * task data) escaped as text (`\u001b`): see {@link printable}.
 */
export function writeLines(io: CommandIO, lines: readonly string[]): void {
  io.stdout.write(lines.length === 0 ? '' : `${printable(lines.join('\n'))}\n`);
}

/** A time as an ISO string, for people and JSON alike. */
export function isoTime(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : new Date(ms).toISOString();
}

/** The integers an option takes: from `min`, up to `max` if given; `note` follows the range. */
export interface IntegerRange {
  readonly min: number;
  readonly max?: number;
  /** What the message adds after the range, e.g. `(0: all)`. */
  readonly note?: string;
}

/**
 * The integer an option gives (`fallback` when absent), in `range`; a usage error otherwise,
 * stating the option's one range whatever the bad value (`abc`, `-1`, `0`, `1.5`, too large).
 */
export function integerOption(
  name: string,
  text: string | undefined,
  fallback: number,
  range: IntegerRange,
): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  const { min, max, note } = range;
  const valid =
    /^\d+$/.test(text) &&
    Number.isSafeInteger(value) &&
    value >= min &&
    (max === undefined || value <= max);
  if (!valid) {
    const bounds = max === undefined ? `≥ ${min}` : `from ${min} to ${max}`;
    const after = note === undefined ? '' : ` ${note}`;
    throw usageError(`${name} must be an integer ${bounds}${after}, got ${JSON.stringify(text)}`);
  }
  return value;
}
