/** The commands of `mcp-orch` and their dispatch; `main.ts` is the executable entry. */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { checkpointsCommand } from './checkpoints-command.js';
import {
  CliError,
  ExitCode,
  type ExitCode as ExitCodeValue,
  exitCodeOf,
  formatError,
  usageError,
} from './cli-error.js';
import {
  COMMON_OPTIONS,
  type Command,
  type CommandIO,
  type Invocation,
  type OptionSpec,
} from './command.js';
import { exportCommand } from './export-command.js';
import { inspectCommand } from './inspect-command.js';
import { lineageCommand } from './lineage-command.js';
import { type OpenedStore, openStore } from './open-store.js';
import { purgeCommand } from './purge-command.js';
import { resumeCommand } from './resume-command.js';
import { runCommand } from './run-command.js';
import { sendCommand } from './send-command.js';
import { statusCommand } from './status-command.js';
import { cancelCommand, pauseCommand } from './stop-commands.js';
import { tasksCommand } from './tasks-command.js';

/** Every command, in the order the help lists them. */
export const COMMANDS: readonly Command[] = [
  runCommand,
  resumeCommand,
  sendCommand,
  statusCommand,
  tasksCommand,
  pauseCommand,
  cancelCommand,
  purgeCommand,
  checkpointsCommand,
  lineageCommand,
  exportCommand,
  inspectCommand,
];

const EXIT_CODES = [
  'Exit codes: 0 ok, 1 failure (store, runtime, failed or cancelled workflow), 2 usage',
  '(bad command, option, id or JSON, a missing argument such as --file), 3 task or checkpoint',
  'not found, 130 interrupted (Ctrl-C; 143 on SIGTERM, 129 on SIGHUP), 141 run stopped because',
  'its output was closed (`| head`).',
].join('\n');

/** An option as its help shows it: `-h, --help`, `    --keep N`. */
function optionFlag(name: string, spec: OptionSpec): string {
  const short = spec.short === undefined ? '    ' : `-${spec.short}, `;
  return `${short}--${name}${spec.value === undefined ? '' : ` ${spec.value}`}`;
}

/** The option lines of a help, their descriptions in one column after the longest flag. */
function optionLines(options: readonly (readonly [string, OptionSpec])[]): string[] {
  const width = Math.max(0, ...options.map(([name, spec]) => optionFlag(name, spec).length));
  return options.map(
    ([name, spec]) => `  ${optionFlag(name, spec).padEnd(width)}  ${spec.description}`,
  );
}

function generalHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'Usage: mcp-orch <command> [options]',
    '',
    'Run, resume and inspect durable mcp-orchestration workflows.',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Options of every command:',
    ...optionLines([
      ...Object.entries(COMMON_OPTIONS),
      ['version', { type: 'boolean', description: 'print the version of mcp-orch' }],
    ]),
    '',
    'Run `mcp-orch <command> --help` for a command’s details.',
    EXIT_CODES,
  ].join('\n');
}

function commandHelp(command: Command): string {
  const common = Object.entries(COMMON_OPTIONS);
  return [
    `Usage: mcp-orch ${command.usage}`,
    '',
    `${command.summary[0]?.toUpperCase()}${command.summary.slice(1)}.`,
    ...(command.details === undefined ? [] : ['', command.details]),
    '',
    'Options:',
    ...optionLines([...Object.entries(command.options), ...common]),
  ].join('\n');
}

/** Every option of every command, so options may come before or after the command name. */
function allOptions(): Record<string, { type: 'string' | 'boolean'; short?: string }> {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
  for (const spec of [COMMON_OPTIONS, ...COMMANDS.map((c) => c.options)]) {
    for (const [name, option] of Object.entries(spec)) {
      options[name] = { type: option.type, ...(option.short ? { short: option.short } : {}) };
    }
  }
  options.version = { type: 'boolean' };
  return options;
}

function parse(argv: readonly string[]) {
  try {
    return parseArgs({ args: [...argv], options: allOptions(), allowPositionals: true });
  } catch (error) {
    // parseArgs explains itself ("Unknown option '--x'"); keep its words, as a usage error.
    throw usageError(error instanceof Error ? error.message : String(error));
  }
}

/**
 * Runs `mcp-orch` with `argv` (the arguments after the program name) and returns its exit code.
 * Errors end as one line on stderr, `mcp-orch: <message> (<CODE>)`.
 */
export async function runCli(argv: readonly string[], io: CommandIO): Promise<ExitCodeValue> {
  let opened: Promise<OpenedStore> | undefined;
  try {
    const { values, positionals } = parse(argv);
    const [name, ...rest] = positionals;
    if (name === undefined || name === 'help') {
      const topic = COMMANDS.find((c) => c.name === rest[0]);
      if (values.version === true) {
        io.stdout.write(`${await packageVersion()}\n`);
        return ExitCode.Ok;
      }
      const text = `${topic === undefined ? generalHelp() : commandHelp(topic)}\n`;
      // A bare `mcp-orch` is a usage error: the help goes to stderr, with exit code 2.
      if (name === undefined && values.help !== true) {
        io.stderr.write(text);
        return ExitCode.Usage;
      }
      io.stdout.write(text);
      return ExitCode.Ok;
    }
    const command = COMMANDS.find((c) => c.name === name);
    if (command === undefined) {
      throw usageError(`Unknown command ${JSON.stringify(name)}; run mcp-orch --help`);
    }
    if (values.help === true) {
      io.stdout.write(`${commandHelp(command)}\n`);
      return ExitCode.Ok;
    }
    for (const option of Object.keys(values)) {
      const known = option in COMMON_OPTIONS || option in command.options;
      if (!known) {
        throw usageError(`${command.name} takes no --${option}; see mcp-orch ${name} --help`);
      }
    }
    const { min, max } = command.positionals;
    if (rest.length < min || rest.length > max) {
      throw usageError(`Usage: mcp-orch ${command.usage}`);
    }
    const invocation: Invocation = {
      positionals: rest,
      io,
      string: (option) => {
        const value = values[option];
        return typeof value === 'string' ? value : undefined;
      },
      flag: (option) => values[option] === true,
      store: () => {
        opened ??= openStore(typeof values.store === 'string' ? values.store : undefined, io.env);
        return opened;
      },
    };
    return await command.run(invocation);
  } catch (error) {
    io.stderr.write(`${formatError(error)}\n`);
    return exitCodeOf(error);
  } finally {
    // The command's outcome is decided; a store that fails to close changes nothing of it.
    await opened?.then((store) => store.close()).catch(() => {});
  }
}

/** The package's version, from its package.json (`src/cli/` in source, `dist/src/cli/` built). */
async function packageVersion(): Promise<string> {
  for (const relative of ['../../package.json', '../../../package.json']) {
    const candidate = new URL(relative, import.meta.url);
    const text = await readFile(candidate, 'utf8').catch(() => undefined);
    const parsed =
      text === undefined ? undefined : (JSON.parse(text) as { name?: string; version?: string });
    if (parsed?.name === 'mcp-orchestration' && parsed.version !== undefined) return parsed.version;
  }
  throw new CliError('FILE_NOT_FOUND', 'Cannot find the package.json of mcp-orchestration');
}
