export type { AnyContext, Context, ContextRef } from './context.js';
export { type CreateContextOptions, createContext } from './create-context.js';
export {
  type AnyContextType,
  type ContextOf,
  type ContextType,
  defineContextType,
  type SchemaData,
} from './define-context-type.js';
export {
  estimateTokens,
  type OptimizationLevel,
  type OptimizeContextOptions,
  optimizeContext,
} from './optimize-context.js';
export { isContext, parseContext } from './parse-context.js';
export { issuePathToJsonPath } from './schema-validation.js';
export {
  type ContextSizeOptions,
  deserializeContext,
  deserializeContextAsync,
  MAX_CONTEXT_BYTES,
  serializeContext,
} from './serialize-context.js';
export type { StandardSchemaV1, StandardTypedV1 } from './standard-schema.js';
