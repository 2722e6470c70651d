import type { InspectionEvent, Observer } from 'xstate';
import type { CheckpointStore } from '../checkpoint/checkpoint-store.js';
import { assertValidId, createCheckpointId } from '../ids.js';
import { utf8Length } from '../utf8.js';
import { toRecordedEvent } from './recorded-event.js';
import {
  INSPECTION_LOG,
  RECORDING_FORMAT,
  type RecordingEntry,
  type RecordingTruncatedEntry,
} from './recording-format.js';

/** Options of {@link createRunRecorder} (and of the runtime's `record` option). */
export interface RunRecorderOptions {
  /** Most events kept per session (one run of a task in one process). Default: 10,000. */
  readonly maxEvents?: number;
  /** Most UTF-8 bytes of events kept per session. Default: 4 MiB. */
  readonly maxBytes?: number;
  /**
   * Largest context, output, error or event payload kept in one event, in UTF-8 bytes of JSON;
   * a larger one is stored as `{ $truncated: '… bytes' }`. Default: 16 KiB.
   */
  readonly maxValueBytes?: number;
  /**
   * The task of a root actor, for events reaching {@link RunRecorder.inspect}. Default: the
   * root's `context.taskId`, then its `input.taskId` (a workflow machine has both). A root
   * without a task at its first snapshot is not recorded (the events held until then, a bounded
   * number, are dropped), unless a later event of its own names one.
   */
  readonly taskIdOf?: (event: InspectionEvent) => string | undefined;
  /**
   * Called with every failed log write, and every inspection event the recorder could not
   * record (counted in its session's `end.lost`); recording never fails a run. Default: none.
   */
  readonly onError?: (error: unknown) => void;
  /** Clock of the events' `at`, ms since the epoch. Default: `Date.now`. */
  readonly now?: () => number;
}

/** Records inspection events into each task's `inspection` log; see {@link createRunRecorder}. */
export interface RunRecorder {
  /**
   * An XState inspector for any actors: each root actor's events go to its task's recording
   * (see `taskIdOf`); the events of actors without a task are not kept.
   */
  readonly inspect: Observer<InspectionEvent>;
  /** An XState inspector whose events all go to `taskId`'s recording (what the runtime uses). */
  forTask(taskId: string): Observer<InspectionEvent>;
  /** Closes the task's session: writes what is buffered, the kept final snapshot, an end entry. */
  end(taskId: string): Promise<void>;
  /** Waits until everything recorded so far is written; rejects with a write's error, if any. */
  flush(): Promise<void>;
}

const KEPT = new Set(['@xstate.actor', '@xstate.event', '@xstate.snapshot']);

/** Snapshot statuses after which an actor sends no more events of its own. */
const FINAL_STATUSES = new Set(['done', 'error', 'stopped']);

/**
 * Most root actors whose events {@link RunRecorder.inspect} holds while their task is unknown
 * (before their first snapshot), and most it remembers as having no task; the oldest go first.
 */
const MAX_PENDING_ROOTS = 64;
const MAX_UNATTRIBUTED_ROOTS = 1024;

/** A line of the log waiting for its write, and whether it is an event (for `lost`). */
interface Buffered {
  readonly line: string;
  readonly isEvent: boolean;
}

interface Session {
  readonly id: string;
  readonly taskId: string;
  readonly buffer: Buffered[];
  /** The `session` entry opening the session, as a line. */
  readonly header: string;
  /**
   * Whether a write holding {@link header} succeeded. Until one has, each batch written starts
   * with it: a batch that failed with it must not leave later entries without their session.
   */
  headerWritten: boolean;
  /** Events whose write failed. */
  lost: number;
  seq: number;
  bytes: number;
  recorded: number;
  dropped: number;
  truncated: boolean;
  ended: boolean;
  /**
   * The root's latest snapshot while events are dropped, with its place: converted and written
   * at the end (only the last one is ever converted).
   */
  lastRootSnapshot:
    | { readonly event: InspectionEvent; readonly seq: number; readonly at: number }
    | undefined;
  scheduled: boolean;
  writing: Promise<void> | undefined;
}

interface RefLike {
  readonly options?: { readonly input?: unknown };
}

function taskIdFromRoot(event: InspectionEvent): string | undefined {
  const ref = event.actorRef as unknown as RefLike;
  const fromContext = (event.type === '@xstate.snapshot' ? event.snapshot : undefined) as
    | { context?: { taskId?: unknown } }
    | undefined;
  const candidates = [
    fromContext?.context?.taskId,
    (ref.options?.input as { taskId?: unknown })?.taskId,
  ];
  return candidates.find((id): id is string => typeof id === 'string');
}

/** The recorder behind {@link createRunRecorder}. */
class StoreRunRecorder implements RunRecorder {
  readonly inspect: Observer<InspectionEvent>;
  readonly #store: CheckpointStore;
  readonly #maxEvents: number;
  readonly #maxBytes: number;
  readonly #maxValueBytes: number;
  readonly #options: RunRecorderOptions;
  readonly #now: () => number;
  readonly #sessions = new Map<string, Session>();
  /** Sessions with writes in flight or buffered (ended ones included). */
  readonly #active = new Set<Session>();
  /**
   * Events of roots whose task is not known yet, by root id: held until the root's first
   * snapshot at most (when its context and input are known), then dropped if it has no task.
   */
  readonly #pending = new Map<string, InspectionEvent[]>();
  /** Roots found to have no task (at their first snapshot), oldest first. */
  readonly #unattributed = new Set<string>();
  readonly #roots = new Map<string, Session>();
  #errors: unknown[] = [];

  constructor(store: CheckpointStore, options: RunRecorderOptions) {
    this.#store = store;
    this.#options = options;
    this.#maxEvents = options.maxEvents ?? 10_000;
    this.#maxBytes = options.maxBytes ?? 4 * 1024 * 1024;
    this.#maxValueBytes = options.maxValueBytes ?? 16 * 1024;
    this.#now = options.now ?? Date.now;
    assertRunRecorderOptions(options);
    // Called synchronously by XState: whatever fails here must not reach the actors.
    this.inspect = {
      next: (event) => {
        try {
          this.#attribute(event);
        } catch (error) {
          this.#report(error);
        }
      },
    };
  }

  forTask(taskId: string): Observer<InspectionEvent> {
    assertValidId('taskId', taskId);
    let session: Session | undefined;
    return {
      next: (event) => {
        try {
          if (!KEPT.has(event.type)) return;
          session ??= this.#open(taskId);
          this.#record(session, event);
        } catch (error) {
          this.#report(error);
        }
      },
    };
  }

  async end(taskId: string): Promise<void> {
    const session = this.#sessions.get(taskId);
    if (session === undefined) return;
    this.#sessions.delete(taskId);
    for (const [rootId, owner] of this.#roots) if (owner === session) this.#roots.delete(rootId);
    session.ended = true;
    const last = session.lastRootSnapshot;
    session.lastRootSnapshot = undefined;
    if (last !== undefined) {
      const line = this.#lineOf(session, last.event, last.seq, last.at);
      if (line !== undefined) session.buffer.push({ line, isEvent: true });
    }
    // Writes are one at a time: the count of events lost is final once those before it are done.
    await this.#drain(session);
    this.#push(session, {
      kind: 'end',
      session: session.id,
      recorded: session.recorded,
      dropped: session.dropped,
      ...(session.lost > 0 ? { lost: session.lost } : {}),
    });
    await this.#drain(session);
  }

  async flush(): Promise<void> {
    while (this.#active.size > 0) {
      await Promise.all([...this.#active].map((session) => this.#drain(session)));
    }
    const errors = this.#errors;
    this.#errors = [];
    if (errors.length > 0) throw errors[0];
  }

  /**
   * Routes an event of any actor to its root's task. The events of a root whose task is not
   * known yet are held until it is, or until the root's first snapshot (where its context and
   * input are known): a root without a task then is not recorded (its events dropped), unless a
   * later event of its own names one. Held events are bounded in roots and per root.
   */
  #attribute(event: InspectionEvent): void {
    if (!KEPT.has(event.type)) return;
    const { rootId } = event;
    const known = this.#roots.get(rootId);
    if (known !== undefined) {
      this.#record(known, event);
      return;
    }
    const isRoot = event.actorRef.sessionId === rootId;
    const taskId = isRoot ? (this.#options.taskIdOf?.(event) ?? taskIdFromRoot(event)) : undefined;
    if (taskId !== undefined) {
      const waiting = this.#pending.get(rootId) ?? [];
      this.#pending.delete(rootId);
      this.#unattributed.delete(rootId);
      const session = this.#sessions.get(taskId) ?? this.#open(taskId);
      this.#roots.set(rootId, session);
      for (const earlier of waiting) this.#record(session, earlier);
      this.#record(session, event);
      return;
    }
    const snapshot = isRoot && event.type === '@xstate.snapshot' ? event.snapshot : undefined;
    if (snapshot !== undefined || this.#unattributed.has(rootId)) {
      // Decided: no task. Only a later event of the root itself could still name one.
      this.#pending.delete(rootId);
      const status = (snapshot as { status?: unknown } | undefined)?.status;
      this.#unattributed.delete(rootId);
      if (typeof status !== 'string' || !FINAL_STATUSES.has(status)) {
        this.#unattributed.add(rootId);
        if (this.#unattributed.size > MAX_UNATTRIBUTED_ROOTS) {
          this.#unattributed.delete(this.#unattributed.values().next().value as string);
        }
      }
      return;
    }
    let waiting = this.#pending.get(rootId);
    if (waiting === undefined) {
      waiting = [];
      this.#pending.set(rootId, waiting);
      if (this.#pending.size > MAX_PENDING_ROOTS) {
        this.#pending.delete(this.#pending.keys().next().value as string);
      }
    }
    if (waiting.length < this.#maxEvents) waiting.push(event);
  }

  #open(taskId: string): Session {
    const existing = this.#sessions.get(taskId);
    if (existing !== undefined) return existing;
    const id = createCheckpointId(this.#now());
    const header: RecordingEntry = {
      kind: 'session',
      format: RECORDING_FORMAT,
      session: id,
      taskId,
      startedAt: this.#now(),
      maxEvents: this.#maxEvents,
      maxBytes: this.#maxBytes,
    };
    const session: Session = {
      id,
      taskId,
      buffer: [],
      header: JSON.stringify(header),
      headerWritten: false,
      lost: 0,
      seq: 0,
      bytes: 0,
      recorded: 0,
      dropped: 0,
      truncated: false,
      ended: false,
      lastRootSnapshot: undefined,
      scheduled: false,
      writing: undefined,
    };
    // No entry of its own: the header leads every batch until one is written (see #drain).
    this.#sessions.set(taskId, session);
    return session;
  }

  /**
   * Keeps the first events within the bounds; past them, only the root's latest snapshot. An
   * event is converted only when it may be kept: once the session is truncated, never (but for
   * the last root snapshot, at the end). An event that cannot be converted is lost (counted).
   */
  #record(session: Session, event: InspectionEvent): void {
    if (session.ended) return;
    const seq = session.seq++;
    let at: number;
    try {
      at = this.#now();
    } catch (error) {
      this.#report(error);
      if (session.truncated) session.dropped += 1;
      else {
        session.recorded += 1;
        session.lost += 1;
      }
      return;
    }
    if (session.truncated || session.recorded >= this.#maxEvents) {
      this.#drop(session, event, seq, at, 'maxEvents');
      return;
    }
    const line = this.#lineOf(session, event, seq, at);
    if (line === undefined) {
      // Kept but lost, as if its write had failed (a gap that no `truncated` marker explains).
      session.recorded += 1;
      session.lost += 1;
      return;
    }
    const bytes = utf8Length(line);
    if (session.bytes + bytes > this.#maxBytes) {
      this.#drop(session, event, seq, at, 'maxBytes');
      return;
    }
    session.recorded += 1;
    session.bytes += bytes;
    session.buffer.push({ line, isEvent: true });
    this.#schedule(session);
  }

  /** Drops an event past the session's bounds (opening the truncation at the first one). */
  #drop(
    session: Session,
    event: InspectionEvent,
    seq: number,
    at: number,
    reason: RecordingTruncatedEntry['reason'],
  ): void {
    if (!session.truncated) {
      session.truncated = true;
      this.#push(session, { kind: 'truncated', session: session.id, reason, fromSeq: seq });
    }
    session.dropped += 1;
    if (event.type === '@xstate.snapshot' && event.actorRef.sessionId === event.rootId) {
      session.lastRootSnapshot = { event, seq, at };
    }
  }

  /** The event's log line; `undefined` when it cannot be made (reported to `onError`). */
  #lineOf(session: Session, event: InspectionEvent, seq: number, at: number): string | undefined {
    try {
      return JSON.stringify(
        toRecordedEvent(event, { session: session.id, seq, at }, this.#maxValueBytes),
      );
    } catch (error) {
      this.#report(error);
      return undefined;
    }
  }

  /** Tells `onError` (a failing handler is ignored: recording never fails the run). */
  #report(error: unknown): void {
    try {
      this.#options.onError?.(error);
    } catch {
      // A failing error handler must not stop the recorder.
    }
  }

  #push(session: Session, entry: RecordingEntry): void {
    session.buffer.push({ line: JSON.stringify(entry), isEvent: false });
    this.#schedule(session);
  }

  /** Writes once the current burst of synchronous events is over. */
  #schedule(session: Session): void {
    this.#active.add(session);
    if (session.scheduled) return;
    session.scheduled = true;
    queueMicrotask(() => {
      session.scheduled = false;
      void this.#drain(session);
    });
  }

  /**
   * Appends the buffer in order, one write at a time; later events wait for the next write. The
   * session's header leads every batch until one holding it is written, so that a failed write
   * loses its own entries only (counted in `lost`), never the session of the entries after it.
   */
  #drain(session: Session): Promise<void> {
    if (session.writing !== undefined) return session.writing;
    if (session.buffer.length === 0) {
      this.#active.delete(session);
      return Promise.resolve();
    }
    const writing = (async () => {
      while (session.buffer.length > 0) {
        const batch = session.buffer.splice(0);
        const lines = batch.map((entry) => entry.line);
        const withHeader = !session.headerWritten;
        if (withHeader) lines.unshift(session.header);
        try {
          await this.#store.appendLog(session.taskId, INSPECTION_LOG, lines);
          if (withHeader) session.headerWritten = true;
        } catch (error) {
          session.lost += batch.filter((entry) => entry.isEvent).length;
          this.#errors.push(error);
          this.#report(error);
        }
      }
    })();
    session.writing = writing.finally(() => {
      session.writing = undefined;
      if (session.buffer.length === 0) this.#active.delete(session);
    });
    return session.writing;
  }
}

/**
 * Records runs' inspection events beside their checkpoints, in each task's `inspection` log
 * (`store.appendLog(taskId, 'inspection', …)`), so they can be replayed later into any
 * inspector with {@link replayRecording}. Pass it to the runtime (`createRuntime({ record })`
 * does this for you), or compose `recorder.inspect` with another inspector.
 *
 * - **Sessions.** Each run of a task in one process is a session (an id unique across
 *   processes): a resumed run appends a new session to the same log.
 * - **What is kept.** Actor, event and snapshot events (not microsteps or actions); snapshots as
 *   `{ status, value, context, output, error }` in safe JSON (cycles, functions and actor refs
 *   replaced), each value over `maxValueBytes` replaced by `{ $truncated }`; actors' machine
 *   configs as their `definition`.
 * - **Bounds and drop policy.** A session keeps its first events, up to `maxEvents` and
 *   `maxBytes`. At the first event past a bound it writes a `truncated` marker and drops every
 *   later event, except that the root actor's latest snapshot is kept and written when the
 *   session ends (so a replay ends in the run's final state), followed by an `end` entry with
 *   the counts. Dropped events leave gaps in `seq`. Dropped events are not converted (the final
 *   snapshot is, once, at the end), and converting a value stops past `maxValueBytes`: the cost
 *   of recording does not grow with the size of the contexts.
 * - **Never fails the run.** A value that cannot be read (a getter or `toJSON()` that throws, a
 *   revoked proxy) is recorded as `'[Unserializable: …]'`; anything else that fails while
 *   recording an event (an option's function that throws) is reported to `onError`, the event
 *   counted in its session's `lost` when it has one. Nothing is thrown back to XState.
 * - **Writes** are batched (one append per burst of events, one at a time per task) and best
 *   effort: a failed write is reported to `onError` and by `flush()`, never to the run. It loses
 *   its own events only (gaps in `seq`, counted in the `end` entry's `lost`): the session's
 *   header is written again with the next batch when the failed one held it, so the entries
 *   after it still belong to their session.
 *
 * @example
 * ```ts
 * const recorder = createRunRecorder(store, { maxEvents: 5_000 });
 * const runtime = createRuntime({ store, inspect: recorder.inspect });
 * await (await runtime.start(workflow, input, { taskId: 'task_1' })).result;
 * await recorder.end('task_1');
 * replayRecording(await readRecording(store, 'task_1'), inspector.inspect);
 * ```
 */
/**
 * Checks a recorder's bounds (`maxEvents`, `maxBytes`, `maxValueBytes`: integers ≥ 1 when
 * given); throws `TypeError` naming the bad one. `createRuntime` checks its `record` option so.
 */
export function assertRunRecorderOptions(options: RunRecorderOptions): void {
  for (const name of ['maxEvents', 'maxBytes', 'maxValueBytes'] as const) {
    const value = options[name];
    if (value !== undefined && !(Number.isSafeInteger(value) && value >= 1)) {
      throw new TypeError(`${name} must be an integer ≥ 1`);
    }
  }
}

export function createRunRecorder(
  store: CheckpointStore,
  options: RunRecorderOptions = {},
): RunRecorder {
  return new StoreRunRecorder(store, options);
}
