import {
  type ActorRefLike,
  type AnyEventObject,
  type InspectionEvent,
  type Observer,
  type Snapshot,
  toObserver,
} from 'xstate';
import type { JsonObject } from '../json.js';
import type { Recording } from './read-recording.js';
import type { RecordedSnapshot } from './recording-format.js';

/** Where a recorded id comes from, for {@link ReplayOptions.rewriteId}. */
export interface RecordedIdOrigin {
  readonly taskId: string;
  /** The recording session (unique across processes). */
  readonly session: string;
}

/** Options of {@link replayRecording}. */
export interface ReplayOptions {
  /**
   * The id an actor's recorded session id (`x:0`…, also root, parent and source ids) gets in
   * the replay, so recordings of several runs and processes never collide in one inspector.
   * Default: `${taskId}/${session}/${id}`.
   */
  readonly rewriteId?: (id: string, origin: RecordedIdOrigin) => string;
}

/** An actor ref standing in for a recorded actor, shaped like what inspectors read. */
interface ReplayedActorRef extends ActorRefLike {
  readonly id: string;
  readonly _parent?: ReplayedActorRef;
  readonly logic?: { readonly config: JsonObject };
  current: RecordedSnapshot;
}

function replayedRef(
  sessionId: string,
  id: string,
  first: RecordedSnapshot,
  parent?: ReplayedActorRef,
  definition?: JsonObject,
): ReplayedActorRef {
  const ref: ReplayedActorRef = {
    sessionId,
    id,
    current: first,
    send: () => {},
    getSnapshot: () => ref.current as unknown as Snapshot<unknown>,
    ...(parent === undefined ? {} : { _parent: parent }),
    ...(definition === undefined ? {} : { logic: { config: definition } }),
  };
  return ref;
}

/**
 * Replays a recording (from {@link readRecording}) into an XState inspector, such as
 * `@statelyai/inspect`'s `createWebSocketInspector(...).inspect` or a function, synchronously
 * and in the recorded order: each session's actor events (with actor refs standing in for the
 * recorded actors: `sessionId`, `id`, `_parent`, `logic.config`, `getSnapshot()`), events and
 * snapshots. Session, root, parent and source ids are rewritten per session (see
 * {@link ReplayOptions.rewriteId}). Returns how many events were delivered.
 *
 * @example
 * ```ts
 * const inspector = createWebSocketInspector({ url: 'ws://127.0.0.1:8080' });
 * replayRecording(await readRecording(store, 'task_1'), inspector.inspect);
 * ```
 */
export function replayRecording(
  recording: Recording,
  inspector: Observer<InspectionEvent> | ((event: InspectionEvent) => void),
  options: ReplayOptions = {},
): number {
  const observer = toObserver(inspector);
  const rewrite = options.rewriteId ?? ((id, origin) => `${origin.taskId}/${origin.session}/${id}`);
  let delivered = 0;
  for (const session of recording.sessions) {
    const origin: RecordedIdOrigin = { taskId: recording.taskId, session: session.id };
    const refs = new Map<string, ReplayedActorRef>();
    const firstSnapshot = new Map<string, RecordedSnapshot>();
    for (const event of session.events) {
      if (event.snapshot !== undefined && !firstSnapshot.has(event.actorId)) {
        firstSnapshot.set(event.actorId, event.snapshot);
      }
    }
    const refOf = (actorId: string, name?: string, parentId?: string, definition?: JsonObject) => {
      let ref = refs.get(actorId);
      if (ref === undefined) {
        const parent = parentId === undefined ? undefined : refOf(parentId);
        const first = firstSnapshot.get(actorId) ?? { status: 'active' };
        ref = replayedRef(rewrite(actorId, origin), name ?? actorId, first, parent, definition);
        refs.set(actorId, ref);
      }
      return ref;
    };
    for (const recorded of session.events) {
      const rootId = rewrite(recorded.rootId, origin);
      const event = (recorded.event ?? { type: '' }) as AnyEventObject;
      let inspection: InspectionEvent;
      if (recorded.type === '@xstate.actor') {
        const actorRef = refOf(
          recorded.actorId,
          recorded.name,
          recorded.parentId,
          recorded.definition,
        );
        inspection = { type: '@xstate.actor', actorRef, rootId };
      } else if (recorded.type === '@xstate.event') {
        const sourceRef = recorded.sourceId === undefined ? undefined : refOf(recorded.sourceId);
        inspection = {
          type: '@xstate.event',
          actorRef: refOf(recorded.actorId),
          sourceRef,
          event,
          rootId,
        };
      } else {
        const actorRef = refOf(recorded.actorId);
        const snapshot = recorded.snapshot ?? { status: 'active' };
        actorRef.current = snapshot;
        inspection = {
          type: '@xstate.snapshot',
          actorRef,
          event,
          snapshot: snapshot as unknown as Snapshot<unknown>,
          rootId,
        };
      }
      observer.next?.(inspection);
      delivered += 1;
    }
  }
  return delivered;
}
