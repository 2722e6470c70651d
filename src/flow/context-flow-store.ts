import { createStore, type ExtractEvents, type Store } from '@xstate/store';
import type { ContextTransition } from './context-transition.js';

/**
 * The context of a {@link ContextFlowStore}: a summary of the log that changes on every write.
 * It holds no copy of the log (appending to an immutable array per event would make a long
 * run quadratic); read the transitions with `getFullTransitionLog()` or from `logged` events.
 */
export type ContextFlowStoreContext = {
  readonly workflowId: string;
  /** Number of transitions held (after pruning). */
  readonly size: number;
  /** `seq` of the oldest transition held; equals `nextSeq` when none is held. */
  readonly firstSeq: number;
  /** The `seq` the next transition gets. */
  readonly nextSeq: number;
  /** The latest transition logged, if any is held. */
  readonly last: ContextTransition | undefined;
};

/** Events of a {@link ContextFlowStore}, also emitted under the same names. */
export type ContextFlowStoreEvents = {
  /** One transition was appended. */
  logged: { readonly transition: ContextTransition };
  /** Old transitions were dropped by `prune`. */
  pruned: { readonly removed: number; readonly firstSeq: number };
};

/** An event emitted by a {@link ContextFlowStore} (listen with `store.on('logged', …)`). */
export type ContextFlowEmitted = ExtractEvents<ContextFlowStoreEvents>;

/**
 * The `@xstate/store` store behind a `ContextFlowManager`: subscribe to it (or to its
 * `logged`/`pruned` emitted events) from a UI. Only the manager sends it events.
 */
export type ContextFlowStore = Store<
  ContextFlowStoreContext,
  ContextFlowStoreEvents,
  ContextFlowEmitted
>;

/** Creates the store of a `ContextFlowManager` (internal: the manager sends every event). */
export function createContextFlowStore(initial: ContextFlowStoreContext): ContextFlowStore {
  return createStore<ContextFlowStoreContext, ContextFlowStoreEvents, ContextFlowStoreEvents>({
    context: initial,
    on: {
      logged: (context, event, enqueue) => {
        enqueue.emit.logged({ transition: event.transition });
        return {
          ...context,
          size: context.size + 1,
          firstSeq: context.size === 0 ? event.transition.seq : context.firstSeq,
          nextSeq: event.transition.seq + 1,
          last: event.transition,
        };
      },
      pruned: (context, event, enqueue) => {
        enqueue.emit.pruned({ removed: event.removed, firstSeq: event.firstSeq });
        const size = context.size - event.removed;
        return {
          ...context,
          size,
          firstSeq: event.firstSeq,
          last: size === 0 ? undefined : context.last,
        };
      },
    },
  });
}
