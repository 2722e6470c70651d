export type { LogTransitionInput } from './build-context-transition.js';
export {
  ContextFlowManager,
  type ContextFlowManagerOptions,
  type ContextFlowRestoreOptions,
  type ContextTypeSelector,
  type FindOriginOptions,
  type PruneOptions,
} from './context-flow-manager.js';
export { type ContextFlowMermaidOptions, escapeMermaidLabel } from './context-flow-mermaid.js';
export {
  CONTEXT_FLOW_FORMAT,
  type ContextFlowSnapshot,
  type ContextLineageRecord,
  parseContextTransitions,
} from './context-flow-snapshot.js';
export type {
  ContextFlowEmitted,
  ContextFlowStore,
  ContextFlowStoreContext,
  ContextFlowStoreEvents,
} from './context-flow-store.js';
export type { ContextTransition } from './context-transition.js';
