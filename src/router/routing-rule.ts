import type { Context } from '../context/context.js';
import type { JsonValue } from '../json.js';
import type { RoutingTarget, RoutingTargetType } from './routing-target.js';

/** A target without a priority: where a content rule sends a context (the rule has the priority). */
export interface TargetRef {
  readonly targetType: RoutingTargetType;
  /** A valid storage id (`assertValidId`). */
  readonly targetId: string;
}

/**
 * What the caller knows about the rest of the system (the seed's `current_system_state`), passed
 * to predicate rules. Decisions made with one are never cached.
 */
export type SystemState = Readonly<Record<string, unknown>>;

/**
 * A declarative test on one value of the context, found by `path`: dot-separated keys from the
 * context, starting with `data`, `metadata`, `contextType` or `contextId` (`'data.order.kind'`;
 * a number indexes an array: `'data.items.0'`). Exactly one of `equals`, `in`, `exists`,
 * `matches` is given. Declarative rules are JSON, and their decisions are cached by the values
 * they read.
 */
export type ContentMatch =
  | {
      readonly path: string;
      /** The value there is deep-equal to this JSON value. */
      readonly equals: JsonValue;
    }
  | {
      readonly path: string;
      /** The value there is deep-equal to one of these. */
      readonly in: readonly JsonValue[];
    }
  | {
      readonly path: string;
      /** `true`: there is a value there (`null` counts); `false`: there is none. */
      readonly exists: boolean;
    }
  | {
      readonly path: string;
      /** The value there is a string matching this regular expression (its source). */
      readonly matches: string;
      /** Flags of the regular expression, e.g. `'i'`. Default: none. */
      readonly flags?: string;
    };

/**
 * A content test written as code. It must be pure: same context (and state) in, same answer out.
 * Its decisions are cached per context id (contexts are immutable and ids unique), only when the
 * very same context object is routed again.
 */
export type ContentPredicate = (context: Context, currentSystemState?: SystemState) => boolean;

/** A content-based rule for {@link ContextRouter.addRule}. */
export interface ContentRule {
  /** Unique among the router's content rules; a valid id, not `fallback`. */
  readonly id: string;
  /** Higher wins. Default: 0. */
  readonly priority?: number;
  /**
   * When the rule applies: one declarative match, several (all must hold), or a predicate.
   */
  readonly when: ContentMatch | readonly ContentMatch[] | ContentPredicate;
  /** Where a matching context goes. */
  readonly target: TargetRef;
  /** Only contexts of this type are tested. Default: every type. */
  readonly contextType?: string;
  /** Human words for a predicate, shown in reasons and explanations. Default: `'predicate'`. */
  readonly description?: string;
}

/**
 * A target the caller can use now: a target id (any target type), or a target type and id. Any
 * {@link RoutingTarget} or `ToolTarget` fits.
 */
export type AvailableTarget = string | TargetRef;

/** Options of {@link ContextRouter.decide}, `route`, `explain` and `determineRoute`. */
export interface RouteOptions {
  /**
   * The targets that can take the context now; a rule whose target is not among them falls
   * through to the next rule. Anything but an array of ids and `{ targetType, targetId }` (with
   * string fields) is a `TypeError`. Part of the decision cache's key; a frozen array (of ids or
   * frozen objects) is read once, not at every call. Default: every target is available.
   */
  readonly availableTargets?: readonly AvailableTarget[];
  /** Passed to predicate rules; when given, the decision is neither read from nor put in the cache. Default: none. */
  readonly currentSystemState?: SystemState;
}

/** Why a context goes where it goes: the answer of {@link ContextRouter.decide}. JSON. */
export interface RouteDecision {
  readonly target: RoutingTarget;
  /** `type:<ContextType>` for a type rule, the rule's id for a content rule, or `fallback`. */
  readonly ruleId: string;
  /** For people: `'type TaskContext'`, `'content rule urgent: data.priority equals "high"'`, `'fallback'`. */
  readonly reason: string;
  /** Whether it came from the decision cache. */
  readonly cached: boolean;
}

/** What became of one rule in {@link ContextRouter.explain}. */
export type RuleOutcome =
  /** It matched, its target is available, and it was the first such rule: it decided. */
  | 'chosen'
  /** It matched and its target is available, but a rule before it was chosen. */
  | 'outranked'
  /** It matched, but its target is not among `availableTargets`. */
  | 'unavailable'
  /** It did not match the context. */
  | 'no-match'
  /** The fallback, not needed because a rule was chosen. */
  | 'not-needed'
  /**
   * Its predicate threw (see {@link RuleVerdict.error}), and `decide` does not test it: its
   * target is unavailable, or a rule before it was chosen. (A rule `decide` tests whose
   * predicate throws makes `explain` throw, as `decide` does.)
   */
  | 'errored';

/** One rule as {@link ContextRouter.explain} saw it. */
export interface RuleVerdict {
  readonly ruleId: string;
  readonly kind: 'content' | 'type' | 'fallback';
  readonly priority: number;
  readonly target: TargetRef;
  readonly outcome: RuleOutcome;
  /** What the rule tests, e.g. `'type TaskContext'`, `'data.priority equals "high"'`. */
  readonly test: string;
  /** Only with the outcome `errored`: the message of what its predicate threw. */
  readonly error?: string;
}

/** The answer of {@link ContextRouter.explain}: "why did this go there". */
export interface RouteExplanation {
  /** What `decide` answers for the same call (never from the cache). */
  readonly decision: RouteDecision | undefined;
  /**
   * The rules that apply to the context's type, in the order they are tried, then the fallback
   * if there is one.
   */
  readonly considered: readonly RuleVerdict[];
}
