import { ContextRouter } from './context-router.js';

let shared: Promise<ContextRouter> | undefined;

/**
 * The shared {@link ContextRouter} (the seed's `get_context_router()`): every call, including
 * concurrent first calls, resolves to the same instance, so rules set through one caller route
 * everyone's contexts. Make a private one with `new ContextRouter(options)`.
 *
 * @example
 * ```ts
 * const router = await getContextRouter();
 * router.typeBasedRules['TaskContext'] = { targetType: 'agent_type', targetId: 'planner', priority: 1 };
 * ```
 */
export function getContextRouter(): Promise<ContextRouter> {
  shared ??= Promise.resolve(new ContextRouter());
  return shared;
}
