import { ContextValidationError, CorruptRecordError } from '../errors.js';
import { assertValidId } from '../ids.js';
import { buildContextTransition, type LogTransitionInput } from './build-context-transition.js';
import {
  type ContextFlowMermaidOptions,
  renderContextFlowMermaid,
} from './context-flow-mermaid.js';
import {
  CONTEXT_FLOW_FORMAT,
  type ContextFlowSnapshot,
  parseContextFlowSnapshot,
  parseContextTransitions,
} from './context-flow-snapshot.js';
import { type ContextFlowStore, createContextFlowStore } from './context-flow-store.js';
import type { ContextTransition } from './context-transition.js';
import { type LineageBasis, LineageGraph } from './lineage-graph.js';

/** Options of {@link ContextFlowManager}. */
export interface ContextFlowManagerOptions {
  /** The workflow whose lineage this log tracks; a valid id (see `assertValidId`). Required. */
  workflowId: string;
  /** Clock for transition timestamps, ms since the epoch. Default: `Date.now`. */
  now?: () => number;
}

/** Options of {@link ContextFlowManager.fromJSON} and {@link ContextFlowManager.fromTransitions}. */
export type ContextFlowRestoreOptions = Omit<ContextFlowManagerOptions, 'workflowId'>;

/** A context type to stop at: its name, or anything with a `name` (a context type definition). */
export type ContextTypeSelector = string | { readonly name: string };

/** Options of {@link ContextFlowManager.findOriginatingContext}. */
export interface FindOriginOptions {
  /** Stop at the nearest context of this type instead of the origin. Default: none. */
  targetType?: ContextTypeSelector | undefined;
}

/** Options of {@link ContextFlowManager.prune}; at least one is required. */
export interface PruneOptions {
  /** Keep at least this many of the newest transitions. Default: no limit. */
  keepLatest?: number;
  /** Drop only transitions logged before this time (ms since the epoch). Default: no limit. */
  before?: number;
}

function invalid(what: string, path: string, message: string): never {
  throw new ContextValidationError(what, [{ path, message }]);
}

function typeName(selector: ContextTypeSelector | undefined): string | undefined {
  if (selector === undefined || typeof selector === 'string') return selector;
  if (typeof selector?.name !== 'string') invalid('FindOriginOptions', '$.targetType', 'no name');
  return selector.name;
}

/**
 * Tracks the lineage of contexts in one workflow (the seed's `ContextFlowManager`): which
 * component made which context from which parents. Lookups by context id are O(1) and origin
 * walks O(depth), from an index brought up to date at the first lookup after writes (so logging
 * stays cheap for a runtime that logs at every step and seldom asks); walks are iterative, so a
 * chain of 100,000 transitions is fine, and they always end, even on a log with cycles. The log
 * lives behind an `@xstate/store` store (`.store`) so a UI can subscribe; `seq`,
 * `transitionsSince`, `toJSON` and `fromJSON`/`fromTransitions` let it be persisted append-only.
 *
 * @example
 * ```ts
 * const flow = new ContextFlowManager({ workflowId: 'workflow_123' });
 * flow.logTransition({ toContext: input, componentName: 'Loader' });
 * flow.logTransition({
 *   toContext: summary,
 *   componentName: 'TextProcessor',
 *   operation: 'summarize',
 *   fromContext: input,
 *   metadata: { processingTime: 0.25 },
 * });
 * flow.getContextHistory(summary.contextId); // [the 'summarize' transition]
 * flow.findOriginatingContext(summary.contextId); // input.contextId
 * console.log(flow.toMermaid());
 * ```
 */
export class ContextFlowManager {
  /** The workflow this log belongs to. */
  readonly workflowId: string;
  private readonly now: () => number;
  private log: ContextTransition[] = [];
  /** The index of lineage lookups; holds the first {@link graphed} transitions of `log`. */
  private readonly index = new LineageGraph();
  /** How many transitions of `log` (from its start) are in `index`. */
  private graphed = 0;
  private next = 0;
  /**
   * Created on first use (`store`, `subscribe`), from the summary of the log then: until somebody
   * can listen, an append does not pay for a store update.
   */
  private flowStore: ContextFlowStore | undefined;

  constructor(options: ContextFlowManagerOptions) {
    assertValidId('workflow id', options?.workflowId);
    this.workflowId = options.workflowId;
    this.now = options.now ?? Date.now;
  }

  /**
   * The `@xstate/store` store of this log: its context is a summary (size, seqs, last
   * transition), and it emits `logged` per transition and `pruned` per prune. Read-only for
   * callers: sending it events does not change the log.
   */
  get store(): ContextFlowStore {
    this.flowStore ??= this.createStore();
    return this.flowStore;
  }

  /** The `seq` the next transition will get (one more than the highest ever logged). */
  get nextSeq(): number {
    return this.next;
  }

  /** Number of transitions held (after pruning). */
  get size(): number {
    return this.log.length;
  }

  private createStore(): ContextFlowStore {
    return createContextFlowStore({
      workflowId: this.workflowId,
      size: this.log.length,
      firstSeq: this.log[0]?.seq ?? this.next,
      nextSeq: this.next,
      last: this.log[this.log.length - 1],
    });
  }

  /**
   * Records that `componentName` produced `toContext` from `fromContext` (none, one, or several
   * for a merge) and returns the frozen transition, numbered by `seq`. Everything is checked
   * before anything is written: a bad context id is an `InvalidIdError`, a missing field a
   * `ContextValidationError`, non-JSON metadata a `NonJsonValueError` naming its path.
   */
  logTransition(input: LogTransitionInput): ContextTransition {
    const transition = buildContextTransition(input, {
      seq: this.next,
      workflowId: this.workflowId,
      now: this.now,
    });
    this.append(transition);
    return transition;
  }

  /** The lineage index, with every retained transition in it. */
  private get graph(): LineageGraph {
    const { log, index } = this;
    for (let i = this.graphed; i < log.length; i++) index.add(log[i] as ContextTransition);
    this.graphed = log.length;
    return index;
  }

  private append(transition: ContextTransition): void {
    this.log.push(transition);
    this.next = transition.seq + 1;
    this.flowStore?.trigger.logged({ transition });
  }

  /**
   * The retained transitions that produced `contextId`, oldest first (a new array; O(1) lookup
   * by id). `[]` for an unknown context, one that was only ever a parent, or one whose
   * transitions were all pruned.
   */
  getContextHistory(contextId: string): ContextTransition[] {
    return [...this.graph.history(contextId)];
  }

  /** Every retained transition in `seq` order (a new array). */
  getFullTransitionLog(): ContextTransition[] {
    return [...this.log];
  }

  /** The retained transitions with `seq >= seq`, in order (what to append to storage). */
  transitionsSince(seq: number): ContextTransition[] {
    let low = 0;
    let high = this.log.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((this.log[mid] as ContextTransition).seq < seq) low = mid + 1;
      else high = mid;
    }
    return this.log.slice(low);
  }

  /**
   * Walks back from `contextId` to the context that started its chain (the seed's
   * `find_originating_context`). A context's parents are all `fromContext`s of all transitions
   * that produced it, in order of first appearance; the walk follows the **first parent** at
   * each step and ends at a context with no recorded parents (which may be `contextId` itself).
   * With `targetType`, it returns the first context of that type on this path, `contextId`
   * itself included, or `undefined` when there is none. A parent already visited on the walk (a
   * cycle such as A→B→A) ends it on the context whose first parent closes the cycle: for the
   * log "B from A, A from B", the origin of A is B. Unknown context: `undefined`. O(depth).
   * To follow every parent of a merge, use {@link findOriginatingContexts}.
   */
  findOriginatingContext(contextId: string, options: FindOriginOptions = {}): string | undefined {
    const targetType = typeName(options.targetType);
    const end = this.graph.walkFirstParents(contextId, targetType);
    return end?.matched ? end.ref.contextId : undefined;
  }

  /**
   * Every origin of `contextId` through all its parents (breadth-first, deduplicated, in
   * discovery order): contexts with no recorded parents, `contextId` itself when it has none.
   * With `targetType`, every context of that type reached first on some path instead (not
   * searched beyond). Each context is visited once, so cycles end; a cycle with no way out
   * contributes no origin. Unknown context: `[]`. O(ancestors).
   */
  findOriginatingContexts(contextId: string, options: FindOriginOptions = {}): string[] {
    const targetType = typeName(options.targetType);
    return this.graph.collectOrigins(contextId, targetType).map((ref) => ref.contextId);
  }

  /**
   * Drops the oldest transitions, for long-running workflows, and returns how many were
   * dropped. With `keepLatest`, all but the newest `keepLatest` may go; with `before`, the
   * oldest run of transitions whose `timestamp < before` may go (it stops at the first newer
   * one); with both, only what both allow. What stays in memory: the retained transitions;
   * every context they mention, with its full parent list; each parent no longer mentioned (a
   * boundary) with only where its dropped ancestry reaches a context still held, or an origin,
   * which is then held too. The guarantee, on a lineage without cycles, for every held context:
   * - `findOriginatingContext(id)` returns exactly what it returned before the prune, and
   *   `findOriginatingContexts(id)` the same origins (possibly in another order), also after
   *   more transitions are logged for held contexts;
   * - `getContextHistory(id)` returns only its retained transitions (`[]` if all were dropped);
   * - with `targetType`, contexts that are no longer held are no longer seen.
   *
   * Other contexts are forgotten (`[]`/`undefined`); one that is logged again later starts a new
   * lineage. `seq`s and `nextSeq` do not change; `toJSON` carries the compacted lineage. On a
   * lineage with cycles, queries still end but may differ. Cost: O(held + dropped lineage).
   */
  prune(options: PruneOptions): number {
    const { keepLatest, before } = options ?? {};
    if (keepLatest === undefined && before === undefined) {
      invalid('PruneOptions', '$', 'give keepLatest or before');
    }
    if (keepLatest !== undefined && !(Number.isSafeInteger(keepLatest) && keepLatest >= 0)) {
      invalid('PruneOptions', '$.keepLatest', 'is not a non-negative integer');
    }
    if (before !== undefined && (typeof before !== 'number' || Number.isNaN(before))) {
      invalid('PruneOptions', '$.before', 'is not a number');
    }
    let count = this.log.length;
    if (keepLatest !== undefined) count = Math.max(0, this.log.length - keepLatest);
    if (before !== undefined) {
      let old = 0;
      while (old < count && (this.log[old] as ContextTransition).timestamp < before) old++;
      count = old;
    }
    if (count === 0) return 0;
    const dropped = this.log.slice(0, count);
    const retained = this.log.slice(count);
    this.graph.prune(dropped, retained);
    this.log = retained;
    this.graphed = retained.length;
    this.flowStore?.trigger.pruned({ removed: count, firstSeq: retained[0]?.seq ?? this.next });
    return count;
  }

  /** Calls `listener` with each transition logged from now on; returns the unsubscribe. */
  subscribe(listener: (transition: ContextTransition) => void): () => void {
    const subscription = this.store.on('logged', (event) => listener(event.transition));
    return () => subscription.unsubscribe();
  }

  /** A JSON-safe snapshot: retained transitions plus the lineage pruning kept. */
  toJSON(): ContextFlowSnapshot {
    return {
      format: CONTEXT_FLOW_FORMAT,
      v: 1,
      workflowId: this.workflowId,
      nextSeq: this.next,
      transitions: [...this.log],
      lineage: this.graph.bases().map((b) => ({
        contextId: b.contextId,
        contextType: b.contextType,
        parents: [...b.parents],
        ...(b.pruned ? { pruned: b.pruned } : {}),
      })),
    };
  }

  /**
   * The lineage as a Mermaid `flowchart`: contexts are nodes labelled with type and id, each
   * parent of a transition an edge labelled `component: operation` (a merge has several
   * incoming edges), lineage compacted by pruning dotted edges labelled `pruned` (from parents
   * of dropped transitions and from kept origins). Labels are escaped (see
   * `escapeMermaidLabel`), so any type, id or component name is safe.
   */
  toMermaid(options?: ContextFlowMermaidOptions): string {
    return renderContextFlowMermaid(this.graph, this.log, options);
  }

  /**
   * Restores a manager from {@link toJSON} output (possibly after `JSON.parse`); it answers the
   * same queries. Corrupt input is a `CorruptRecordError` naming the bad path.
   */
  static fromJSON(json: unknown, options: ContextFlowRestoreOptions = {}): ContextFlowManager {
    const parsed = parseContextFlowSnapshot(json);
    return ContextFlowManager.restore(
      parsed.workflowId,
      parsed.nextSeq,
      parsed.transitions,
      parsed.lineage,
      options,
    );
  }

  /**
   * Rebuilds a manager from transitions read back from storage (an array of `ContextTransition`
   * records in `seq` order, e.g. parsed JSON lines). Corrupt input (wrong workflow, bad field,
   * `seq` not increasing) is a `CorruptRecordError` naming the path.
   */
  static fromTransitions(
    workflowId: string,
    transitions: unknown,
    options: ContextFlowRestoreOptions = {},
  ): ContextFlowManager {
    assertValidId('workflow id', workflowId);
    const parsed = parseContextTransitions(workflowId, transitions);
    const nextSeq = (parsed[parsed.length - 1]?.seq ?? -1) + 1;
    return ContextFlowManager.restore(workflowId, nextSeq, parsed, [], options);
  }

  private static restore(
    workflowId: string,
    nextSeq: number,
    transitions: readonly ContextTransition[],
    lineage: readonly LineageBasis[],
    options: ContextFlowRestoreOptions,
  ): ContextFlowManager {
    const manager = new ContextFlowManager({ ...options, workflowId });
    const seen = new Set<string>();
    for (const [i, basis] of lineage.entries()) {
      if (seen.has(basis.contextId)) {
        throw new CorruptRecordError(
          workflowId,
          'context-flow',
          `$.lineage[${i}] repeats a context`,
        );
      }
      seen.add(basis.contextId);
      manager.index.addBasis(basis);
    }
    for (const t of transitions) manager.index.add(t);
    const dangling = manager.index.danglingParent();
    if (dangling !== undefined) {
      throw new CorruptRecordError(
        workflowId,
        'context-flow',
        `$.lineage: parent ${dangling.parent} of ${dangling.contextId} is unknown`,
      );
    }
    manager.log = [...transitions];
    manager.graphed = transitions.length;
    manager.next = nextSeq;
    return manager;
  }
}
