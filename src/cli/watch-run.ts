import type { Context, Runtime, WorkflowRun, WorkflowStep } from 'mcp-orchestration';
import { CliError, ExitCode } from './cli-error.js';
import { type Invocation, writeJson, writeLines } from './command.js';
import type { OpenedStore } from './open-store.js';
import { createProgressDisplay } from './progress-display.js';

/** What {@link watchRun} watches. */
export interface WatchRunOptions {
  readonly runtime: Runtime;
  readonly taskId: string;
  /** The plan for the live display (steps marked `isComplete` show as done). */
  readonly plan: readonly WorkflowStep[];
  /** Starts or resumes the run. */
  readonly begin: () => Promise<WorkflowRun>;
  /** The workflow module, for the commands printed after Ctrl-C and on suspend. */
  readonly file: string | undefined;
  /** The store, for the same commands. */
  readonly store: Pick<OpenedStore, 'spec' | 'isDefault'>;
  /**
   * Whether `run`, just begun, waits at a wait its latest checkpoint already records (`resume`
   * of a suspended task). Such a run writes no new `suspended` checkpoint, so the watch must not
   * wait for one. Absent: never, as a run that starts or takes an event moves on first.
   */
  readonly waitsAsCheckpointed?: (run: WorkflowRun) => Promise<boolean>;
  /**
   * For `send`: the seq of the task's latest checkpoint once its event was delivered
   * (`undefined` before). A `suspended` checkpoint up to that seq was saved before the event
   * (by the resume under it) and does not end the watch. Absent: every `suspended` one does.
   */
  readonly suspendedAfter?: () => number | undefined;
}

type Outcome =
  | { readonly kind: 'finished'; readonly result: Context }
  | { readonly kind: 'suspended' }
  | { readonly kind: 'idle' }
  | { readonly kind: 'interrupted' }
  | { readonly kind: 'outputClosed' };

/** Quotes an argument for a POSIX shell when it needs it. */
export function shellQuote(argument: string): string {
  return /^[\w@%+=:,./-]+$/.test(argument) ? argument : `'${argument.replaceAll("'", `'\\''`)}'`;
}

/** ` --store STORE` for a printed follow-up command; nothing for the default store. */
export function storeArgument(store: Pick<OpenedStore, 'spec' | 'isDefault'>): string {
  return store.isDefault ? '' : ` --store ${shellQuote(store.spec)}`;
}

/** The arguments after the task in a printed follow-up command: `--file` and `--store`. */
export function followUpArguments(options: Pick<WatchRunOptions, 'file' | 'store'>): string {
  const file = options.file === undefined ? '' : ` --file ${shellQuote(options.file)}`;
  return `${file}${storeArgument(options.store)}`;
}

/**
 * Runs a workflow to its end under a progress display (plain lines unless stdout is a TTY;
 * nothing with `--json`) and prints its result. It stops early, leaving the task resumable,
 * when the run suspends (a `waitFor` step, once that is checkpointed) and on Ctrl-C (the
 * task is paused, the step in flight aborted, the resume command printed, exit code 130). A failed
 * or cancelled run rejects with its typed error.
 *
 * When stdout's reader goes away (`mcp-orch run … | head -1`), the run stops as on Ctrl-C: the
 * task is paused and the resume command goes to stderr (often still the terminal), with exit
 * code 141 (128 + SIGPIPE, what a shell reports for a writer killed by a closed pipe). Dying of
 * SIGPIPE, as Unix tools do, would leave the task `running` with its step cut off, as a crash
 * does; running on unseen would keep the shell waiting for a workflow nobody watches. A closed
 * pipe shows only when a write fails, so the run stops at its next progress line (with `--json`,
 * which writes only at the end, it runs to its end). Unlike Ctrl-C, it lets the run begin first:
 * a run whose very first line failed is paused too, not left half-started.
 *
 * A run can also come to rest without a `suspended` checkpoint: a hand-written machine
 * (`defineMachineWorkflow`) without a `suspended` tag waits in a state for events, and its
 * checkpoints say `running`. Nothing then keeps the process busy, so Node would end it (exit
 * code 13, an unsettled top-level await) with no word. The watch sees that moment (Node's
 * `beforeExit`: nothing left to run here) and says the task is idle, waiting for the events its
 * machine takes (exit code 0, as when suspended: the task stays resumable, and `send` takes it
 * on). A run that rests waiting for no event (a step whose promise never settles) ends with
 * `RUN_STALLED` (exit code 1), its task left as its last checkpoint says.
 */
export async function watchRun(
  invocation: Invocation,
  options: WatchRunOptions,
): Promise<ExitCode> {
  try {
    return await watch(invocation, options);
  } finally {
    // Whichever way it ends (a failed or finished run, an event refused, a store that fails),
    // the runtime closes: that releases the task's lease, which a finished run only sends.
    await options.runtime.close().catch(() => {});
  }
}

/** {@link watchRun}, but for closing the runtime at the end. */
async function watch(invocation: Invocation, options: WatchRunOptions): Promise<ExitCode> {
  const { io } = invocation;
  const { runtime, taskId } = options;
  const json = invocation.flag('json');
  const display = json
    ? undefined
    : createProgressDisplay(io.stdout, { taskId, plan: options.plan });

  let onSuspended = (): void => {};
  const suspended = new Promise<Outcome>((resolve) => {
    onSuspended = () => resolve({ kind: 'suspended' });
  });
  let onSigint = (): void => {};
  const interrupted = new Promise<Outcome>((resolve) => {
    onSigint = () => {
      // A second Ctrl-C while shutting down ends the process at once.
      process.once('SIGINT', () => process.exit(ExitCode.Interrupted));
      resolve({ kind: 'interrupted' });
    };
  });
  process.once('SIGINT', onSigint);
  let onOutputClosed = (): void => {};
  const outputClosed = new Promise<Outcome>((resolve) => {
    onOutputClosed = () => resolve({ kind: 'outputClosed' });
  });
  io.outputClosed?.addEventListener('abort', onOutputClosed);
  if (io.outputClosed?.aborted) onOutputClosed();
  let onIdle = (): void => {};
  const idle = new Promise<Outcome>((resolve) => {
    onIdle = () => resolve({ kind: 'idle' });
  });
  // Emitted when nothing is left to run in this process: the run waits for what never comes.
  process.once('beforeExit', onIdle);
  /** Whether a `suspended` checkpoint with `seq` ends the watch (see `suspendedAfter`). */
  const endsWatch = (seq: number): boolean => {
    if (options.suspendedAfter === undefined) return true;
    const after = options.suspendedAfter();
    return after !== undefined && seq > after;
  };
  const unsubscribe = runtime.subscribe((event) => {
    display?.update(event);
    if (event.type === 'checkpoint.saved' && event.taskId === taskId) {
      if (event.status === 'suspended' && endsWatch(event.seq)) onSuspended();
    }
  });

  let run: WorkflowRun | undefined;
  let outcome: Outcome;
  try {
    const begun = await Promise.race([
      options.begin().then((started) => ({ kind: 'begun' as const, started })),
      interrupted,
    ]);
    if (begun.kind === 'begun') {
      run = begun.started;
      run.result.catch(() => {}); // settled below, or abandoned on suspend or a stop
      if (await options.waitsAsCheckpointed?.(run)) onSuspended();
      outcome = await Promise.race([
        run.result.then((result): Outcome => ({ kind: 'finished', result })),
        suspended,
        idle,
        interrupted,
        outputClosed,
      ]);
    } else {
      outcome = begun;
    }
  } finally {
    process.off('SIGINT', onSigint);
    process.off('beforeExit', onIdle);
    io.outputClosed?.removeEventListener('abort', onOutputClosed);
    unsubscribe();
    display?.finish();
  }

  if (outcome.kind === 'interrupted' || outcome.kind === 'outputClosed') {
    // Paused, so its status says nothing runs it; without a run yet (interrupted while starting)
    // or a store that fails, it keeps its last checkpoint as it is.
    const paused =
      run === undefined
        ? false
        : await runtime.pause(taskId).then(
            () => true,
            () => false,
          );
    await runtime.close();
    const state = paused ? 'is paused' : 'keeps its last checkpoint';
    const byCtrlC = outcome.kind === 'interrupted';
    const why = byCtrlC ? 'Interrupted' : 'Output closed';
    const resume = `mcp-orch resume ${taskId}${followUpArguments(options)}`;
    io.stderr.write(`${why}. Task ${taskId} ${state}; resume it with:\n  ${resume}\n`);
    return byCtrlC ? ExitCode.Interrupted : ExitCode.OutputClosed;
  }
  const status = run?.status();
  if (outcome.kind === 'idle' && status?.status !== 'suspended') {
    await runtime.close();
    const waitingFor = status?.waitingFor ?? [];
    if (waitingFor.length === 0) {
      const step = status?.currentStepId ?? status?.currentStepIndex;
      throw new CliError(
        'RUN_STALLED',
        `Task ${taskId} stalled at step ${step}: nothing is left to run in this process and it waits for no event; it stays ${status?.status ?? 'running'} as its last checkpoint says`,
      );
    }
    if (json) writeJson(io, { taskId, status: status?.status, idle: true, waitingFor });
    else {
      const event = waitingFor.length === 1 ? shellQuote(waitingFor[0] as string) : 'EVENT';
      writeLines(io, [
        `Task ${taskId} is idle, waiting for ${waitingFor.join(', ')} (its machine has no \`suspended\` tag, so the task stays ${status?.status}). Go on with:`,
        `  mcp-orch send ${taskId} ${event}${followUpArguments(options)} [--data JSON]`,
      ]);
    }
    return ExitCode.Ok;
  }
  if (outcome.kind === 'suspended' || outcome.kind === 'idle') {
    await runtime.close();
    const waitingFor = status?.waitingFor ?? [];
    if (json) writeJson(io, { taskId, status: 'suspended', waitingFor });
    else {
      const events = waitingFor.length > 0 ? waitingFor.join(', ') : 'an event';
      const event = waitingFor.length === 1 ? shellQuote(waitingFor[0] as string) : 'EVENT';
      writeLines(io, [
        `Task ${taskId} is suspended, waiting for ${events}. Go on with:`,
        `  mcp-orch send ${taskId} ${event}${followUpArguments(options)} [--data JSON]`,
      ]);
    }
    return ExitCode.Ok;
  }
  const { result } = outcome;
  if (json) {
    writeJson(io, {
      taskId,
      status: 'completed',
      workflowId: run?.workflowId,
      workflowVersion: run?.workflowVersion,
      checkpointId: status?.checkpointId,
      seq: status?.seq,
      result,
    });
  } else {
    writeLines(io, [
      `Task ${taskId} completed: ${result.contextType} ${result.contextId}`,
      JSON.stringify(result.data, null, 2),
    ]);
  }
  return ExitCode.Ok;
}
