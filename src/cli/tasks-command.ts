import {
  createRuntime,
  MAX_LIST_TASKS_LIMIT,
  type RunStatus,
  type TaskLease,
} from 'mcp-orchestration';
import { ExitCode } from './cli-error.js';
import {
  type Command,
  idArgument,
  integerOption,
  isoTime,
  writeJson,
  writeLines,
} from './command.js';
import { storeArgument } from './watch-run.js';

/** Task ids `tasks` reads from the store unless `--limit` says otherwise. */
const DEFAULT_LIMIT = 100;

/** What a line says of a lease. */
function leaseText(lease: TaskLease | undefined): string {
  if (lease === undefined) return '';
  return `  leased to ${lease.owner} until ${isoTime(lease.expiresAt)}`;
}

/** One line of the table: id, status, workflow, step, checkpoint, lease. */
function line(task: RunStatus, widths: { id: number; status: number }): string {
  const workflow = `${task.workflowId ?? '(none)'}@${task.workflowVersion ?? '(none)'}`;
  const step = `${task.currentStepIndex} ${task.currentStepId ?? ''}`.trimEnd();
  const waiting = task.waitingFor.length > 0 ? `  waiting for ${task.waitingFor.join(', ')}` : '';
  return `  ${task.taskId.padEnd(widths.id)}  ${task.status.padEnd(widths.status)}  ${workflow}  step ${step}  checkpoint ${task.seq ?? '-'}${waiting}${leaseText(task.lease)}`;
}

/** `mcp-orch tasks`: the store's tasks with their status, a page at a time. */
export const tasksCommand: Command = {
  name: 'tasks',
  usage: 'tasks [--after TASK] [--limit N] [--json]',
  summary: "the store's tasks with their status (running, suspended, paused, completed, …)",
  details: [
    `Reads up to --limit task ids (default ${DEFAULT_LIMIT}, at most ${MAX_LIST_TASKS_LIMIT}) in id order, after`,
    '--after if given, and the latest checkpoint of each. The last line says how to get the next',
    'page. Tasks left running or suspended by a process that is gone are what a worker resumes',
    "with the runtime's recover(). A task leased to a worker (the runtime's lease option) says",
    'which one, and until when unless it renews the lease.',
    'JSON: { tasks: RunStatus[] (with lease: { owner, expiresAt } when leased),',
    '        unreadable: [{ taskId, error }], next: the --after of the next page, or null }.',
  ].join('\n'),
  options: {
    after: { type: 'string', value: 'TASK', description: 'list the tasks after this task id' },
    limit: {
      type: 'string',
      value: 'N',
      description: `how many task ids to read, 1 to ${MAX_LIST_TASKS_LIMIT} (default ${DEFAULT_LIMIT})`,
    },
  },
  positionals: { min: 0, max: 0 },
  async run(invocation) {
    const afterText = invocation.string('after');
    const after = afterText === undefined ? undefined : idArgument('taskId', afterText);
    const limit = integerOption('--limit', invocation.string('limit'), DEFAULT_LIMIT, {
      min: 1,
      max: MAX_LIST_TASKS_LIMIT,
    });
    const opened = await invocation.store();
    const { store } = opened;
    const listing = await createRuntime({ store }).listTasks({ limit, after });
    if (invocation.flag('json')) {
      writeJson(invocation.io, {
        tasks: listing.tasks.map(({ live: _live, ...task }) => task),
        unreadable: listing.unreadable.map(({ taskId, error }) => ({
          taskId,
          error: error.message,
        })),
        // null on the last page, so that every listing has the same keys.
        next: listing.next ?? null,
      });
      return ExitCode.Ok;
    }
    const widths = {
      id: Math.max(4, ...listing.tasks.map((task) => task.taskId.length)),
      status: Math.max(6, ...listing.tasks.map((task) => task.status.length)),
    };
    const unreadable =
      listing.unreadable.length === 0 ? '' : `, ${listing.unreadable.length} unreadable`;
    const count = listing.tasks.length + listing.unreadable.length;
    const lines =
      count === 0
        ? ['No tasks.']
        : [`Tasks (${count}${unreadable}):`, ...listing.tasks.map((task) => line(task, widths))];
    for (const { taskId, error } of listing.unreadable) {
      lines.push(`  ${taskId.padEnd(widths.id)}  unreadable: ${error.message}`);
    }
    if (listing.next !== undefined) {
      lines.push(
        `More: mcp-orch tasks --after ${listing.next} --limit ${limit}${storeArgument(opened)}`,
      );
    }
    writeLines(invocation.io, lines);
    return ExitCode.Ok;
  },
};
