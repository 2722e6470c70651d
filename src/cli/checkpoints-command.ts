import {
  type CheckpointManager,
  type CheckpointRecordMeta,
  getCheckpointManager,
  UnknownTaskError,
  type WorkflowState,
} from 'mcp-orchestration';
import { CliError, ExitCode, errorCode, usageError } from './cli-error.js';
import {
  type Command,
  type Invocation,
  idArgument,
  integerOption,
  isoTime,
  taskIdArgument,
  writeJson,
  writeLines,
} from './command.js';

const ACTIONS = ['list', 'show', 'delete', 'prune'] as const;
type Action = (typeof ACTIONS)[number];

/** A checkpoint as `checkpoints list --json` prints it. */
export type CheckpointListEntry = ReadableCheckpointEntry | UnreadableCheckpointEntry;

/** A checkpoint `checkpoints list` could read. */
export interface ReadableCheckpointEntry {
  readonly checkpointId: string;
  readonly seq: number;
  readonly createdAt: string;
  readonly expiresAt?: string;
  readonly parentId?: string;
  readonly status: string;
  readonly currentStepIndex: number;
  readonly currentStepId?: string;
}

/**
 * A checkpoint `checkpoints list` could not read (corrupt, too large, a failed read): listed
 * with what the store's listing says of it, its status `unreadable`, and why.
 */
export interface UnreadableCheckpointEntry {
  readonly checkpointId: string;
  readonly seq: number;
  readonly createdAt: string;
  readonly expiresAt?: string;
  readonly status: 'unreadable';
  readonly error: { readonly code: string; readonly message: string };
}

function currentStepId(state: WorkflowState): string | undefined {
  const id = state.metadata.currentStepId;
  return typeof id === 'string' ? id : state.plan[state.currentStepIndex]?.stepId;
}

/** Newest checkpoints `checkpoints list` shows unless `--limit` says otherwise. */
const DEFAULT_LIST_LIMIT = 50;
/** Checkpoints `checkpoints list` reads at once. */
const LIST_READS = 8;

function listEntry(meta: CheckpointRecordMeta, state: WorkflowState): ReadableCheckpointEntry {
  const stepId = currentStepId(state);
  const expiresAt = isoTime(meta.expiresAt);
  const parentId = state.checkpoint?.parentId;
  return {
    checkpointId: meta.checkpointId,
    seq: meta.seq,
    createdAt: isoTime(meta.createdAt) as string,
    ...(expiresAt === undefined ? {} : { expiresAt }),
    ...(parentId === undefined ? {} : { parentId }),
    status: state.status,
    currentStepIndex: state.currentStepIndex,
    ...(stepId === undefined ? {} : { currentStepId: stepId }),
  };
}

function unreadableEntry(meta: CheckpointRecordMeta, error: unknown): UnreadableCheckpointEntry {
  const expiresAt = isoTime(meta.expiresAt);
  const message = error instanceof Error ? error.message : String(error);
  return {
    checkpointId: meta.checkpointId,
    seq: meta.seq,
    // 0: the store could not read it either (a Redis record whose header is damaged).
    createdAt: meta.createdAt > 0 ? (isoTime(meta.createdAt) as string) : 'unknown',
    ...(expiresAt === undefined ? {} : { expiresAt }),
    status: 'unreadable',
    error: { code: errorCode(error), message },
  };
}

/**
 * The `limit` newest live checkpoints of a task (all with `limit` 0), read {@link LIST_READS} at
 * a time, and how many older ones were left out. One that cannot be read is listed as
 * `unreadable`, and the others still are (as `tasks` lists a task it cannot read).
 */
async function list(
  manager: CheckpointManager,
  taskId: string,
  limit: number,
): Promise<{ entries: CheckpointListEntry[]; omitted: number }> {
  const metas = await manager.listCheckpointInfo(taskId);
  if (metas.length === 0) throw new UnknownTaskError(taskId);
  const shown = limit === 0 ? metas : metas.slice(0, limit);
  const states: PromiseSettledResult<WorkflowState | undefined>[] = [];
  for (let start = 0; start < shown.length; start += LIST_READS) {
    const batch = shown.slice(start, start + LIST_READS);
    states.push(
      ...(await Promise.allSettled(
        batch.map((meta) => manager.loadCheckpoint(taskId, meta.checkpointId)),
      )),
    );
  }
  const entries: CheckpointListEntry[] = [];
  shown.forEach((meta, i) => {
    const read = states[i];
    if (read?.status === 'rejected') entries.push(unreadableEntry(meta, read.reason));
    else if (read?.value !== undefined) entries.push(listEntry(meta, read.value)); // else deleted or expired meanwhile
  });
  if (entries.length === 0 && shown.length === metas.length) throw new UnknownTaskError(taskId);
  return { entries, omitted: metas.length - shown.length };
}

function checkpointNotFound(taskId: string, checkpointId: string): CliError {
  return new CliError('CHECKPOINT_NOT_FOUND', `Task ${taskId} has no checkpoint ${checkpointId}`);
}

async function show(invocation: Invocation, manager: CheckpointManager, taskId: string) {
  const id = invocation.positionals[2];
  if (id !== undefined) idArgument('checkpointId', id);
  const state =
    id === undefined
      ? await manager.loadLatestCheckpoint(taskId)
      : await manager.loadCheckpoint(taskId, id);
  if (state === undefined) {
    if (id === undefined) throw new UnknownTaskError(taskId);
    throw checkpointNotFound(taskId, id);
  }
  if (invocation.flag('json')) {
    writeJson(invocation.io, state);
    return;
  }
  const info = state.checkpoint;
  const snapshot = state.snapshot as { status?: unknown; value?: unknown } | undefined;
  const lines = [
    `Checkpoint ${info?.checkpointId} of task ${taskId}`,
    `  seq         ${info?.seq}`,
    `  created     ${isoTime(info?.createdAt)}`,
  ];
  if (info?.expiresAt !== undefined) lines.push(`  expires     ${isoTime(info.expiresAt)}`);
  if (info?.parentId !== undefined) lines.push(`  parent      ${info.parentId}`);
  lines.push(
    `  status      ${state.status}`,
    `  workflow    ${state.machine?.id ?? '(none)'}@${state.machine?.version ?? '(none)'}`,
    `  step        ${state.currentStepIndex} ${currentStepId(state) ?? ''}`.trimEnd(),
  );
  if (state.plan.length > 0) {
    const done = state.plan.filter((step) => step.isComplete).map((step) => step.stepId);
    lines.push(`  done        ${done.length > 0 ? done.join(', ') : '(none)'}`);
  }
  if (snapshot !== undefined) {
    lines.push(`  snapshot    ${String(snapshot.status)}, state ${JSON.stringify(snapshot.value)}`);
  }
  const metadataKeys = Object.keys(state.metadata);
  if (metadataKeys.length > 0) lines.push(`  metadata    ${metadataKeys.join(', ')}`);
  lines.push('(--json prints the whole state, snapshot included)');
  writeLines(invocation.io, lines);
}

/** `mcp-orch checkpoints list|show|delete|prune TASK`: a task's checkpoints. */
export const checkpointsCommand: Command = {
  name: 'checkpoints',
  usage: 'checkpoints list|show|delete|prune TASK [ID] [--limit N] [--keep N] [--all] [--json]',
  summary: "list, show, delete or prune a task's checkpoints",
  details: [
    '  list TASK          live checkpoints, newest first: seq, id, time, status, step (the',
    `                     ${DEFAULT_LIST_LIMIT} newest unless --limit N says otherwise; --limit 0: all)`,
    '  show TASK [ID]     one checkpoint (default: the latest); --json prints the whole state',
    '  delete TASK ID     deletes one checkpoint; delete TASK --all deletes the task entirely',
    '                     (checkpoints and lineage)',
    '  prune TASK         deletes all but the --keep N newest checkpoints (default 3, at least 1:',
    '                     the latest is the task; delete --all deletes it all)',
    'A checkpoint that cannot be read (corrupt, too large) is listed as unreadable, with the',
    "error's message and code; the others still are, and the exit code stays 0.",
    'JSON of list: { taskId, checkpoints: [{ checkpointId, seq, createdAt, expiresAt?, parentId?,',
    '  status, currentStepIndex, currentStepId? } or { …, status: "unreadable", error: { code,',
    '  message } }], omitted: how many older ones --limit left out }.',
  ].join('\n'),
  options: {
    keep: {
      type: 'string',
      value: 'N',
      description: 'prune: how many to keep (default 3, at least 1)',
    },
    limit: {
      type: 'string',
      value: 'N',
      description: `list: the N newest (default ${DEFAULT_LIST_LIMIT}; 0: all)`,
    },
    all: { type: 'boolean', description: 'delete: the whole task, lineage included' },
  },
  positionals: { min: 2, max: 3 },
  async run(invocation) {
    const [action, task, id] = invocation.positionals;
    if (!ACTIONS.includes(action as Action)) {
      throw usageError(
        `Unknown checkpoints action ${JSON.stringify(action)}: use ${ACTIONS.join(', ')}`,
      );
    }
    const taskId = taskIdArgument(task);
    const keepText = invocation.string('keep');
    if (keepText !== undefined && action !== 'prune') throw usageError('--keep is for prune');
    const limitText = invocation.string('limit');
    if (limitText !== undefined && action !== 'list') throw usageError('--limit is for list');
    if (invocation.flag('all') && action !== 'delete') throw usageError('--all is for delete');
    if (id !== undefined && action !== 'show' && action !== 'delete') {
      throw usageError(`checkpoints ${action} takes no checkpoint id`);
    }
    // Checked before the store is opened: a usage error touches nothing.
    const limit = integerOption('--limit', limitText, DEFAULT_LIST_LIMIT, {
      min: 0,
      note: '(0: all)',
    });
    // Keeping none would leave lineage without a checkpoint: a task nothing can show or resume.
    const keep = integerOption('--keep', keepText, 3, {
      min: 1,
      note: '(checkpoints delete TASK --all deletes the whole task)',
    });
    const manager = await getCheckpointManager((await invocation.store()).store);
    const { io } = invocation;
    const json = invocation.flag('json');
    switch (action as Action) {
      case 'list': {
        const { entries, omitted } = await list(manager, taskId, limit);
        if (json) writeJson(io, { taskId, checkpoints: entries, omitted });
        else {
          writeLines(io, [
            `Checkpoints of task ${taskId}, newest first:`,
            ...entries.map((e) => {
              const head = `  ${String(e.seq).padStart(4)}  ${e.checkpointId}  ${e.createdAt}`;
              if ('error' in e) return `${head}  unreadable: ${e.error.message} (${e.error.code})`;
              return `${head}  ${e.status.padEnd(9)}  ${e.currentStepId ?? e.currentStepIndex}`;
            }),
            ...(omitted === 0 ? [] : [`  … and ${omitted} older (--limit 0 lists all)`]),
          ]);
        }
        return ExitCode.Ok;
      }
      case 'show':
        await show(invocation, manager, taskId);
        return ExitCode.Ok;
      case 'delete': {
        if (invocation.flag('all')) {
          if (id !== undefined) throw usageError('delete --all takes no checkpoint id');
          if (!(await manager.deleteTask(taskId))) throw new UnknownTaskError(taskId);
          if (json) writeJson(io, { taskId, deletedTask: true });
          else writeLines(io, [`Deleted task ${taskId}: its checkpoints and lineage`]);
          return ExitCode.Ok;
        }
        if (id === undefined) {
          throw usageError('checkpoints delete needs a checkpoint id (or --all for the task)');
        }
        idArgument('checkpointId', id);
        if (!(await manager.deleteCheckpoint(taskId, id))) throw checkpointNotFound(taskId, id);
        if (json) writeJson(io, { taskId, deleted: [id] });
        else writeLines(io, [`Deleted checkpoint ${id} of task ${taskId}`]);
        return ExitCode.Ok;
      }
      case 'prune': {
        if ((await manager.store.head(taskId)) === 0) throw new UnknownTaskError(taskId);
        const deleted = await manager.deleteOldCheckpoints(taskId, { keepLatest: keep });
        if (json) writeJson(io, { taskId, deleted, kept: keep });
        else
          writeLines(io, [
            `Deleted ${deleted} checkpoint(s) of task ${taskId}; kept at most ${keep}`,
          ]);
        return ExitCode.Ok;
      }
    }
  },
};
