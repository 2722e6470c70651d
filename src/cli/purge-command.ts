import { createRuntime } from 'mcp-orchestration';
import { ExitCode, usageError } from './cli-error.js';
import { type Command, writeJson, writeLines } from './command.js';

const UNITS: Readonly<Record<string, number>> = {
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** Milliseconds of a duration like `30d`, `12h`, `90m`, `0s`; a usage error otherwise. */
export function durationMs(text: string | undefined): number {
  if (text === undefined) {
    throw usageError(
      'purge needs --older-than DURATION, a duration such as 30d, 12h, 90m or 0s (0s: every finished task)',
    );
  }
  const match = /^(\d+)([smhd])$/.exec(text);
  const ms = match === null ? Number.NaN : Number(match[1]) * (UNITS[match[2] as string] as number);
  if (!Number.isSafeInteger(ms)) {
    throw usageError(
      `--older-than takes a duration such as 30d, 12h, 90m or 0s, got ${JSON.stringify(text)}`,
    );
  }
  return ms;
}

/** `mcp-orch purge --older-than DURATION`: deletes finished tasks past their retention. */
export const purgeCommand: Command = {
  name: 'purge',
  usage: 'purge --older-than DURATION [--json]',
  summary: 'delete finished tasks whose final checkpoint is older than DURATION',
  details: [
    'Deletes the finished tasks (completed, error, cancelled) whose final checkpoint is older than',
    'DURATION (30d, 12h, 90m, 0s): their checkpoints, lineage, everything. Running, suspended and',
    'paused tasks are never touched. A task that cannot be read is kept and reported.',
    'JSON: { deleted: [taskId], failed: [{ taskId, error }] }.',
  ].join('\n'),
  options: {
    'older-than': {
      type: 'string',
      value: 'DURATION',
      description: 'how old a final checkpoint must be (30d, 12h, 90m, 0s); required',
    },
  },
  positionals: { min: 0, max: 0 },
  async run(invocation) {
    const olderThanMs = durationMs(invocation.string('older-than'));
    const { store } = await invocation.store();
    const report = await createRuntime({ store }).purgeFinished({ olderThanMs });
    const failed = report.failed.map(({ taskId, error }) => ({ taskId, error: error.message }));
    if (invocation.flag('json')) {
      writeJson(invocation.io, { deleted: report.deleted, failed });
      return failed.length === 0 ? ExitCode.Ok : ExitCode.Failure;
    }
    const lines = [
      report.deleted.length === 0
        ? 'No finished task to delete.'
        : `Deleted ${report.deleted.length} finished task(s): ${report.deleted.join(', ')}`,
      ...failed.map(({ taskId, error }) => `Kept ${taskId}: ${error}`),
    ];
    writeLines(invocation.io, lines);
    return failed.length === 0 ? ExitCode.Ok : ExitCode.Failure;
  },
};
