import type { AnyContext, ContextRef } from '../context/context.js';
import type { ContextFlowManager } from '../flow/context-flow-manager.js';

function refOf(context: AnyContext): ContextRef {
  return { contextId: context.contextId, contextType: context.contextType };
}

/**
 * Logs the contexts a hand-written machine holds into its `ContextFlowManager` (internal to the
 * runtime): for each key of `contexts(snapshot)`, a context id not seen before is logged, made
 * from the previous context at that key (or as an origin). A context copied from another key, or
 * one already in the lineage, is not new and is not logged again.
 */
export class MachineLineage {
  readonly #flow: ContextFlowManager;
  readonly #componentName: string;
  #slots = new Map<string, ContextRef>();

  constructor(flow: ContextFlowManager, componentName: string) {
    this.#flow = flow;
    this.#componentName = componentName;
  }

  /** Takes the contexts as they are without logging anything (a restored snapshot). */
  seed(contexts: Readonly<Record<string, AnyContext>> | readonly AnyContext[]): void {
    this.#slots = new Map(
      Object.entries(contexts).map(([key, context]) => [key, refOf(context)] as const),
    );
  }

  /** Logs the contexts that are new; `state` (the active state) goes into the metadata. */
  observe(
    contexts: Readonly<Record<string, AnyContext>> | readonly AnyContext[],
    state: string | undefined,
    first: boolean,
  ): void {
    const previous = this.#slots;
    const known = new Set<string>();
    for (const ref of previous.values()) known.add(ref.contextId);
    const next = new Map<string, ContextRef>();
    for (const [key, context] of Object.entries(contexts)) {
      const ref = refOf(context);
      next.set(key, ref);
      const before = previous.get(key);
      if (before?.contextId === ref.contextId || known.has(ref.contextId)) continue;
      known.add(ref.contextId);
      if (this.#flow.getContextHistory(ref.contextId).length > 0) continue;
      this.#flow.logTransition({
        toContext: context,
        componentName: this.#componentName,
        operation: before !== undefined ? 'update' : first ? 'input' : 'create',
        fromContext: before === undefined ? [] : [before],
        metadata: { key, ...(state === undefined ? {} : { state }) },
      });
    }
    this.#slots = next;
  }
}
