import { type Actor, createActor, type Snapshot, type StateValue, waitFor } from 'xstate';
import {
  type Context,
  createContext,
  type JsonValue,
  type WorkflowMachine,
  type WorkflowMachineContext,
} from '../../src/index.js';

/** A workflow actor as the tests use it. */
export type WorkflowActor = Actor<WorkflowMachine>;

let counter = 0;

/** A fresh task id per test, so idempotency keys never collide across tests. */
export function newTaskId(prefix = 'task'): string {
  counter += 1;
  return `${prefix}-${counter}`;
}

/** A context with a readable id. */
export function ctx(contextType: string, data: JsonValue, contextId?: string): Context {
  return createContext(contextType, data, contextId === undefined ? {} : { contextId });
}

/** Starts a workflow actor. */
export function start(
  machine: WorkflowMachine,
  input: { taskId: string; input: Context; gated?: boolean },
): WorkflowActor {
  return createActor(machine, { input }).start();
}

/** A persisted workflow snapshot, as far as the tests look into it. */
export type PersistedWorkflowSnapshot = Snapshot<unknown> & {
  readonly value: StateValue;
  readonly context: WorkflowMachineContext;
};

/** The persisted snapshot after a JSON round trip, as a store would give it back. */
export function persisted(actor: WorkflowActor): PersistedWorkflowSnapshot {
  return JSON.parse(JSON.stringify(actor.getPersistedSnapshot()));
}

/** Stops `actor` and starts a new one from its JSON round-tripped persisted snapshot. */
export function restore(actor: WorkflowActor, machine: WorkflowMachine): WorkflowActor {
  const snapshot = persisted(actor);
  actor.stop();
  return createActor(machine, { snapshot }).start();
}

/** Resolves when the actor has finished (done or failed), with its final snapshot. */
export function finished(actor: WorkflowActor, timeout = 5000) {
  return waitFor(actor, (snapshot) => snapshot.status !== 'active', { timeout });
}

/** Resolves `ms` later. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
