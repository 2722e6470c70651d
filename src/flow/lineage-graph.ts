import type { ContextRef } from '../context/context.js';
import type { ContextTransition } from './context-transition.js';
import type { LineageNode, PrunedAncestry } from './lineage-node.js';
import { pruneLineage } from './lineage-prune.js';

/** A compact record of a context's pruned lineage, as stored in a snapshot. */
export interface LineageBasis {
  readonly contextId: string;
  readonly contextType: string;
  /** Parents that came from pruned transitions (a prefix of its parent list). */
  readonly parents: readonly string[];
  readonly pruned?: PrunedAncestry | undefined;
}

/** Where a first-parent walk ended, and how. */
export interface WalkEnd {
  /** The last context reached. */
  readonly ref: ContextRef;
  /** True when a context of the target type was found (always true without a target type). */
  readonly matched: boolean;
}

/**
 * The lineage graph behind a `ContextFlowManager`: contexts as nodes with ordered parent lists,
 * kept up to date on every write, so lookups and walks never scan the log. Internal.
 */
export class LineageGraph {
  private readonly nodes = new Map<string, LineageNode>();

  typeOf(contextId: string): string | undefined {
    return this.nodes.get(contextId)?.type;
  }

  /** Parent ids of a context (including those from pruned transitions). */
  parentsOf(contextId: string): readonly string[] {
    return this.nodes.get(contextId)?.parents ?? [];
  }

  /** Parents that came from pruned transitions (a prefix of its parent list). */
  basisOf(contextId: string): readonly string[] {
    const node = this.nodes.get(contextId);
    return node === undefined ? [] : node.parents.slice(0, node.basisCount);
  }

  prunedOf(contextId: string): PrunedAncestry | undefined {
    return this.nodes.get(contextId)?.pruned;
  }

  history(contextId: string): readonly ContextTransition[] {
    return this.nodes.get(contextId)?.history ?? [];
  }

  private touch(contextId: string, type: string): LineageNode {
    let node = this.nodes.get(contextId);
    if (node === undefined) {
      node = { type, parents: [], basisCount: 0, pruned: undefined, history: [], carried: false };
      this.nodes.set(contextId, node);
    }
    return node;
  }

  /** Records a transition: its result gains the transition and its parents. O(parents). */
  add(transition: ContextTransition): void {
    const { fromContextIds, fromContextTypes } = transition;
    for (let i = 0; i < fromContextIds.length; i++) {
      this.touch(fromContextIds[i] as string, fromContextTypes[i] as string);
    }
    const node = this.touch(transition.toContextId, transition.toContextType);
    node.type = transition.toContextType;
    node.history.push(transition);
    for (const parent of fromContextIds) {
      if (!node.parents.includes(parent)) node.parents.push(parent);
    }
  }

  /** Seeds a context's pruned lineage (used when restoring a snapshot, before replaying). */
  addBasis(basis: LineageBasis): void {
    const node = this.touch(basis.contextId, basis.contextType);
    node.type = basis.contextType;
    node.parents = [...new Set(basis.parents)];
    node.basisCount = node.parents.length;
    node.pruned = basis.pruned;
    node.carried = true;
  }

  /** A parent id that is not in the graph (a corrupt snapshot), if any. */
  danglingParent(): { contextId: string; parent: string } | undefined {
    for (const [contextId, node] of this.nodes) {
      for (const parent of node.parents) {
        if (!this.nodes.has(parent)) return { contextId, parent };
      }
    }
    return undefined;
  }

  /** Every context whose lineage a snapshot must carry because transitions were pruned. */
  bases(): LineageBasis[] {
    const out: LineageBasis[] = [];
    for (const [contextId, node] of this.nodes) {
      if (!node.carried && node.basisCount === 0 && node.pruned === undefined) continue;
      out.push({
        contextId,
        contextType: node.type,
        parents: node.parents.slice(0, node.basisCount),
        ...(node.pruned ? { pruned: node.pruned } : {}),
      });
    }
    return out;
  }

  private ref(contextId: string): ContextRef {
    return { contextId, contextType: this.nodes.get(contextId)?.type ?? '' };
  }

  /**
   * Walks first parents from `contextId` (itself included) until a context of `targetType` (when
   * given), an origin, or a parent already visited (a cycle: the walk ends on the context whose
   * first parent closes it). Pruned ancestry is the first parent where present. O(depth).
   */
  walkFirstParents(contextId: string, targetType?: string): WalkEnd | undefined {
    const start = this.nodes.get(contextId);
    if (start === undefined) return undefined;
    let current: LineageNode = start;
    let id = contextId;
    const visited = new Set<string>([id]);
    for (;;) {
      if (targetType !== undefined && current.type === targetType) {
        return { ref: this.ref(id), matched: true };
      }
      const next: string | undefined = current.pruned?.origin.contextId ?? current.parents[0];
      const nextNode: LineageNode | undefined =
        next === undefined ? undefined : this.nodes.get(next);
      if (next === undefined || visited.has(next)) {
        return { ref: this.ref(id), matched: targetType === undefined };
      }
      if (nextNode === undefined) {
        // A forgotten context recorded by pruning (only with cycles): the walk ends there.
        const end = (current.pruned as PrunedAncestry).origin;
        return { ref: end, matched: targetType === undefined || end.contextType === targetType };
      }
      visited.add(next);
      id = next;
      current = nextNode;
    }
  }

  /**
   * Breadth-first over all parents from `contextId` (itself included): without `targetType`,
   * every origin reached (contexts with no parents and no pruned ancestry); with it, every
   * context of that type reached first on its path (not expanded further). Deduplicated, in
   * discovery order; each context is visited once, so cycles end.
   */
  collectOrigins(contextId: string, targetType?: string): ContextRef[] {
    if (!this.nodes.has(contextId)) return [];
    const found = new Map<string, ContextRef>();
    const seen = new Set<string>([contextId]);
    const queue: string[] = [contextId];
    const visit = (id: string): void => {
      if (seen.has(id)) return;
      seen.add(id);
      queue.push(id);
    };
    for (let head = 0; head < queue.length; head++) {
      const id = queue[head] as string;
      const node = this.nodes.get(id) as LineageNode;
      if (targetType !== undefined && node.type === targetType) {
        found.set(id, { contextId: id, contextType: node.type });
        continue;
      }
      if (node.pruned === undefined && node.parents.length === 0 && targetType === undefined) {
        found.set(id, { contextId: id, contextType: node.type });
      }
      for (const origin of node.pruned?.origins ?? []) {
        if (this.nodes.has(origin.contextId)) visit(origin.contextId);
        else if (targetType === undefined || origin.contextType === targetType) {
          if (!found.has(origin.contextId)) found.set(origin.contextId, origin);
        }
      }
      for (const parent of node.parents) visit(parent);
    }
    return [...found.values()];
  }

  /** `contextId` and every context its lineage goes through, breadth-first; empty if unknown. */
  ancestors(contextId: string): string[] {
    if (!this.nodes.has(contextId)) return [];
    const seen = new Set<string>([contextId]);
    const queue: string[] = [contextId];
    for (let head = 0; head < queue.length; head++) {
      const node = this.nodes.get(queue[head] as string);
      const next = [
        ...(node?.pruned?.origins ?? []).map((o) => o.contextId),
        ...(node?.parents ?? []),
      ];
      for (const id of next) {
        if (!seen.has(id) && this.nodes.has(id)) {
          seen.add(id);
          queue.push(id);
        }
      }
    }
    return queue;
  }

  /** Forgets `dropped` (the oldest transitions) while keeping lineage answers; see `pruneLineage`. */
  prune(dropped: readonly ContextTransition[], retained: readonly ContextTransition[]): void {
    pruneLineage(this.nodes, dropped, retained);
  }
}
