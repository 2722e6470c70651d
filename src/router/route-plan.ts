import type { Context } from '../context/context.js';
import type { JsonValue } from '../json.js';
import { anyTargetKey, type CompiledRule, exactTargetKey, ruleMatches } from './compile-rule.js';
import { type CompiledMatch, type Scalar, valueAt } from './content-match.js';
import type { AvailableTarget, RouteDecision, RouteOptions } from './routing-rule.js';

/** The rules that apply to one context type, in the order they are tried. @internal */
export interface Plan {
  readonly rules: readonly CompiledRule[];
  /**
   * What a cached decision depends on: the type only (no content rule applies), the values at
   * `paths` (declarative content rules only), or the context itself (a predicate applies).
   */
  readonly keyBy: 'type' | 'paths' | 'context';
  readonly paths: readonly (readonly string[])[];
  /** For each rule of `rules`, the index in `paths` of each of its matches (declarative rules). */
  readonly slots: readonly (readonly number[] | undefined)[];
  /**
   * Rules with one `equals`/`in` match on scalars, looked up by the value at their path: for a
   * path (by index in `paths`), each value's rules (indexes in `rules`, ascending).
   */
  readonly index: readonly { readonly slot: number; readonly byValue: Map<Scalar, number[]> }[];
  /** Every other rule (indexes in `rules`, ascending): tested one by one. */
  readonly scan: readonly number[];
}

const ALL_AVAILABLE = '\u0002';
const UNREAD: unique symbol = Symbol('unread');

/** Signatures of frozen `availableTargets` arrays (they cannot change, so one is enough). */
const frozenSignatures = new WeakMap<readonly AvailableTarget[], string>();

function availabilityKeys(targets: readonly AvailableTarget[]): string[] {
  return targets.map((t) =>
    typeof t === 'string' ? anyTargetKey(t) : exactTargetKey(t.targetType, t.targetId),
  );
}

/** The part of a cache key that stands for `availableTargets`. */
function availabilitySignature(targets: readonly AvailableTarget[] | undefined): string {
  if (targets === undefined) return ALL_AVAILABLE;
  const known = frozenSignatures.get(targets);
  if (known !== undefined) return known;
  let signature = '';
  for (const t of targets) {
    // Length-prefixed, so no id (even one with control characters) can pass for two.
    signature +=
      typeof t === 'string'
        ? `*${t.length}:${t}`
        : `${t.targetType.length}:${t.targetType}${t.targetId.length}:${t.targetId}`;
  }
  if (
    Object.isFrozen(targets) &&
    targets.every((t) => typeof t === 'string' || Object.isFrozen(t))
  ) {
    frozenSignatures.set(targets, signature);
  }
  return signature;
}

/**
 * A JSON value as a self-delimiting string: a run of these decodes one way only, so two keys
 * are equal exactly when every value is (object key order aside, which only costs a miss).
 */
function encodeValue(value: JsonValue | undefined): string {
  switch (typeof value) {
    case 'string':
      return `s${value.length}:${value}`;
    case 'number':
      return `n${value};`;
    case 'boolean':
      return value ? 't' : 'f';
    case 'undefined':
      return 'u';
    default: {
      if (value === null) return 'z';
      const text = JSON.stringify(value);
      return `j${text.length}:${text}`;
    }
  }
}

/** A frozen decision by `rule`. @internal */
export function decision(rule: CompiledRule, cached: boolean): RouteDecision {
  return Object.freeze({ target: rule.target, ruleId: rule.id, reason: rule.reason, cached });
}

/**
 * The plan of one context type: its content rules (from `sortedContentRules`, in the order
 * tried) and its type rule, placed after every content rule of its priority or higher.
 * @internal
 */
export function compilePlan(
  contextType: string,
  sortedContentRules: readonly CompiledRule[],
  typeRule: CompiledRule | undefined,
): Plan {
  const rules: CompiledRule[] = [];
  const paths = new Map<string, readonly string[]>();
  let predicate = false;
  let typeRulePlaced = typeRule === undefined;
  for (const rule of sortedContentRules) {
    if (rule.contextType !== undefined && rule.contextType !== contextType) continue;
    // The type rule goes after every content rule of its priority or higher.
    if (!typeRulePlaced && typeRule !== undefined && rule.priority < typeRule.priority) {
      rules.push(typeRule);
      typeRulePlaced = true;
    }
    rules.push(rule);
    if (rule.predicate !== undefined) predicate = true;
    for (const match of rule.matches ?? []) paths.set(match.path, match.keys);
  }
  if (!typeRulePlaced && typeRule !== undefined) rules.push(typeRule);
  const keyBy = predicate ? 'context' : paths.size > 0 ? 'paths' : 'type';
  const slotOf = new Map([...paths.keys()].map((path, slot) => [path, slot]));
  const slots = rules.map((rule) => rule.matches?.map((match) => slotOf.get(match.path) ?? 0));
  const bySlot = new Map<number, Map<Scalar, number[]>>();
  const scan: number[] = [];
  rules.forEach((rule, i) => {
    const only = rule.matches?.length === 1 ? rule.matches[0] : undefined;
    if (only?.scalars === undefined) {
      scan.push(i);
      return;
    }
    const slot = slotOf.get(only.path) ?? 0;
    let byValue = bySlot.get(slot);
    if (byValue === undefined) {
      byValue = new Map();
      bySlot.set(slot, byValue);
    }
    for (const scalar of only.scalars) {
      const list = byValue.get(scalar);
      if (list === undefined) byValue.set(scalar, [i]);
      else if (list[list.length - 1] !== i) list.push(i);
    }
  });
  const index = [...bySlot].map(([slot, byValue]) => ({ slot, byValue }));
  return { rules, keyBy, paths: [...paths.values()], slots, index, scan };
}

/** The decision cache's key for `context` under `plan` (see `ContextRouter`, Cache). @internal */
export function planCacheKey(
  plan: Plan,
  context: Context,
  availableTargets: readonly AvailableTarget[] | undefined,
): string {
  // Type names and context ids are valid ids, free of control characters, and the other
  // parts are self-delimiting: no two different decisions can share a key.
  const available = availabilitySignature(availableTargets);
  if (plan.keyBy === 'type') return `t\u0000${context.contextType}\u0000${available}`;
  if (plan.keyBy === 'context') return `c\u0000${context.contextId}\u0000${available}`;
  let values = '';
  for (const keys of plan.paths) values += encodeValue(valueAt(context, keys));
  return `p\u0000${context.contextType}\u0000${values}\u0000${available}`;
}

/** Whether a rule's target is among `availableTargets` (all are when it is not given). @internal */
export function availability(
  availableTargets: readonly AvailableTarget[] | undefined,
): (rule: CompiledRule) => boolean {
  if (availableTargets === undefined) return () => true;
  const keys = new Set(availabilityKeys(availableTargets));
  return (rule) => keys.has(rule.anyKey) || keys.has(rule.exactKey);
}

/**
 * The first rule, in order, that is available and matches: indexed rules are found by the
 * values at their paths, the others tested one by one, and both walked together in order.
 */
export function evaluatePlan(
  plan: Plan,
  context: Context,
  options: RouteOptions,
  fallback: CompiledRule | undefined,
): RouteDecision | undefined {
  const isAvailable = availability(options.availableTargets);
  const { rules, slots, paths, index, scan } = plan;
  // Values at the paths, read once per decision however many rules test them.
  const values: (JsonValue | undefined | typeof UNREAD)[] = new Array(paths.length).fill(UNREAD);
  const read = (slot: number): JsonValue | undefined => {
    let value = values[slot];
    if (value === UNREAD) {
      value = valueAt(context, paths[slot] as readonly string[]);
      values[slot] = value;
    }
    return value;
  };
  const found: number[] = [];
  for (const { slot, byValue } of index) {
    const value = read(slot);
    if (value === undefined || (value !== null && typeof value === 'object')) continue;
    const hits = byValue.get(value);
    if (hits !== undefined) for (const i of hits) found.push(i);
  }
  if (index.length > 1) found.sort((a, b) => a - b);
  let f = 0;
  let s = 0;
  while (f < found.length || s < scan.length) {
    const fromIndex =
      s >= scan.length || (f < found.length && (found[f] as number) < (scan[s] as number));
    const i = (fromIndex ? found[f++] : scan[s++]) as number;
    const rule = rules[i] as CompiledRule;
    // Availability first: it is cheap, and a predicate is not called for a target that
    // cannot be used anyway (the answer is the same either way).
    if (!isAvailable(rule)) continue;
    if (fromIndex) return decision(rule, false); // found by its value: it matches
    const ruleSlots = slots[i];
    const matches = rule.matches;
    if (ruleSlots === undefined || matches === undefined) {
      if (ruleMatches(rule, context, options.currentSystemState)) return decision(rule, false);
      continue;
    }
    let matched = true;
    for (let m = 0; m < matches.length && matched; m++) {
      matched = (matches[m] as CompiledMatch).test(read(ruleSlots[m] as number));
    }
    if (matched) return decision(rule, false);
  }
  return fallback !== undefined && isAvailable(fallback) ? decision(fallback, false) : undefined;
}
