import { ContextValidationError } from '../errors.js';
import { assertValidId, createCheckpointId } from '../ids.js';
import {
  assertJson,
  type JsonData,
  type JsonObject,
  type JsonValue,
  MAX_JSON_DEPTH,
} from '../json.js';
import { isPlainObject } from '../objects.js';
import type { Context } from './context.js';
import {
  assertJsonOnce,
  copyJsonSharing,
  exceedsDepth,
  freezeValidatedJson,
} from './validated-json.js';

/** Options of {@link createContext} and `ContextType.create`. */
export interface CreateContextOptions {
  /** Id of the new context, checked with `assertValidId`. Default: a new ULID. */
  contextId?: string;
  /** JSON metadata (who made it, from what…), copied and frozen. Default: `{}`. */
  metadata?: JsonObject;
}

/** Checks that a context type name is usable (the same rules as ids). @internal */
export function assertValidContextTypeName(name: unknown): asserts name is string {
  assertValidId('context type', name);
}

/**
 * Builds a frozen context from parts that may come from anywhere: checks the id, the type name,
 * and that data and metadata are JSON (typed errors of `assertJson`), then deep-copies and
 * deep-freezes them, so later changes to the caller's objects never reach the context. What is
 * already a frozen, checked part of a context (another context's data, or an item of it) is
 * shared rather than copied: it cannot change either. With
 * `owned`, the caller vouches that `data` is JSON it built itself that nobody else holds: it is
 * then only depth-checked and frozen in place, not copied.
 * @internal
 */
export function buildContext<TType extends string, TData = JsonValue>(
  contextType: TType,
  data: unknown,
  options: CreateContextOptions = {},
  owned = false,
): Context<TType, TData> {
  const contextId = options.contextId ?? createCheckpointId();
  assertValidId('context', contextId);
  assertValidContextTypeName(contextType);
  if (!owned) assertJsonOnce(data, { path: '$.data' });
  else if (exceedsDepth(data as JsonValue, MAX_JSON_DEPTH)) assertJson(data, { path: '$.data' });
  const metadata: unknown = options.metadata ?? {};
  if (!isPlainObject(metadata)) {
    throw new ContextValidationError(contextType, [
      { path: '$.metadata', message: 'is not a plain object' },
    ]);
  }
  assertJsonOnce(metadata, { path: '$.metadata' });
  const frozenData = freezeValidatedJson(
    owned ? (data as JsonValue) : copyJsonSharing(data as JsonValue),
  ) as TData;
  const frozenMetadata = freezeValidatedJson(copyJsonSharing(metadata as JsonObject));
  return Object.freeze({ contextId, contextType, data: frozenData, metadata: frozenMetadata });
}

/**
 * Creates a context of any type name, without a schema (use `defineContextType` for a typed,
 * validated factory). Data and metadata must be JSON: a function, `undefined` (in an array or as
 * an object value), `BigInt`, `Date`, `Map`, `Set`, `NaN`, a cycle or nesting deeper than
 * `MAX_JSON_DEPTH` is refused with `NonJsonValueError`/`DepthLimitError`, never silently
 * dropped. The context is a deep-frozen copy: changing `data` afterwards does not change it.
 * (JSON has no negative zero: `-0` is stored as `0`.)
 *
 * The data may be typed with `interface`s (`createContext('Report', report)` with
 * `report: Report` gives a `Context<'Report', Report>`); a type holding a function, a method
 * (`Date`, `Map`, class instances), `bigint`, `symbol` or a required property that may be
 * `undefined` is refused at compile time (see `JsonShaped`). What types cannot see (a class
 * instance with data fields only, an optional property set to `undefined`) is refused here.
 *
 * @example
 * ```ts
 * const note = createContext('NoteContext', { text: 'hello' }, { metadata: { author: 'ana' } });
 * note.contextId; // '01J…' (a ULID)
 * Object.isFrozen(note.data); // true
 * ```
 */
export function createContext<TType extends string, TData extends JsonData<TData>>(
  contextType: TType,
  data: TData,
  options?: CreateContextOptions,
): Context<TType, TData> {
  return buildContext<TType, TData>(contextType, data, options);
}
