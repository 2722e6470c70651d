import type { JsonObject } from '../json.js';

/**
 * One logged transition (the seed's `ContextTransition`): a component produced `toContextId`
 * from zero or more parent contexts (several for a merge). JSON-safe, so a log of them can be
 * persisted beside a workflow's checkpoints.
 */
export interface ContextTransition {
  /** Position in the workflow's log, from 0; never reused, not changed by pruning. */
  readonly seq: number;
  readonly workflowId: string;
  readonly toContextId: string;
  readonly toContextType: string;
  /** Ids of the contexts it was made from, in order; empty for an origin. */
  readonly fromContextIds: readonly string[];
  /** Types of the parent contexts, parallel to `fromContextIds`. */
  readonly fromContextTypes: readonly string[];
  readonly componentName: string;
  readonly operation?: string | undefined;
  /** When it was logged, ms since the epoch. */
  readonly timestamp: number;
  readonly metadata: JsonObject;
}
