/**
 * Freezes `value` and every object and array inside it, without recursion (so depth cannot
 * overflow the stack). An object that is already frozen is taken to be deeply frozen and is not
 * walked (this also ends any cycle). `frozen` is told each object and array it freezes. Returns
 * `value`.
 */
export function deepFreeze<T>(value: T, frozen?: (container: object) => void): T {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return value;
  const stack: object[] = [value];
  while (stack.length > 0) {
    const current = stack.pop() as object;
    Object.freeze(current);
    frozen?.(current);
    for (const child of Object.values(current)) {
      if (child !== null && typeof child === 'object' && !Object.isFrozen(child)) stack.push(child);
    }
  }
  return value;
}
