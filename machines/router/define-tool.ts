import { fromCallback } from 'xstate';
import type { AnyContext, Context } from '../../src/context/context.js';
import { assertValidId } from '../../src/ids.js';
import type { TargetCallHelpers, ToolTarget } from '../../src/router/routing-target.js';
import {
  acceptContext,
  callHelpers,
  type TargetChildEvent,
  type TargetChildInput,
  type TargetResultEvent,
} from './router-protocol.js';

/** What {@link defineTool} takes. */
export interface ToolDefinition {
  /** The tool's id: a valid id, unique among tools. */
  readonly id: string;
  /** Human description. Default: none. */
  readonly description?: string;
  /** Turns a context into the result context; may be async. Must return a context with JSON data. */
  readonly call: (context: Context, helpers: TargetCallHelpers) => AnyContext | Promise<AnyContext>;
}

/**
 * Defines a stateless tool target (the shared `ToolTarget` contract; MCP tools implement it
 * too). Register it with the router (`startRouter({ targets })`, `createRuntime({ targets })`);
 * calls run concurrently, each with its own helpers.
 *
 * @example
 * ```ts
 * const parser = defineTool({
 *   id: 'input_parser',
 *   call: (context) => createContext('ParsedContext', { words: String(context.data).split(' ') }),
 * });
 * ```
 */
export function defineTool(definition: ToolDefinition): ToolTarget {
  assertValidId('tool id', definition?.id);
  assertToolParts(definition.id, definition);
  const { call } = definition;
  return {
    targetType: 'tool',
    targetId: definition.id,
    ...(definition.description === undefined ? {} : { description: definition.description }),
    call: async (context, helpers) => call(context, helpers),
  };
}

/**
 * Checks what a tool needs beside its id: a `call` function. Used by {@link defineTool} and by
 * the router for a tool target made by hand. Throws `TypeError` naming the argument.
 */
export function assertToolParts(id: string, parts: { readonly call?: unknown }): void {
  if (typeof parts.call !== 'function') throw new TypeError(`Tool ${id}: call must be a function`);
}

/**
 * The child actor of a tool under the router: a callback actor that runs every call it receives
 * concurrently and sends each outcome back as data. It says `target.ready` whenever it starts,
 * so after a restore the router sends it the calls that were in flight again (at least once).
 *
 * A call is known by its request id only until it is cancelled: `target.cancel` forgets it, then
 * aborts its signal, and its outcome goes nowhere. So a call withdrawn and sent again with the
 * same id (a task paused and resumed, whose attempt keeps its idempotency key) is answered by
 * the new run alone, and a later `target.cancel` aborts the new run, whatever the first one does
 * once its signal aborts. A call sent again while it still runs (not cancelled) is not run twice.
 */
export function toolChildLogic(tool: ToolTarget) {
  return fromCallback<TargetChildEvent, TargetChildInput>(({ input, receive, sendBack }) => {
    const { childId } = input;
    const running = new Map<string, AbortController>();
    let stopped = false;
    receive((event) => {
      if (event.type === 'target.cancel') {
        const cancelled = running.get(event.requestId);
        if (cancelled === undefined) return;
        // Forgotten first: its outcome must not answer a later call with the same id.
        running.delete(event.requestId);
        cancelled.abort(new Error(`Call ${event.requestId} was cancelled`));
        return;
      }
      const { requestId } = event;
      if (running.has(requestId)) return; // still running: its outcome answers this one too
      const controller = new AbortController();
      running.set(requestId, controller);
      const helpers = callHelpers(event.meta, controller.signal);
      Promise.resolve()
        .then(() => tool.call(event.context, helpers))
        .then(acceptContext)
        .then(
          (result): TargetResultEvent => ({
            type: 'target.result',
            childId,
            requestId,
            ok: true,
            context: result,
          }),
          (error: unknown): TargetResultEvent => ({
            type: 'target.result',
            childId,
            requestId,
            ok: false,
            error,
          }),
        )
        .then((result) => {
          // Cancelled (and perhaps sent again since, under the same id): the outcome goes nowhere.
          if (running.get(requestId) !== controller) return;
          running.delete(requestId);
          if (!stopped) sendBack(result);
        });
    });
    sendBack({ type: 'target.ready', childId });
    return () => {
      stopped = true;
      for (const controller of running.values()) controller.abort(new Error('Tool stopped'));
    };
  });
}
