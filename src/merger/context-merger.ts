import type { AnyContext, Context } from '../context/context.js';
import { buildContext } from '../context/create-context.js';
import type { AnyContextType, ContextOf } from '../context/define-context-type.js';
import { setOwn } from '../context/own-property.js';
import { contextShapeIssues, reportedType } from '../context/parse-context.js';
import { ContextValidationError } from '../errors.js';
import type { JsonObject, JsonValue } from '../json.js';
import { ContextMergeStrategy } from './context-merge-strategy.js';
import { type MergeContextDataOptions, mergeContextData } from './merge-context-data.js';

/** The type name of a merged context when no target is given and there is no input. */
export const MERGED_CONTEXT_TYPE = 'MergedContext';

/** Options of {@link ContextMerger.mergeContexts}. */
export interface MergeContextsOptions extends MergeContextDataOptions {
  /**
   * Type of the merged context: a `ContextType` (its schema validates the merged data) or a type
   * name. Default: the type of the first input, or `'MergedContext'` when there is none.
   */
  targetContextType?: AnyContextType | string;
  /** Id of the merged context. Default: a new ULID. */
  contextId?: string;
  /** Extra metadata of the merged context (the merge's own keys win on a clash). Default: `{}`. */
  metadata?: JsonObject;
}

/** `metadata` without its `mergedMetadata` key (the same object when it has none). */
function withoutMergedMetadata(metadata: JsonObject): JsonObject {
  if (!Object.hasOwn(metadata, 'mergedMetadata')) return metadata;
  const kept: JsonObject = {};
  for (const [key, value] of Object.entries(metadata)) {
    if (key !== 'mergedMetadata') setOwn(kept, key, value);
  }
  return kept;
}

/**
 * Combines several contexts into one (the seed's `ContextMerger`), e.g. the results of parallel
 * steps. Stateless; use the shared instance from {@link getContextMerger} or make your own.
 */
export class ContextMerger {
  /**
   * Merges the contexts' data with a {@link ContextMergeStrategy} (see {@link mergeContextData}
   * for the exact rules) into a NEW context of the target type; the inputs are never changed.
   * The result's metadata records the merge: `mergedFrom` (the input ids, in merge order),
   * `mergedTypes` (their types), `mergeStrategy`, and `mergedMetadata` (each input's metadata,
   * without its own `mergedMetadata`). So an input that is itself a merge result keeps its
   * `mergedFrom`, `mergedTypes` and `mergeStrategy` there (earlier merges are still found by id),
   * and the metadata of a merge does not grow with the length of a chain of merges (an
   * accumulator merged with the next chunk, again and again).
   *
   * Throws `MergeError` (a Custom merge without or with a failing function),
   * `ContextValidationError` (an input that is not a context, or merged data the target's
   * schema rejects, with the paths of the problems), the typed errors of `assertJson`,
   * `InvalidIdError` for a bad `contextId`, and `TypeError` for `contexts` that is not an array
   * or a `separator` that is not a string.
   *
   * @example
   * ```ts
   * const merger = await getContextMerger();
   * const merged = await merger.mergeContexts([a, b], {
   *   targetContextType: ResultContext,
   *   strategy: ContextMergeStrategy.AppendList,
   * });
   * merged.metadata.mergedFrom; // [a.contextId, b.contextId]
   * ```
   */
  mergeContexts<T extends AnyContextType>(
    contexts: readonly AnyContext[],
    options: MergeContextsOptions & { targetContextType: T },
  ): Promise<ContextOf<T>>;
  mergeContexts<N extends string>(
    contexts: readonly AnyContext[],
    options: MergeContextsOptions & { targetContextType: N },
  ): Promise<Context<N, JsonValue>>;
  mergeContexts(contexts: readonly AnyContext[], options?: MergeContextsOptions): Promise<Context>;
  async mergeContexts(
    contexts: readonly AnyContext[],
    options: MergeContextsOptions = {},
  ): Promise<Context> {
    if (!Array.isArray(contexts)) {
      throw new TypeError(
        `contexts must be an array of contexts, not ${contexts === null ? 'null' : typeof contexts}`,
      );
    }
    contexts.forEach((context, index) => {
      const issues = contextShapeIssues(context);
      if (issues.length > 0) {
        throw new ContextValidationError(
          reportedType(context),
          issues.map((issue) => ({ ...issue, path: `$[${index}]${issue.path.slice(1)}` })),
        );
      }
    });
    const data = mergeContextData(
      contexts.map((context) => context.data),
      {
        inputNames: contexts.map((context, i) => `input ${i} (context ${context.contextId})`),
        ...options,
      },
    );

    const metadata: JsonObject = {};
    for (const [key, value] of Object.entries(options.metadata ?? {})) setOwn(metadata, key, value);
    metadata.mergedFrom = contexts.map((context) => context.contextId);
    metadata.mergedTypes = contexts.map((context) => context.contextType);
    metadata.mergeStrategy = options.strategy ?? ContextMergeStrategy.RecursiveDictMerge;
    metadata.mergedMetadata = contexts.map((context) => withoutMergedMetadata(context.metadata));

    const target = options.targetContextType ?? contexts[0]?.contextType ?? MERGED_CONTEXT_TYPE;
    const createOptions = { contextId: options.contextId, metadata };
    // mergeContextData's result shares nothing with anything, except what a custom function
    // returns: only then must the context be built from a copy.
    const owned = options.strategy !== ContextMergeStrategy.Custom;
    if (typeof target === 'string') return buildContext(target, data, createOptions, owned);
    if (target.schema === undefined) return buildContext(target.name, data, createOptions, owned);
    return target.createAsync(data as never, createOptions);
  }
}

let shared: Promise<ContextMerger> | undefined;

/**
 * The shared {@link ContextMerger} (the seed's `get_context_merger()`). Every call, including
 * concurrent first calls, resolves to the same instance.
 *
 * @example
 * ```ts
 * const merger = await getContextMerger();
 * ```
 */
export function getContextMerger(): Promise<ContextMerger> {
  shared ??= Promise.resolve(new ContextMerger());
  return shared;
}
