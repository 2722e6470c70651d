import type { Context } from '../context/context.js';
import { deepFreeze } from '../context/deep-freeze.js';
import { RoutingRuleError } from '../errors.js';
import { assertValidId } from '../ids.js';
import { cloneJson, type JsonValue } from '../json.js';
import { type CompiledMatch, compileMatch, valueAt } from './content-match.js';
import type {
  ContentMatch,
  ContentPredicate,
  ContentRule,
  SystemState,
  TargetRef,
} from './routing-rule.js';
import type { RoutingTarget, RoutingTargetType } from './routing-target.js';

/** The id of the fallback route in decisions and explanations. */
export const FALLBACK_RULE_ID = 'fallback';

/** The target types a rule may name. @internal */
export const TARGET_TYPES: ReadonlySet<string> = new Set<RoutingTargetType>([
  'agent_type',
  'tool',
  'worker_pool',
]);

/** A rule made ready to run: a content rule, a type rule or the fallback. @internal */
export interface CompiledRule {
  readonly id: string;
  readonly kind: 'content' | 'type' | 'fallback';
  readonly priority: number;
  /** Frozen; `priority` is the rule's. */
  readonly target: RoutingTarget;
  /** Availability keys of the target: by id alone, and by type and id. */
  readonly anyKey: string;
  readonly exactKey: string;
  /** Only for contexts of this type (content rules); `undefined`: any. */
  readonly contextType: string | undefined;
  /** Declarative matches, all must hold; `undefined` for a predicate or a type rule. */
  readonly matches: readonly CompiledMatch[] | undefined;
  readonly predicate: ContentPredicate | undefined;
  /** What it tests, e.g. `type TaskContext`, `data.kind equals "x"`. */
  readonly test: string;
  /** The reason a decision by this rule gives. */
  readonly reason: string;
  /** The rule as given (content rules), frozen. */
  readonly source: ContentRule | undefined;
}

/** Availability key of a target id, whatever the type. @internal */
export function anyTargetKey(targetId: string): string {
  return `*\u0000${targetId}`;
}

/** Availability key of a target type and id. @internal */
export function exactTargetKey(targetType: string, targetId: string): string {
  return `${targetType}\u0000${targetId}`;
}

function checkPriority(ruleId: string, priority: unknown): number {
  if (typeof priority !== 'number' || !Number.isFinite(priority)) {
    throw new RoutingRuleError(ruleId, 'its priority must be a finite number');
  }
  return priority;
}

function checkTarget(ruleId: string, target: unknown, priority: number): RoutingTarget {
  if (target === null || typeof target !== 'object') {
    throw new RoutingRuleError(ruleId, 'its target must be { targetType, targetId }');
  }
  const { targetType, targetId } = target as Partial<TargetRef>;
  if (typeof targetType !== 'string' || !TARGET_TYPES.has(targetType)) {
    throw new RoutingRuleError(
      ruleId,
      `its targetType must be agent_type, tool or worker_pool, not ${JSON.stringify(targetType)}`,
    );
  }
  assertValidId('target', targetId);
  return Object.freeze({ targetType: targetType as RoutingTargetType, targetId, priority });
}

function withKeys(rule: Omit<CompiledRule, 'anyKey' | 'exactKey'>): CompiledRule {
  const { targetType, targetId } = rule.target;
  return {
    ...rule,
    anyKey: anyTargetKey(targetId),
    exactKey: exactTargetKey(targetType, targetId),
  };
}

/**
 * Checks a type rule (`typeBasedRules[contextType] = target`) and compiles it; throws
 * `InvalidIdError` for a bad context type or target id, {@link RoutingRuleError} otherwise.
 * @internal
 */
export function compileTypeRule(contextType: string, target: unknown): CompiledRule {
  assertValidId('context type', contextType);
  const id = `type:${contextType}`;
  const priority = checkPriority(id, (target as Partial<RoutingTarget> | null)?.priority);
  const test = `type ${contextType}`;
  return withKeys({
    id,
    kind: 'type',
    priority,
    target: checkTarget(id, target, priority),
    contextType,
    matches: undefined,
    predicate: undefined,
    test,
    reason: test,
    source: undefined,
  });
}

/** Checks and compiles the fallback route. @internal */
export function compileFallback(target: unknown): CompiledRule {
  const priority = checkPriority(
    FALLBACK_RULE_ID,
    (target as Partial<RoutingTarget> | null)?.priority,
  );
  return withKeys({
    id: FALLBACK_RULE_ID,
    kind: 'fallback',
    priority,
    target: checkTarget(FALLBACK_RULE_ID, target, priority),
    contextType: undefined,
    matches: undefined,
    predicate: undefined,
    test: 'no rule sent it anywhere',
    reason: 'fallback',
    source: undefined,
  });
}

/** Checks a content rule and compiles it (see {@link ContentRule} for what is refused). @internal */
export function compileContentRule(rule: ContentRule): CompiledRule {
  if (rule === null || typeof rule !== 'object') {
    throw new RoutingRuleError('(none)', 'a rule must be an object');
  }
  const { id, when, contextType, description } = rule;
  assertValidId('routing rule', id);
  if (id === FALLBACK_RULE_ID) {
    throw new RoutingRuleError(id, `the id ${FALLBACK_RULE_ID} is kept for the fallback route`);
  }
  const priority = checkPriority(id, rule.priority ?? 0);
  const target = checkTarget(id, rule.target, priority);
  if (contextType !== undefined) assertValidId('context type', contextType);
  if (description !== undefined && typeof description !== 'string') {
    throw new RoutingRuleError(id, 'its description must be a string');
  }
  let matches: CompiledMatch[] | undefined;
  let predicate: ContentPredicate | undefined;
  if (typeof when === 'function') {
    predicate = when;
  } else if (Array.isArray(when)) {
    if (when.length === 0) throw new RoutingRuleError(id, 'its list of matches is empty');
    matches = when.map((match) => compileMatch(id, match));
  } else {
    matches = [compileMatch(id, when as ContentMatch)];
  }
  const test =
    description ?? (matches ? matches.map((m) => m.description).join(' and ') : 'predicate');
  const source: ContentRule = Object.freeze({
    ...rule,
    priority,
    target: Object.freeze({ targetType: target.targetType, targetId: target.targetId }),
    // A copy: changing the caller's match objects later must not change the rule unseen.
    when:
      predicate ?? deepFreeze(cloneJson(when as unknown as JsonValue) as unknown as ContentMatch),
  });
  return withKeys({
    id,
    kind: 'content',
    priority,
    target,
    contextType,
    matches,
    predicate,
    test,
    reason: `content rule ${id}: ${test}`,
    source,
  });
}

/**
 * Whether a content or type rule matches `context` (a type rule is only compiled into the plans
 * of its own type, so it always does). A predicate that throws becomes a
 * {@link RoutingRuleError} naming the rule. @internal
 */
export function ruleMatches(
  rule: CompiledRule,
  context: Context,
  state: SystemState | undefined,
): boolean {
  const { matches, predicate } = rule;
  if (matches !== undefined) {
    for (const match of matches) {
      if (!match.test(valueAt(context, match.keys))) return false;
    }
    return true;
  }
  if (predicate === undefined) return true;
  try {
    return predicate(context, state) === true;
  } catch (cause) {
    throw new RoutingRuleError(rule.id, `its predicate threw while routing ${context.contextId}`, {
      cause,
    });
  }
}
