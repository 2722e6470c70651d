/**
 * Whether `value` is an object that is neither `null` nor an array (a record, or any instance).
 * @internal
 */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Whether `value` is a plain object (`{}` or `Object.create(null)`): a record that is not a class
 * instance. @internal
 */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (!isRecord(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Throws `TypeError` naming `where` when `value` has own keys outside `known`, so that a typo in
 * an options object (`timeout` for `timeoutMs`) fails where it is written instead of being
 * ignored. @internal
 */
export function assertKnownKeys(value: object, known: ReadonlySet<string>, where: string): void {
  const unknown = Object.keys(value).filter((key) => !known.has(key));
  if (unknown.length === 0) return;
  const names = unknown.map((key) => JSON.stringify(key)).join(', ');
  throw new TypeError(
    `${where}: unknown option${unknown.length > 1 ? 's' : ''} ${names} (known: ${[...known].join(', ')})`,
  );
}
