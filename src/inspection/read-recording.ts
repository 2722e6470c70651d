import type { CheckpointStore } from '../checkpoint/checkpoint-store.js';
import { CorruptRecordError } from '../errors.js';
import { assertValidId } from '../ids.js';
import {
  INSPECTION_LOG,
  isRecordingEntry,
  type RecordedEvent,
  type RecordingEndEntry,
  type RecordingTruncatedEntry,
} from './recording-format.js';

/** One session of a recording: one run of the task in one process. */
export interface RecordingSession {
  /** Unique across processes (a ULID). */
  readonly id: string;
  /** When the session started, ms since the epoch. */
  readonly startedAt: number;
  /** The events kept, in order. */
  readonly events: readonly RecordedEvent[];
  /** Set when events were dropped (over `maxEvents` or `maxBytes`). */
  readonly truncated?: Omit<RecordingTruncatedEntry, 'kind' | 'session'>;
  /** Set when the session ended normally (absent after a crash). */
  readonly end?: Omit<RecordingEndEntry, 'kind' | 'session'>;
}

/** A task's inspection recording, as {@link readRecording} returns it. */
export interface Recording {
  readonly taskId: string;
  /** In the order they were recorded. */
  readonly sessions: readonly RecordingSession[];
}

interface MutableSession {
  id: string;
  startedAt: number;
  events: RecordedEvent[];
  truncated?: Omit<RecordingTruncatedEntry, 'kind' | 'session'>;
  end?: Omit<RecordingEndEntry, 'kind' | 'session'>;
}

/**
 * Reads a task's inspection recording from its store (the `inspection` log written by
 * `createRunRecorder` or the runtime's `record` option): its sessions in order, each with its
 * events. A task without a recording has no sessions. An entry that is not a recording entry,
 * or one of a session whose header the log lacks, throws `CorruptRecordError`. A header that
 * comes again (written again after a write that failed, or seemed to) changes nothing.
 *
 * @example
 * ```ts
 * const recording = await readRecording(store, 'task_1');
 * console.log(recording.sessions.map((s) => s.events.length));
 * ```
 */
export async function readRecording(store: CheckpointStore, taskId: string): Promise<Recording> {
  assertValidId('taskId', taskId);
  const lines = await store.readLog(taskId, INSPECTION_LOG);
  const sessions = new Map<string, MutableSession>();
  lines.forEach((line, index) => {
    let entry: unknown;
    try {
      entry = JSON.parse(line);
    } catch (error) {
      throw new CorruptRecordError(taskId, `${INSPECTION_LOG}[${index}]`, 'not JSON', {
        cause: error,
      });
    }
    if (!isRecordingEntry(entry)) {
      throw new CorruptRecordError(taskId, `${INSPECTION_LOG}[${index}]`, 'not a recording entry');
    }
    if (entry.kind === 'session') {
      // The recorder writes a header again after a failed write that held it; that write may
      // have landed all the same (a timeout, say): the session goes on.
      if (!sessions.has(entry.session)) {
        sessions.set(entry.session, { id: entry.session, startedAt: entry.startedAt, events: [] });
      }
      return;
    }
    const session = sessions.get(entry.session);
    if (session === undefined) {
      throw new CorruptRecordError(
        taskId,
        `${INSPECTION_LOG}[${index}]`,
        'entry before its session',
      );
    }
    if (entry.kind === 'event') session.events.push(entry);
    else if (entry.kind === 'truncated')
      session.truncated = { reason: entry.reason, fromSeq: entry.fromSeq };
    else {
      session.end = {
        recorded: entry.recorded,
        dropped: entry.dropped,
        ...(entry.lost === undefined ? {} : { lost: entry.lost }),
      };
    }
  });
  return { taskId, sessions: [...sessions.values()] };
}
