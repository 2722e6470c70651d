import type { AnyContext, Context } from '../context/context.js';

/**
 * The kinds of target a context can be routed to (the seed's `target_type` values): an agent
 * (an actor with its own state across calls), a tool (a stateless call), or a worker pool
 * (N workers behind a bounded queue).
 */
export type RoutingTargetType = 'agent_type' | 'tool' | 'worker_pool';

/** Where a context goes: the seed's `RoutingTarget`. JSON, so decisions can be persisted. */
export interface RoutingTarget {
  readonly targetType: RoutingTargetType;
  /** The target's id; a valid storage id (`assertValidId`). */
  readonly targetId: string;
  /** The priority of the rule that chose it; higher wins. */
  readonly priority: number;
}

/** What a target's handler receives beside the context. */
export interface TargetCallHelpers {
  readonly taskId: string;
  readonly stepId: string;
  /** 1 for the first attempt of the step, 2 for its first retry… */
  readonly attempt: number;
  /** `${taskId}:${stepId}:${attempt}`: pass it to side effects, calls may run again after a crash. */
  readonly idempotencyKey: string;
  /** Aborted when the call times out or the actor that made it is stopped. */
  readonly signal: AbortSignal;
}

/**
 * A stateless tool target: one call turns a context into the result context. `defineTool` makes
 * one from a function; `mcp-orchestration/mcp` makes one from a tool on an MCP server.
 */
export interface ToolTarget {
  readonly targetType: 'tool';
  readonly targetId: string;
  /** Human description, shown in diagrams and errors. Default: none. */
  readonly description?: string;
  /** Carries the call out. Must return a context with JSON data (checked), of any data type. */
  call(context: Context, helpers: TargetCallHelpers): Promise<AnyContext>;
  /** Releases what the target holds (e.g. an MCP connection). Default: nothing to release. */
  close?(): Promise<void>;
}
