import type { ContextRef } from '../context/context.js';
import type { ContextTransition } from './context-transition.js';
import type { LineageNode, PrunedAncestry } from './lineage-node.js';

/**
 * Compacts a lineage graph after the oldest transitions (`dropped`, in seq order) were removed
 * from the log. Which contexts stay ("live"):
 * - **kept**: mentioned by a `retained` transition. They keep their full parent list; parents
 *   that only dropped transitions recorded become their basis (a prefix of the list).
 * - **boundary**: parents of kept contexts that no retained transition mentions. Their own
 *   parents are replaced by a {@link PrunedAncestry}: where their first-parent chain and all
 *   their chains reach a live context again (or an origin, which then stays too).
 * - **origins** reached that way (no parents): they stay, so that lineage logged for them later
 *   still counts.
 *
 * Every other context is deleted. Ancestry of a kept context compacted by an earlier prune is
 * re-resolved the same way, so no summary points at a deleted context (except inside cycles,
 * where a walk may end on one). On an acyclic lineage every origin answer is unchanged.
 */
export function pruneLineage(
  nodes: Map<string, LineageNode>,
  dropped: readonly ContextTransition[],
  retained: readonly ContextTransition[],
): void {
  const kept = new Set<string>();
  for (const t of retained) {
    kept.add(t.toContextId);
    for (const id of t.fromContextIds) kept.add(id);
  }
  const live = new Set(kept);
  const boundary: string[] = [];
  for (const id of kept) {
    for (const parent of (nodes.get(id) as LineageNode).parents) {
      if (!live.has(parent)) {
        live.add(parent);
        boundary.push(parent);
      }
    }
  }
  const refOf = (id: string): ContextRef => ({
    contextId: id,
    contextType: (nodes.get(id) as LineageNode).type,
  });
  /** The first parent a walk takes from `node`: its pruned ancestry, else its first parent. */
  const firstParent = (node: LineageNode): ContextRef | undefined => {
    if (node.pruned !== undefined) return node.pruned.origin;
    const parent = node.parents[0];
    return parent === undefined ? undefined : refOf(parent);
  };
  const isOrigin = (node: LineageNode): boolean =>
    node.pruned === undefined && node.parents.length === 0;

  // Where a first-parent chain from `start` reaches a live context (or an origin, made live).
  const memo = new Map<string, ContextRef>();
  const resolveFirst = (start: ContextRef): ContextRef => {
    const path: string[] = [];
    const onPath = new Set<string>();
    let current = start;
    let result: ContextRef;
    for (;;) {
      const id = current.contextId;
      const node = nodes.get(id);
      const cached = memo.get(id);
      if (node === undefined || live.has(id)) {
        result = node === undefined ? current : refOf(id);
        break;
      }
      if (cached !== undefined) {
        result = cached;
        break;
      }
      path.push(id);
      onPath.add(id);
      const next = firstParent(node);
      if (next === undefined) {
        live.add(id); // an origin stays
        result = refOf(id);
        break;
      }
      if (onPath.has(next.contextId)) {
        result = refOf(id); // a cycle in dropped lineage: it ends here (and is forgotten)
        break;
      }
      current = next;
    }
    for (const id of path) memo.set(id, result);
    return result;
  };

  // Where all chains from `starts` reach a live context (or an origin, made live).
  const resolveAll = (starts: readonly ContextRef[]): ContextRef[] => {
    const found = new Map<string, ContextRef>();
    const seen = new Set<string>();
    const queue: ContextRef[] = [];
    const visit = (ref: ContextRef): void => {
      if (seen.has(ref.contextId)) return;
      seen.add(ref.contextId);
      queue.push(ref);
    };
    for (const ref of starts) visit(ref);
    for (let head = 0; head < queue.length; head++) {
      const ref = queue[head] as ContextRef;
      const node = nodes.get(ref.contextId);
      if (node === undefined || live.has(ref.contextId) || isOrigin(node)) {
        if (node !== undefined) live.add(ref.contextId);
        found.set(ref.contextId, node === undefined ? ref : refOf(ref.contextId));
        continue;
      }
      for (const origin of node.pruned?.origins ?? []) visit(origin);
      for (const parent of node.parents) visit(refOf(parent));
    }
    return [...found.values()];
  };

  const summaries = new Map<string, PrunedAncestry>();
  for (const id of boundary) {
    const node = nodes.get(id) as LineageNode;
    const first = firstParent(node);
    if (first === undefined) continue; // an origin: nothing to compact
    const starts = [...(node.pruned?.origins ?? []), ...node.parents.map(refOf)];
    summaries.set(id, { origin: resolveFirst(first), origins: resolveAll(starts) });
  }
  for (const id of kept) {
    const node = nodes.get(id) as LineageNode;
    if (node.pruned === undefined) continue;
    summaries.set(id, {
      origin: resolveFirst(node.pruned.origin),
      origins: resolveAll(node.pruned.origins),
    });
  }

  // Kept contexts: the parents that dropped transitions recorded become basis. They are a
  // prefix of the parent list (first appearance order, and the log is pruned oldest first).
  for (const t of dropped) {
    const node = kept.has(t.toContextId) ? nodes.get(t.toContextId) : undefined;
    if (node === undefined) continue;
    for (const parent of t.fromContextIds) {
      if (node.parents.indexOf(parent) >= node.basisCount) node.basisCount += 1;
    }
  }
  const cutoff = retained[0]?.seq ?? Number.POSITIVE_INFINITY;
  for (const [id, node] of nodes) {
    if (!live.has(id)) {
      nodes.delete(id);
      continue;
    }
    const firstKept = node.history.findIndex((t) => t.seq >= cutoff);
    if (firstKept < 0) node.history = [];
    else if (firstKept > 0) node.history = node.history.slice(firstKept);
    const summary = summaries.get(id);
    if (!kept.has(id)) {
      node.carried = true;
      if (summary !== undefined) {
        node.parents = [];
        node.basisCount = 0;
      }
    }
    if (summary !== undefined) node.pruned = summary;
  }
}
