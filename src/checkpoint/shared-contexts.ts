import { looksLikeContext } from '../context/freeze-contexts.js';
import { MAX_JSON_DEPTH } from '../json.js';

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
 */

/** A key of a path in a snapshot: an object's key or an array's index. */
export type SnapshotKey = string | number;

/** One shared context and the places in the snapshot it goes (each at least two). */
export interface SharedContext {
  readonly context: object;
  readonly at: readonly (readonly SnapshotKey[])[];
}

/**
 * Most places a checkpoint's `shared` list may name, over all its contexts: a read restores at
 * most this many references (a context beyond it stays in place when written).
 */
export const MAX_SHARED_PLACES = 10_000;

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

/** Sets an own property (a `__proto__` key too, which plain assignment would not). */
function setOwn(container: object, key: SnapshotKey, value: unknown): void {
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
 * Whether `container` holds one context (an object) at two places or more; `seen`: the contexts
 * met so far. Recursive: checked JSON nests at most `MAX_JSON_DEPTH` deep.
 */
function holdsAContextTwice(container: object, seen: Set<object>, depth: number): boolean {
  if (Array.isArray(container)) {
    for (let i = 0; i < container.length; i++) {
      if (holdsTwice(container[i], seen, depth)) return true;
    }
    return false;
  }
  for (const key in container) {
    if (holdsTwice((container as Record<string, unknown>)[key], seen, depth)) return true;
  }
  return false;
}

function holdsTwice(child: unknown, seen: Set<object>, depth: number): boolean {
  if (child === null || typeof child !== 'object') return false;
  if (looksLikeContext(child)) {
    if (seen.has(child)) return true;
    seen.add(child);
    return false;
  }
  return depth + 1 < MAX_JSON_DEPTH && holdsAContextTwice(child, seen, depth + 1);
}

/** A context found at two places or more: its places and its JSON. */
interface Repeated {
  readonly at: SnapshotKey[][];
  readonly json: string;
}

/**
 * Where each context of `snapshot` is (contexts are not walked into), for the contexts found at
 * two places or more whose JSON has {@link MIN_SHARED_CHARS} characters or more; `undefined`
 * when there is none. `snapshot` is checked JSON (acyclic, depth bounded), as a stored state's is.
 */
function repeatedContexts(snapshot: object): Map<object, Repeated> | undefined {
  // Most snapshots hold each context once: a walk that allocates little says so first.
  if (!holdsAContextTwice(snapshot, new Set(), 0)) return undefined;
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
  for (const [context, at] of places) {
    if (at.length < 2) continue;
    const json = JSON.stringify(context);
    if (json.length >= MIN_SHARED_CHARS) repeated.set(context, { at, json });
  }
  return repeated.size === 0 ? undefined : repeated;
}

/**
 * `snapshot` with every context it holds at two places or more (at least
 * {@link MIN_SHARED_CHARS} of JSON) taken out, `null` in its places (containers on the way are
 * copied, `snapshot` itself is left as it is), and listed in `shared`; `undefined` when there is
 * no such context. `json` is `shared` serialized (each context's JSON made once).
 */
export function shareContexts(
  snapshot: unknown,
):
  | { readonly snapshot: object; readonly shared: SharedContext[]; readonly json: string }
  | undefined {
  if (snapshot === null || typeof snapshot !== 'object') return undefined;
  const repeated = repeatedContexts(snapshot);
  if (repeated === undefined) return undefined;
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
  for (const [context, { at, json }] of repeated) {
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
        setOwn(copy, key, next);
        copy = next;
      }
      setOwn(copy, path[path.length - 1] as SnapshotKey, null);
    }
    shared.push({ context, at });
    entries.push(`{"context":${json},"at":${JSON.stringify(at)}}`);
  }
  if (shared.length === 0) return undefined;
  return { snapshot: root, shared, json: `[${entries.join(',')}]` };
}

/**
 * Puts each shared context back at its places in `snapshot` (parsed JSON, changed in place).
 * Returns why `shared` does not fit the snapshot (not a list of `{ context, at }` with at least
 * two paths of keys each, ending at a `null` the snapshot holds, not through a context), or
 * `undefined` once done.
 */
export function restoreSharedContexts(snapshot: unknown, shared: unknown): string | undefined {
  if (!Array.isArray(shared) || shared.length === 0 || shared.length > MAX_SHARED_PLACES / 2) {
    return `its shared contexts are not a list of 1 to ${MAX_SHARED_PLACES / 2} entries`;
  }
  if (snapshot === null || typeof snapshot !== 'object') {
    return 'it has shared contexts but no snapshot';
  }
  let places = 0;
  for (const [i, entry] of shared.entries()) {
    const { context, at } = (entry ?? {}) as { context?: unknown; at?: unknown };
    if (context === null || typeof context !== 'object' || !looksLikeContext(context)) {
      return `its shared entry ${i} holds no context`;
    }
    if (!Array.isArray(at) || at.length < 2) {
      return `its shared entry ${i} does not list 2 places or more`;
    }
    places += at.length;
    if (places > MAX_SHARED_PLACES) {
      return `its shared contexts name more than ${MAX_SHARED_PLACES} places`;
    }
    for (const path of at) {
      if (!Array.isArray(path) || path.length === 0 || path.length > MAX_JSON_DEPTH) {
        return `its shared entry ${i} has a place that is not a path`;
      }
      let container: unknown = snapshot;
      for (let k = 0; k < path.length - 1; k++) {
        container = childOf(container, path[k]);
        // A context is a leaf: nothing is ever taken out of one.
        if (container === null || typeof container !== 'object' || looksLikeContext(container)) {
          return `its shared entry ${i} has a place its snapshot does not leave empty`;
        }
      }
      const last = path[path.length - 1];
      if (childOf(container, last) !== null) {
        return `its shared entry ${i} has a place its snapshot does not leave empty`;
      }
      setOwn(container as object, last as SnapshotKey, context);
    }
  }
  return undefined;
}

/** The value under `key` of a parsed JSON container; `undefined` for a key of the wrong kind. */
function childOf(container: unknown, key: unknown): unknown {
  if (Array.isArray(container)) {
    return Number.isSafeInteger(key) && (key as number) >= 0 ? container[key as number] : undefined;
  }
  if (container === null || typeof container !== 'object' || typeof key !== 'string') {
    return undefined;
  }
  return Object.hasOwn(container, key) ? (container as Record<string, unknown>)[key] : undefined;
}
