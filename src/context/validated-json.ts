import { NonJsonValueError } from '../errors.js';
import { type AssertJsonOptions, assertJson, type JsonValue } from '../json.js';
import { deepFreeze } from './deep-freeze.js';

// Deep-frozen values that already passed assertJson (with the default depth limit): they cannot
// change any more, so checking them again would only cost time.
const validated = new WeakSet<object>();

/** Remembers a deep-frozen value that passed `assertJson` with the default depth. @internal */
export function markValidatedJson(value: JsonValue): void {
  if (value !== null && typeof value === 'object' && Object.isFrozen(value)) validated.add(value);
}

/** Whether `value` is remembered by {@link markValidatedJson} (`assertJson`'s `skip`). @internal */
export function isValidatedJson(value: object): boolean {
  return validated.has(value);
}

/** `assertJson`, skipped for a value remembered by {@link markValidatedJson}. @internal */
export function assertJsonOnce(
  value: unknown,
  options: AssertJsonOptions,
): asserts value is JsonValue {
  if (value !== null && typeof value === 'object' && validated.has(value)) return;
  assertJson(value, options);
}

/**
 * A copy of checked JSON, equal to what `cloneJson` makes (`-0` becomes `0`; a `__proto__` key
 * stays an own property), except that values remembered by {@link markValidatedJson} are taken
 * as they are: deep-frozen and checked, they cannot change, so sharing one is as good as copying
 * it. A context made from another's data (`{ ...previous.data, items: [...items, item] }`) copies
 * what is new, not the whole. `value` must have passed `assertJson` (depth-bounded, acyclic).
 * @internal
 */
export function copyJsonSharing<T extends JsonValue>(value: T): T {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (!Number.isFinite(value)) throw changedWhileCopied();
      return (Object.is(value, -0) ? 0 : value) as T;
    case 'object':
      break;
    default:
      throw changedWhileCopied();
  }
  if (value === null || validated.has(value)) return value;
  const proto = Object.getPrototypeOf(value);
  if (!Array.isArray(value) && proto !== Object.prototype && proto !== null) {
    throw changedWhileCopied();
  }
  if (Array.isArray(value)) {
    const copy: JsonValue[] = [];
    for (let i = 0; i < value.length; i++) copy.push(copyJsonSharing(value[i] as JsonValue));
    return copy as T;
  }
  const copy: Record<string, JsonValue> = {};
  for (const key of Object.keys(value)) {
    const child = copyJsonSharing((value as Record<string, JsonValue>)[key] as JsonValue);
    if (key === '__proto__') {
      Object.defineProperty(copy, key, {
        value: child,
        writable: true,
        enumerable: true,
        configurable: true,
      });
    } else copy[key] = child;
  }
  return copy as T;
}

/**
 * Deep-freezes checked JSON as `deepFreeze` does (a frozen container is not walked into) and
 * remembers the value and every container it froze, so that a later context that holds any of
 * them (a list item, say) shares it instead of copying it. @internal
 */
export function freezeValidatedJson<T extends JsonValue>(value: T): T {
  deepFreeze(value, remember);
  markValidatedJson(value);
  return value;
}

function remember(container: object): void {
  validated.add(container);
}

/** A value read again while copying is not what was checked (an accessor that changed it). */
function changedWhileCopied(): NonJsonValueError {
  return new NonJsonValueError('$', 'a value that changed between its check and its copy');
}

/** Whether a JSON value nests deeper than `maxDepth`, cheaply (no paths, no cycle check). @internal */
export function exceedsDepth(value: JsonValue, maxDepth: number): boolean {
  const stack: Array<[JsonValue, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop() as [JsonValue, number];
    if (current === null || typeof current !== 'object') continue;
    if (depth >= maxDepth) return true;
    for (const child of Array.isArray(current) ? current : Object.values(current)) {
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
    }
  }
  return false;
}

/** `isJson`, true at once for a value remembered by {@link markValidatedJson}. @internal */
export function isJsonOnce(value: unknown): value is JsonValue {
  try {
    assertJsonOnce(value, {});
    return true;
  } catch {
    return false;
  }
}
