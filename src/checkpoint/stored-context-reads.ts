import type { CheckpointStore } from './checkpoint-store.js';
import { applyContextSplice, type ContextParts, contextOf, partsOf } from './context-splice.js';
import { MAX_STORED_ENTRIES } from './shared-contexts.js';
import { MAX_SPLICE_DEPTH, SPLICE_ENTRY } from './stored-contexts.js';

// Reading entries of a task's contexts log back (see `stored-contexts.ts` for what is in it).

/** Most entries one read fetches, chains of splices included. */
const MAX_ENTRIES_READ = 4 * MAX_STORED_ENTRIES;

/**
 * Reads `entries` (distinct integers ≥ 0) of `taskId`'s log `log`: one `readLog` per run of
 * consecutive entries, each entry as bounded as any log entry; an entry that splices an earlier
 * one is read with the entries it is made from (at most {@link MAX_SPLICE_DEPTH} deep, each
 * earlier than the one it makes). Each entry's JSON parsed, by entry; one that is not JSON, or
 * whose splices do not make JSON, reads as `undefined`; one the log does not have is left out.
 */
export async function readStoredEntries(
  store: CheckpointStore,
  taskId: string,
  log: string,
  entries: readonly number[],
): Promise<Map<number, unknown>> {
  const texts = new Map<number, string>();
  // Each splice entry read, parsed once (`undefined`: not a valid one).
  const links = new Map<number, SpliceLink | undefined>();
  let wanted: readonly number[] = entries;
  for (let depth = 0; wanted.length > 0 && depth <= MAX_SPLICE_DEPTH; depth++) {
    for (const [from, limit] of consecutiveRuns(wanted)) {
      const jsons = await store.readLog(taskId, log, { from, limit });
      for (const [i, json] of jsons.entries()) texts.set(from + i, json);
    }
    // The bases of the splices just read, not read yet (while the reads stay bounded).
    const bases = new Set<number>();
    for (const entry of wanted) {
      const text = texts.get(entry);
      if (text === undefined || !text.startsWith(SPLICE_ENTRY)) continue;
      const link = spliceLinkOf(text, entry);
      links.set(entry, link);
      if (link !== undefined && !texts.has(link.base)) bases.add(link.base);
    }
    wanted = texts.size + bases.size <= MAX_ENTRIES_READ ? [...bases] : [];
  }
  const made = new Map<number, ContextParts | undefined>();
  const read = new Map<number, unknown>();
  for (const entry of entries) {
    const text = texts.get(entry);
    if (text === undefined) continue;
    if (!text.startsWith(SPLICE_ENTRY)) {
      read.set(entry, parseJson(text));
      continue;
    }
    const parts = entryParts(entry, texts, links, made);
    read.set(entry, parts && contextOf(parts));
  }
  return read;
}

function parseJson(json: string): unknown {
  try {
    return JSON.parse(json);
  } catch {
    return undefined;
  }
}

/** A splice entry: the earlier entry it splices, and the splice (unchecked). */
interface SpliceLink {
  readonly base: number;
  readonly splice: unknown;
}

/** A splice entry (`json`, at `entry`) parsed; `undefined` when it is not a valid one. */
function spliceLinkOf(json: string, entry: number): SpliceLink | undefined {
  let splice: unknown;
  try {
    splice = (JSON.parse(json) as { splice?: unknown }).splice;
  } catch {
    return undefined;
  }
  const base = (splice as { base?: unknown } | null)?.base;
  if (!Number.isSafeInteger(base) || (base as number) < 0 || (base as number) >= entry) {
    return undefined;
  }
  return { base: base as number, splice };
}

/**
 * The parts of the context `entry` holds: a whole entry's, or for a splice entry the splice
 * applied to its base's (made once per entry, in `made`, data left as JSON down the chain);
 * `undefined` when they cannot be made.
 */
function entryParts(
  entry: number,
  texts: ReadonlyMap<number, string>,
  links: ReadonlyMap<number, SpliceLink | undefined>,
  made: Map<number, ContextParts | undefined>,
): ContextParts | undefined {
  // The chain down to a whole entry (bases are earlier entries, so it ends), then back up.
  const chain: { entry: number; splice: unknown }[] = [];
  let at = entry;
  let parts: ContextParts | undefined;
  for (;;) {
    if (made.has(at)) {
      parts = made.get(at);
      break;
    }
    const text = texts.get(at);
    if (text === undefined || !text.startsWith(SPLICE_ENTRY)) {
      parts = text === undefined ? undefined : partsOf(parseJson(text));
      break;
    }
    // Every splice entry read was parsed when it was read.
    const link = links.get(at);
    if (link === undefined || chain.length >= MAX_SPLICE_DEPTH) {
      parts = undefined;
      break;
    }
    chain.push({ entry: at, splice: link.splice });
    at = link.base;
  }
  for (let i = chain.length - 1; i >= 0; i--) {
    const link = chain[i] as { entry: number; splice: unknown };
    parts = parts && applyContextSplice(parts, link.splice);
    made.set(link.entry, parts);
  }
  return parts;
}

/** `entries` (distinct integers ≥ 0) as runs of consecutive ones: `[first, length]`, ascending. */
function consecutiveRuns(entries: readonly number[]): [number, number][] {
  const runs: [number, number][] = [];
  for (const entry of [...entries].sort((a, b) => a - b)) {
    const last = runs.at(-1);
    if (last !== undefined && last[0] + last[1] === entry) last[1] += 1;
    else runs.push([entry, 1]);
  }
  return runs;
}
