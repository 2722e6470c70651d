export { FALLBACK_RULE_ID } from './compile-rule.js';
export {
  ContextRouter,
  type ContextRouterOptions,
  type RouterCacheStats,
} from './context-router.js';
export { getContextRouter } from './get-context-router.js';
export type {
  AvailableTarget,
  ContentMatch,
  ContentPredicate,
  ContentRule,
  RouteDecision,
  RouteExplanation,
  RouteOptions,
  RuleOutcome,
  RuleVerdict,
  SystemState,
  TargetRef,
} from './routing-rule.js';
export type {
  RoutingTarget,
  RoutingTargetType,
  TargetCallHelpers,
  ToolTarget,
} from './routing-target.js';
