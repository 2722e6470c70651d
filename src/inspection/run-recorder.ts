import type { InspectionEvent, Observer } from 'xstate';
import type { CheckpointStore } from '../checkpoint/checkpoint-store.js';
import { assertValidId, createCheckpointId } from '../ids.js';
import { utf8Length } from '../utf8.js';
import { toRecordedEvent } from './recorded-event.js';
import { INSPECTION_LOG, RECORDING_FORMAT, type RecordingEntry } from './recording-format.js';

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
   * root's `context.taskId`, then its `input.taskId` (a workflow machine has both).
   */
  readonly taskIdOf?: (event: InspectionEvent) => string | undefined;
  /** Called with every failed log write; recording never fails a run. Default: none. */
  readonly onError?: (error: unknown) => void;
  /** Clock of the events' `at`, ms since the epoch. Default: `Date.now`. */
  readonly now?: () => number;
}

/** Records inspection events into each task's `inspection` log; see {@link createRunRecorder}. */
export interface RunRecorder {
  /** An XState inspector for any actors: each root actor's events go to its task's recording. */
  readonly inspect: Observer<InspectionEvent>;
  /** An XState inspector whose events all go to `taskId`'s recording (what the runtime uses). */
  forTask(taskId: string): Observer<InspectionEvent>;
  /** Closes the task's session: writes what is buffered, the kept final snapshot, an end entry. */
  end(taskId: string): Promise<void>;
  /** Waits until everything recorded so far is written; rejects with a write's error, if any. */
  flush(): Promise<void>;
}

const KEPT = new Set(['@xstate.actor', '@xstate.event', '@xstate.snapshot']);

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
  /** The root's latest snapshot while events are dropped: written at the end. */
  lastRootSnapshot: string | undefined;
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
  /** Events of roots whose task is not known yet, by root id. */
  readonly #pending = new Map<string, InspectionEvent[]>();
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
    this.inspect = { next: (event) => this.#attribute(event) };
  }

  forTask(taskId: string): Observer<InspectionEvent> {
    assertValidId('taskId', taskId);
    let session: Session | undefined;
    return {
      next: (event) => {
        if (!KEPT.has(event.type)) return;
        session ??= this.#open(taskId);
        this.#record(session, event);
      },
    };
  }

  async end(taskId: string): Promise<void> {
    const session = this.#sessions.get(taskId);
    if (session === undefined) return;
    this.#sessions.delete(taskId);
    for (const [rootId, owner] of this.#roots) if (owner === session) this.#roots.delete(rootId);
    session.ended = true;
    if (session.lastRootSnapshot !== undefined) {
      session.buffer.push({ line: session.lastRootSnapshot, isEvent: true });
      session.lastRootSnapshot = undefined;
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

  /** Routes an event of any actor to its root's task (waiting until the task is known). */
  #attribute(event: InspectionEvent): void {
    if (!KEPT.has(event.type)) return;
    const known = this.#roots.get(event.rootId);
    if (known !== undefined) {
      this.#record(known, event);
      return;
    }
    const isRoot = event.actorRef.sessionId === event.rootId;
    const taskId = isRoot ? (this.#options.taskIdOf?.(event) ?? taskIdFromRoot(event)) : undefined;
    const waiting = this.#pending.get(event.rootId) ?? [];
    if (taskId === undefined) {
      if (waiting.length < this.#maxEvents) waiting.push(event);
      this.#pending.set(event.rootId, waiting);
      return;
    }
    this.#pending.delete(event.rootId);
    const session = this.#sessions.get(taskId) ?? this.#open(taskId);
    this.#roots.set(event.rootId, session);
    for (const earlier of waiting) this.#record(session, earlier);
    this.#record(session, event);
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

  /** Keeps the first events within the bounds; past them, only the root's latest snapshot. */
  #record(session: Session, event: InspectionEvent): void {
    if (session.ended) return;
    const base = { session: session.id, seq: session.seq++, at: this.#now() };
    const entry = toRecordedEvent(event, base, this.#maxValueBytes);
    const line = JSON.stringify(entry);
    const bytes = utf8Length(line);
    const overEvents = session.recorded >= this.#maxEvents;
    if (session.truncated || overEvents || session.bytes + bytes > this.#maxBytes) {
      if (!session.truncated) {
        session.truncated = true;
        const reason = overEvents ? 'maxEvents' : 'maxBytes';
        this.#push(session, { kind: 'truncated', session: session.id, reason, fromSeq: entry.seq });
      }
      session.dropped += 1;
      if (entry.type === '@xstate.snapshot' && entry.actorId === entry.rootId) {
        session.lastRootSnapshot = line;
      }
      return;
    }
    session.recorded += 1;
    session.bytes += bytes;
    session.buffer.push({ line, isEvent: true });
    this.#schedule(session);
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
          try {
            this.#options.onError?.(error);
          } catch {
            // A failing error handler must not stop the recorder.
          }
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
 *   the counts. Dropped events leave gaps in `seq`.
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
