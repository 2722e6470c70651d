import { looksLikeContext } from '../context/freeze-contexts.js';
import { MAX_JSON_DEPTH } from '../json.js';
import { applyContextSplice, contextOf, partsOf } from './context-splice.js';
import {
  MAX_SHARED_PLACES,
  MAX_STORED_ENTRIES,
  type SnapshotKey,
  setPlace,
} from './shared-contexts.js';

// Reading a checkpoint's `shared` list back into its snapshot (see `shared-contexts.ts`).

/**
 * The contexts log entries a `shared` list refers to (checked: integers ≥ 0), each once, and
 * whether any is the base of a splice; or why it cannot be read that way. An entry that is not a
 * list is left to {@link restoreSharedContexts} to refuse.
 */
export function storedEntriesOf(
  shared: unknown,
): { readonly entries: number[]; readonly spliced: boolean } | string {
  if (!Array.isArray(shared)) return { entries: [], spliced: false };
  const entries = new Set<number>();
  let spliced = false;
  for (const [i, item] of shared.entries()) {
    const named = item as { entry?: unknown; base?: unknown } | null;
    if (named?.entry !== undefined && named.base !== undefined) {
      return `its shared entry ${i} names both a log entry and a base`;
    }
    const entry = named?.entry ?? named?.base;
    if (entry === undefined) continue;
    if (named?.base !== undefined) spliced = true;
    if (!Number.isSafeInteger(entry) || (entry as number) < 0) {
      return `its shared entry ${i} names a log entry that is not an integer ≥ 0`;
    }
    entries.add(entry as number);
    if (entries.size > MAX_STORED_ENTRIES) {
      return `its shared contexts name more than ${MAX_STORED_ENTRIES} log entries`;
    }
  }
  return { entries: [...entries], spliced };
}

/**
 * Puts each shared context back at its places in `snapshot` (parsed JSON, changed in place): the
 * one the entry holds, or for a stored one the context `read` (the contexts log entries read, by
 * entry) has, which must have the `contextId` the entry names. Returns why `shared` does not fit
 * the snapshot (not a list of `{ context, at }` with at least two paths of keys each, or
 * `{ entry, contextId, at }` with at least one, ending at a `null` the snapshot holds, not
 * through a context), or `undefined` once done.
 */
export function restoreSharedContexts(
  snapshot: unknown,
  shared: unknown,
  read: ReadonlyMap<number, unknown> = new Map(),
): string | undefined {
  if (!Array.isArray(shared) || shared.length === 0 || shared.length > MAX_SHARED_PLACES) {
    return `its shared contexts are not a list of 1 to ${MAX_SHARED_PLACES} entries`;
  }
  if (snapshot === null || typeof snapshot !== 'object') {
    return 'it has shared contexts but no snapshot';
  }
  let places = 0;
  for (const [i, item] of shared.entries()) {
    const { at, entry, base, contextId } = (item ?? {}) as {
      at?: unknown;
      entry?: unknown;
      base?: unknown;
      contextId?: unknown;
    };
    let context = (item as { context?: unknown } | null)?.context;
    if (entry !== undefined || base !== undefined) {
      if (context !== undefined) return `its shared entry ${i} both holds and names a context`;
      context = read.get((entry ?? base) as number);
      if (context === null || typeof context !== 'object' || !looksLikeContext(context)) {
        return `its shared entry ${i} names a log entry that holds no context`;
      }
      if (base !== undefined) {
        const baseParts = partsOf(context);
        const parts = baseParts && applyContextSplice(baseParts, item);
        context = parts && contextOf(parts);
        if (context === undefined) return `its shared entry ${i} has a splice that does not fit`;
      }
      if ((context as { contextId: unknown }).contextId !== contextId) {
        return `its shared entry ${i} names a log entry that holds another context`;
      }
    } else if (context === null || typeof context !== 'object' || !looksLikeContext(context)) {
      return `its shared entry ${i} holds no context`;
    }
    const least = entry === undefined && base === undefined ? 2 : 1;
    if (!Array.isArray(at) || at.length < least) {
      return `its shared entry ${i} does not list ${least} place${least === 1 ? '' : 's'} or more`;
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
      setPlace(container as object, last as SnapshotKey, context);
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
