export type {
  RoutingTarget,
  RoutingTargetType,
  TargetCallHelpers,
  ToolTarget,
} from './routing-target.js';
