import { looksLikeContext } from '../context/freeze-contexts.js';
import { isValidId } from '../ids.js';
import type { JsonValue } from '../json.js';
import { isRecord } from '../objects.js';
import { applySplice, type TextSplice } from './text-splice.js';

/**
 * A context made from another with one splice: the new context's id and metadata, and the splice
 * that turns the JSON of the other's `data` into its own (their type is the same). A context that
 * grows at every step gets a new id at every step, so its data is what the versions share.
 */
export interface ContextSplice extends TextSplice {
  readonly contextId: string;
  readonly metadata: object;
}

/** A context as the parts a splice works on: its data as JSON. */
export interface ContextParts {
  readonly contextId: string;
  readonly contextType: string;
  readonly metadata: object;
  readonly dataJson: string;
}

/** The four fields of a context, its data as it is. */
export interface ContextFields {
  readonly contextId: string;
  readonly contextType: string;
  readonly metadata: object;
  readonly data: JsonValue;
}

/**
 * The fields of `context`; `undefined` unless it is a context with exactly the four fields of one
 * (`contextId`, `contextType`, `data`, `metadata`), which is all a splice carries over.
 */
export function fieldsOf(context: unknown): ContextFields | undefined {
  if (!isRecord(context) || !looksLikeContext(context)) return undefined;
  if (Object.keys(context).length !== 4) return undefined;
  const fields = context as unknown as ContextFields;
  return isRecord(fields.metadata) ? fields : undefined;
}

/** The parts of `context` (see {@link fieldsOf}): its data serialized. */
export function partsOf(context: unknown): ContextParts | undefined {
  const fields = fieldsOf(context);
  if (fields === undefined) return undefined;
  const { contextId, contextType, metadata, data } = fields;
  return { contextId, contextType, metadata, dataJson: JSON.stringify(data) };
}

/**
 * The parts `splice` (as read: unchecked) makes from `base`, or `undefined` when it does not fit:
 * no valid `contextId`, `metadata` not an object, or a text splice that does not fit the base's
 * data JSON.
 */
export function applyContextSplice(base: ContextParts, splice: unknown): ContextParts | undefined {
  if (!isRecord(splice)) return undefined;
  const { contextId, metadata } = splice as { contextId?: unknown; metadata?: unknown };
  if (!isValidId(contextId) || !isRecord(metadata)) return undefined;
  const dataJson = applySplice(base.dataJson, splice);
  if (dataJson === undefined) return undefined;
  return { contextId, contextType: base.contextType, metadata, dataJson };
}

/** The context `parts` describe (its data parsed), or `undefined` when its data is not JSON. */
export function contextOf(parts: ContextParts): object | undefined {
  let data: unknown;
  try {
    data = JSON.parse(parts.dataJson);
  } catch {
    return undefined;
  }
  const { contextId, contextType, metadata } = parts;
  return { contextId, contextType, data, metadata };
}
