import type { Snapshot } from 'xstate';
import { ContextValidationError, type ValidationIssue } from '../errors.js';
import type { JsonObject } from '../json.js';
import { isPlainObject } from '../objects.js';

/** Where a workflow is in its life (the seed's `status`). */
export type WorkflowStatus =
  | 'pending'
  | 'running'
  | 'suspended'
  | 'paused'
  | 'completed'
  | 'error'
  | 'cancelled';

/** Every {@link WorkflowStatus}, in life order. */
export const WORKFLOW_STATUSES: readonly WorkflowStatus[] = Object.freeze([
  'pending',
  'running',
  'suspended',
  'paused',
  'completed',
  'error',
  'cancelled',
]);

/** One step of a workflow's plan (the seed's `WorkflowStep`). JSON-safe. */
export interface WorkflowStep {
  stepId: string;
  name: string;
  description?: string | undefined;
  /** The tool that carries the step out, if any. */
  toolName?: string | undefined;
  /** The operation the step performs (logged as the transition's `operation`). */
  action?: string | undefined;
  /** Position in the plan, from 0. */
  stepIndex: number;
  isComplete: boolean;
  metadata?: JsonObject | undefined;
}

/** Which machine a persisted snapshot belongs to, checked before restoring it. */
export interface WorkflowMachineRef {
  /** The machine's `id`. */
  id: string;
  /** The machine's `version` config, when it has one. */
  version?: string | undefined;
}

/** What a loaded state carries about the checkpoint it was read from. */
export interface CheckpointInfo {
  readonly checkpointId: string;
  /** The store's sequence number of the checkpoint (1 for a task's first). */
  readonly seq: number;
  /** Creation time, ms since the epoch. */
  readonly createdAt: number;
  /** Expiry time, ms since the epoch; absent means never. */
  readonly expiresAt?: number | undefined;
  /** The checkpoint this one was saved after, if any. */
  readonly parentId?: string | undefined;
  /** The envelope format version it was stored in (before any migration). */
  readonly v: number;
}

/**
 * The state of one workflow (the seed's `WorkflowState`): its plan, status and current step,
 * plus, when the workflow runs as an XState machine, the actor's persisted snapshot
 * (`actor.getPersistedSnapshot()`) and which machine it belongs to. Everything is JSON except
 * that the snapshot may carry `undefined` properties (XState's do).
 */
export interface WorkflowState {
  /** The task (workflow) id; a valid storage id (see `assertValidId`). */
  taskId: string;
  plan: WorkflowStep[];
  status: WorkflowStatus;
  /** Index in `plan` of the step being (or next to be) carried out. */
  currentStepIndex: number;
  /** Free JSON metadata, e.g. `{ error, errorTime }` after a failure. */
  metadata: JsonObject;
  /** The machine `snapshot` belongs to. */
  machine?: WorkflowMachineRef | undefined;
  /** The workflow actor's persisted snapshot; restore with `createActor(machine, { snapshot })`. */
  snapshot?: Snapshot<unknown> | undefined;
  /** Set on states returned by `loadCheckpoint`/`loadLatestCheckpoint`; never saved. */
  checkpoint?: CheckpointInfo | undefined;
}

/** What {@link createWorkflowState} needs; everything but `taskId` has a default. */
export interface WorkflowStateInit {
  taskId: string;
  /** Default: `[]`. */
  plan?: WorkflowStep[];
  /** Default: `'pending'`. */
  status?: WorkflowStatus;
  /** Default: `0`. */
  currentStepIndex?: number;
  /** Default: `{}`. */
  metadata?: JsonObject;
  /** Default: none. */
  machine?: WorkflowMachineRef;
  /** Default: none. */
  snapshot?: Snapshot<unknown>;
}

/**
 * A new, validated {@link WorkflowState} with defaults filled in (like the seed's constructor).
 *
 * @example
 * ```ts
 * const state = createWorkflowState({ taskId: 'task_123', plan: steps, status: 'running' });
 * ```
 */
export function createWorkflowState(init: WorkflowStateInit): WorkflowState {
  return parseWorkflowState({
    plan: [],
    status: 'pending',
    currentStepIndex: 0,
    metadata: {},
    ...init,
  });
}

const STEP_KEYS = new Set([
  'stepId',
  'name',
  'description',
  'toolName',
  'action',
  'stepIndex',
  'isComplete',
  'metadata',
]);
const STATE_KEYS = new Set([
  'taskId',
  'plan',
  'status',
  'currentStepIndex',
  'metadata',
  'machine',
  'snapshot',
  'checkpoint',
]);
const SNAPSHOT_STATUSES = new Set(['active', 'done', 'error', 'stopped']);

type Fields = Record<string, unknown>;

/** Collects issues while reading an untrusted value. */
class Reader {
  readonly issues: ValidationIssue[] = [];

  fail(path: string, message: string): undefined {
    this.issues.push({ path, message });
    return undefined;
  }

  object(value: unknown, path: string, keys?: ReadonlySet<string>): Fields | undefined {
    if (!isPlainObject(value)) return this.fail(path, 'must be a plain object');
    if (keys !== undefined) {
      for (const key of Object.keys(value)) {
        if (!keys.has(key)) this.fail(`${path}.${key}`, 'is not a known property');
      }
    }
    return value;
  }

  string(value: unknown, path: string): string | undefined {
    if (typeof value === 'string' && value.length > 0) return value;
    return this.fail(path, 'must be a non-empty string');
  }

  optionalString(value: unknown, path: string): string | undefined {
    if (value === undefined || typeof value === 'string') return value;
    return this.fail(path, 'must be a string when present');
  }

  index(value: unknown, path: string): number | undefined {
    if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
    return this.fail(path, 'must be an integer ≥ 0');
  }
}

function readStep(r: Reader, value: unknown, path: string): WorkflowStep | undefined {
  const fields = r.object(value, path, STEP_KEYS);
  if (fields === undefined) return undefined;
  const step: WorkflowStep = {
    stepId: r.string(fields.stepId, `${path}.stepId`) ?? '',
    name:
      typeof fields.name === 'string'
        ? fields.name
        : (r.fail(`${path}.name`, 'must be a string') ?? ''),
    stepIndex: r.index(fields.stepIndex, `${path}.stepIndex`) ?? 0,
    isComplete: fields.isComplete === true,
  };
  if (typeof fields.isComplete !== 'boolean') r.fail(`${path}.isComplete`, 'must be a boolean');
  for (const key of ['description', 'toolName', 'action'] as const) {
    const text = r.optionalString(fields[key], `${path}.${key}`);
    if (text !== undefined) step[key] = text;
  }
  if (fields.metadata !== undefined) {
    const metadata = r.object(fields.metadata, `${path}.metadata`);
    if (metadata !== undefined) step.metadata = metadata as JsonObject;
  }
  return step;
}

function readCheckpointInfo(r: Reader, value: unknown): CheckpointInfo | undefined {
  const fields = r.object(value, '$.checkpoint');
  if (fields === undefined) return undefined;
  const checkpointId = r.string(fields.checkpointId, '$.checkpoint.checkpointId');
  const seq = r.index(fields.seq, '$.checkpoint.seq');
  const createdAt = r.index(fields.createdAt, '$.checkpoint.createdAt');
  const v = r.index(fields.v, '$.checkpoint.v');
  if (checkpointId === undefined || seq === undefined || createdAt === undefined) return undefined;
  if (v === undefined) return undefined;
  const info: CheckpointInfo = { checkpointId, seq, createdAt, v };
  const expiresAt =
    fields.expiresAt === undefined
      ? undefined
      : r.index(fields.expiresAt, '$.checkpoint.expiresAt');
  const parentId = r.optionalString(fields.parentId, '$.checkpoint.parentId');
  return {
    ...info,
    ...(expiresAt === undefined ? {} : { expiresAt }),
    ...(parentId === undefined ? {} : { parentId }),
  };
}

/**
 * The state {@link parseWorkflowState} returns for a state without plan or checkpoint info whose
 * fields are all of their kind already (a runtime's own checkpoint: its status, step index,
 * metadata object, machine and XState snapshot), built without a reader; `undefined` when any
 * field is not, and the caller parses it (for the typed error naming the path).
 */
export function planlessStateOf(fields: {
  readonly taskId: string;
  readonly status: WorkflowStatus;
  readonly currentStepIndex: number;
  readonly metadata: JsonObject;
  readonly machine: WorkflowMachineRef;
  readonly snapshot: Snapshot<unknown> | undefined;
}): WorkflowState | undefined {
  const { taskId, status, currentStepIndex, metadata, machine, snapshot } = fields;
  if (
    typeof taskId !== 'string' ||
    taskId.length === 0 ||
    !WORKFLOW_STATUSES.includes(status) ||
    !(Number.isSafeInteger(currentStepIndex) && currentStepIndex >= 0) ||
    !isPlainObject(metadata) ||
    !isPlainObject(machine) ||
    typeof machine.id !== 'string' ||
    machine.id.length === 0 ||
    typeof machine.version !== 'string' ||
    Object.keys(machine).length !== 2 ||
    (snapshot !== undefined &&
      !(isPlainObject(snapshot) && SNAPSHOT_STATUSES.has(snapshot.status as string)))
  ) {
    return undefined;
  }
  const state: WorkflowState = { taskId, plan: [], status, currentStepIndex, metadata };
  state.machine = { id: machine.id, version: machine.version };
  if (snapshot !== undefined) state.snapshot = snapshot;
  return state;
}

/** A checkpoint's plan, as {@link checkpointPlan} gives it. */
export interface CheckpointPlan {
  /** The steps, with `isComplete`. */
  readonly plan: readonly WorkflowStep[];
  /**
   * Set when the checkpoint leaves its plan out (`metadata.planOmitted`): how many steps the
   * plan has. `plan` is then the plan given instead, its completion derived from the current step.
   */
  readonly omittedSteps?: number;
}

/**
 * The plan of a checkpoint. A runtime writes a plan longer than its `planInCheckpoints` only
 * into a task's first and final checkpoints; one between them names its length in
 * `metadata.planOmitted`, and gets `fallback` instead (the workflow's plan, or the task's first
 * checkpoint's), each step marked complete when the task completed or the step comes before the
 * current one: exact for a sequence, an estimate inside a parallel group (its regions' steps are
 * numbered one after another).
 */
export function checkpointPlan(
  state: WorkflowState,
  fallback: readonly WorkflowStep[] = [],
): CheckpointPlan {
  const omittedSteps = state.metadata.planOmitted;
  if (state.plan.length > 0 || typeof omittedSteps !== 'number') return { plan: state.plan };
  const completed = state.status === 'completed';
  const plan = fallback.map((step) => ({
    ...step,
    isComplete: completed || step.stepIndex < state.currentStepIndex,
  }));
  return { plan, omittedSteps };
}

/**
 * Validates the shape of a {@link WorkflowState} and returns a normalized copy (optional
 * properties that are `undefined` are left out; `metadata` and `snapshot` are shared, not
 * copied). Deep JSON safety is checked when saving. Throws `ContextValidationError` (with
 * `contextType` `'WorkflowState'`) listing every problem found.
 */
export function parseWorkflowState(value: unknown): WorkflowState {
  const r = new Reader();
  const fields = r.object(value, '$', STATE_KEYS);
  if (fields === undefined) throw new ContextValidationError('WorkflowState', r.issues);

  const taskId = r.string(fields.taskId, '$.taskId') ?? '';
  const plan: WorkflowStep[] = [];
  if (!Array.isArray(fields.plan)) r.fail('$.plan', 'must be an array of steps');
  else {
    const seen = new Set<string>();
    fields.plan.forEach((item, i) => {
      const step = readStep(r, item, `$.plan[${i}]`);
      if (step === undefined) return;
      if (seen.has(step.stepId)) r.fail(`$.plan[${i}].stepId`, `repeats ${step.stepId}`);
      seen.add(step.stepId);
      plan.push(step);
    });
  }
  const status = fields.status as WorkflowStatus;
  if (!WORKFLOW_STATUSES.includes(status)) {
    r.fail('$.status', `must be one of ${WORKFLOW_STATUSES.join(', ')}`);
  }
  const currentStepIndex = r.index(fields.currentStepIndex, '$.currentStepIndex') ?? 0;
  const metadata = (r.object(fields.metadata, '$.metadata') ?? {}) as JsonObject;
  const state: WorkflowState = { taskId, plan, status, currentStepIndex, metadata };

  if (fields.machine !== undefined) {
    const machine = r.object(fields.machine, '$.machine', new Set(['id', 'version']));
    if (machine !== undefined) {
      const id = r.string(machine.id, '$.machine.id') ?? '';
      const version = r.optionalString(machine.version, '$.machine.version');
      state.machine = version === undefined ? { id } : { id, version };
    }
  }
  if (fields.snapshot !== undefined) {
    const snapshot = r.object(fields.snapshot, '$.snapshot');
    if (snapshot !== undefined && !SNAPSHOT_STATUSES.has(snapshot.status as string)) {
      r.fail(
        '$.snapshot.status',
        'must be an XState snapshot status (active, done, error, stopped)',
      );
    }
    state.snapshot = snapshot as Snapshot<unknown> | undefined;
  }
  if (fields.checkpoint !== undefined) {
    const checkpoint = readCheckpointInfo(r, fields.checkpoint);
    if (checkpoint !== undefined) state.checkpoint = checkpoint;
  }

  if (r.issues.length > 0) throw new ContextValidationError('WorkflowState', r.issues);
  return state;
}
