import type { JsonObject, JsonValue } from '../json.js';
import { isRecord } from '../objects.js';

/**
 * Sets `object[key] = value` as an own data property, also for the key `__proto__` (which a plain
 * assignment would turn into a prototype change). Keys such as `constructor` and `prototype` are
 * ordinary data either way.
 * @internal
 */
export function setOwn(object: JsonObject, key: string, value: JsonValue): void {
  if (key === '__proto__') {
    Object.defineProperty(object, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else {
    object[key] = value;
  }
}

/** Whether `value` is a JSON object (not an array, not null). @internal */
export function isJsonObject(value: JsonValue | undefined): value is JsonObject {
  return isRecord(value);
}
