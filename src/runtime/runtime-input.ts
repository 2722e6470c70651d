import { ROUTER_TASK_PREFIX } from '../../machines/router/persist-router.js';
import type { Context } from '../context/context.js';
import { createContext } from '../context/create-context.js';
import { parseContext } from '../context/parse-context.js';
import { InvalidIdError } from '../errors.js';
import { assertValidId, MAX_ID_LENGTH } from '../ids.js';
import { assertRunRecorderOptions } from '../inspection/run-recorder.js';
import type { JsonValue } from '../json.js';
import type { CheckpointPolicy, RuntimeOptions } from './runtime-types.js';

/** The checked settings of a runtime (internal to `createRuntime`). */
export interface RuntimeSettings {
  readonly policy: CheckpointPolicy;
  readonly now: () => number;
  readonly planLimit: number;
}

function assertPolicy(policy: CheckpointPolicy): void {
  if (policy === 'every-step' || policy === 'on-suspend') return;
  const every = (policy as { every?: unknown } | null)?.every;
  if (typeof every !== 'number' || !Number.isSafeInteger(every) || every < 1) {
    throw new TypeError(
      "checkpointPolicy must be 'every-step', 'on-suspend' or { every: N } with an integer N ≥ 1",
    );
  }
}

/** Checks a runtime's options (a `TypeError` naming the bad one) and fills in the defaults. */
export function runtimeSettings(options: RuntimeOptions): RuntimeSettings {
  const policy = options.checkpointPolicy ?? 'every-step';
  assertPolicy(policy);
  const planLimit = options.planInCheckpoints ?? 20;
  if (!(Number.isSafeInteger(planLimit) && planLimit >= 0)) {
    throw new TypeError('planInCheckpoints must be an integer ≥ 0');
  }
  const keep = options.keepCheckpoints;
  if (keep !== undefined && !(Number.isSafeInteger(keep) && keep >= 1)) {
    throw new TypeError(`keepCheckpoints must be an integer ≥ 1, got ${keep}`);
  }
  const { record } = options;
  if (record !== undefined && typeof record !== 'boolean') {
    if (typeof record !== 'object' || record === null) {
      throw new TypeError('record must be true, false or the recorder options');
    }
    assertRunRecorderOptions(record);
  }
  return { policy, now: options.now ?? Date.now, planLimit };
}

/**
 * Whether a run's input is meant as a context: it has a context's four fields (`contextId` and
 * `contextType` strings, `data`, a `metadata` object), as `createContext` makes it or JSON
 * carries it. Plain JSON that merely has `contextId`/`contextType` fields is data.
 */
function looksLikeContext(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const record = value as Record<string, unknown>;
  const { metadata } = record;
  return (
    typeof record.contextId === 'string' &&
    typeof record.contextType === 'string' &&
    Object.hasOwn(record, 'data') &&
    typeof metadata === 'object' &&
    metadata !== null &&
    !Array.isArray(metadata)
  );
}

/**
 * The first context of a run: the given context, or JSON data in an `InputContext` (both checked
 * to be JSON: the caller's types may be interfaces).
 */
export function inputContext(input: unknown, taskId: string): Context {
  if (looksLikeContext(input)) return parseContext(input);
  const contextId = `${taskId}_input`;
  return createContext('InputContext', input as JsonValue, {
    ...(contextId.length <= MAX_ID_LENGTH ? { contextId } : {}),
  });
}

/**
 * Checks a task id the runtime starts or stops: a valid id, and not one of a persisted router
 * actor (`router.…`), whose checkpoints only its router writes.
 */
export function assertWorkflowTaskId(taskId: unknown): asserts taskId is string {
  assertValidId('taskId', taskId);
  if (taskId.startsWith(ROUTER_TASK_PREFIX)) {
    const reason = `task ids starting with "${ROUTER_TASK_PREFIX}" hold persisted router actors`;
    throw new InvalidIdError('taskId', taskId, reason);
  }
}
