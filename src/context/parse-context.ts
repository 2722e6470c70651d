import { ContextValidationError, isOrchestrationError, type ValidationIssue } from '../errors.js';
import { assertValidId } from '../ids.js';
import type { JsonValue } from '../json.js';
import { isPlainObject } from '../objects.js';
import type { Context } from './context.js';
import { buildContext } from './create-context.js';
import { isJsonOnce, isValidatedJson } from './validated-json.js';

const FIELDS = new Set(['contextId', 'contextType', 'data', 'metadata']);

function idIssue(kind: string, path: string, value: unknown): ValidationIssue[] {
  try {
    assertValidId(kind, value);
    return [];
  } catch (error) {
    if (!isOrchestrationError(error, 'INVALID_ID')) throw error;
    return [{ path, message: error.message }];
  }
}

/**
 * The shape problems of `value` seen as a context: a plain object with exactly `contextId`,
 * `contextType` (equal to `expectedType` when given), `data` and a plain-object `metadata`.
 * Does not check that data and metadata are JSON (see `assertJson`).
 * @internal
 */
export function contextShapeIssues(value: unknown, expectedType?: string): ValidationIssue[] {
  if (!isPlainObject(value)) return [{ path: '$', message: 'is not a plain object' }];
  const issues: ValidationIssue[] = [];
  for (const key of Object.keys(value)) {
    if (!FIELDS.has(key)) {
      issues.push({ path: `$[${JSON.stringify(key)}]`, message: 'is not a field of a context' });
    }
  }
  issues.push(...idIssue('context', '$.contextId', value.contextId));
  const type = value.contextType;
  issues.push(...idIssue('context type', '$.contextType', type));
  if (expectedType !== undefined && typeof type === 'string' && type !== expectedType) {
    issues.push({
      path: '$.contextType',
      message: `is ${JSON.stringify(type)}, expected ${JSON.stringify(expectedType)}`,
    });
  }
  if (!Object.hasOwn(value, 'data') || value.data === undefined) {
    issues.push({ path: '$.data', message: 'is missing' });
  }
  if (!isPlainObject(value.metadata)) {
    issues.push({ path: '$.metadata', message: 'is not a plain object' });
  }
  return issues;
}

/** The type name to report for a value that failed validation. @internal */
export function reportedType(value: unknown, expectedType?: string): string {
  if (expectedType !== undefined) return expectedType;
  const type = isPlainObject(value) ? value.contextType : undefined;
  return typeof type === 'string' && type.length > 0 ? type.slice(0, 80) : 'Context';
}

/**
 * Throws `ContextValidationError` listing the shape problems of `value` seen as a context (see
 * {@link contextShapeIssues}), if it has any. @internal
 */
export function assertContextShape(value: unknown): asserts value is Context {
  const issues = contextShapeIssues(value);
  if (issues.length > 0) throw new ContextValidationError(reportedType(value), issues);
}

/**
 * Whether `value` is a well-formed context: the four fields with a valid id and type name, and
 * data and metadata that are JSON. Does not run any schema (see `ContextType.is`).
 */
export function isContext(value: unknown): value is Context {
  if (contextShapeIssues(value).length > 0) return false;
  const record = value as Record<string, unknown>;
  return isJsonOnce(record.data) && isJsonOnce(record.metadata);
}

/**
 * Whether `value` is a context as `createContext` builds one: frozen, its data and metadata
 * deep-frozen JSON already checked (or data a JSON scalar). Such a context cannot change, so it
 * is used as it is.
 */
function isBuiltContext(value: unknown): value is Context {
  if (value === null || typeof value !== 'object' || !Object.isFrozen(value)) return false;
  // Own data properties only (a getter has no `value`): it could answer differently each read.
  const data: unknown = Object.getOwnPropertyDescriptor(value, 'data')?.value;
  const metadata: unknown = Object.getOwnPropertyDescriptor(value, 'metadata')?.value;
  if (typeof metadata !== 'object' || metadata === null || !isValidatedJson(metadata)) return false;
  const checkedData =
    typeof data === 'object' && data !== null ? isValidatedJson(data) : isJsonOnce(data);
  return checkedData && contextShapeIssues(value).length === 0;
}

/**
 * Checks that `value` is a well-formed context (see {@link isContext}) and returns it frozen with
 * the same id: a context `createContext` built (frozen, its JSON checked) as it is, anything else
 * as a frozen copy. Throws `ContextValidationError` listing the shape problems with their paths
 * (`$.contextId`, `$.metadata`…), or the `NonJsonValueError`/`DepthLimitError` of `assertJson`
 * naming the bad path (`$.data.items[2]`).
 */
export function parseContext(value: unknown): Context {
  if (isBuiltContext(value)) return value;
  assertContextShape(value);
  const record = value as {
    contextId: string;
    contextType: string;
    data: unknown;
    metadata: never;
  };
  return buildContext<string, JsonValue>(record.contextType, record.data, {
    contextId: record.contextId,
    metadata: record.metadata,
  });
}
