import { isValidatedJson } from '../context/validated-json.js';
import { CheckpointVersionError, ContextValidationError, CorruptRecordError } from '../errors.js';
import { type AssertJsonOptions, assertJson, type JsonObject } from '../json.js';
import { isRecord } from '../objects.js';
import type { CheckpointRecord, CheckpointRecordMeta } from './checkpoint-store.js';
import { restoreSharedContexts, storedEntriesOf } from './restore-shared-contexts.js';
import { type SharedContext, type StoredContexts, shareContexts } from './shared-contexts.js';
import {
  type CheckpointInfo,
  parseWorkflowState,
  WORKFLOW_STATUSES,
  type WorkflowMachineRef,
  type WorkflowState,
  type WorkflowStatus,
} from './workflow-state.js';

/**
 * The newest envelope format, which this code writes and reads. Format 2 adds `shared` (contexts
 * the snapshot holds more than once, stored once); format 3 lets `shared` name contexts stored
 * in the task's contexts log; format 4 lets it make a context from one stored there with a
 * splice (`{ base, contextId, metadata, p, s, mid, at }`). A checkpoint is written in the oldest
 * format that holds it (1 when it shares nothing), and this code reads all four as they are, so
 * older readers still read what they can.
 */
export const CHECKPOINT_FORMAT_VERSION = 4;

/** The oldest format read without a `migrate` hook. */
const OLDEST_NATIVE_FORMAT = 1;

/** A {@link WorkflowState} as stored: without the `checkpoint` info a load adds. */
export type StoredWorkflowState = Omit<WorkflowState, 'checkpoint'>;

/**
 * What a checkpoint record's body holds (JSON): the workflow state plus what identifies and
 * dates it. `status` and `machine` repeat the state's, so a reader can tell what a checkpoint
 * is without interpreting the state. The sequence number is the store's, not the envelope's.
 */
export interface CheckpointEnvelope {
  /** 4 when `shared` splices log entries, 3 when it names some, 2 when it has `shared`, else 1. */
  readonly v: 1 | 2 | 3 | typeof CHECKPOINT_FORMAT_VERSION;
  readonly checkpointId: string;
  readonly taskId: string;
  /** Creation time, ms since the epoch. */
  readonly createdAt: number;
  /** Expiry time, ms since the epoch; absent means never. */
  readonly expiresAt?: number | undefined;
  /** The checkpoint this one was saved after. */
  readonly parentId?: string | undefined;
  readonly status: WorkflowStatus;
  readonly machine?: WorkflowMachineRef | undefined;
  /**
   * Contexts `state.snapshot` holds at two places or more, each stored once here with its places
   * (where the snapshot holds `null`), format 2; and in format 3 also contexts stored in the
   * task's contexts log, named by entry; in format 4 also contexts made from such an entry with
   * a splice.
   */
  readonly shared?: readonly SharedContext[] | undefined;
  readonly state: StoredWorkflowState;
}

/** A checked state and its JSON, as a checkpoint's envelope takes them. */
export interface SerializedState {
  readonly stored: StoredWorkflowState;
  /** The JSON of the state, shared contexts left out of its snapshot. */
  readonly json: string;
  /** The envelope's `shared`: the contexts its snapshot holds more than once, as JSON. */
  readonly sharedJson: string | undefined;
  /** The envelope's format: see {@link CheckpointEnvelope.v}. */
  readonly v: 1 | 2 | 3 | 4;
  /** Every context the snapshot holds (each once). */
  readonly contexts: ReadonlySet<object>;
}

/**
 * Serializes a checked state; each context its snapshot holds more than once goes to `shared`,
 * and so does each context `storedContexts` has in the task's contexts log (named by entry).
 */
export function serializeState(
  stored: StoredWorkflowState,
  storedContexts?: StoredContexts,
): SerializedState {
  const { contexts, taken } = shareContexts(stored.snapshot, storedContexts);
  if (taken === undefined) {
    return { stored, json: JSON.stringify(stored), sharedJson: undefined, v: 1, contexts };
  }
  const json = JSON.stringify({ ...stored, snapshot: taken.snapshot });
  const v = taken.spliced ? 4 : taken.stored ? 3 : 2;
  return { stored, json, sharedJson: taken.json, v, contexts };
}

/**
 * Reads entries of the task's contexts log for {@link decodeRecord}: each entry's context,
 * parsed, by entry (an entry the log does not have is left out).
 */
export type StoredContextReader = (
  entries: readonly number[],
) => Promise<ReadonlyMap<number, unknown>>;

/**
 * Upgrades a record written in a format older than 1 (`fromVersion`: 0 for a record with no `v`,
 * such as a bare JSON state) to a current {@link CheckpointEnvelope}.
 * `meta` is what the store knows about the record.
 */
export type CheckpointMigrate = (
  envelope: JsonObject,
  fromVersion: number,
  meta: CheckpointRecordMeta,
) => CheckpointEnvelope | Promise<CheckpointEnvelope>;

/**
 * Checks that a state can be stored exactly as JSON: everything must be JSON except the XState
 * snapshot, which may carry `undefined` properties (JSON drops them, and XState restores them).
 * Deep-frozen values checked when they were made (context data and metadata, lineage
 * transitions) are not walked again. Throws `NonJsonValueError` or `DepthLimitError` naming the
 * path.
 */
export function assertStorableState(state: StoredWorkflowState): void {
  const snapshot = state.snapshot;
  if (snapshot === undefined) {
    // A `snapshot: undefined` property is no snapshot (JSON leaves it out), not a bad value.
    if (!Object.hasOwn(state, 'snapshot')) assertJson(state, STATE_OPTIONS);
    else assertJson({ ...state, snapshot: null }, STATE_OPTIONS);
    return;
  }
  // The state but its snapshot (checked below, where `undefined` properties are allowed).
  const skip = (container: object) => container === snapshot || isValidatedJson(container);
  assertJson(state, { path: '$', skip });
  assertJson(snapshot, SNAPSHOT_OPTIONS);
}

const STATE_OPTIONS: AssertJsonOptions = { path: '$', skip: isValidatedJson };
const SNAPSHOT_OPTIONS: AssertJsonOptions = {
  path: '$.snapshot',
  allowUndefinedProperties: true,
  skip: isValidatedJson,
};

/** Serializes an envelope into a record body. */
export function encodeEnvelope(envelope: CheckpointEnvelope): string {
  return JSON.stringify(envelope);
}

/**
 * Serializes an envelope whose state is already JSON (`stateJson`, the JSON of a checked
 * `StoredWorkflowState`), and its `shared` list too when given (`sharedJson`): the same body as
 * {@link encodeEnvelope} with that state (and list).
 */
export function encodeEnvelopeWithState(
  envelope: Omit<CheckpointEnvelope, 'state' | 'shared'>,
  stateJson: string,
  sharedJson?: string,
): string {
  const head = JSON.stringify(envelope).slice(0, -1);
  const shared = sharedJson === undefined ? '' : `,"shared":${sharedJson}`;
  return `${head}${shared},"state":${stateJson}}`;
}

/** A stored state without its `snapshot` (anything else as it is, for the checks). */
function withoutSnapshot(state: unknown): unknown {
  if (!isRecord(state)) return state;
  const { snapshot: _snapshot, ...rest } = state;
  return rest;
}

/** Options of {@link decodeRecord} and of the `CheckpointManager` loads. */
export interface DecodeOptions {
  /**
   * `false`: the state is read without its XState snapshot (`snapshot` left out), so the
   * contexts the snapshot holds are neither restored nor read from the task's contexts log.
   * What a status needs (status, step, metadata, machine, plan) is checked as usual. Default:
   * `true`.
   */
  readonly snapshot?: boolean;
}

/**
 * Reads a record back into a {@link WorkflowState} with its {@link CheckpointInfo}. Contexts a
 * format 3 envelope names in the task's contexts log are read with `readStored` (a
 * `CheckpointManager` passes one), unless `options.snapshot` is `false`. Throws
 * `CorruptRecordError` for a body that is not a valid envelope of this record (or names log
 * entries that do not hold its contexts), and `CheckpointVersionError` for a newer format, or an
 * older one without `migrate`.
 */
export async function decodeRecord(
  record: CheckpointRecord,
  migrate?: CheckpointMigrate,
  readStored?: StoredContextReader,
  options: DecodeOptions = {},
): Promise<WorkflowState> {
  const { taskId, checkpointId } = record;
  const corrupt = (reason: string, cause?: unknown) =>
    new CorruptRecordError(taskId, checkpointId, reason, cause === undefined ? {} : { cause });

  let raw: unknown;
  try {
    raw = JSON.parse(record.body);
  } catch (error) {
    throw corrupt('its body is not JSON', error);
  }
  if (!isRecord(raw)) throw corrupt('its body is not a JSON object');
  const version = raw.v === undefined ? 0 : raw.v;
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 0) {
    throw corrupt('its format version is not an integer ≥ 0');
  }
  if (version > CHECKPOINT_FORMAT_VERSION || (version < OLDEST_NATIVE_FORMAT && !migrate)) {
    throw new CheckpointVersionError(taskId, checkpointId, version, CHECKPOINT_FORMAT_VERSION);
  }
  let envelope: unknown = raw;
  if (version < OLDEST_NATIVE_FORMAT && migrate) {
    const { body: _body, ...meta } = record;
    envelope = await migrate(raw as JsonObject, version, meta);
  }
  if (!isRecord(envelope)) throw corrupt('its envelope is not an object');
  if (![1, 2, 3, CHECKPOINT_FORMAT_VERSION].includes(envelope.v as number)) {
    throw corrupt(`migrate returned format version ${String(envelope.v)}`);
  }
  if (envelope.checkpointId !== checkpointId)
    throw corrupt('its envelope names another checkpoint');
  if (envelope.taskId !== taskId) throw corrupt('its envelope names another task');
  if (!WORKFLOW_STATUSES.includes(envelope.status as WorkflowStatus)) {
    throw corrupt('its envelope has no valid status');
  }
  const parentId = envelope.parentId;
  if (parentId !== undefined && typeof parentId !== 'string') {
    throw corrupt('its parentId is not a string');
  }

  const withSnapshot = options.snapshot !== false;
  if (envelope.shared !== undefined && envelope.v === 1) {
    throw corrupt('it has shared contexts in format 1');
  }
  if (envelope.shared !== undefined && withSnapshot) {
    const named = storedEntriesOf(envelope.shared);
    if (typeof named === 'string') throw corrupt(named);
    const { entries, spliced } = named;
    let read: ReadonlyMap<number, unknown> | undefined;
    if (spliced && envelope.v !== 4)
      throw corrupt(`it splices stored contexts in format ${envelope.v}`);
    if (entries.length > 0) {
      if (envelope.v === 2) throw corrupt('it names stored contexts in format 2');
      if (readStored === undefined) {
        throw corrupt("it names contexts stored in its task's log, and nothing reads them here");
      }
      read = await readStored(entries);
    }
    const snapshot = isRecord(envelope.state) ? envelope.state.snapshot : undefined;
    const misfit = restoreSharedContexts(snapshot, envelope.shared, read);
    if (misfit !== undefined) throw corrupt(misfit);
  }

  let state: WorkflowState;
  try {
    state = parseWorkflowState(withSnapshot ? envelope.state : withoutSnapshot(envelope.state));
  } catch (error) {
    if (error instanceof ContextValidationError) {
      const first = error.issues[0];
      throw corrupt(
        `its state is invalid (${first?.path.replace(/^\$/, '$.state')}: ${first?.message})`,
        error,
      );
    }
    throw error;
  }
  if (state.checkpoint !== undefined) throw corrupt('its state carries checkpoint info');
  if (state.taskId !== taskId) throw corrupt('its state names another task');
  if (state.status !== envelope.status) throw corrupt("its status differs from its state's");
  const machine = isRecord(envelope.machine) ? envelope.machine : undefined;
  if (
    (envelope.machine !== undefined && machine === undefined) ||
    state.machine?.id !== machine?.id ||
    state.machine?.version !== machine?.version
  ) {
    throw corrupt("its machine differs from its state's");
  }

  const checkpoint: CheckpointInfo = {
    checkpointId,
    seq: record.seq,
    createdAt: record.createdAt,
    ...(record.expiresAt === undefined ? {} : { expiresAt: record.expiresAt }),
    ...(parentId === undefined ? {} : { parentId }),
    v: version,
  };
  state.checkpoint = checkpoint;
  return state;
}
