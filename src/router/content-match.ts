import type { Context } from '../context/context.js';
import { RoutingRuleError } from '../errors.js';
import { cloneJson, isJson, type JsonValue } from '../json.js';
import type { ContentMatch } from './routing-rule.js';

/** A declarative match made ready to run. @internal */
export interface CompiledMatch {
  /** The path, split into keys. */
  readonly keys: readonly string[];
  /** The path as written. */
  readonly path: string;
  readonly test: (value: JsonValue | undefined) => boolean;
  /** E.g. `data.priority equals "high"`. */
  readonly description: string;
  /**
   * For `equals` and `in` on scalars only: the values that match (so a router can look rules up
   * by value instead of testing each); `undefined` otherwise.
   */
  readonly scalars: readonly Scalar[] | undefined;
}

/** A JSON value that is not an object or array: `Map` keys compare these as `===` does. */
export type Scalar = string | number | boolean | null;

function scalarsOf(values: readonly JsonValue[]): Scalar[] | undefined {
  return values.every((v) => v === null || typeof v !== 'object')
    ? (values as Scalar[])
    : undefined;
}

const ROOTS = new Set(['data', 'metadata', 'contextType', 'contextId']);

/** The value at `keys` in `context`, or `undefined` when there is none. @internal */
export function valueAt(context: Context, keys: readonly string[]): JsonValue | undefined {
  let value: unknown = context;
  for (const key of keys) {
    if (value === null || typeof value !== 'object') return undefined;
    if (Array.isArray(value)) {
      const index = Number(key);
      if (!Number.isInteger(index) || index < 0 || index >= value.length) return undefined;
      value = value[index];
    } else {
      if (!Object.hasOwn(value, key)) return undefined;
      value = (value as Record<string, unknown>)[key];
    }
  }
  return value as JsonValue | undefined;
}

/** Deep equality of two JSON values (object key order does not matter). @internal */
export function jsonEqual(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, i) => jsonEqual(item, b[i]));
  }
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((key) => Object.hasOwn(b, key) && jsonEqual(a[key], b[key]));
}

function only(match: ContentMatch): 'equals' | 'in' | 'exists' | 'matches' | undefined {
  const given = (['equals', 'in', 'exists', 'matches'] as const).filter((k) => k in match);
  return given.length === 1 ? given[0] : undefined;
}

/**
 * Checks a declarative match and turns it into a test; throws {@link RoutingRuleError} (naming
 * `ruleId`) for a bad path, not exactly one operator, a non-JSON value, or a bad pattern.
 * @internal
 */
export function compileMatch(ruleId: string, match: ContentMatch): CompiledMatch {
  function fail(reason: string): never {
    throw new RoutingRuleError(ruleId, reason);
  }
  if (match === null || typeof match !== 'object') fail('a match must be an object');
  const { path } = match;
  if (typeof path !== 'string') fail('a match needs a string path');
  const keys = path.split('.');
  if (!ROOTS.has(keys[0] ?? '') || keys.some((key) => key === '')) {
    fail(
      `path ${JSON.stringify(path)} must be dot-separated keys starting with data, metadata, contextType or contextId`,
    );
  }
  if (only(match) === undefined) {
    fail(`the match on ${path} needs exactly one of equals, in, exists, matches`);
  }
  if ('equals' in match) {
    if (!isJson(match.equals)) fail(`the match on ${path} compares with a value that is not JSON`);
    const expected = cloneJson(match.equals);
    return {
      keys,
      path,
      test: (value) => jsonEqual(value, expected),
      description: `${path} equals ${JSON.stringify(expected)}`,
      scalars: scalarsOf([expected]),
    };
  }
  if ('in' in match) {
    if (!Array.isArray(match.in) || !isJson(match.in)) {
      fail(`the match on ${path} needs \`in\` to be an array of JSON values`);
    }
    const options = cloneJson(match.in as JsonValue[]);
    return {
      keys,
      path,
      test: (value) => options.some((option) => jsonEqual(value, option)),
      description: `${path} in ${JSON.stringify(options)}`,
      scalars: scalarsOf(options),
    };
  }
  if ('exists' in match) {
    const wanted = match.exists;
    if (typeof wanted !== 'boolean') fail(`the match on ${path} needs \`exists\` to be a boolean`);
    return {
      keys,
      path,
      test: (value) => (value !== undefined) === wanted,
      description: wanted ? `${path} exists` : `${path} does not exist`,
      scalars: undefined,
    };
  }
  const { matches, flags = '' } = match;
  if (typeof matches !== 'string' || typeof flags !== 'string') {
    fail(`the match on ${path} needs \`matches\` (and \`flags\`) to be strings`);
  }
  // A global or sticky expression keeps state between tests: the same value could match once
  // and not the next time.
  if (/[gy]/.test(flags)) fail(`the match on ${path} may not use the g or y flags`);
  let pattern: RegExp;
  try {
    pattern = new RegExp(matches, flags);
  } catch (cause) {
    throw new RoutingRuleError(ruleId, `the pattern of the match on ${path} is invalid`, { cause });
  }
  return {
    keys,
    path,
    test: (value) => typeof value === 'string' && pattern.test(value),
    description: `${path} matches ${String(pattern)}`,
    scalars: undefined,
  };
}
