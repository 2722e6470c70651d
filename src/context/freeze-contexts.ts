import { isPlainObject } from '../objects.js';
import { deepFreeze } from './deep-freeze.js';

/**
 * Whether `value` has the shape of a context: string `contextId` and `contextType`, a `data`
 * field and an object `metadata`. A quick test of shape for walking stored snapshots (it checks
 * neither ids nor JSON; see `isContext`).
 * @internal
 */
export function looksLikeContext(value: object): boolean {
  const v = value as Record<string, unknown>;
  return (
    typeof v.contextId === 'string' &&
    typeof v.contextType === 'string' &&
    Object.hasOwn(v, 'data') &&
    typeof v.metadata === 'object' &&
    v.metadata !== null
  );
}

/**
 * Deep-freezes every context in `value` (a restored snapshot, say), as `createContext` freezes
 * the contexts of a live run: a context read back from a checkpoint is plain JSON, and a step or
 * merge that changed one in place would change what the run holds, where a live run's context
 * refuses the change. Walks arrays and plain objects without recursion (`value` is JSON, which
 * has no cycles), and enters neither contexts (they are frozen whole), objects already frozen,
 * nor anything else (class instances). Returns `value`.
 * @internal
 */
export function freezeContextsIn<T>(value: T): T {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const current = stack.pop();
    if (current === null || typeof current !== 'object' || Object.isFrozen(current)) continue;
    if (!Array.isArray(current) && !isPlainObject(current)) continue;
    if (looksLikeContext(current)) deepFreeze(current);
    else for (const child of Object.values(current)) stack.push(child);
  }
  return value;
}
