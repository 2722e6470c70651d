import { DepthLimitError, NonJsonValueError } from './errors.js';

/** A value JSON carries exactly. */
export type JsonValue = string | number | boolean | null | JsonValue[] | JsonObject;
/** A JSON object (a plain object whose values are {@link JsonValue}s). */
export interface JsonObject {
  [key: string]: JsonValue;
}

/**
 * How deep a value may nest (objects and arrays) before it is refused. `JSON.stringify` itself
 * overflows the stack near depth 5,000 in Node 20; staying far below that keeps every recursive
 * algorithm in this package (and in yours) safe.
 */
export const MAX_JSON_DEPTH = 1000;

/** Options of {@link assertJson}. */
export interface AssertJsonOptions {
  /** Deepest nesting accepted. Default: {@link MAX_JSON_DEPTH}. */
  maxDepth?: number;
  /** Path prefix used in error messages. Default: `'$'`. */
  path?: string;
  /**
   * Accept object properties whose value is `undefined` (JSON drops them). Arrays never accept
   * `undefined`. Default: `false`.
   */
  allowUndefinedProperties?: boolean;
}

function describe(value: unknown): string | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return undefined;
    case 'number':
      return Number.isFinite(value) ? undefined : `the number ${value}`;
    case 'bigint':
      return 'a BigInt';
    case 'function':
      return 'a function';
    case 'symbol':
      return 'a symbol';
    case 'undefined':
      return 'undefined';
    default:
      break;
  }
  if (value === null || Array.isArray(value)) return undefined;
  const proto = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) return undefined;
  const name = (proto as { constructor?: { name?: string } }).constructor?.name;
  return name ? `a ${name}` : 'an object that is not a plain object';
}

function childPath(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

/**
 * Checks that `value` survives `JSON.stringify`/`JSON.parse` unchanged, without recursion (so it is
 * safe on hostile input). Throws {@link NonJsonValueError} naming the first bad path (functions,
 * symbols, `undefined`, `BigInt`, `NaN`/`Infinity`, class instances such as `Date`/`Map`/`Set`,
 * sparse arrays, cycles) or {@link DepthLimitError}. Shared (acyclic) references are accepted.
 */
export function assertJson(
  value: unknown,
  options: AssertJsonOptions = {},
): asserts value is JsonValue {
  const maxDepth = options.maxDepth ?? MAX_JSON_DEPTH;
  const allowUndefined = options.allowUndefinedProperties ?? false;
  // Iterative depth-first walk. `ancestors` holds the objects on the current path (cycle check);
  // an 'exit' frame removes its object once all of its children have been visited.
  type Frame =
    | { kind: 'enter'; value: unknown; path: string; depth: number }
    | { kind: 'exit'; value: object };
  const stack: Frame[] = [{ kind: 'enter', value, path: options.path ?? '$', depth: 0 }];
  const ancestors = new Set<object>();
  while (stack.length > 0) {
    const frame = stack.pop() as Frame;
    if (frame.kind === 'exit') {
      ancestors.delete(frame.value);
      continue;
    }
    const { value: current, path, depth } = frame;
    const bad = describe(current);
    if (bad !== undefined) throw new NonJsonValueError(path, bad);
    if (current === null || typeof current !== 'object') continue;
    if (ancestors.has(current))
      throw new NonJsonValueError(path, 'a reference to one of its own ancestors (a cycle)');
    if (depth >= maxDepth) throw new DepthLimitError(path, maxDepth);
    ancestors.add(current);
    stack.push({ kind: 'exit', value: current });
    if (Array.isArray(current)) {
      for (let i = current.length - 1; i >= 0; i--) {
        if (!(i in current))
          throw new NonJsonValueError(childPath(path, i), 'a hole in a sparse array');
        stack.push({
          kind: 'enter',
          value: current[i],
          path: childPath(path, i),
          depth: depth + 1,
        });
      }
      continue;
    }
    if (Object.getOwnPropertySymbols(current).length > 0) {
      throw new NonJsonValueError(path, 'an object with symbol keys');
    }
    const record = current as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      const child = record[key];
      if (child === undefined && allowUndefined) continue;
      stack.push({ kind: 'enter', value: child, path: childPath(path, key), depth: depth + 1 });
    }
  }
}

/** Whether `value` passes {@link assertJson}. */
export function isJson(value: unknown, options?: AssertJsonOptions): value is JsonValue {
  try {
    assertJson(value, options);
    return true;
  } catch {
    return false;
  }
}

/**
 * A deep copy of a JSON value. `JSON.parse` defines keys as own data properties, so a `__proto__`
 * key stays data in the copy and never changes a prototype. Assumes {@link assertJson} passed
 * (so the depth is bounded).
 */
export function cloneJson<T extends JsonValue>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
