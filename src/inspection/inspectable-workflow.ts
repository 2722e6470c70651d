import type { AnyStateMachine } from 'xstate';
import type { WorkflowStep } from '../checkpoint/workflow-state.js';

/**
 * What the inspection helpers need of a workflow: a `defineWorkflow` workflow, a
 * `defineMachineWorkflow` one, or any `{ id, machine }` (a plain XState machine with an id).
 */
export interface InspectableWorkflow {
  /** The workflow id. */
  readonly id: string;
  /** The workflow version. Default: none. */
  readonly version?: string;
  /** Human name. Default: the id. */
  readonly name?: string;
  /** What the workflow does. Default: none. */
  readonly description?: string;
  /** The XState machine. */
  readonly machine: AnyStateMachine;
  /** The plan: a state keyed by a step id is named after that step. Default: `[]`. */
  readonly plan?: readonly WorkflowStep[];
}
