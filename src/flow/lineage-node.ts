import type { ContextRef } from '../context/context.js';
import type { ContextTransition } from './context-transition.js';

/**
 * Where a context's pruned ancestry continues: `origin` is where its first-parent chain goes on,
 * `origins` where all its chains go on. Each ref is a context still in the graph (walks go on
 * from it) or, only for ancestry with cycles, a forgotten one (walks end there).
 */
export interface PrunedAncestry {
  readonly origin: ContextRef;
  readonly origins: readonly ContextRef[];
}

/** One context in the lineage graph (internal). */
export interface LineageNode {
  type: string;
  /** Parent ids in order of first appearance, deduplicated. */
  parents: string[];
  /** How many leading `parents` came from transitions that were pruned. */
  basisCount: number;
  /** Ancestry compacted by a prune; stands in front of `parents` as a first parent. */
  pruned: PrunedAncestry | undefined;
  /** Retained transitions whose result is this context, in seq order. */
  history: ContextTransition[];
  /** Kept by a prune though no retained transition mentions it: a snapshot must carry it. */
  carried: boolean;
}
