import { isJsonObject, setOwn } from '../context/own-property.js';
import { assertJsonOnce, exceedsDepth } from '../context/validated-json.js';
import { isOrchestrationError, MergeError } from '../errors.js';
import { assertJson, cloneJson, type JsonObject, type JsonValue, MAX_JSON_DEPTH } from '../json.js';
import { ContextMergeStrategy } from './context-merge-strategy.js';

/**
 * A custom merge: the base so far and the next input in, the merged value out. The value out must
 * be JSON (checked: anything else fails the merge with `MergeError`); its type may be an
 * `interface` (`(base, next): Report => …`), so the compiler only refuses a result that is not
 * an object or a JSON primitive (`undefined`, a `bigint`, a `symbol`).
 */
export type CustomMergeFunction = (base: JsonValue, next: JsonValue) => JsonValue | object;

/** Options of {@link mergeContextData}. */
export interface MergeContextDataOptions {
  /** How to merge; see {@link ContextMergeStrategy}. Default: `RecursiveDictMerge`. */
  strategy?: ContextMergeStrategy;
  /** The merge function, required with `ContextMergeStrategy.Custom`. Default: none. */
  customMergeFunc?: CustomMergeFunction;
  /** The base every input is merged into, before the first input. Default: the first input. */
  initialContextData?: JsonValue;
  /** Put between two strings by `ConcatenateString`; a string. Default: `''`. */
  separator?: string;
  /**
   * What each input is called in errors (by index): a parallel group's region ids, a merger's
   * context ids. Default: `input <index>`.
   */
  inputNames?: readonly string[];
}

type Merge = (a: JsonValue, b: JsonValue) => JsonValue;

// The merges below may change `a` and reuse parts of `b` in place: both are private copies made
// by mergeContextData (or values built from them), each used once, so nothing outside can see
// it. This keeps a fold linear in the total input size (copying the accumulated value at every
// step made AppendList over 2,000 inputs quadratic).

function mergeKeys(a: JsonObject, b: JsonObject, both: Merge): JsonObject {
  for (const key of Object.keys(b)) {
    const next = b[key] as JsonValue;
    setOwn(a, key, Object.hasOwn(a, key) ? both(a[key] as JsonValue, next) : next);
  }
  return a;
}

function appendList(a: JsonValue, b: JsonValue): JsonValue {
  const list = Array.isArray(a) ? a : [a];
  if (Array.isArray(b)) for (const item of b) list.push(item);
  else list.push(b);
  return list;
}

const overwrite: Merge = (a, b) =>
  isJsonObject(a) && isJsonObject(b) ? mergeKeys(a, b, (_, next) => next) : b;

const appendLists: Merge = (a, b) =>
  isJsonObject(a) && isJsonObject(b) ? mergeKeys(a, b, appendList) : appendList(a, b);

// Recursion depth is bounded by the inputs' depth, which assertJson bounded by MAX_JSON_DEPTH.
const recursive: Merge = (a, b) =>
  isJsonObject(a) && isJsonObject(b) ? mergeKeys(a, b, recursive) : b;

function concatenating(separator: string): Merge {
  const merge: Merge = (a, b) => {
    if (typeof a === 'string' && typeof b === 'string') return a + separator + b;
    return isJsonObject(a) && isJsonObject(b) ? mergeKeys(a, b, merge) : b;
  };
  return merge;
}

function custom(
  func: CustomMergeFunction | undefined,
  names: readonly string[] | undefined,
): (a: JsonValue, b: JsonValue, index: number) => JsonValue {
  if (typeof func !== 'function') {
    throw new MergeError('The Custom merge strategy needs a customMergeFunc(base, next) function');
  }
  return (a, b, index) => {
    const input = typeof names?.[index] === 'string' ? names[index] : `input ${index}`;
    let result: unknown;
    try {
      result = func(a, b);
    } catch (error) {
      // The error's own name too, when it has one of its own: it is all the failure keeps of it.
      const reason =
        error instanceof Error
          ? `${error.name !== 'Error' ? `${error.name}: ` : ''}${error.message}`
          : String(error);
      throw new MergeError(`customMergeFunc threw while merging ${input}: ${reason}`, {
        cause: error,
      });
    }
    try {
      assertJson(result, { path: '$' });
    } catch (error) {
      if (!isOrchestrationError(error)) throw error;
      throw new MergeError(
        `customMergeFunc returned what JSON cannot carry while merging ${input}: ${error.message}`,
        { cause: error },
      );
    }
    return result;
  };
}

function strategyMerge(
  options: MergeContextDataOptions,
): (a: JsonValue, b: JsonValue, index: number) => JsonValue {
  const strategy = options.strategy ?? ContextMergeStrategy.RecursiveDictMerge;
  switch (strategy) {
    case ContextMergeStrategy.Overwrite:
      return overwrite;
    case ContextMergeStrategy.AppendList:
      return appendLists;
    case ContextMergeStrategy.ConcatenateString:
      return concatenating(options.separator ?? '');
    case ContextMergeStrategy.RecursiveDictMerge:
      return recursive;
    case ContextMergeStrategy.Custom:
      return custom(options.customMergeFunc, options.inputNames);
    default:
      throw new MergeError(`Unknown merge strategy ${JSON.stringify(String(strategy))}`);
  }
}

/**
 * Merges several JSON values into one with a {@link ContextMergeStrategy}: the pure, synchronous
 * core of `ContextMerger`, safe to call inside an XState `assign` (e.g. in a parallel state's
 * `onDone`, on the regions' outputs). The inputs are folded left in order, starting from
 * `initialContextData` when given; with no inputs the result is `initialContextData ?? {}`.
 *
 * Pure: inputs are checked with `assertJson` (paths `$.datas[1].x`, `$.initialContextData.y`),
 * copied (so `-0` becomes `0`, as in any JSON copy), and never changed; the result shares
 * nothing with them and is JSON (a result nested deeper than `MAX_JSON_DEPTH` throws
 * `DepthLimitError`). Recursion never goes deeper than the inputs, which are depth-bounded.
 * Keys `__proto__`, `constructor` and `prototype` are ordinary data and never reach a
 * prototype. Throws `MergeError` for `Custom` without `customMergeFunc`, for a throwing one
 * (with `cause`), for one returning non-JSON, and for an unknown strategy; `TypeError` for
 * `datas` that is not an array and for a `separator` that is not a string (whatever the
 * strategy).
 *
 * @example
 * ```ts
 * mergeContextData([{ tags: ['a'] }, { tags: ['b'], n: 1 }], {
 *   strategy: ContextMergeStrategy.AppendList,
 * }); // { tags: ['a', 'b'], n: 1 }
 * ```
 */
export function mergeContextData(
  datas: readonly JsonValue[],
  options: MergeContextDataOptions = {},
): JsonValue {
  if (!Array.isArray(datas)) {
    throw new TypeError(
      `datas must be an array of JSON values, not ${datas === null ? 'null' : typeof datas}`,
    );
  }
  if (options.separator !== undefined && typeof options.separator !== 'string') {
    const { separator } = options;
    throw new TypeError(
      `separator must be a string, not ${separator === null ? 'null' : typeof separator}`,
    );
  }
  const merge = strategyMerge(options);
  const inputs = datas.map((data, index) => {
    assertJsonOnce(data, { path: `$.datas[${index}]` });
    return cloneJson(data);
  });
  let result: JsonValue;
  let start = 0;
  if (options.initialContextData !== undefined) {
    assertJsonOnce(options.initialContextData, { path: '$.initialContextData' });
    result = cloneJson(options.initialContextData);
  } else if (inputs.length > 0) {
    result = inputs[0] as JsonValue;
    start = 1;
  } else {
    return {};
  }
  for (let index = start; index < inputs.length; index++) {
    result = merge(result, inputs[index] as JsonValue, index);
  }
  // AppendList may wrap a maximally deep value once more: keep results within the depth bound.
  if (exceedsDepth(result, MAX_JSON_DEPTH)) assertJson(result, { path: '$' });
  return result;
}
