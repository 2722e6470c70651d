import { ContextValidationError, type ValidationIssue } from '../errors.js';
import type { StandardSchemaV1 } from './standard-schema.js';

function isPathSegment(
  key: PropertyKey | StandardSchemaV1.PathSegment,
): key is StandardSchemaV1.PathSegment {
  return typeof key === 'object' && key !== null;
}

/**
 * Turns a Standard Schema issue path into this package's JSON path form, e.g.
 * `['items', 2, 'name']` under `'$.data'` → `$.data.items[2].name`. Keys that are not identifiers
 * are quoted (`$.data["a b"]`). When `value` (the validated value) is given, numeric string keys
 * that index an array are written as `[2]` too.
 */
export function issuePathToJsonPath(
  path: StandardSchemaV1.Issue['path'],
  prefix = '$',
  value?: unknown,
): string {
  let result = prefix;
  let current: unknown = value;
  for (const segment of path ?? []) {
    const key = isPathSegment(segment) ? segment.key : segment;
    if (typeof key === 'symbol') {
      result += `[${String(key)}]`;
      current = undefined;
      continue;
    }
    const index = typeof key === 'number' ? key : Array.isArray(current) ? Number(key) : Number.NaN;
    if (Number.isInteger(index) && index >= 0) result += `[${index}]`;
    else {
      const name = String(key);
      result += /^[A-Za-z_$][\w$]*$/.test(name) ? `.${name}` : `[${JSON.stringify(name)}]`;
    }
    current =
      current !== null && typeof current === 'object'
        ? (current as Record<string, unknown>)[String(key)]
        : undefined;
  }
  return result;
}

/** @internal */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

function toOutput<Output>(
  contextType: string,
  result: StandardSchemaV1.Result<Output>,
  prefix: string,
  value: unknown,
): Output {
  if (!result.issues) return result.value;
  const issues: ValidationIssue[] = result.issues.map((issue) => ({
    path: issuePathToJsonPath(issue.path, prefix, value),
    message: issue.message,
  }));
  if (issues.length === 0) issues.push({ path: prefix, message: 'rejected by the schema' });
  throw new ContextValidationError(contextType, issues);
}

function schemaThrew(contextType: string, prefix: string, error: unknown): ContextValidationError {
  const reason = error instanceof Error ? error.message : String(error);
  return new ContextValidationError(
    contextType,
    [{ path: prefix, message: `the schema threw: ${reason}` }],
    { cause: error },
  );
}

/**
 * Validates `value` with a Standard Schema synchronously and returns the schema's output. Throws
 * {@link ContextValidationError} with one issue per schema issue (paths under `prefix`), or with
 * a single issue telling to use the async variant when the schema answers with a Promise.
 */
export function validateWithSchema<Output>(
  contextType: string,
  schema: StandardSchemaV1<unknown, Output>,
  value: unknown,
  prefix = '$',
): Output {
  let result: ReturnType<StandardSchemaV1.Props<unknown, Output>['validate']>;
  try {
    result = schema['~standard'].validate(value);
  } catch (error) {
    throw schemaThrew(contextType, prefix, error);
  }
  if (isThenable(result)) throw asyncSchemaError(contextType, prefix, result);
  return toOutput(contextType, result, prefix, value);
}

/**
 * The error for a schema that answered a synchronous call with a Promise; the Promise is
 * observed so that its rejection never surfaces as an unhandled one.
 * @internal
 */
export function asyncSchemaError(
  contextType: string,
  prefix: string,
  pending: PromiseLike<unknown>,
): ContextValidationError {
  Promise.resolve(pending).catch(() => {});
  return new ContextValidationError(contextType, [
    {
      path: prefix,
      message:
        'the schema validates asynchronously; use the async variant (createAsync, parseAsync, deserializeContextAsync)',
    },
  ]);
}

/** Like {@link validateWithSchema}, but also accepts schemas that validate asynchronously. */
export async function validateWithSchemaAsync<Output>(
  contextType: string,
  schema: StandardSchemaV1<unknown, Output>,
  value: unknown,
  prefix = '$',
): Promise<Output> {
  let result: StandardSchemaV1.Result<Output>;
  try {
    result = await schema['~standard'].validate(value);
  } catch (error) {
    throw schemaThrew(contextType, prefix, error);
  }
  return toOutput(contextType, result, prefix, value);
}
