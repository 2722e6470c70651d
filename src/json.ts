import { DepthLimitError, NonJsonValueError } from './errors.js';

/** A value JSON carries exactly. */
export type JsonValue = string | number | boolean | null | JsonValue[] | JsonObject;
/** A JSON object (a plain object whose values are {@link JsonValue}s). */
export interface JsonObject {
  [key: string]: JsonValue;
}

/** A JSON value that is not a container. */
type JsonPrimitive = string | number | boolean | null;

/**
 * What a property or array item of type `T` may be in JSON: primitives stay, arrays (readonly or
 * not, tuples) become readonly arrays of their items' JSON, objects are mapped key by key, and
 * what JSON cannot carry becomes `never`. (Arrays are not mapped in place: a recursive array type
 * such as `JsonValue` would then be expanded without end.)
 */
type JsonShapedMember<T> = T extends JsonPrimitive
  ? T
  : T extends bigint | symbol | undefined | ((...args: never) => unknown)
    ? never
    : T extends readonly (infer E)[]
      ? readonly JsonShapedMember<E>[]
      : T extends object
        ? JsonShapedObject<T>
        : never;

/**
 * `T` with each value mapped by `JsonShapedMember`; optional keys stay optional, symbol keys
 * become `never`.
 */
type JsonShapedObject<T> = { [K in keyof T]: K extends symbol ? never : JsonShapedMember<T[K]> };

/**
 * The JSON a value of type `T` may be: a type that describes JSON is assignable to its
 * `JsonShaped`, one that holds what JSON cannot carry is not. So `T extends JsonData<T>` (see
 * {@link JsonData}) accepts data described by `interface`s, which `T extends JsonValue` refuses
 * (an interface has no implicit index signature), and readonly arrays and tuples, while refusing
 * functions and methods (so `Date`, `Map`, `Set` and class instances with methods), `bigint`,
 * `symbol`, `undefined` (except as an optional property) and `unknown`, at any depth.
 *
 * Compile time only, and only as far as types tell: a class instance with data fields only, an
 * optional property present with the value `undefined`, a symbol key, or `NaN` pass it and are
 * refused at run time by {@link assertJson}. A union of a function type and another type at the
 * top level is not refused either.
 *
 * @example
 * ```ts
 * interface Finding { title: string; tags: readonly string[]; note?: string }
 * type Ok = Finding extends JsonShaped<Finding> ? true : false; // true
 * type NotOk = { at: Date } extends JsonShaped<{ at: Date }> ? true : false; // false
 * ```
 */
export type JsonShaped<T> = [T] extends [(...args: never) => unknown]
  ? never
  : JsonShapedObject<T> & (JsonPrimitive | object);

/**
 * The constraint of the functions that take JSON data (`createContext`, `defineContextType`,
 * `defineAgent`…), used as `T extends JsonData<T>`: it accepts a {@link JsonValue}, a generic
 * `T extends JsonValue`, and any type that is {@link JsonShaped} (interfaces, readonly arrays,
 * tuples); for any other `T` it is `JsonValue | JsonShaped<T>`, so the error names the member
 * that is not JSON. (Unlike `T extends JsonShaped<T>`, it keeps `{ count: 0 }` inferred as
 * `{ count: number }`, as `T extends JsonValue` does.)
 *
 * @example
 * ```ts
 * function keep<T extends JsonData<T>>(data: T): T { … }
 * ```
 */
export type JsonData<T> = JsonValue | ([T] extends [JsonShaped<T>] ? unknown : JsonShaped<T>);

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
  /**
   * Containers not to walk into, e.g. deep-frozen values that passed this check before (they
   * cannot have changed, nor refer to anything made after them). Default: none.
   * @internal
   */
  skip?: (container: object) => boolean;
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
  const skip = options.skip;
  // Most values are plain JSON: a walk that allocates nothing says so. Anything it is not sure
  // of (and every error, with its path) goes through the walk below.
  if (isPlainJson(value, 0, maxDepth, allowUndefined, skip)) return;
  const root: PathNode = { parent: undefined, key: options.path ?? '$' };
  // Iterative depth-first walk over containers only (primitives are checked in place, and paths
  // are built only for an error). `ancestors` holds the containers on the current path (cycle
  // check); a frame is popped, and its container leaves `ancestors`, once its children are done.
  const stack: Frame[] = [];
  const ancestors = new Set<object>();
  const visit = (child: unknown, parent: PathNode, key: string | number, depth: number): void => {
    if (child === null) return;
    const type = typeof child;
    if (type === 'string' || type === 'boolean') return;
    if (type === 'number') {
      if (Number.isFinite(child)) return;
    } else if (type === 'object') {
      if (skip?.(child as object)) return;
      const bad = describe(child);
      if (bad !== undefined) throw new NonJsonValueError(pathOf({ parent, key }), bad);
      const container = child as object;
      if (ancestors.has(container)) {
        throw new NonJsonValueError(
          pathOf({ parent, key }),
          'a reference to one of its own ancestors (a cycle)',
        );
      }
      if (depth >= maxDepth) throw new DepthLimitError(pathOf({ parent, key }), maxDepth);
      ancestors.add(container);
      stack.push(frameOf(container, parent, key, depth));
      return;
    }
    throw new NonJsonValueError(pathOf({ parent, key }), describe(child) ?? 'not JSON');
  };
  if (value !== null && typeof value === 'object') {
    const bad = describe(value);
    if (bad !== undefined) throw new NonJsonValueError(pathOf(root), bad);
    ancestors.add(value);
    stack.push(frameOf(value, undefined, root.key, 0));
  } else {
    const bad = describe(value);
    if (bad !== undefined) throw new NonJsonValueError(pathOf(root), bad);
    return;
  }
  while (stack.length > 0) {
    const frame = stack[stack.length - 1] as Frame;
    if (frame.next >= frame.keys.length) {
      stack.pop();
      ancestors.delete(frame.container);
      continue;
    }
    const index = frame.next++;
    if (frame.isArray) {
      const array = frame.container as unknown[];
      if (!(index in array)) {
        throw new NonJsonValueError(
          pathOf({ parent: frame, key: index }),
          'a hole in a sparse array',
        );
      }
      visit(array[index], frame, index, frame.depth + 1);
    } else {
      const key = frame.keys[index] as string;
      const child = (frame.container as Record<string, unknown>)[key];
      if (child === undefined && allowUndefined) continue;
      visit(child, frame, key, frame.depth + 1);
    }
  }
}

/**
 * Whether `value` passes {@link assertJson} for certain, found without allocating (recursive; a
 * cycle runs into `maxDepth`). `false` means "not sure": the caller checks the slow way.
 */
function isPlainJson(
  value: unknown,
  depth: number,
  maxDepth: number,
  allowUndefined: boolean,
  skip: ((container: object) => boolean) | undefined,
): boolean {
  if (value === null) return true;
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value);
    case 'object':
      break;
    default:
      return false;
  }
  const container = value as object;
  if (skip?.(container)) return true;
  if (depth >= maxDepth) return false;
  if (Array.isArray(container)) {
    for (let i = 0; i < container.length; i++) {
      if (!(i in container)) return false;
      if (!isPlainJson(container[i], depth + 1, maxDepth, allowUndefined, skip)) return false;
    }
    return true;
  }
  const proto = Object.getPrototypeOf(container);
  if (proto !== Object.prototype && proto !== null) return false;
  if (Object.getOwnPropertySymbols(container).length > 0) return false;
  // for…in also visits inherited enumerable keys: checking those too only makes this stricter.
  for (const key in container) {
    const child = (container as Record<string, unknown>)[key];
    if (child === undefined && allowUndefined) continue;
    if (!isPlainJson(child, depth + 1, maxDepth, allowUndefined, skip)) return false;
  }
  return true;
}

/** A step of a path, linked to its parent; turned into a string only for an error message. */
interface PathNode {
  readonly parent: PathNode | undefined;
  readonly key: string | number;
}

/** A container being walked (and its step of the path): its children are visited in order. */
interface Frame extends PathNode {
  readonly container: object;
  readonly depth: number;
  readonly isArray: boolean;
  readonly keys: { readonly length: number; readonly [index: number]: string };
  next: number;
}

function frameOf(
  container: object,
  parent: PathNode | undefined,
  key: string | number,
  depth: number,
): Frame {
  const isArray = Array.isArray(container);
  if (!isArray && Object.getOwnPropertySymbols(container).length > 0) {
    throw new NonJsonValueError(pathOf({ parent, key }), 'an object with symbol keys');
  }
  const keys = isArray ? { length: (container as unknown[]).length } : Object.keys(container);
  return { parent, key, container, depth, isArray, keys, next: 0 };
}

function pathOf(node: PathNode): string {
  const keys: (string | number)[] = [];
  let current: PathNode | undefined = node;
  while (current.parent !== undefined) {
    keys.push(current.key);
    current = current.parent;
  }
  let path = String(current.key);
  for (let i = keys.length - 1; i >= 0; i--) path = childPath(path, keys[i] as string | number);
  return path;
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
export function cloneJson<T extends JsonData<T>>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
