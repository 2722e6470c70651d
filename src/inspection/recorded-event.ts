import type { InspectionEvent } from 'xstate';
import type { JsonObject } from '../json.js';
import { machineConfigJson } from './export-stately-machine.js';
import {
  boundedJson,
  type RecordedEvent,
  type RecordedSnapshot,
  toSafeJson,
} from './recording-format.js';

interface RefLike {
  readonly sessionId: string;
  readonly id?: unknown;
  readonly _parent?: { readonly sessionId?: unknown };
  readonly logic?: { readonly config?: unknown };
  readonly options?: { readonly input?: unknown };
  getSnapshot(): unknown;
}

function snapshotOf(value: unknown, maxValueBytes: number): RecordedSnapshot {
  const s = (value ?? {}) as Record<string, unknown>;
  const out: { -readonly [K in keyof RecordedSnapshot]: RecordedSnapshot[K] } = {
    status: typeof s.status === 'string' ? s.status : 'active',
  };
  if (s.value !== undefined) out.value = toSafeJson(s.value);
  if (s.context !== undefined) out.context = boundedJson(s.context, maxValueBytes);
  if (s.output !== undefined) out.output = boundedJson(s.output, maxValueBytes);
  if (s.error !== undefined) out.error = boundedJson(s.error, maxValueBytes);
  return out;
}

function eventOf(value: unknown, maxValueBytes: number): JsonObject {
  const json = boundedJson(value, maxValueBytes);
  if (typeof json === 'object' && json !== null && !Array.isArray(json)) {
    const type = (value as { type?: unknown } | null)?.type;
    return typeof type === 'string' ? { ...json, type } : json;
  }
  return { type: 'unknown' };
}

/** Machine configs as JSON, computed once per config object. */
const definitions = new WeakMap<object, JsonObject>();

function definitionOf(config: object): JsonObject {
  let json = definitions.get(config);
  if (json === undefined) {
    json = machineConfigJson(config);
    definitions.set(config, json);
  }
  return json;
}

/**
 * The recorded form of an XState inspection event (internal; actor, event and snapshot events):
 * ids as strings, the actor's machine config as its `definition`, the event and the snapshot's
 * `{ status, value, context, output, error }` as safe JSON, each value over `maxValueBytes`
 * replaced by `{ $truncated }`.
 */
export function toRecordedEvent(
  event: InspectionEvent,
  where: { readonly session: string; readonly seq: number; readonly at: number },
  maxValueBytes: number,
): RecordedEvent {
  const ref = event.actorRef as unknown as RefLike;
  const base = {
    kind: 'event' as const,
    ...where,
    actorId: ref.sessionId,
    rootId: event.rootId,
  };
  if (event.type === '@xstate.actor') {
    const parentId = ref._parent?.sessionId;
    const config = ref.logic?.config;
    const definition =
      typeof config === 'object' && config !== null ? definitionOf(config) : undefined;
    return {
      ...base,
      type: event.type,
      // A root actor's id is its session id: it is named after its machine instead.
      name:
        ref.id === ref.sessionId || ref.id === undefined
          ? String((config as { id?: unknown } | undefined)?.id ?? ref.sessionId)
          : String(ref.id),
      ...(typeof parentId === 'string' ? { parentId } : {}),
      ...(definition === undefined ? {} : { definition }),
    };
  }
  if (event.type === '@xstate.event') {
    const sourceId = event.sourceRef?.sessionId;
    return {
      ...base,
      type: event.type,
      event: eventOf(event.event, maxValueBytes),
      ...(sourceId === undefined ? {} : { sourceId }),
    };
  }
  const snapshotEvent = event as Extract<InspectionEvent, { type: '@xstate.snapshot' }>;
  return {
    ...base,
    type: '@xstate.snapshot',
    event: eventOf(snapshotEvent.event, maxValueBytes),
    snapshot: snapshotOf(snapshotEvent.snapshot, maxValueBytes),
  };
}
