export { ContextMergeStrategy } from './context-merge-strategy.js';
export {
  ContextMerger,
  getContextMerger,
  MERGED_CONTEXT_TYPE,
  type MergeContextsOptions,
} from './context-merger.js';
export {
  type CustomMergeFunction,
  type MergeContextDataOptions,
  mergeContextData,
} from './merge-context-data.js';
