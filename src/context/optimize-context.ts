import type { JsonObject, JsonValue } from '../json.js';
import type { Context } from './context.js';
import { buildContext } from './create-context.js';
import { setOwn } from './own-property.js';

/** Options of {@link optimizeContext}. */
export interface OptimizeContextOptions {
  /** Token budget for the JSON text of the optimized `data`, a finite number ≥ 0. Required. */
  maxTokens: number;
  /** Estimates the tokens of a JSON text. Default: {@link estimateTokens} (length / 4). */
  estimateTokens?: (json: string) => number;
  /** Id of the optimized context. Default: a new ULID. */
  contextId?: string;
}

/**
 * One step of the optimization ladder, recorded in the result's `metadata.optimization.level`.
 * Every field is a limit that was applied; an absent field was not applied.
 */
export type OptimizationLevel = {
  /** Object properties whose value is `null`, `''`, `[]` or `{}` were dropped. */
  dropEmpty: boolean;
  /** Strings longer than this were cut and end with `…[+N chars]`. */
  maxStringLength?: number;
  /** Arrays longer than this kept their head and tail around a `'…N more'` item. */
  maxArrayLength?: number;
  /** Non-empty objects/arrays this deep (data = 0) became `'…{N keys}'` / `'…[N items]'`. */
  maxDepth?: number;
};

/** The default token estimate: one token per four characters, `Math.ceil(json.length / 4)`. */
export function estimateTokens(json: string): number {
  return Math.ceil(json.length / 4);
}

const LADDER: readonly OptimizationLevel[] = [
  { dropEmpty: true },
  { dropEmpty: true, maxStringLength: 2000, maxArrayLength: 100 },
  { dropEmpty: true, maxStringLength: 500, maxArrayLength: 50 },
  { dropEmpty: true, maxStringLength: 200, maxArrayLength: 20 },
  { dropEmpty: true, maxStringLength: 100, maxArrayLength: 10 },
  { dropEmpty: true, maxStringLength: 50, maxArrayLength: 5 },
  { dropEmpty: true, maxStringLength: 20, maxArrayLength: 3 },
];

function truncate(text: string, max: number | undefined): string {
  if (max === undefined || text.length <= max) return text;
  let end = max;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1; // never split a surrogate pair
  const cut = `${text.slice(0, end)}…[+${text.length - end} chars]`;
  return cut.length < text.length ? cut : text;
}

function isEmpty(value: JsonValue): boolean {
  if (value === null || value === '') return true;
  if (Array.isArray(value)) return value.length === 0;
  return typeof value === 'object' && Object.keys(value).length === 0;
}

/** Applies one level to a value; recursion is bounded by the (validated) depth of context data. */
function shrink(value: JsonValue, level: OptimizationLevel, depth: number): JsonValue {
  if (typeof value === 'string') return truncate(value, level.maxStringLength);
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    if (level.maxDepth !== undefined && depth >= level.maxDepth && value.length > 0) {
      return `…[${value.length} ${value.length === 1 ? 'item' : 'items'}]`;
    }
    const max = level.maxArrayLength;
    if (max === undefined || value.length <= max) {
      return value.map((item) => shrink(item, level, depth + 1));
    }
    const head = Math.ceil((max - 1) / 2);
    const tail = Math.floor((max - 1) / 2);
    return [
      ...value.slice(0, head).map((item) => shrink(item, level, depth + 1)),
      `…${value.length - head - tail} more`,
      ...value.slice(value.length - tail).map((item) => shrink(item, level, depth + 1)),
    ];
  }
  const keys = Object.keys(value);
  if (level.maxDepth !== undefined && depth >= level.maxDepth && keys.length > 0) {
    return `…{${keys.length} ${keys.length === 1 ? 'key' : 'keys'}}`;
  }
  const result: JsonObject = {};
  for (const key of keys) {
    const child = shrink(value[key] as JsonValue, level, depth + 1);
    if (!(level.dropEmpty && isEmpty(child))) setOwn(result, key, child);
  }
  return result;
}

/** Depth of the deepest non-empty container (data itself = 0); -1 when there is none. */
function containerDepth(value: JsonValue): number {
  let deepest = -1;
  const stack: Array<[JsonValue, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop() as [JsonValue, number];
    if (current === null || typeof current !== 'object') continue;
    const children = Array.isArray(current) ? current : Object.values(current);
    if (children.length === 0) continue;
    deepest = Math.max(deepest, depth);
    for (const child of children) stack.push([child, depth + 1]);
  }
  return deepest;
}

/** Collapse depths to try, deepest first: every depth near the top, fewer steps further down. */
function collapseDepths(deepest: number): number[] {
  const depths: number[] = [];
  for (let d = deepest; d >= 0; d = Math.min(d - 1, Math.floor(d * 0.8))) depths.push(d);
  return depths;
}

/**
 * Makes a smaller copy of a context for a model with a token budget (the seed's "optimize
 * contexts to reduce token count"). Returns a NEW context of the same type name (a new id; the
 * original is never touched) whose `JSON.stringify(data)` fits `maxTokens`, trying in order:
 * 1. the data unchanged;
 * 2. dropping object properties that are `null`, `''`, `[]` or `{}`;
 * 3. then, at ever lower limits, cutting long strings (`'abc…[+120 chars]'`) and shortening long
 *    arrays to their head and tail around an item `'…N more'`;
 * 4. then collapsing ever shallower subtrees into `'…{N keys}'` / `'…[N items]'`.
 *
 * It stops at the first step that fits. When none fits (the budget is below even the fully
 * collapsed data) it returns the smallest result with `withinBudget: false`; it does not throw.
 * Metadata keeps the original's and adds `optimizedFrom` (the original id) and `optimization:
 * { tokensBefore, tokensAfter, maxTokens, withinBudget, level }`. The result is lossy and is not
 * validated against the type's schema (a shortened array of numbers holds a marker string).
 * Throws `RangeError` when `maxTokens` is not a finite number ≥ 0 or the estimator returns a
 * non-finite number (programming errors, not data errors).
 *
 * @example
 * ```ts
 * const small = optimizeContext(bigContext, { maxTokens: 500 });
 * small.metadata.optimization; // { tokensBefore: 9120, tokensAfter: 488, withinBudget: true, … }
 * ```
 */
export function optimizeContext<TType extends string>(
  context: Context<TType, unknown>,
  options: OptimizeContextOptions,
): Context<TType, JsonValue> {
  const { maxTokens } = options;
  if (!Number.isFinite(maxTokens) || maxTokens < 0) {
    throw new RangeError(`maxTokens must be a finite number ≥ 0, not ${maxTokens}`);
  }
  const estimator = options.estimateTokens ?? estimateTokens;
  const estimate = (json: string): number => {
    const tokens = estimator(json);
    if (!Number.isFinite(tokens)) throw new RangeError(`estimateTokens returned ${tokens}`);
    return tokens;
  };
  // A context's data is JSON whatever type it was declared with (the result is checked again).
  const source = context.data as JsonValue;
  const tokensBefore = estimate(JSON.stringify(source));

  let best: { data: JsonValue; tokens: number; level: OptimizationLevel | null } = {
    data: source,
    tokens: tokensBefore,
    level: null,
  };
  if (tokensBefore > maxTokens) {
    const last = LADDER[LADDER.length - 1] as OptimizationLevel;
    const levels: OptimizationLevel[] = [
      ...LADDER,
      ...collapseDepths(containerDepth(source)).map((maxDepth) => ({ ...last, maxDepth })),
    ];
    for (const level of levels) {
      const data = shrink(source, level, 0);
      const tokens = estimate(JSON.stringify(data));
      if (tokens < best.tokens) best = { data, tokens, level };
      if (tokens <= maxTokens) {
        best = { data, tokens, level };
        break;
      }
    }
  }

  const metadata: JsonObject = {};
  for (const key of Object.keys(context.metadata)) {
    setOwn(metadata, key, context.metadata[key] as JsonValue);
  }
  metadata.optimizedFrom = context.contextId;
  metadata.optimization = {
    tokensBefore,
    tokensAfter: best.tokens,
    maxTokens,
    withinBudget: best.tokens <= maxTokens,
    level: best.level,
  };
  return buildContext<TType, JsonValue>(context.contextType, best.data, {
    contextId: options.contextId,
    metadata,
  });
}
