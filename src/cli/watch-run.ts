import {
  type Context,
  isOrchestrationError,
  type Runtime,
  type RuntimeEvent,
  type WorkflowRun,
  type WorkflowStep,
} from 'mcp-orchestration';
import { CliError, ExitCode } from './cli-error.js';
import { type Invocation, writeJson, writeLines } from './command.js';
import type { OpenedStore } from './open-store.js';
import { createProgressDisplay, type ProgressDisplay } from './progress-display.js';
import { printable } from './terminal-text.js';

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
  /**
   * For `send`: whether the run's progress is shown yet (once its event was accepted). Until then
   * the runtime's events are held, and the display is not even drawn: an event refused
   * (`EVENT_NOT_ACCEPTED`) prints no progress at all, not the resumed waiting step as `started`.
   * Held events are shown, in order, once it says yes. Absent: shown from the start.
   */
  readonly showProgress?: () => boolean;
}

type Outcome =
  | { readonly kind: 'finished'; readonly result: Context }
  | { readonly kind: 'suspended' }
  | { readonly kind: 'idle' }
  | { readonly kind: 'interrupted'; readonly signal: StopSignal }
  | { readonly kind: 'outputClosed' };

/**
 * The signals that stop a watched run as Ctrl-C does (the task paused, the resume command
 * printed), with the exit code of each (128 + the signal's number, as a shell reports it):
 * `kill` and service managers send SIGTERM, a closed terminal SIGHUP.
 */
const STOP_SIGNALS = {
  SIGINT: ExitCode.Interrupted,
  SIGTERM: ExitCode.Terminated,
  SIGHUP: ExitCode.HungUp,
} as const;
type StopSignal = keyof typeof STOP_SIGNALS;
const STOPPED_BY: Readonly<Record<StopSignal, string>> = {
  SIGINT: 'Interrupted',
  SIGTERM: 'Terminated (SIGTERM)',
  SIGHUP: 'Hung up (SIGHUP)',
};
/** How long a run interrupted while it starts may take to start, so that it is paused, ms. */
const BEGIN_SETTLE_MS = 10_000;

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

/** The command that resumes `taskId` as it was run (its module and store). */
export function resumeCommandLine(
  taskId: string,
  options: Pick<WatchRunOptions, 'file' | 'store'>,
): string {
  return `mcp-orch resume ${taskId}${followUpArguments(options)}`;
}

/**
 * Runs a workflow to its end under a progress display (plain lines unless stdout is a TTY;
 * nothing with `--json`) and prints its result. It stops early, leaving the task resumable,
 * when the run suspends (a `waitFor` step, once that is checkpointed) and on Ctrl-C (the
 * task is paused, the step in flight aborted, the resume command printed, exit code 130). SIGTERM
 * (`kill`, a service manager) and SIGHUP (the terminal closed) stop it the same way, with exit
 * codes 143 and 129: dying of them would leave the task `running`, leased to a dead process. A
 * signal while the run starts lets it start first (for at most {@link BEGIN_SETTLE_MS}), so that
 * it is paused too. A failed or cancelled run rejects with its typed error; one paused by another
 * process (`WORKFLOW_PAUSED`) says the resume command in its message.
 *
 * When stdout's reader goes away (`mcp-orch run … | head -1`), the run stops as on Ctrl-C: the
 * task is paused and the resume command goes to stderr (often still the terminal), with exit
 * code 141 (128 + SIGPIPE, what a shell reports for a writer killed by a closed pipe). Dying of
 * SIGPIPE, as Unix tools do, would leave the task `running` with its step cut off, as a crash
 * does; running on unseen would keep the shell waiting for a workflow nobody watches. A closed
 * pipe shows only when a write fails, so the run stops at its next progress line (with `--json`,
 * which writes only at the end, it runs to its end). As on Ctrl-C, the run begins first: a run
 * whose very first line failed is paused too, not left half-started.
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
  let display: ProgressDisplay | undefined;
  /** Events held until the progress is shown (see `showProgress`). */
  let held: RuntimeEvent[] = [];
  /** Draws the display (once) and the events held for it, if progress is shown by now. */
  const showHeld = (): boolean => {
    if (json || !(options.showProgress?.() ?? true)) return false;
    display ??= createProgressDisplay(io.stdout, { taskId, plan: options.plan });
    for (const event of held) display.update(event);
    held = [];
    return true;
  };
  showHeld();

  let onSuspended = (): void => {};
  const suspended = new Promise<Outcome>((resolve) => {
    onSuspended = () => resolve({ kind: 'suspended' });
  });
  let onSignal = (_signal: StopSignal): void => {};
  const interrupted = new Promise<Outcome>((resolve) => {
    onSignal = (signal) => {
      onSignal = () => {};
      // A second Ctrl-C (or SIGTERM, SIGHUP) while shutting down ends the process at once.
      for (const [again, code] of Object.entries(STOP_SIGNALS)) {
        process.once(again, () => process.exit(code));
      }
      resolve({ kind: 'interrupted', signal });
    };
  });
  const signalListeners = Object.keys(STOP_SIGNALS).map((signal) => {
    const listener = () => onSignal(signal as StopSignal);
    process.once(signal, listener);
    return [signal, listener] as const;
  });
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
    if (showHeld()) display?.update(event);
    else if (!json) held.push(event);
    if (event.type === 'checkpoint.saved' && event.taskId === taskId) {
      if (event.status === 'suspended' && endsWatch(event.seq)) onSuspended();
    }
  });

  let run: WorkflowRun | undefined;
  let outcome: Outcome;
  try {
    const beginning = options.begin();
    beginning.catch(() => {}); // raced below
    const begun = await Promise.race([
      beginning.then((started) => ({ kind: 'begun' as const, started })),
      interrupted,
    ]);
    if (begun.kind === 'begun') {
      run = begun.started;
      showHeld(); // what happened while it began (send: the event is accepted by now)
      run.result.catch(() => {}); // settled below, or abandoned on suspend or a stop
      if (await options.waitsAsCheckpointed?.(run)) onSuspended();
      outcome = await Promise.race([
        run.result.then(
          (result): Outcome => ({ kind: 'finished', result }),
          (error: unknown) => {
            throw withResumeCommand(error, taskId, options);
          },
        ),
        suspended,
        idle,
        interrupted,
        outputClosed,
      ]);
    } else {
      // Interrupted while the run starts: once it has (a bounded wait), it is paused below, as
      // a run interrupted later is. A start that fails fails the command as it would have.
      outcome = begun;
      run = await settledWithin(beginning, BEGIN_SETTLE_MS);
      run?.result.catch(() => {}); // abandoned: the run is paused below
    }
  } finally {
    for (const [signal, listener] of signalListeners) process.off(signal, listener);
    process.off('beforeExit', onIdle);
    io.outputClosed?.removeEventListener('abort', onOutputClosed);
    unsubscribe();
    display?.finish();
  }

  if (outcome.kind === 'interrupted' || outcome.kind === 'outputClosed') {
    // Paused, so its status says nothing runs it; without a run (one still starting after
    // BEGIN_SETTLE_MS) or a store that fails, it keeps its last checkpoint as it is.
    const paused =
      run === undefined
        ? false
        : await runtime.pause(taskId).then(
            () => true,
            () => false,
          );
    await runtime.close();
    const state = paused ? 'is paused' : 'keeps its last checkpoint';
    const why = outcome.kind === 'interrupted' ? STOPPED_BY[outcome.signal] : 'Output closed';
    const resume = resumeCommandLine(taskId, options);
    io.stderr.write(printable(`${why}. Task ${taskId} ${state}; resume it with:\n  ${resume}\n`));
    return outcome.kind === 'interrupted' ? STOP_SIGNALS[outcome.signal] : ExitCode.OutputClosed;
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

/**
 * The run `beginning` starts, once it has, or `undefined` when it has not within `ms` (nothing
 * to pause yet); its failure is thrown.
 */
async function settledWithin(
  beginning: Promise<WorkflowRun>,
  ms: number,
): Promise<WorkflowRun | undefined> {
  let stopTimer = (): void => {};
  const late = new Promise<undefined>((resolve) => {
    const timer = setTimeout(() => resolve(undefined), ms);
    stopTimer = () => clearTimeout(timer);
  });
  try {
    return await Promise.race([beginning, late]);
  } finally {
    stopTimer();
  }
}

/**
 * A run's failure as the command reports it: a task paused by another process (`mcp-orch pause`
 * elsewhere, `WORKFLOW_PAUSED`) says how to resume it, as a run stopped by Ctrl-C does.
 */
function withResumeCommand(
  error: unknown,
  taskId: string,
  options: Pick<WatchRunOptions, 'file' | 'store'>,
): unknown {
  if (isOrchestrationError(error, 'WORKFLOW_PAUSED')) {
    const resume = resumeCommandLine(taskId, options);
    error.message = `Task ${taskId} was paused by another process; resume it with \`${resume}\``;
  }
  return error;
}
