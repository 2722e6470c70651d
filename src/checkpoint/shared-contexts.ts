import { looksLikeContext } from '../context/freeze-contexts.js';
import { MAX_JSON_DEPTH } from '../json.js';
import type { ContextSplice } from './context-splice.js';

/**
 * Contexts a persisted snapshot holds more than once, stored once per checkpoint. A parallel
 * group's input sits in the main lane, in each region's lane and in each region's step in flight
 * (its actor input): with three regions, seven copies of one context in every checkpoint the
 * group writes. Contexts are immutable, so one copy and the places it goes are enough: the
 * checkpoint's snapshot holds `null` at each of those places, and its envelope a `shared` list
 * of `{ context, at: [path, …] }` (a path: the keys from the snapshot's root). A read puts the
 * one context back at every place, so the restored snapshot shares it again.
 *
 * What counts as one context is one object (identity), not one `contextId`: two objects that
 * claim the same id are kept apart, so sharing can never change what is stored.
 *
 * A context can also be stored once for a whole task, in the task's contexts log (see
 * `StoredContexts`): then every checkpoint lists it as `{ entry, contextId, at }` (the log
 * entry that holds it, and its places, one or more) instead of holding it, and a read fetches
 * the entry (format 3). A context whose data differs little from that of one stored in the log
 * (the next version of a context that grows at every step) is listed as
 * `{ base, contextId, metadata, p, s, mid, at }`: the entry's context with that id and metadata,
 * and its data's JSON with one splice (format 4, see `ContextSplice`).
 */

/** A key of a path in a snapshot: an object's key or an array's index. */
export type SnapshotKey = string | number;

/**
 * One shared context and the places in the snapshot it goes: held here (`context`, at two
 * places or more), stored in the task's contexts log (`entry`, at one place or more), or made
 * from a context stored there (`base`) with one splice (see `ContextSplice`).
 */
export type SharedContext =
  | { readonly context: object; readonly at: readonly (readonly SnapshotKey[])[] }
  | {
      readonly entry: number;
      readonly contextId: string;
      readonly at: readonly (readonly SnapshotKey[])[];
    }
  | ({
      readonly base: number;
      readonly at: readonly (readonly SnapshotKey[])[];
    } & ContextSplice);

/**
 * The contexts of a task already stored in its contexts log: `entryOf` gives the entry that
 * holds one (by identity), or `undefined`; `spliceOf`, for a context that is not stored, an entry
 * whose context it is made from with one small splice, or `undefined`.
 */
export interface StoredContexts {
  entryOf(context: object): number | undefined;
  spliceOf?(context: object): { readonly base: number; readonly splice: ContextSplice } | undefined;
}

/**
 * Most places a checkpoint's `shared` list may name, over all its contexts: a read restores at
 * most this many references (a context beyond it stays in place when written).
 */
export const MAX_SHARED_PLACES = 10_000;

/**
 * Most log entries a checkpoint names: a read fetches at most this many (stored contexts beyond
 * it stay in the checkpoint when written).
 */
export const MAX_STORED_ENTRIES = 1_000;

/**
 * Contexts whose JSON is shorter than this many characters stay in place: their places would
 * take about as much room as the copies saved.
 */
export const MIN_SHARED_CHARS = 512;

/** A container being walked, linked to its parent (a path is built only for a context). */
interface Walked {
  readonly container: object;
  readonly parent: Walked | undefined;
  readonly key: SnapshotKey;
  readonly depth: number;
}

function pathOf(parent: Walked, key: SnapshotKey): SnapshotKey[] {
  const path = [key];
  for (let node: Walked = parent; node.parent !== undefined; node = node.parent) {
    path.push(node.key);
  }
  return path.reverse();
}

/** Sets an own property (a `__proto__` key too, which plain assignment would not). @internal */
export function setPlace(container: object, key: SnapshotKey, value: unknown): void {
  if (Array.isArray(container)) container[key as number] = value;
  else {
    Object.defineProperty(container, key, {
      value,
      writable: true,
      enumerable: true,
      configurable: true,
    });
  }
}

/**
 * Adds the contexts `container` holds to `seen` (contexts are not walked into); returns whether
 * one of them is held twice or more, or is stored (`stored`). Recursive: checked JSON nests at
 * most `MAX_JSON_DEPTH` deep.
 */
function scanContexts(
  container: object,
  seen: Set<object>,
  stored: StoredContexts | undefined,
  depth: number,
): boolean {
  let found = false;
  if (Array.isArray(container)) {
    for (let i = 0; i < container.length; i++) {
      if (scanChild(container[i], seen, stored, depth)) found = true;
    }
    return found;
  }
  for (const key in container) {
    if (scanChild((container as Record<string, unknown>)[key], seen, stored, depth)) found = true;
  }
  return found;
}

function scanChild(
  child: unknown,
  seen: Set<object>,
  stored: StoredContexts | undefined,
  depth: number,
): boolean {
  if (child === null || typeof child !== 'object') return false;
  if (looksLikeContext(child)) {
    if (seen.has(child)) return true;
    seen.add(child);
    return stored !== undefined && isNamed(stored, child);
  }
  return depth + 1 < MAX_JSON_DEPTH && scanContexts(child, seen, stored, depth + 1);
}

/** Whether `stored` has `context` in the log, or a splice of an entry that makes it. */
function isNamed(stored: StoredContexts, context: object): boolean {
  return stored.entryOf(context) !== undefined || stored.spliceOf?.(context) !== undefined;
}

/**
 * A context to take out of the snapshot: its places, and its JSON, its log entry, or the entry
 * and the splice that make it.
 */
interface Repeated {
  readonly at: SnapshotKey[][];
  readonly json?: string;
  readonly entry?: number;
  readonly spliced?: { readonly base: number; readonly splice: ContextSplice };
}

/**
 * Where each context of `snapshot` is (contexts are not walked into), for the contexts stored in
 * the contexts log (`stored`), and those found at two places or more whose JSON has
 * {@link MIN_SHARED_CHARS} characters or more; `undefined` when there is none. `snapshot` is
 * checked JSON (acyclic, depth bounded), as a stored state's is.
 */
function contextsToShare(
  snapshot: object,
  stored: StoredContexts | undefined,
): Map<object, Repeated> | undefined {
  const places = new Map<object, SnapshotKey[][]>();
  const stack: Walked[] = [{ container: snapshot, parent: undefined, key: '', depth: 0 }];
  while (stack.length > 0) {
    const walked = stack.pop() as Walked;
    const { container, depth } = walked;
    const visit = (child: unknown, key: SnapshotKey) => {
      if (child === null || typeof child !== 'object') return;
      if (looksLikeContext(child)) {
        const known = places.get(child);
        if (known === undefined) places.set(child, [pathOf(walked, key)]);
        else known.push(pathOf(walked, key));
        return;
      }
      if (depth + 1 < MAX_JSON_DEPTH) {
        stack.push({ container: child, parent: walked, key, depth: depth + 1 });
      }
    };
    if (Array.isArray(container)) container.forEach(visit);
    else for (const key of Object.keys(container)) visit((container as never)[key], key);
  }
  const repeated = new Map<object, Repeated>();
  let named = 0;
  for (const [context, at] of places) {
    const entry = named < MAX_STORED_ENTRIES ? stored?.entryOf(context) : undefined;
    if (entry !== undefined) {
      named += 1;
      repeated.set(context, { at, entry });
      continue;
    }
    const spliced = named < MAX_STORED_ENTRIES ? stored?.spliceOf?.(context) : undefined;
    if (spliced !== undefined) {
      named += 1;
      repeated.set(context, { at, spliced });
      continue;
    }
    if (at.length < 2) continue;
    const json = JSON.stringify(context);
    if (json.length >= MIN_SHARED_CHARS) repeated.set(context, { at, json });
  }
  return repeated.size === 0 ? undefined : repeated;
}

/** What {@link shareContexts} found and did. */
export interface Sharing {
  /** Every context the snapshot holds, each once (contexts are not walked into). */
  readonly contexts: ReadonlySet<object>;
  /**
   * The snapshot with the shared contexts taken out (`null` in their places), the `shared` list
   * and its JSON; `undefined` when nothing is shared. `stored`: whether the list names entries of
   * the contexts log; `spliced`: whether it makes contexts from entries with a splice.
   */
  readonly taken?: {
    readonly snapshot: object;
    readonly shared: readonly SharedContext[];
    readonly json: string;
    readonly stored: boolean;
    readonly spliced: boolean;
  };
}

/**
 * Takes out of `snapshot` every context stored in the contexts log (`stored`) and every other
 * one it holds at two places or more (with at least {@link MIN_SHARED_CHARS} of JSON): `null` in
 * their places (containers on the way are copied, `snapshot` itself is left as it is), listed
 * once each in `shared` (its JSON made once per context). Also returns every context met.
 */
export function shareContexts(snapshot: unknown, stored?: StoredContexts): Sharing {
  const contexts = new Set<object>();
  if (snapshot === null || typeof snapshot !== 'object') return { contexts };
  // Most snapshots hold each context once and none stored: a walk that allocates little says so.
  if (!scanContexts(snapshot, contexts, stored, 0)) return { contexts };
  const repeated = contextsToShare(snapshot, stored);
  if (repeated === undefined) return { contexts };
  const copies = new Map<object, Record<SnapshotKey, unknown>>();
  const copyOf = (original: object): Record<SnapshotKey, unknown> => {
    let copy = copies.get(original);
    if (copy === undefined) {
      copy = (Array.isArray(original) ? [...original] : { ...original }) as Record<
        SnapshotKey,
        unknown
      >;
      copies.set(original, copy);
    }
    return copy;
  };
  const root = copyOf(snapshot);
  const shared: SharedContext[] = [];
  const entries: string[] = [];
  let places = 0;
  let anyStored = false;
  let anySpliced = false;
  for (const [context, { at, json, entry, spliced }] of repeated) {
    if (places + at.length > MAX_SHARED_PLACES) continue; // stays in place: readable as it is
    places += at.length;
    for (const path of at) {
      // Copy the containers along the path (once each), then empty the place.
      let original: object = snapshot;
      let copy = root;
      for (let i = 0; i < path.length - 1; i++) {
        const key = path[i] as SnapshotKey;
        original = (original as Record<SnapshotKey, object>)[key] as object;
        const next = copyOf(original);
        setPlace(copy, key, next);
        copy = next;
      }
      setPlace(copy, path[path.length - 1] as SnapshotKey, null);
    }
    const { contextId } = context as { contextId: string };
    if (spliced !== undefined) {
      anySpliced = true;
      const { base, splice } = spliced;
      shared.push({ base, ...splice, at });
      entries.push(`{"base":${base},${spliceJson(splice)},"at":${JSON.stringify(at)}}`);
    } else if (entry === undefined) {
      shared.push({ context, at });
      entries.push(`{"context":${json},"at":${JSON.stringify(at)}}`);
    } else {
      anyStored = true;
      shared.push({ entry, contextId, at });
      entries.push(
        `{"entry":${entry},"contextId":${JSON.stringify(contextId)},"at":${JSON.stringify(at)}}`,
      );
    }
  }
  if (entries.length === 0) return { contexts };
  const json = `[${entries.join(',')}]`;
  return {
    contexts,
    taken: { snapshot: root, shared, json, stored: anyStored, spliced: anySpliced },
  };
}

/** The fields of a splice as JSON members (no braces): contextId, metadata, p, s, mid. */
export function spliceJson(splice: ContextSplice): string {
  const { contextId, metadata, p, s, mid } = splice;
  return `"contextId":${JSON.stringify(contextId)},"metadata":${JSON.stringify(metadata)},"p":${p},"s":${s},"mid":${JSON.stringify(mid)}`;
}
