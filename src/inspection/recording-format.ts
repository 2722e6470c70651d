import type { JsonObject, JsonValue } from '../json.js';
import { utf8Length } from '../utf8.js';

/** Name of the store log holding a task's inspection recording (beside its lineage). */
export const INSPECTION_LOG = 'inspection';

/** Format version of the recording's entries. */
export const RECORDING_FORMAT = 1;

/** The inspection event types a recording keeps (the ones inspectors draw). */
export type RecordedEventType = '@xstate.actor' | '@xstate.event' | '@xstate.snapshot';

/** What a recorded snapshot keeps: enough for an inspector to show the state. JSON. */
export interface RecordedSnapshot {
  readonly status: string;
  /** The state value of a machine actor. */
  readonly value?: JsonValue;
  /** The context (replaced by `{ $truncated }` when over `maxValueBytes`). */
  readonly context?: JsonValue;
  readonly output?: JsonValue;
  readonly error?: JsonValue;
}

/** One recorded inspection event, ids as in the recording process. JSON. */
export interface RecordedEvent {
  readonly kind: 'event';
  /** The recording session (one per run of the task in one process). */
  readonly session: string;
  /** Position in the session, from 0; a gap means events were dropped. */
  readonly seq: number;
  /** When it was recorded, ms since the epoch. */
  readonly at: number;
  readonly type: RecordedEventType;
  /** Session id of the actor (`x:0`…, unique only within its process). */
  readonly actorId: string;
  /** Session id of the root actor. */
  readonly rootId: string;
  /** Actor events: the actor's id (`runStep.parse`) and parent session id. */
  readonly name?: string;
  readonly parentId?: string;
  /** Actor events of machines: the machine config as JSON (see `exportStatelyMachine`). */
  readonly definition?: JsonObject;
  /** Event events: the sender's session id. */
  readonly sourceId?: string;
  /** Event and snapshot events: the event (large values truncated). */
  readonly event?: JsonObject;
  /** Snapshot events. */
  readonly snapshot?: RecordedSnapshot;
}

/** Opens a session: one run of the task in one process (a resume opens another). */
export interface RecordingSessionEntry {
  readonly kind: 'session';
  readonly format: typeof RECORDING_FORMAT;
  readonly session: string;
  readonly taskId: string;
  readonly startedAt: number;
  readonly maxEvents: number;
  readonly maxBytes: number;
}

/** Written once, at the first dropped event of a session. */
export interface RecordingTruncatedEntry {
  readonly kind: 'truncated';
  readonly session: string;
  readonly reason: 'maxEvents' | 'maxBytes';
  /** The seq of the first dropped event. */
  readonly fromSeq: number;
}

/** Closes a session (the run ended here); absent after a crash. */
export interface RecordingEndEntry {
  readonly kind: 'end';
  readonly session: string;
  /** Events written and dropped in the session. */
  readonly recorded: number;
  readonly dropped: number;
  /**
   * Events among `recorded` whose write failed (the recorder's writes are best effort): gaps in
   * `seq` that no `truncated` marker explains. Absent: none.
   */
  readonly lost?: number;
}

/** One entry of the inspection log. */
export type RecordingEntry =
  | RecordingSessionEntry
  | RecordedEvent
  | RecordingTruncatedEntry
  | RecordingEndEntry;

function isPlain(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * A JSON copy of any value, safe for inspection data: cycles become `'[Circular]'`, functions
 * their name, errors `{ name, message }`, actor refs `{ actorRef: id }`, `undefined` left out,
 * other class instances their `toJSON()` or own fields; nesting cut at `depth`.
 */
export function toSafeJson(value: unknown, depth = 12, seen = new Set<object>()): JsonValue {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'function') return `[Function ${value.name || 'anonymous'}]`;
  if (typeof value !== 'object') return null;
  if (seen.has(value)) return '[Circular]';
  if (depth <= 0) return '[Deep]';
  if (value instanceof Error) return { name: value.name, message: value.message };
  const record = value as Record<string, unknown>;
  if (typeof record.sessionId === 'string' && typeof record.send === 'function') {
    return { actorRef: String(record.id ?? record.sessionId) };
  }
  seen.add(value);
  try {
    if (Array.isArray(value)) return value.map((item) => toSafeJson(item, depth - 1, seen));
    if (!isPlain(value) && typeof record.toJSON === 'function') {
      return toSafeJson(record.toJSON(), depth - 1, seen);
    }
    const out: JsonObject = {};
    for (const [key, item] of Object.entries(value)) {
      if (item === undefined) continue;
      out[key] = toSafeJson(item, depth - 1, seen);
    }
    return out;
  } finally {
    seen.delete(value);
  }
}

/** `value` as safe JSON, or `{ $truncated }` when its JSON is over `maxBytes` UTF-8 bytes. */
export function boundedJson(value: unknown, maxBytes: number): JsonValue {
  const json = toSafeJson(value);
  const bytes = utf8Length(JSON.stringify(json) ?? 'null');
  return bytes <= maxBytes ? json : { $truncated: `${bytes} bytes, over ${maxBytes}` };
}

/** Whether a parsed log entry has the shape of a {@link RecordingEntry} (checks the kind's keys). */
export function isRecordingEntry(value: unknown): value is RecordingEntry {
  if (typeof value !== 'object' || value === null) return false;
  const entry = value as Record<string, unknown>;
  if (typeof entry.session !== 'string') return false;
  switch (entry.kind) {
    case 'session':
      return entry.format === RECORDING_FORMAT && typeof entry.taskId === 'string';
    case 'event':
      return (
        typeof entry.seq === 'number' &&
        typeof entry.actorId === 'string' &&
        typeof entry.rootId === 'string' &&
        (entry.type === '@xstate.actor' ||
          entry.type === '@xstate.event' ||
          entry.type === '@xstate.snapshot')
      );
    case 'truncated':
      return typeof entry.fromSeq === 'number';
    case 'end':
      return (
        typeof entry.recorded === 'number' &&
        typeof entry.dropped === 'number' &&
        (entry.lost === undefined || typeof entry.lost === 'number')
      );
    default:
      return false;
  }
}
