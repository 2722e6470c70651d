import { setOwn } from '../context/own-property.js';
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
   * Events among `recorded` whose write failed (the recorder's writes are best effort), or that
   * could not be converted to JSON: gaps in `seq` that no `truncated` marker explains. Absent:
   * none.
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

/** Thrown inside {@link SafeJsonWriter} once its output is over its byte budget. */
const OVER_BUDGET: unique symbol = Symbol('over budget');

/** What a value that cannot be read becomes: `'[Unserializable: <the error's message>]'`. */
function unserializable(error: unknown): string {
  try {
    const message = String(error instanceof Error ? error.message : error);
    return `[Unserializable: ${message.length > 200 ? `${message.slice(0, 199)}…` : message}]`;
  } catch {
    return '[Unserializable]';
  }
}

/** UTF-8 bytes of `text` as a JSON string, quotes and escapes included. */
function jsonStringBytes(text: string): number {
  return utf8Length(JSON.stringify(text));
}

/**
 * What a bounded conversion found of a frozen plain object or array whose whole part read was
 * frozen plain objects and arrays of data properties (so it cannot change): its JSON, or, when
 * its conversion went over the budget, no JSON and a lower bound of its bytes.
 */
interface Converted {
  /** The nesting depth left when it was converted (the result depends on it). */
  readonly depth: number;
  /** UTF-8 bytes of its JSON text; when `json` is absent, a lower bound. */
  readonly bytes: number;
  readonly json?: JsonValue;
}

/**
 * Bounded conversions of immutable objects, by object: workflow contexts are deep-frozen and
 * the same ones come back in many inspection events (every snapshot's context, every
 * `xstate.done.actor` output), each converted once.
 */
const converted = new WeakMap<object, Converted>();

/** Whether `value`'s conversion may be cached: a frozen plain object or array. */
function isCacheable(value: object): boolean {
  return Object.isFrozen(value) && (Array.isArray(value) || isPlain(value));
}

/**
 * Converts a value to safe JSON (see {@link toSafeJson}), counting the UTF-8 bytes of the JSON
 * text of the result (`JSON.stringify`) as it goes, and stops, throwing {@link OVER_BUDGET}, as
 * soon as that count is over `limit`: the cost of a conversion is bounded by the limit, not by
 * the value's size. Nothing else escapes: a read that throws (a getter, `toJSON`, a revoked
 * proxy's trap) makes the value read {@link unserializable}'s text. With a finite limit, the
 * conversions of immutable objects are cached ({@link converted}).
 */
class SafeJsonWriter {
  /** UTF-8 bytes of the JSON text of what has been converted so far. */
  bytes = 0;
  readonly #limit: number;
  readonly #seen = new Set<object>();
  readonly #cache: boolean;
  /** Whether all read so far of the object being converted is immutable (so cacheable). */
  #immutable = false;
  /** How many of the objects being converted (the ancestors of the next one) are cacheable. */
  #frozenAncestors = 0;

  constructor(limit: number) {
    this.#limit = limit;
    this.#cache = limit !== Number.POSITIVE_INFINITY;
  }

  #add(bytes: number): void {
    this.bytes += bytes;
    if (this.bytes > this.#limit) throw OVER_BUDGET;
  }

  /** `value`, counted as the `bytes` of its JSON text. */
  #literal<T extends JsonValue>(value: T, bytes: number): T {
    this.#add(bytes);
    return value;
  }

  #text(text: string): string {
    if (this.#limit === Number.POSITIVE_INFINITY) return text;
    // Every UTF-16 unit is at least one byte: a string longer than what is left is over, unread.
    this.#add(text.length > this.#limit - this.bytes ? text.length : jsonStringBytes(text));
    return text;
  }

  #key(key: string, first: boolean): void {
    if (this.#limit === Number.POSITIVE_INFINITY) return;
    this.#add((first ? 0 : 1) + 1); // the comma before it, the colon after it
    this.#text(key);
  }

  /**
   * Reads `container[key]`. While the object converted may be cached, through its descriptor:
   * a getter makes it uncacheable (it could return something else next time).
   */
  #read(container: object, key: string | number): unknown {
    if (!this.#immutable) return (container as Record<string | number, unknown>)[key];
    const descriptor = Object.getOwnPropertyDescriptor(container, key);
    if (descriptor === undefined || !('value' in descriptor)) {
      this.#immutable = false;
      return (container as Record<string | number, unknown>)[key];
    }
    return descriptor.value;
  }

  convert(value: unknown, depth: number): JsonValue {
    if (value === null) return this.#literal(null, 4);
    switch (typeof value) {
      case 'string':
        return this.#text(value);
      case 'boolean':
        return this.#literal(value, value ? 4 : 5);
      case 'number':
        if (!Number.isFinite(value)) return this.#text(String(value));
        return this.#literal(value, String(value).length);
      case 'bigint':
        return this.#text(value.toString());
      case 'function':
      case 'object':
        break;
      default:
        return this.#literal(null, 4);
    }
    const start = this.bytes;
    const outer = this.#immutable;
    let cacheable = false;
    try {
      if (typeof value === 'function') {
        this.#immutable = false;
        const name: unknown = value.name;
        return this.#text(
          `[Function ${typeof name === 'string' && name !== '' ? name : 'anonymous'}]`,
        );
      }
      cacheable = this.#cache && isCacheable(value);
      if (cacheable) {
        const known = converted.get(value);
        if (known !== undefined && known.depth === depth) {
          if (known.json !== undefined) {
            cacheable = false; // known already
            return this.#literal(known.json, known.bytes);
          }
          // The part read before going over could hold an ancestor here (a cycle): only the
          // ancestors that can be in it, frozen ones, could make it read differently.
          if (this.#frozenAncestors === 0 && this.bytes + known.bytes > this.#limit) {
            cacheable = false;
            this.#add(known.bytes);
          }
        }
        this.#frozenAncestors += 1;
      }
      this.#immutable = cacheable;
      const json = this.#object(value, depth);
      if (cacheable && this.#immutable) {
        converted.set(value, { depth, bytes: this.bytes - start, json });
      }
      return json;
    } catch (error) {
      if (error === OVER_BUDGET) {
        if (cacheable && this.#immutable)
          converted.set(value, { depth, bytes: this.bytes - start });
        throw error;
      }
      this.#immutable = false;
      this.bytes = start;
      return this.#text(unserializable(error));
    } finally {
      if (cacheable) this.#frozenAncestors -= 1;
      this.#immutable &&= outer;
    }
  }

  #object(value: object, depth: number): JsonValue {
    // Both depend on the ancestors (a cut can hide a cycle back to one): not cacheable.
    if (this.#seen.has(value)) {
      this.#immutable = false;
      return this.#text('[Circular]');
    }
    if (depth <= 0) {
      this.#immutable = false;
      return this.#text('[Deep]');
    }
    if (value instanceof Error) {
      return this.#fields(['name', 'message'], depth, (key) => value[key as 'name' | 'message']);
    }
    const record = value as Record<string, unknown>;
    if (typeof record.sessionId === 'string' && typeof record.send === 'function') {
      const id: unknown = record.id ?? record.sessionId;
      this.#add(2);
      this.#key('actorRef', true);
      return { actorRef: this.#text(String(id)) };
    }
    this.#seen.add(value);
    try {
      if (Array.isArray(value)) return this.#array(value, depth);
      if (!isPlain(value) && typeof record.toJSON === 'function') {
        return this.convert((record.toJSON as () => unknown)(), depth - 1);
      }
      if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
        // A typed array: its indices, as `Object.entries` gives them, without listing them all.
        const { length } = value as unknown as ArrayLike<unknown>;
        const indices = {
          *[Symbol.iterator]() {
            for (let i = 0; i < length; i++) yield String(i);
          },
        };
        return this.#fields(indices, depth, (key) => record[key]);
      }
      return this.#fields(Object.keys(value), depth, (key) => this.#read(value, key));
    } finally {
      this.#seen.delete(value);
    }
  }

  #array(value: readonly unknown[], depth: number): JsonValue[] {
    this.#add(2);
    const out: JsonValue[] = [];
    const { length } = value;
    for (let i = 0; i < length; i++) {
      if (i > 0) this.#add(1);
      let item: unknown;
      try {
        item = this.#read(value, i);
      } catch (error) {
        item = unserializable(error);
      }
      out.push(this.convert(item, depth - 1));
    }
    return out;
  }

  /** An object of the fields `keys` (read with `read`), `undefined` ones left out. */
  #fields(keys: Iterable<string>, depth: number, read: (key: string) => unknown): JsonObject {
    this.#add(2);
    const out: JsonObject = {};
    let first = true;
    for (const key of keys) {
      let item: unknown;
      try {
        item = read(key);
      } catch (error) {
        item = unserializable(error);
      }
      if (item === undefined) continue;
      this.#key(key, first);
      first = false;
      setOwn(out, key, this.convert(item, depth - 1));
    }
    return out;
  }
}

/**
 * A JSON copy of any value, safe for inspection data: cycles become `'[Circular]'`, functions
 * their name, errors `{ name, message }`, actor refs `{ actorRef: id }`, `undefined` left out,
 * other class instances their `toJSON()` or own fields; nesting cut at `depth`. It never throws:
 * a value that cannot be read (a getter or `toJSON()` that throws, a revoked proxy) becomes
 * `'[Unserializable: <message>]'`.
 */
export function toSafeJson(value: unknown, depth = 12): JsonValue {
  return new SafeJsonWriter(Number.POSITIVE_INFINITY).convert(value, depth);
}

/**
 * `value` as safe JSON ({@link toSafeJson}), or `{ $truncated }` when its JSON is over
 * `maxBytes` UTF-8 bytes. The conversion stops as soon as it is past `maxBytes`, so its cost is
 * bounded by `maxBytes`, not by the value's size (only the part of the value that fits is read).
 */
export function boundedJson(value: unknown, maxBytes: number): JsonValue {
  const writer = new SafeJsonWriter(maxBytes);
  try {
    return writer.convert(value, 12);
  } catch (error) {
    if (error !== OVER_BUDGET) throw error;
    return { $truncated: `at least ${writer.bytes} bytes, over ${maxBytes}` };
  }
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
