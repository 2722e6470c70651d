import { assertValidId } from '../ids.js';
import { TARGET_TYPES } from './compile-rule.js';
import type { AvailableTarget } from './routing-rule.js';

/** Frozen arrays (of ids or frozen objects) already found well-formed: they cannot change. */
const wellFormed = new WeakSet<readonly AvailableTarget[]>();

function shown(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'string' ? JSON.stringify(value.slice(0, 80)) : typeof value;
}

/**
 * Checks that `value` is an `availableTargets` list: an array of target ids (strings) and
 * `{ targetType, targetId }` objects with string fields. Ids and target types are not checked
 * here: one that names no target only matches no rule. Throws `TypeError` naming `name` (and
 * `owner`, e.g. `Step s`, when given) and the bad item. A frozen array of ids or frozen objects
 * is checked once. @internal
 */
export function assertAvailableTargetsShape(
  value: unknown,
  name: string,
  owner?: string,
): asserts value is readonly AvailableTarget[] {
  if (wellFormed.has(value as readonly AvailableTarget[])) return;
  const at = owner === undefined ? name : `${owner}: ${name}`;
  if (!Array.isArray(value)) {
    throw new TypeError(
      `${at} must be an array of target ids or { targetType, targetId }, not ${shown(value)}`,
    );
  }
  let frozen = Object.isFrozen(value);
  for (let i = 0; i < value.length; i++) {
    const item: unknown = value[i];
    if (typeof item === 'string') continue;
    if (item === null || typeof item !== 'object' || Array.isArray(item)) {
      throw new TypeError(
        `${at}[${i}] must be a target id or { targetType, targetId }, not ${shown(item)}`,
      );
    }
    const { targetType, targetId } = item as Partial<Record<'targetType' | 'targetId', unknown>>;
    if (typeof targetType !== 'string') {
      throw new TypeError(`${at}[${i}].targetType must be a string, not ${shown(targetType)}`);
    }
    if (typeof targetId !== 'string') {
      throw new TypeError(`${at}[${i}].targetId must be a string, not ${shown(targetId)}`);
    }
    frozen &&= Object.isFrozen(item);
  }
  if (frozen) wellFormed.add(value);
}

/**
 * {@link assertAvailableTargetsShape}, then the checks a rule's target gets: a target type must
 * be `agent_type`, `tool` or `worker_pool` (else `TypeError`), and an id a valid id
 * (`InvalidIdError`, its kind naming `owner`, `name` and the item). For options checked once,
 * when they are given (a routed step's `route.availableTargets`). @internal
 */
export function assertAvailableTargets(
  value: unknown,
  name: string,
  owner?: string,
): asserts value is readonly AvailableTarget[] {
  assertAvailableTargetsShape(value, name, owner);
  const at = owner === undefined ? name : `${owner}: ${name}`;
  value.forEach((item, i) => {
    const where = owner === undefined ? `${name}[${i}]` : `${owner}, ${name}[${i}]`;
    if (typeof item === 'string') {
      assertValidId(`target id (${where})`, item);
      return;
    }
    if (!TARGET_TYPES.has(item.targetType)) {
      throw new TypeError(
        `${at}[${i}].targetType must be agent_type, tool or worker_pool, not ${shown(item.targetType)}`,
      );
    }
    assertValidId(`target id (${where}.targetId)`, item.targetId);
  });
}
