import { isOrchestrationError } from '../errors.js';
import { ContextFlowManager } from '../flow/context-flow-manager.js';
import type { ContextTransition } from '../flow/context-transition.js';
import { assertValidId, createCheckpointId, MAX_ID_LENGTH } from '../ids.js';
import {
  assertStorableState,
  type CheckpointEnvelope,
  type CheckpointMigrate,
  type DecodeOptions,
  decodeRecord,
  encodeEnvelopeWithState,
  type StoredContextReader,
  serializeState,
} from './checkpoint-envelope.js';
import type {
  CheckpointRecord,
  CheckpointRecordMeta,
  CheckpointStore,
  ListTasksOptions,
} from './checkpoint-store.js';
import { type LineageSource, LineageWriter, type SaveLineageOptions } from './lineage-writer.js';
import {
  type PreparedState,
  planWithCompletion,
  prepareRuntimeCheckpoint,
  type RuntimeCheckpoint,
} from './runtime-checkpoint.js';
import type { StoredContexts } from './shared-contexts.js';
import { readStoredEntries } from './stored-context-reads.js';
import { ContextLogWriter, entriesReadFor, rememberEntriesRead } from './stored-contexts.js';
import { parseWorkflowState, type WorkflowState } from './workflow-state.js';

/** Options of {@link CheckpointManager}. */
export interface CheckpointManagerOptions {
  /** Prefix of generated checkpoint ids (`<prefix>-<ULID>`; `''` for a bare ULID). Default: `'checkpoint'`. */
  readonly checkpointPrefix?: string;
  /** The clock for `createdAt` and TTLs, ms since the epoch. Default: `Date.now`. */
  readonly now?: () => number;
  /** Upgrades records of older formats when they are loaded. Default: none (they are refused). */
  readonly migrate?: CheckpointMigrate;
  /** Name of the store log that holds each task's lineage. Default: `'lineage'`. */
  readonly lineageLog?: string;
  /**
   * Name of the store log that holds each task's stored contexts (contexts the runtime stores
   * once for a whole task and its checkpoints name by entry). Default: `'contexts'`.
   */
  readonly contextsLog?: string;
}

/** The last time a `Date` can hold (ms since the epoch): no checkpoint expires later. */
const MAX_DATE_MS = 8.64e15;

/** Options of {@link CheckpointManager.saveCheckpoint}. */
export interface SaveCheckpointOptions {
  /** The checkpoint's id. Default: `<checkpointPrefix>-<ULID>`, which sorts by time. */
  readonly checkpointId?: string;
  /**
   * Time to live in seconds (fractions allowed); the checkpoint is gone after it. Default:
   * forever. `RangeError` unless it is over 0 and ends before the last date a `Date` holds.
   */
  readonly ttl?: number;
  /**
   * Save only if the task's head sequence number is this (0: no checkpoint yet; a loaded state's
   * `checkpoint.seq`); after the save it is this + 1. Default: unconditional.
   */
  readonly expectedSeq?: number;
  /**
   * With `expectedSeq`: the id of the checkpoint the writer knows at that seq (a loaded state's
   * `checkpoint.checkpointId`, or the last one it saved). The save is then also refused with
   * `CheckpointConflictError` (its `actualSeq` equal to its `expectedSeq`) when the task's
   * checkpoint at that seq is another one: the task was deleted and started again meanwhile (its
   * numbering starts over at 1), and its new history got as far as the writer's seq. With no
   * checkpoint at that seq (deleted by a rollback or a prune, or expired), only the seq is
   * checked. A store that does not implement `SaveRecordOptions.expectedId` (a custom one) checks
   * the seq only. Default: the seq only.
   */
  readonly expectedId?: string;
  /**
   * The checkpoint this one follows; `null`: none. Default: the last one this manager saved for
   * the task (unless this manager deleted it since), else the checkpoint the state was loaded
   * from (`state.checkpoint`), else none.
   */
  readonly parentId?: string | null;
}

/** Options of {@link CheckpointManager.deleteOldCheckpoints}. */
export interface DeleteOldCheckpointsOptions {
  /** How many of the newest checkpoints to keep. Default: 3. */
  readonly keepLatest?: number;
}

/** How the runtime reaches a manager's internals (set once the class is defined). */
let internals: {
  save(
    manager: CheckpointManager,
    prepared: PreparedState,
    options: SaveCheckpointOptions,
    lineage?: LineageOnSave,
  ): Promise<string>;
  saveLineage(
    manager: CheckpointManager,
    taskId: string,
    source: LineageSource,
    options: SaveLineageOptions,
  ): Promise<number>;
  saveNaming(
    manager: CheckpointManager,
    state: WorkflowState,
    stored: StoredContexts | undefined,
    options: SaveCheckpointOptions,
    lineage?: LineageOnSave,
  ): Promise<string>;
};

/** Most tasks whose last saved checkpoint a manager remembers (for default parent ids). */
const REMEMBERED_TASKS = 10_000;

/**
 * Saves and loads workflow states as checkpoints in a {@link CheckpointStore} (the seed's
 * `CheckpointManager`). Each checkpoint is a versioned {@link CheckpointEnvelope} holding the
 * {@link WorkflowState}, including the workflow actor's persisted XState snapshot. Missing
 * checkpoints are `undefined`/`false`; every real failure is a typed `OrchestrationError`
 * (where the seed returned `None`). Writes can be conditional (`expectedSeq`), so two writers
 * never fork a workflow's history. The workflow's context lineage is kept beside its
 * checkpoints in an append-only log (`saveLineage`/`loadLineage`).
 *
 * @example
 * ```ts
 * const manager = new CheckpointManager(createMemoryStore());
 * const id = await manager.saveCheckpoint(
 *   createWorkflowState({ taskId: 'task_123', plan: steps, status: 'running', currentStepIndex: 2 }),
 * );
 * const restored = await manager.loadCheckpoint('task_123', id);
 * const latest = await manager.loadLatestCheckpoint('task_123');
 * const ids = await manager.listCheckpoints('task_123'); // newest first
 * const deleted = await manager.deleteOldCheckpoints('task_123', { keepLatest: 3 });
 * ```
 */
export class CheckpointManager {
  /** The store checkpoints are kept in. */
  readonly store: CheckpointStore;
  /** Prefix of generated checkpoint ids. */
  readonly checkpointPrefix: string;
  /** Name of the store log of each task's stored contexts. */
  readonly contextsLog: string;
  /** Name of the store log of each task's lineage. */
  readonly lineageLog: string;
  readonly #now: () => number;
  readonly #migrate: CheckpointMigrate | undefined;
  readonly #lineage: LineageWriter;
  /** The last checkpoint this manager saved per task, least recently saved first. */
  readonly #lastSaved = new Map<string, string>();

  static {
    internals = {
      save: (manager, prepared, options, lineage) =>
        manager.#save(prepared, undefined, options, lineage),
      saveLineage: (manager, taskId, source, options) =>
        manager.#lineage.save(taskId, source, options),
      saveNaming: (manager, state, stored, options, lineage) =>
        manager.#saveState(state, options, stored, lineage),
    };
  }

  constructor(store: CheckpointStore, options: CheckpointManagerOptions = {}) {
    const prefix = options.checkpointPrefix ?? 'checkpoint';
    if (prefix !== '') {
      assertValidId('checkpointPrefix', prefix);
      if (prefix.length > MAX_ID_LENGTH - 27) {
        throw new RangeError(`checkpointPrefix must be at most ${MAX_ID_LENGTH - 27} characters`);
      }
    }
    const lineageLog = options.lineageLog ?? 'lineage';
    assertValidId('lineageLog', lineageLog);
    const contextsLog = options.contextsLog ?? 'contexts';
    assertValidId('contextsLog', contextsLog);
    if (contextsLog === lineageLog) {
      throw new RangeError('contextsLog and lineageLog must be different logs');
    }
    this.store = store;
    this.contextsLog = contextsLog;
    this.lineageLog = lineageLog;
    this.checkpointPrefix = prefix;
    this.#now = options.now ?? Date.now;
    this.#migrate = options.migrate;
    this.#lineage = new LineageWriter(store, lineageLog);
  }

  /**
   * Saves `state` as a new checkpoint of `state.taskId` and returns its id. Everything is
   * validated before anything is written: the state's shape (`ContextValidationError`), JSON
   * safety (`NonJsonValueError` naming the path; only the snapshot may hold `undefined`
   * properties) and ids (`InvalidIdError`). Throws `CheckpointConflictError` when `expectedSeq`
   * is stale and `CheckpointExistsError` when the id is taken; nothing is written then either.
   */
  async saveCheckpoint(state: WorkflowState, options: SaveCheckpointOptions = {}): Promise<string> {
    return this.#saveState(state, options);
  }

  /** `saveCheckpoint`, naming the contexts `storedContexts` has in the task's contexts log. */
  async #saveState(
    state: WorkflowState,
    options: SaveCheckpointOptions,
    storedContexts?: StoredContexts,
    lineage?: LineageOnSave,
  ): Promise<string> {
    assertValidId('taskId', (state as Partial<WorkflowState> | null)?.taskId);
    const { checkpoint: loadedFrom, ...stored } = parseWorkflowState(state);
    assertStorableState(stored);
    const prepared = serializeState(stored, storedContexts);
    return this.#save(prepared, loadedFrom?.checkpointId, options, lineage);
  }

  /**
   * Writes a checked state, serialized, in a new envelope (format 3 when it names stored
   * contexts, 2 when it shares contexts, else 1). Bad options reject. A promise chain, not an
   * async function: the runtime saves once per step.
   */
  #save(
    prepared: PreparedState,
    loadedFrom: string | undefined,
    options: SaveCheckpointOptions,
    lineage?: LineageOnSave,
  ): Promise<string> {
    try {
      return this.#write(prepared, loadedFrom, options, lineage);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #write(
    prepared: PreparedState,
    loadedFrom: string | undefined,
    options: SaveCheckpointOptions,
    lineage: LineageOnSave | undefined,
  ): Promise<string> {
    const { stored, sharedJson } = prepared;
    const { taskId } = stored;
    if (options.checkpointId !== undefined) assertValidId('checkpointId', options.checkpointId);
    if (typeof options.parentId === 'string') assertValidId('parentId', options.parentId);
    const ttl = options.ttl;
    if (ttl !== undefined && !(Number.isFinite(ttl) && ttl > 0)) {
      throw new RangeError(`ttl must be a number of seconds > 0, got ${ttl}`);
    }

    const createdAt = Math.floor(this.#now());
    const checkpointId = options.checkpointId ?? this.#newId(createdAt);
    const expiresAt =
      ttl === undefined ? undefined : createdAt + Math.max(1, Math.round(ttl * 1000));
    if (expiresAt !== undefined && !(expiresAt <= MAX_DATE_MS)) {
      throw new RangeError(`ttl must end before the last date JavaScript can hold, got ${ttl} s`);
    }
    const parentId =
      options.parentId === null
        ? undefined
        : (options.parentId ?? this.#lastSaved.get(taskId) ?? loadedFrom);
    // Fields left undefined are left out of the JSON (the same body as without them).
    const envelope: Omit<CheckpointEnvelope, 'state' | 'shared'> = {
      v: prepared.v,
      checkpointId,
      taskId,
      createdAt,
      expiresAt,
      parentId,
      status: stored.status,
      machine: stored.machine,
    };
    const body = encodeEnvelopeWithState(envelope, prepared.json, sharedJson);
    const record = { taskId, checkpointId, createdAt, expiresAt, body };
    const { expectedSeq, expectedId } = options;
    if (expectedId !== undefined) assertValidId('expectedId', expectedId);
    const fresh =
      lineage === undefined
        ? undefined
        : this.#lineage.entriesAfter(
            taskId,
            lineage.flow,
            { logged: isGenuineFlow(lineage.flow) },
            lineage.after,
          );
    const appendLog =
      fresh === undefined ? undefined : { name: this.#lineage.log, entries: fresh.entries };
    return this.store.save(record, { expectedSeq, expectedId, appendLog }).then(
      () => {
        this.#remember(taskId, checkpointId);
        if (fresh !== undefined) this.#lineage.appended(taskId, fresh.seq);
        return checkpointId;
      },
      (error: unknown) => {
        // Refused, nothing was appended; else the save may have landed (a lost reply).
        if (fresh !== undefined && !isOrchestrationError(error, 'CHECKPOINT_CONFLICT')) {
          this.#lineage.appended(taskId, undefined);
        }
        throw error;
      },
    );
  }

  /**
   * The state saved in checkpoint `checkpointId` of `taskId`, with `checkpoint` info, or
   * `undefined` when there is no such live checkpoint. Throws `CorruptRecordError` for an
   * unreadable record and `CheckpointVersionError` for a format this code cannot read. With
   * `{ snapshot: false }`, the state comes without its XState snapshot, and the contexts it
   * holds are not read (nor, for those stored once for the task, fetched from its contexts log):
   * enough for a status, and all that is read.
   */
  async loadCheckpoint(
    taskId: string,
    checkpointId: string,
    options?: DecodeOptions,
  ): Promise<WorkflowState | undefined> {
    const record = await this.store.load(taskId, checkpointId);
    return record === undefined ? undefined : this.#decode(record, options);
  }

  /**
   * The state of the task's newest live checkpoint (highest sequence number), or `undefined`.
   * Options and errors as {@link loadCheckpoint}'s.
   */
  async loadLatestCheckpoint(
    taskId: string,
    options?: DecodeOptions,
  ): Promise<WorkflowState | undefined> {
    const record = await this.store.latest(taskId);
    return record === undefined ? undefined : this.#decode(record, options);
  }

  /**
   * Decodes a record, reading the contexts it names from the task's contexts log (see
   * `readStoredEntries`). The state returned remembers which entry each context came from, so
   * that a run resumed from it names them again instead of storing them anew.
   */
  async #decode(record: CheckpointRecord, options?: DecodeOptions): Promise<WorkflowState> {
    if (options?.snapshot === false) return decodeRecord(record, this.#migrate, undefined, options);
    const { taskId } = record;
    let byEntry = new Map<number, unknown>();
    const read: StoredContextReader = async (entries) => {
      byEntry = await readStoredEntries(this.store, taskId, this.contextsLog, entries);
      return byEntry;
    };
    const state = await decodeRecord(record, this.#migrate, read);
    const entries = new Map<object, number>();
    for (const [entry, context] of byEntry) {
      if (context !== null && typeof context === 'object') entries.set(context, entry);
    }
    rememberEntriesRead(state, entries);
    return state;
  }

  /** Ids of the task's live checkpoints, newest first; `[]` when it has none. */
  async listCheckpoints(taskId: string): Promise<string[]> {
    return (await this.store.list(taskId)).map((meta) => meta.checkpointId);
  }

  /** Metadata (id, sequence number, creation and expiry times) of live checkpoints, newest first. */
  async listCheckpointInfo(taskId: string): Promise<CheckpointRecordMeta[]> {
    return this.store.list(taskId);
  }

  /**
   * Ids of the store's tasks (those with checkpoints saved, or a lineage), in id order, a page at
   * a time: `after` the last id of the previous page, at most `limit` (default 1,000, at most
   * 10,000). See `CheckpointStore.listTasks`.
   */
  async listTasks(options?: ListTasksOptions): Promise<string[]> {
    return this.store.listTasks(options);
  }

  /**
   * Deletes one checkpoint; `true` if it existed. On a store that does not append lineage with
   * each save (`appendsOnSave`), the transitions the checkpoint carries that the task's lineage
   * log lacks yet are appended first: a rollback (the newest checkpoint deleted) keeps what the
   * rolled-back steps logged, and no lineage seq is given twice. If that append fails, nothing is
   * deleted.
   */
  async deleteCheckpoint(taskId: string, checkpointId: string): Promise<boolean> {
    if (!appendsOnSave(this)) {
      const record = await this.store.load(taskId, checkpointId);
      if (record !== undefined) await this.#keepCarriedLineage(taskId, record);
    }
    const deleted = await this.store.delete(taskId, checkpointId);
    // A rollback: the next save from a loaded state follows what it was loaded from.
    if (this.#lastSaved.get(taskId) === checkpointId) this.#lastSaved.delete(taskId);
    return deleted;
  }

  /** Appends the lineage transitions checkpoint `record` carries (see `deleteCheckpoint`). */
  async #keepCarriedLineage(taskId: string, record: CheckpointRecord): Promise<void> {
    let carried: unknown;
    try {
      carried = (await this.#decode(record, { snapshot: false })).metadata.lineage;
    } catch {
      return; // a checkpoint that cannot be read has nothing to keep (deleting it is the remedy)
    }
    if (!Array.isArray(carried) || carried.length === 0) return;
    await this.#lineage.save(taskId, carried as ContextTransition[], { reread: true });
  }

  /** Deletes all but the `keepLatest` newest checkpoints, in one batch; returns how many it deleted. */
  async deleteOldCheckpoints(
    taskId: string,
    options: DeleteOldCheckpointsOptions = {},
  ): Promise<number> {
    const keepLatest = options.keepLatest ?? 3;
    if (keepLatest === 0 && !appendsOnSave(this)) {
      // The newest goes too: the lineage it carries is kept first, as `deleteCheckpoint` does.
      const newest = await this.store.latest(taskId);
      if (newest !== undefined) await this.#keepCarriedLineage(taskId, newest);
    }
    const deleted = await this.store.deleteOld(taskId, keepLatest);
    if (keepLatest === 0 && deleted > 0) this.#lastSaved.delete(taskId);
    return deleted;
  }

  /**
   * Deletes everything of a task: its checkpoints, its lineage and what this manager remembers
   * of it. Returns whether anything existed.
   */
  async deleteTask(taskId: string): Promise<boolean> {
    const existed = await this.store.deleteTask(taskId);
    this.#lastSaved.delete(taskId);
    this.#lineage.forget(taskId);
    return existed;
  }

  /**
   * Appends to the task's lineage log the transitions of `source` (a `ContextFlowManager` or
   * the transitions themselves) that are not persisted yet, one JSON entry each, and returns how
   * many it appended. The log is never rewritten. Every transition must belong to workflow
   * `taskId` and be JSON; calls for one task are serialized within this manager (use one writer
   * per task, as the checkpoints' conditional writes do). The manager remembers what it
   * persisted: delete a task through {@link deleteTask}, not behind its back.
   */
  async saveLineage(taskId: string, source: LineageSource): Promise<number> {
    return this.#lineage.save(taskId, source);
  }

  /**
   * The task's persisted lineage, in `seq` order (`[]` when none): pass it to
   * `ContextFlowManager.fromTransitions(taskId, transitions)` to restore the flow manager.
   * Throws `CorruptRecordError` naming the first unreadable entry.
   */
  async loadLineage(taskId: string): Promise<ContextTransition[]> {
    return this.#lineage.load(taskId);
  }

  #newId(createdAt: number): string {
    const id = createCheckpointId(createdAt);
    return this.checkpointPrefix === '' ? id : `${this.checkpointPrefix}-${id}`;
  }

  #remember(taskId: string, checkpointId: string): void {
    this.#lastSaved.delete(taskId);
    this.#lastSaved.set(taskId, checkpointId);
    if (this.#lastSaved.size > REMEMBERED_TASKS) {
      const oldest = this.#lastSaved.keys().next();
      if (!oldest.done) this.#lastSaved.delete(oldest.value);
    }
  }
}

/**
 * Saves a checkpoint the runtime describes (internal, not exported by the package): the same
 * checks, envelope and record as `saveCheckpoint` with the equivalent `WorkflowState`, but the
 * workflow's plan is checked and serialized once per (deep-frozen) plan, not at every save.
 * With `contextLog`, contexts it has stored are named by entry, and it is told the contexts of
 * each checkpoint saved.
 */
export function saveRuntimeCheckpoint(
  manager: CheckpointManager,
  checkpoint: RuntimeCheckpoint,
  options: SaveCheckpointOptions,
  contextLog?: ContextLogWriter,
  lineage?: LineageOnSave,
): Promise<string> {
  let prepared: ReturnType<typeof prepareRuntimeCheckpoint>;
  try {
    prepared = prepareRuntimeCheckpoint(checkpoint, contextLog);
  } catch (error) {
    return Promise.reject(error);
  }
  const onSave = appendsOnSave(manager) ? lineage : undefined;
  if (prepared === undefined) {
    const { completed, plan, ...rest } = checkpoint;
    const state: WorkflowState = { ...rest, plan: planWithCompletion(plan, completed) };
    return internals.saveNaming(manager, state, undefined, options, onSave);
  }
  if (contextLog === undefined) return internals.save(manager, prepared, options, onSave);
  const { contexts } = prepared;
  return internals.save(manager, prepared, options, onSave).then((checkpointId) => {
    contextLog.saved(contexts);
    return checkpointId;
  });
}

/**
 * The lineage a runtime checkpoint appends in its own write (internal): the transitions of
 * `flow` after `after`, the last `seq` the task's log holds.
 */
export interface LineageOnSave {
  readonly flow: ContextFlowManager;
  readonly after: number;
}

/**
 * Whether `manager`'s store appends log entries in the same write as a checkpoint (internal):
 * then `saveRuntimeCheckpoint` appends the lineage it is given, and the runtime's checkpoints
 * carry none.
 */
export function appendsOnSave(manager: CheckpointManager): boolean {
  return manager.store.appendsOnSave === true;
}

/**
 * Whether `flow` is a genuine `ContextFlowManager`: its log holds only transitions it checked
 * and froze when they were logged or restored, so they are not parsed again when written (only
 * their task and order are checked); those of anything else (a subclass, say) are parsed as
 * `saveLineage` parses them.
 */
function isGenuineFlow(flow: ContextFlowManager): boolean {
  return Object.getPrototypeOf(flow) === ContextFlowManager.prototype;
}

/**
 * Appends to the task's lineage log the transitions of the runtime's `ContextFlowManager` that
 * are not persisted yet and have a `seq` below `below` (internal), checked as
 * {@link isGenuineFlow} says. With `reread`, what is persisted is read from the log rather than
 * remembered (see {@link SaveLineageOptions.reread}).
 */
export function saveRuntimeLineage(
  manager: CheckpointManager,
  taskId: string,
  flow: ContextFlowManager,
  below: number,
  reread = false,
): Promise<number> {
  return internals.saveLineage(manager, taskId, flow, {
    logged: isGenuineFlow(flow),
    below,
    reread,
    // The transitions of checkpoints saved: not for a task deleted meanwhile.
    requireHead: true,
  });
}

/**
 * Saves `state` again as a new checkpoint (internal): a copy of a state `loaded` returned, with
 * some fields changed (a stop's status and metadata, say). The contexts `loaded` read from the
 * task's contexts log, which `state` still holds, are named there again instead of held, and
 * those it made from a base there with a splice are spliced from it again.
 */
export function saveLoadedAgain(
  manager: CheckpointManager,
  loaded: WorkflowState,
  state: WorkflowState,
  options: SaveCheckpointOptions,
): Promise<string> {
  // Names what it read from the log, and splices from the bases it read; appends nothing.
  const entries = entriesReadFor(loaded);
  const { store, contextsLog } = manager;
  const stored = new ContextLogWriter(store, state.taskId, contextsLog, entries, false);
  return internals.saveNaming(manager, state, stored, options);
}
