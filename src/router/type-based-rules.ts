import { RoutingRuleError } from '../errors.js';
import { type CompiledRule, compileTypeRule } from './compile-rule.js';
import type { RoutingTarget } from './routing-target.js';

/** The type rules of a router: what users see, and what the router runs. @internal */
export interface TypeBasedRules {
  /** The object users read and write (`rules['TaskContext'] = target`, `delete rules[…]`). */
  readonly view: Record<string, RoutingTarget>;
  /** The compiled rule of each context type (a null-prototype object). */
  readonly compiled: Readonly<Record<string, CompiledRule>>;
}

/**
 * Type rules as a plain-looking object: a Proxy whose writes are checked (`compileTypeRule`),
 * stored frozen, and reported through `onChange` so the router can drop its cached decisions.
 * Reads, `Object.keys`, `in` and spreading behave as on a plain object. @internal
 */
export function createTypeBasedRules(onChange: () => void): TypeBasedRules {
  const targets: Record<string, RoutingTarget> = Object.create(null);
  const compiled: Record<string, CompiledRule> = Object.create(null);
  const put = (key: string | symbol, value: unknown): boolean => {
    if (typeof key === 'symbol') return false;
    const rule = compileTypeRule(key, value);
    targets[key] = rule.target;
    compiled[key] = rule;
    onChange();
    return true;
  };
  const view = new Proxy(targets, {
    set: (_target, key, value) => put(key, value),
    defineProperty: (_target, key, descriptor) => {
      if (!('value' in descriptor)) {
        throw new RoutingRuleError(`type:${String(key)}`, 'a type rule must be a plain value');
      }
      return put(key, descriptor.value);
    },
    deleteProperty: (_target, key) => {
      if (typeof key === 'symbol' || !(key in targets)) return true;
      delete targets[key];
      delete compiled[key];
      onChange();
      return true;
    },
  });
  return { view, compiled };
}
