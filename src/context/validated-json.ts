import { type AssertJsonOptions, assertJson, type JsonValue } from '../json.js';

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
