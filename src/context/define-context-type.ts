import { ContextValidationError } from '../errors.js';
import type { JsonData, JsonShaped, JsonValue } from '../json.js';
import type { Context } from './context.js';
import {
  assertValidContextTypeName,
  buildContext,
  type CreateContextOptions,
} from './create-context.js';
import { contextShapeIssues } from './parse-context.js';
import {
  asyncSchemaError,
  isThenable,
  validateWithSchema,
  validateWithSchemaAsync,
} from './schema-validation.js';
import type { StandardSchemaV1 } from './standard-schema.js';
import { assertJsonOnce, isJsonOnce } from './validated-json.js';

/**
 * A named kind of context with a typed factory, a type guard and a validating parser (the seed's
 * context classes such as `TaskContext`). Made by {@link defineContextType}.
 *
 * With a schema, the context stores the schema's **output** (defaults applied, unknown keys
 * stripped if the schema strips them), and that output is validated again by `parse`/`is` and on
 * deserialization, so a schema should accept its own output (zod, valibot and arktype object
 * schemas do; a transform that changes a value's type does not).
 *
 * A schema may validate asynchronously (Standard Schema allows a Promise). The synchronous
 * `create`, `parse` and `is` then throw a `ContextValidationError` saying so; use `createAsync`
 * and `parseAsync`, which accept both kinds.
 */
export interface ContextType<TName extends string = string, TData = JsonValue, TInput = TData> {
  /** The type name every context of this type carries in `contextType`. */
  readonly name: TName;
  /** The Standard Schema that validates `data`, if any. */
  readonly schema: StandardSchemaV1<TInput, TData> | undefined;
  /**
   * A new deep-frozen context of this type. Throws the typed errors of `assertJson` for data or
   * metadata JSON cannot carry, `ContextValidationError` when the schema rejects the data (issue
   * paths such as `$.data.items[2].name`), `InvalidIdError` for a bad `contextId`.
   */
  create(data: TInput, options?: CreateContextOptions): Context<TName, TData>;
  /** Like `create`, but also accepts a schema that validates asynchronously. */
  createAsync(data: TInput, options?: CreateContextOptions): Promise<Context<TName, TData>>;
  /** Whether `value` is a well-formed context of this type whose data passes the schema. */
  is(value: unknown): value is Context<TName, TData>;
  /**
   * Checks `value` (shape, type name, JSON, schema) and returns a frozen copy with the same id.
   * Throws `ContextValidationError` naming each bad path, or the typed errors of `assertJson`.
   */
  parse(value: unknown): Context<TName, TData>;
  /** Like `parse`, but also accepts a schema that validates asynchronously. */
  parseAsync(value: unknown): Promise<Context<TName, TData>>;
}

/** Any context type, whatever its name, data and input. */
export type AnyContextType = ContextType<string, unknown, unknown>;

/** The context a context type creates: `ContextOf<typeof TaskContext>`. */
export type ContextOf<T> =
  T extends ContextType<infer N, infer D, infer _I> ? Context<N, D> : never;

/** The data type of the schema's output, when it is JSON (an interface will do). */
export type SchemaData<TSchema extends StandardSchemaV1> =
  StandardSchemaV1.InferOutput<TSchema> extends infer O
    ? [O] extends [JsonShaped<O>]
      ? O
      : never
    : never;

/**
 * Defines a context type. Without a schema, give the data type as a type argument (an
 * `interface` will do; a type that is not JSON, such as one holding a `Date`, is refused at
 * compile time, and the data is checked to be JSON at runtime); with a Standard Schema v1
 * validator (zod, valibot, arktype, or your own), the data type is inferred from it and checked
 * at runtime.
 *
 * @example
 * ```ts
 * import { z } from 'zod';
 * const TaskContext = defineContextType('TaskContext', z.object({ goal: z.string(), steps: z.array(z.string()) }));
 * const task = TaskContext.create({ goal: 'summarize', steps: [] });
 * TaskContext.is(task); // true
 *
 * const Note = defineContextType<'Note', { text: string }>('Note');
 * Note.create({ text: 'hi' }, { contextId: 'note-1', metadata: { author: 'ana' } });
 * ```
 */
export function defineContextType<
  const TName extends string,
  TData extends JsonData<TData> = JsonValue,
>(name: TName): ContextType<TName, TData>;
export function defineContextType<const TName extends string, TSchema extends StandardSchemaV1>(
  name: TName,
  // Its output must be JSON (an interface will do): checked here, as a constraint on TSchema
  // itself would be circular.
  schema: TSchema & StandardSchemaV1<unknown, JsonData<StandardSchemaV1.InferOutput<TSchema>>>,
): ContextType<TName, SchemaData<TSchema>, StandardSchemaV1.InferInput<TSchema>>;
export function defineContextType(
  name: string,
  schema?: StandardSchemaV1<unknown, unknown>,
): ContextType<string, unknown, unknown> {
  assertValidContextTypeName(name);

  function checkEnvelope(value: unknown): { data: unknown; metadata: never; contextId: string } {
    const issues = contextShapeIssues(value, name);
    if (issues.length > 0) throw new ContextValidationError(name, issues);
    const record = value as { data: unknown; metadata: never; contextId: string };
    assertJsonOnce(record.data, { path: '$.data' });
    assertJsonOnce(record.metadata, { path: '$.metadata' });
    return record;
  }

  return Object.freeze({
    name,
    schema,
    create(data: unknown, options?: CreateContextOptions) {
      if (schema === undefined) return buildContext(name, data, options);
      assertJsonOnce(data, { path: '$.data' });
      return buildContext(name, validateWithSchema(name, schema, data, '$.data'), options);
    },
    async createAsync(data: unknown, options?: CreateContextOptions) {
      if (schema === undefined) return buildContext(name, data, options);
      assertJsonOnce(data, { path: '$.data' });
      const output = await validateWithSchemaAsync(name, schema, data, '$.data');
      return buildContext(name, output, options);
    },
    is(value: unknown): value is Context {
      if (contextShapeIssues(value, name).length > 0) return false;
      const { data, metadata } = value as { data: unknown; metadata: unknown };
      if (!isJsonOnce(data) || !isJsonOnce(metadata)) return false;
      if (schema === undefined) return true;
      let result: ReturnType<(typeof schema)['~standard']['validate']>;
      try {
        result = schema['~standard'].validate(data);
      } catch {
        return false;
      }
      if (isThenable(result)) throw asyncSchemaError(name, '$.data', result);
      return !result.issues;
    },
    parse(value: unknown) {
      const { data, metadata, contextId } = checkEnvelope(value);
      const output = schema === undefined ? data : validateWithSchema(name, schema, data, '$.data');
      return buildContext(name, output, { contextId, metadata });
    },
    async parseAsync(value: unknown) {
      const { data, metadata, contextId } = checkEnvelope(value);
      const output =
        schema === undefined ? data : await validateWithSchemaAsync(name, schema, data, '$.data');
      return buildContext(name, output, { contextId, metadata });
    },
  });
}
