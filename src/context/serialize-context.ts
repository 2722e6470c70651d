import { ContextValidationError } from '../errors.js';
import { assertWithinLimit } from '../utf8.js';
import type { AnyContext, Context } from './context.js';
import type { AnyContextType, ContextOf } from './define-context-type.js';
import { assertContextShape, parseContext } from './parse-context.js';
import { assertJsonOnce } from './validated-json.js';

/**
 * Largest serialized context accepted by {@link serializeContext} and
 * {@link deserializeContext}, in UTF-8 bytes: 16 MiB. Keep contexts far smaller; embed references
 * to large data instead of the data.
 */
export const MAX_CONTEXT_BYTES = 16 * 1024 * 1024;

/** Options of {@link serializeContext} and {@link deserializeContext}. */
export interface ContextSizeOptions {
  /** Largest text accepted, in UTF-8 bytes. Default: {@link MAX_CONTEXT_BYTES}. */
  maxBytes?: number;
}

/**
 * The JSON text of a context: `{"contextId","contextType","data","metadata"}` in that order.
 * {@link deserializeContext} gives back an equal context. Throws `ContextValidationError` or the
 * typed errors of `assertJson` for a malformed context, `RecordTooLargeError` above `maxBytes`
 * (so nothing is written that could not be read back).
 *
 * @example
 * ```ts
 * const text = serializeContext(task);
 * const again = deserializeContext(text, TaskContext); // deep-equal to task, frozen
 * ```
 */
export function serializeContext(context: AnyContext, options: ContextSizeOptions = {}): string {
  assertContextShape(context);
  assertJsonOnce(context.data, { path: '$.data' });
  assertJsonOnce(context.metadata, { path: '$.metadata' });
  const { contextId, contextType, data, metadata } = context;
  const text = JSON.stringify({ contextId, contextType, data, metadata });
  assertWithinLimit(`Context ${contextId}`, text, options.maxBytes ?? MAX_CONTEXT_BYTES);
  return text;
}

function parseText(text: unknown, typeName: string | undefined, limit: number): unknown {
  if (typeof text !== 'string') {
    throw new ContextValidationError(typeName ?? 'Context', [
      { path: '$', message: `is ${typeof text}, not a JSON text` },
    ]);
  }
  assertWithinLimit('Serialized context', text, limit);
  try {
    return JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ContextValidationError(
      typeName ?? 'Context',
      [{ path: '$', message: `is not valid JSON: ${reason}` }],
      { cause: error },
    );
  }
}

/**
 * Reads a context written by {@link serializeContext}, validating everything: the size
 * (`RecordTooLargeError` above `maxBytes`), the JSON syntax and the shape
 * (`ContextValidationError` with paths like `$.contextId`), JSON safety and depth (the typed
 * errors of `assertJson`), and, when a context type is given, its name and schema
 * (`ContextValidationError` with paths like `$.data.items[2].name`). Returns a frozen context.
 * For a type whose schema validates asynchronously use {@link deserializeContextAsync}.
 */
export function deserializeContext(
  text: string,
  contextType?: undefined,
  options?: ContextSizeOptions,
): Context;
export function deserializeContext<T extends AnyContextType>(
  text: string,
  contextType: T,
  options?: ContextSizeOptions,
): ContextOf<T>;
export function deserializeContext(
  text: string,
  contextType?: AnyContextType,
  options: ContextSizeOptions = {},
): Context {
  const value = parseText(text, contextType?.name, options.maxBytes ?? MAX_CONTEXT_BYTES);
  // `parse` checked that the data is JSON, whatever type the context type declares.
  return contextType === undefined ? parseContext(value) : (contextType.parse(value) as Context);
}

/** Like {@link deserializeContext}, but also accepts a schema that validates asynchronously. */
export async function deserializeContextAsync<T extends AnyContextType>(
  text: string,
  contextType: T,
  options: ContextSizeOptions = {},
): Promise<ContextOf<T>> {
  const value = parseText(text, contextType.name, options.maxBytes ?? MAX_CONTEXT_BYTES);
  return (await contextType.parseAsync(value)) as ContextOf<T>;
}
