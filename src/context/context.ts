import type { JsonObject, JsonValue } from '../json.js';

/**
 * A context (the seed's `ContextProtocol`): an immutable, JSON-safe value with an id, a type
 * name, its data and metadata. Contexts are frozen at creation and never change; a step that
 * transforms one returns a new context with a new id.
 *
 * `TData` is the type of the data, e.g. `Context<'Report', Report>` for an `interface Report`.
 * It is not constrained here: what makes contexts (`createContext`, `defineContextType`)
 * refuses data types that are not JSON, and checks the data at run time.
 */
export interface Context<TType extends string = string, TData = JsonValue> {
  /** Unique id of this context (the seed's `context_id`); a valid storage id. */
  readonly contextId: string;
  /** The name of its context type, e.g. `'TaskContext'`. */
  readonly contextType: TType;
  /** The payload, JSON-safe. */
  readonly data: TData;
  /** Free-form JSON metadata (creation time, who made it, which contexts were merged…). */
  readonly metadata: JsonObject;
}

/**
 * A context of any type and data type: what callbacks that make contexts (a step's `run`, a
 * tool's `call`, a pool's `handler`, an agent's `process` result) may return, and what functions
 * that only take a context in accept, so `Context<'Report', Report>` fits. Its data is checked to
 * be JSON at run time; callbacks still receive a {@link Context} (with `JsonValue` data).
 */
export type AnyContext = Context<string, unknown>;

/** The least a component needs to know about a context: its id and type. */
export type ContextRef = Pick<Context, 'contextId' | 'contextType'>;
