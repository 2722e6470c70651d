import type { JsonObject, JsonValue } from '../json.js';

/**
 * A context (the seed's `ContextProtocol`): an immutable, JSON-safe value with an id, a type
 * name, its data and metadata. Contexts are frozen at creation and never change; a step that
 * transforms one returns a new context with a new id.
 */
export interface Context<TType extends string = string, TData extends JsonValue = JsonValue> {
  /** Unique id of this context (the seed's `context_id`); a valid storage id. */
  readonly contextId: string;
  /** The name of its context type, e.g. `'TaskContext'`. */
  readonly contextType: TType;
  /** The payload, JSON-safe. */
  readonly data: TData;
  /** Free-form JSON metadata (creation time, who made it, which contexts were merged…). */
  readonly metadata: JsonObject;
}

/** The least a component needs to know about a context: its id and type. */
export type ContextRef = Pick<Context, 'contextId' | 'contextType'>;
