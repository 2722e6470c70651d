import type { AnyContext, Context } from '../context/context.js';
import { assertContextShape } from '../context/parse-context.js';
import { NoRouteError, RoutingRuleError } from '../errors.js';
import { assertAvailableTargetsShape } from './available-targets.js';
import {
  type CompiledRule,
  compileContentRule,
  compileFallback,
  ruleMatches,
} from './compile-rule.js';
import { LruCache } from './lru-cache.js';
import {
  availability,
  compilePlan,
  decision,
  evaluatePlan,
  type Plan,
  planCacheKey,
} from './route-plan.js';
import type {
  ContentRule,
  RouteDecision,
  RouteExplanation,
  RouteOptions,
  RuleOutcome,
  RuleVerdict,
} from './routing-rule.js';
import type { RoutingTarget } from './routing-target.js';
import { createTypeBasedRules, type TypeBasedRules } from './type-based-rules.js';

const MAX_PLANS = 1000;

/** Frozen contexts whose shape was checked: a frozen object's fields cannot change. */
const wellFormedContexts = new WeakSet<object>();

/**
 * Checks what every routing call takes: `context` must have a context's shape
 * (`ContextValidationError` listing the problems), and `availableTargets`, when given, be an
 * array of ids and `{ targetType, targetId }` (`TypeError` naming it).
 */
function checkRouteCall(context: unknown, options: RouteOptions): asserts context is Context {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    const got = options === null ? 'null' : Array.isArray(options) ? 'an array' : typeof options;
    throw new TypeError(`options must be an object (RouteOptions) or undefined, not ${got}`);
  }
  if (!wellFormedContexts.has(context as object)) {
    assertContextShape(context);
    if (Object.isFrozen(context)) wellFormedContexts.add(context as object);
  }
  if (options.availableTargets !== undefined) {
    assertAvailableTargetsShape(options.availableTargets, 'availableTargets');
  }
}

/** Options of {@link ContextRouter}. */
export interface ContextRouterOptions {
  /** Type rules to start with, as if set one by one on `typeBasedRules`. Default: none. */
  readonly typeBasedRules?: Readonly<Record<string, RoutingTarget>>;
  /** Content rules to start with, added in this order. Default: none. */
  readonly rules?: readonly ContentRule[];
  /** Where a context goes when no rule sends it to an available target. Default: none. */
  readonly fallback?: RoutingTarget;
  /** Most decisions kept in the cache (least recently used go first); 0 turns it off. Default: 10,000. */
  readonly cacheSize?: number;
}

/** How often the decision cache answered. */
export interface RouterCacheStats {
  readonly size: number;
  readonly hits: number;
  readonly misses: number;
}

interface CacheEntry {
  /** Frozen, with `cached: true`; `undefined`: no route. */
  readonly decision: RouteDecision | undefined;
  /** For decisions keyed by context id: the very context they were made for. */
  readonly context: Context | undefined;
}

/**
 * The seed's `ContextRouter`: decides where a context goes (an agent, a tool, a worker pool) by
 * rules on its type and its content.
 *
 * **Rules.** A type rule per context type (`typeBasedRules`, settable at runtime as in the seed),
 * content rules (`addRule`: a declarative match on the context's data, or a predicate), and a
 * `fallback`. Every rule has a priority. **Order** in which rules are tried, first match wins:
 * 1. higher priority first;
 * 2. at equal priority, content rules before the type rule (the more specific test wins);
 * 3. at equal priority among content rules, the one added first;
 * 4. the fallback last, whatever its priority.
 *
 * A rule whose target is not among `availableTargets` falls through to the next one; so does the
 * fallback (then there is no route).
 *
 * **Speed.** Content rules with one `equals` or `in` match on scalars are looked up by the value
 * at their path (a hash lookup, however many such rules there are); the other rules are tested
 * one by one, each path read once per decision.
 *
 * **Cache.** Decisions are cached (least recently used go first, `cacheSize`). Every rule
 * change (a type rule set or deleted, `addRule`, `removeRule`, a new `fallback`) bumps
 * `rulesVersion` and empties the cache.
 * A decision is keyed by what it depends on, and by the available targets: the context type when
 * only the type rule applies; the type and the values the declarative rules read otherwise; and,
 * when a predicate rule applies to the type, the context id, answered from the cache only for the
 * very same (immutable) context object. A call with `currentSystemState` skips the cache.
 *
 * @example
 * ```ts
 * const router = await getContextRouter();
 * router.typeBasedRules['TaskContext'] = { targetType: 'agent_type', targetId: 'planner', priority: 1 };
 * router.addRule({
 *   id: 'urgent', priority: 5, when: { path: 'data.priority', equals: 'high' },
 *   target: { targetType: 'worker_pool', targetId: 'fast_lane' },
 * });
 * const route = await router.determineRoute(context, { availableTargets: ['planner', 'fast_lane'] });
 * router.decide(context)?.reason; // 'content rule urgent: data.priority equals "high"'
 * ```
 */
export class ContextRouter {
  /**
   * The type rules, keyed by context type: set one with
   * `router.typeBasedRules['TaskContext'] = { targetType, targetId, priority }`, remove it with
   * `delete`. A write is checked (`RoutingRuleError`, `InvalidIdError` for a bad id) and stored
   * frozen; it empties the decision cache.
   */
  readonly typeBasedRules: Record<string, RoutingTarget>;

  readonly #typeRules: TypeBasedRules;
  /** Content rules by id, in the order added. */
  readonly #contentRules = new Map<string, CompiledRule>();
  /** Content rules in the order they are tried; `undefined` until needed after a change. */
  #sortedContentRules: CompiledRule[] | undefined;
  #fallback: CompiledRule | undefined;
  #rulesVersion = 0;
  readonly #plans = new Map<string, Plan>();
  readonly #cache: LruCache<string, CacheEntry>;
  readonly #cacheSize: number;
  #hits = 0;
  #misses = 0;

  constructor(options: ContextRouterOptions = {}) {
    const cacheSize = options.cacheSize ?? 10_000;
    if (!(cacheSize >= 0)) throw new RangeError(`cacheSize must be 0 or more, not ${cacheSize}`);
    this.#cacheSize = cacheSize;
    this.#cache = new LruCache(cacheSize);
    this.#typeRules = createTypeBasedRules(() => this.#changed());
    this.typeBasedRules = this.#typeRules.view;
    Object.assign(this.typeBasedRules, options.typeBasedRules);
    for (const rule of options.rules ?? []) this.addRule(rule);
    if (options.fallback !== undefined) this.fallback = options.fallback;
  }

  /** Where a context goes when no rule sends it to an available target; `undefined`: nowhere. */
  get fallback(): RoutingTarget | undefined {
    return this.#fallback?.target;
  }

  set fallback(target: RoutingTarget | undefined) {
    this.#fallback = target === undefined ? undefined : compileFallback(target);
    this.#changed();
  }

  /** The content rules, frozen, in the order they are tried. */
  get rules(): readonly ContentRule[] {
    return this.#sortedRules().map((rule) => rule.source as ContentRule);
  }

  /** Bumped by every rule change; a decision is only ever cached under the version it was made by. */
  get rulesVersion(): number {
    return this.#rulesVersion;
  }

  /**
   * Adds a content rule. Throws {@link RoutingRuleError} for a duplicate id, a bad priority,
   * target type, path or pattern, and `InvalidIdError` for a bad rule, target or type id.
   */
  addRule(rule: ContentRule): void {
    const compiled = compileContentRule(rule);
    if (this.#contentRules.has(compiled.id)) {
      throw new RoutingRuleError(compiled.id, 'a rule with this id exists; remove it first');
    }
    this.#contentRules.set(compiled.id, compiled);
    this.#changed();
  }

  /** Removes a content rule; whether there was one with this id. */
  removeRule(id: string): boolean {
    const removed = this.#contentRules.delete(id);
    if (removed) this.#changed();
    return removed;
  }

  /**
   * Where `context` goes (the seed's `determine_route`): the target of the first rule that
   * matches and is available, the fallback, or `undefined`. The async twin of {@link decide}
   * (it rejects where `decide` throws).
   */
  async determineRoute(
    context: AnyContext,
    options: RouteOptions = {},
  ): Promise<RoutingTarget | undefined> {
    return this.decide(context, options)?.target;
  }

  /**
   * Where `context` goes and why, synchronously (usable in XState actions): the first rule, in
   * the documented order, that matches and whose target is available, else the available
   * fallback, else `undefined`. Pure in the context: the same context, rules and options give
   * the same decision, whether from the cache (`cached: true`) or not.
   *
   * Throws `ContextValidationError` when `context` does not have a context's shape (`null`,
   * `{}`…), `TypeError` when `availableTargets` is not an array of ids and
   * `{ targetType, targetId }`, and {@link RoutingRuleError} when the predicate of a rule it
   * tests throws (it tests no rule after the chosen one, nor one whose target is unavailable).
   */
  decide(context: AnyContext, options: RouteOptions = {}): RouteDecision | undefined {
    checkRouteCall(context, options);
    const plan = this.#planFor(context.contextType);
    if (options.currentSystemState !== undefined || this.#cacheSize === 0) {
      return evaluatePlan(plan, context, options, this.#fallback);
    }
    const key = planCacheKey(plan, context, options.availableTargets);
    const hit = this.#cache.get(key);
    if (hit !== undefined && (hit.context === undefined || hit.context === context)) {
      this.#hits += 1;
      return hit.decision;
    }
    this.#misses += 1;
    const made = evaluatePlan(plan, context, options, this.#fallback);
    const cached = made && Object.freeze({ ...made, cached: true });
    this.#cache.set(key, {
      decision: cached,
      context: plan.keyBy === 'context' ? context : undefined,
    });
    return made;
  }

  /**
   * {@link decide}, but a context with no route throws {@link NoRouteError} (naming its type, its
   * id and how many rules were tried) instead of answering `undefined`. Throws what `decide`
   * throws.
   */
  route(context: AnyContext, options: RouteOptions = {}): RouteDecision {
    const made = this.decide(context, options);
    if (made !== undefined) return made;
    const tried = this.#planFor(context.contextType).rules.length + (this.#fallback ? 1 : 0);
    throw new NoRouteError(context.contextType, context.contextId, tried);
  }

  /**
   * Why `context` goes where it goes: every rule that applies to its type, in the order tried,
   * with what became of it (chosen, outranked, unavailable, no-match, errored), then the
   * fallback. Tests every rule (no short cut, no cache); its `decision` is what `decide`
   * answers, and it throws what `decide` throws, no more: a rule `decide` does not test (after
   * the chosen one, or with an unavailable target) whose predicate throws is reported as
   * `errored`, with the predicate's error message in `error`.
   */
  explain(context: AnyContext, options: RouteOptions = {}): RouteExplanation {
    checkRouteCall(context, options);
    const plan = this.#planFor(context.contextType);
    const isAvailable = availability(options.availableTargets);
    const considered: RuleVerdict[] = [];
    let chosen: CompiledRule | undefined;
    const verdict = (rule: CompiledRule, outcome: RuleOutcome, error?: string): RuleVerdict => ({
      ruleId: rule.id,
      kind: rule.kind,
      priority: rule.priority,
      target: { targetType: rule.target.targetType, targetId: rule.target.targetId },
      outcome,
      test: rule.test,
      ...(error === undefined ? {} : { error }),
    });
    for (const rule of plan.rules) {
      const available = isAvailable(rule);
      if (available && chosen === undefined) {
        // A rule decide tests: what its predicate throws, decide throws too.
        const matched = ruleMatches(rule, context, options.currentSystemState);
        if (matched) chosen = rule;
        considered.push(verdict(rule, matched ? 'chosen' : 'no-match'));
        continue;
      }
      let matched: boolean;
      try {
        matched = ruleMatches(rule, context, options.currentSystemState);
      } catch (error) {
        if (!(error instanceof RoutingRuleError)) throw error;
        const cause = error.cause;
        considered.push(
          verdict(rule, 'errored', cause instanceof Error ? cause.message : String(cause)),
        );
        continue;
      }
      const outcome = !matched ? 'no-match' : available ? 'outranked' : 'unavailable';
      considered.push(verdict(rule, outcome));
    }
    const fallback = this.#fallback;
    if (fallback !== undefined) {
      let outcome: RuleOutcome = 'not-needed';
      if (chosen === undefined) {
        outcome = isAvailable(fallback) ? 'chosen' : 'unavailable';
        if (outcome === 'chosen') chosen = fallback;
      }
      considered.push(verdict(fallback, outcome));
    }
    return { decision: chosen && decision(chosen, false), considered };
  }

  /** Forgets every cached decision (rule changes do this by themselves). */
  clearCache(): void {
    this.#cache.clear();
  }

  /** The decision cache's size, and how often it answered since the router was made. */
  cacheStats(): RouterCacheStats {
    return { size: this.#cache.size, hits: this.#hits, misses: this.#misses };
  }

  #changed(): void {
    this.#rulesVersion += 1;
    this.#sortedContentRules = undefined;
    this.#plans.clear();
    this.#cache.clear();
  }

  #sortedRules(): CompiledRule[] {
    // Map order is insertion order and Array#sort is stable: ties keep the order added.
    this.#sortedContentRules ??= [...this.#contentRules.values()].sort(
      (a, b) => b.priority - a.priority,
    );
    return this.#sortedContentRules;
  }

  #planFor(contextType: string): Plan {
    let plan = this.#plans.get(contextType);
    if (plan === undefined) {
      plan = compilePlan(contextType, this.#sortedRules(), this.#typeRules.compiled[contextType]);
      if (this.#plans.size >= MAX_PLANS) this.#plans.clear();
      this.#plans.set(contextType, plan);
    }
    return plan;
  }
}
