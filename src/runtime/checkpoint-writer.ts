import {
  appendsOnSave,
  type CheckpointManager,
  saveRuntimeCheckpoint,
  saveRuntimeLineage,
} from '../checkpoint/checkpoint-manager.js';
import { ContextLogWriter, entriesReadFor } from '../checkpoint/stored-contexts.js';
import type { WorkflowState } from '../checkpoint/workflow-state.js';
import type { ContextFlowManager } from '../flow/context-flow-manager.js';
import type { ContextTransition } from '../flow/context-transition.js';
import { asError } from './as-error.js';
import {
  buildRuntimeCheckpoint,
  type CheckpointStateInput,
  FINAL_STATUSES,
} from './checkpoint-state.js';
import type { RuntimeEvent } from './runtime-types.js';

const NO_TRANSITIONS: readonly ContextTransition[] = Object.freeze([]);

/**
 * On a store that does not append on save, the lineage is appended once this many transitions
 * are pending, and at every checkpoint that is not `running` (suspended or final); until then
 * the transitions ride in each checkpoint (about 0.3 KB each). On the file store an append is a
 * lock and a write of its own: appending at every step made each step about a third slower.
 */
export const LINEAGE_APPEND_BATCH = 8;

/** The checkpoint a restored run continues from. */
export interface LoadedCheckpoint {
  readonly seq: number;
  readonly checkpointId: string;
  /**
   * The seq its next checkpoint expects the task's head at: `seq`, or more when newer
   * checkpoints were deleted (a rollback; the store never numbers two checkpoints alike).
   */
  readonly head: number;
  /** The contexts log entry each context of its state was read from. */
  readonly storedContexts?: ReadonlyMap<object, number>;
  /** The `seq` of the last lineage transition in the store's log (-1: none). */
  readonly lineageSeq: number;
}

/**
 * What a run restored from `state` (as a load returned it) continues from, its task's lineage
 * log holding the transitions up to `lineageSeq`; none for a new task. `head` is the seq its
 * first write expects the task's head at, as {@link loadLatestForWrite} returned it.
 */
export function loadedCheckpointOf(
  state: WorkflowState,
  lineageSeq: number,
  head: number,
): LoadedCheckpoint | undefined {
  const info = state.checkpoint;
  if (info === undefined) return undefined;
  const { seq, checkpointId } = info;
  return { seq, checkpointId, head, storedContexts: entriesReadFor(state), lineageSeq };
}

/**
 * The task's latest checkpoint (`state`, undefined: none), and `head`: the seq a write after it
 * expects the task's head at. The head outruns the latest live checkpoint once newer ones were
 * deleted (`deleteCheckpoint`, `mcp-orch checkpoints delete TASK ID`: a rollback) or expired,
 * and it never goes back (no seq is numbered twice), so expecting the loaded checkpoint's own
 * seq would conflict forever: the write goes after the head instead. The head is read BEFORE the
 * checkpoint, which keeps it race-safe. A writer that saves between the two reads wrote the
 * checkpoint we loaded (its seq is the max); one that saves after the load moves the head past
 * what we expect, and our write conflicts instead of forking the task. Were the head read after
 * the load, a save between the two would count in it but not in the state we loaded, and our
 * write would silently go over that save.
 */
export async function loadLatestForWrite(
  manager: CheckpointManager,
  taskId: string,
): Promise<{ readonly state: WorkflowState | undefined; readonly head: number }> {
  const head = await manager.store.head(taskId);
  const state = await manager.loadLatestCheckpoint(taskId);
  return { state, head: Math.max(head, state?.checkpoint?.seq ?? 0) };
}

/**
 * Writes one run's checkpoints (internal, shared by both kinds of run): each save is conditional
 * on the last sequence number written or loaded (the task's head, for a run restored after a
 * rollback) and on the id of that checkpoint (`expectedId`: a task deleted and started again
 * elsewhere, numbered from 1 again, is not taken for this run's), so a second writer on the task
 * loses with `CheckpointConflictError` instead of forking it. The lineage transitions the store's
 * log does not have yet go with each checkpoint: on a store that appends on save
 * (`appendsOnSave`), in the checkpoint's own write;
 * on any other, appended beside it in batches
 * ({@link LINEAGE_APPEND_BATCH}), with at most one lineage write in flight, which the next
 * checkpoint does not wait for: until a write lands, those transitions travel in the
 * checkpoints' metadata (a resumed run carries them on until they are in the log), so a crash
 * between the writes loses nothing. With `keep`, older checkpoints are deleted as the run goes:
 * once every `keep` saves, after a final one, and at a restored run's first save (best effort: a
 * failed prune is tried again at the next save). With `assertLease` (a runtime with leases),
 * nothing is saved or appended once the task's lease has lapsed: a save fails with its
 * `LeaseLostError`, and an append is not made (its transitions stay in the checkpoints).
 * Callers serialize their saves.
 */
export class CheckpointWriter {
  /** The seq of the last checkpoint written or loaded (0: none). */
  seq: number;
  /**
   * The seq the next write expects the task's head at: {@link seq}, or more for a run restored
   * after a rollback ({@link LoadedCheckpoint.head}).
   */
  #head: number;
  /** The id of that checkpoint. */
  checkpointId: string | undefined;
  readonly #manager: CheckpointManager;
  readonly #taskId: string;
  readonly #lineage: ContextFlowManager;
  readonly #emit: (event: RuntimeEvent) => void;
  /** The highest lineage seq known to be in the store's log. */
  #lineageSeq: number;
  /**
   * Whether the next lineage append reads what the log holds instead of trusting the manager's
   * memory: a new run's first, since the task may have been deleted and started again behind the
   * manager's back (`SaveLineageOptions.reread`).
   */
  #rereadLineage: boolean;
  /** Who waits for the appends in flight to end ({@link settled}). */
  #waiting: (() => void)[] = [];
  /** The highest lineage seq a saved checkpoint asked to append. */
  #appendUpTo = -1;
  /** Whether an append is in flight. */
  #appending = false;
  /** Checkpoints a task keeps (older ones are pruned); undefined: all. */
  readonly #keep: number | undefined;
  /**
   * The seq at the last prune this writer started; 0: none yet, so a prune is due at the first
   * save past `keep`, a restored run's included. Not the loaded head: what earlier writers left
   * unpruned is not known here (a run halted or crashed before its next prune was due, a pause
   * or cancel another runtime wrote), and counting from the head, a task resumed after every few
   * saves (paused and resumed, restarted) was never pruned at all.
   */
  #prunedAt = 0;
  /** The prune in flight (it never rejects). */
  #pruning: Promise<void> = Promise.resolve();
  /** Stores the contexts that outlive a checkpoint once for the task. */
  readonly #contextLog: ContextLogWriter;
  /** Throws when the task's lease has lapsed (a runtime with leases). */
  readonly #assertLease: (() => void) | undefined;

  constructor(
    manager: CheckpointManager,
    taskId: string,
    lineage: ContextFlowManager,
    emit: (event: RuntimeEvent) => void,
    loaded?: LoadedCheckpoint,
    keep?: number,
    assertLease?: () => void,
  ) {
    this.#manager = manager;
    this.#taskId = taskId;
    this.#lineage = lineage;
    this.#emit = emit;
    this.seq = loaded?.seq ?? 0;
    this.#head = loaded?.head ?? 0;
    this.checkpointId = loaded?.checkpointId;
    // A restored lineage may hold transitions its checkpoint carried that the log lacks: they
    // stay pending (in the checkpoints) until appended.
    this.#lineageSeq = loaded?.lineageSeq ?? lineage.nextSeq - 1;
    // A restored run's lineage was just read from the log, which refreshed the manager's memory.
    this.#rereadLineage = loaded === undefined;
    this.#keep = keep;
    this.#assertLease = assertLease;
    // Keeping N checkpoints bounds what a task stores; the contexts log is never pruned, so it
    // is not added to then (entries a loaded state names are still named).
    this.#contextLog = new ContextLogWriter(
      manager.store,
      taskId,
      manager.contextsLog,
      loaded?.storedContexts,
      keep === undefined,
    );
  }

  /** Settles once the lineage and context writes and the prune started so far have ended. */
  settled(): Promise<void> {
    return Promise.all([this.#lineageWritten(), this.#pruning, this.#contextLog.settled()]).then(
      () => undefined,
    );
  }

  /** Settles once every lineage write started so far has landed or failed. */
  #lineageWritten(): Promise<void> {
    if (!this.#appending) return Promise.resolve();
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  /**
   * Saves the checkpoint described by `input` (read by the caller as of one snapshot; the
   * lineage is taken up to now, too) with the lineage the log does not have yet, and emits
   * `checkpoint.saved`. Returns the new checkpoint's id.
   */
  write(input: CheckpointStateInput): Promise<string> {
    // A store that appends on save takes the lineage in the checkpoint's own write. Any other
    // gets it appended after the save; not waiting for an append in flight, its transitions
    // ride in this checkpoint too (pending) until it lands, so the checkpoint and it overlap.
    const appending = appendsOnSave(this.#manager);
    const pending = appending
      ? NO_TRANSITIONS
      : this.#lineage.transitionsSince(this.#lineageSeq + 1);
    const upTo = this.#lineage.nextSeq - 1;
    let saved: Promise<string>;
    try {
      this.#assertLease?.();
      const checkpoint = buildRuntimeCheckpoint(input, pending);
      saved = saveRuntimeCheckpoint(
        this.#manager,
        checkpoint,
        // Its parent is the checkpoint this run last wrote or was restored from (none for a
        // new run), whatever the manager remembers: a rollback elsewhere may have deleted that.
        // Expecting that checkpoint at the head too: a task deleted and started again elsewhere
        // (numbered from 1 again) refuses this write once its head reaches this run's, as it
        // does before (ABA); with no checkpoint at the head (a rollback), the seq decides.
        {
          expectedSeq: this.#head,
          expectedId: this.checkpointId,
          parentId: this.checkpointId ?? null,
        },
        this.#contextLog,
        appending ? { flow: this.#lineage, after: this.#lineageSeq } : undefined,
      );
    } catch (error) {
      return Promise.reject(error);
    }
    return saved.then((checkpointId) => {
      this.#head += 1;
      this.seq = this.#head;
      this.checkpointId = checkpointId;
      if (appending && upTo > this.#lineageSeq) this.#lineageSeq = upTo;
      this.#emit({
        type: 'checkpoint.saved',
        taskId: this.#taskId,
        checkpointId,
        seq: this.seq,
        status: input.status,
      });
      const last = pending.at(-1);
      const due = pending.length >= LINEAGE_APPEND_BATCH || input.status !== 'running';
      if (last !== undefined && due) this.#appendLineage(last.seq);
      this.#pruneIfDue(FINAL_STATUSES.has(input.status));
      return checkpointId;
    });
  }

  /**
   * Deletes all but the newest `keep` checkpoints when `keep` saves went by since the last time,
   * after a final checkpoint, and at the first save past `keep` of this writer (a restored run's
   * first save): with every prune landing, a task then has at most `2 × keep` checkpoints while
   * a run goes (`keep` after a prune, and the `keep` saves up to the next one).
   */
  #pruneIfDue(final: boolean): void {
    const keep = this.#keep;
    if (keep === undefined || this.seq <= keep) return;
    if (!final && this.seq - this.#prunedAt < keep) return;
    this.#prunedAt = this.seq;
    const keepLatest = keep;
    const taskId = this.#taskId;
    this.#pruning = this.#pruning.then(() =>
      this.#manager.deleteOldCheckpoints(taskId, { keepLatest }).then(
        (deleted) => this.#emit({ type: 'checkpoints.pruned', taskId, deleted }),
        (error: unknown) => {
          this.#prunedAt = 0; // due again at the next save
          this.#emit({ type: 'checkpoints.pruneFailed', taskId, error: asError(error) });
        },
      ),
    );
  }

  /**
   * Appends the lineage up to `upTo` (a saved checkpoint carries it): one append in flight at
   * most; one asked for meanwhile is made when it lands, up to the highest seq asked. A failed
   * append is retried with the next checkpoint (its transitions stay pending in checkpoints).
   */
  #appendLineage(upTo: number): void {
    this.#appendUpTo = Math.max(this.#appendUpTo, upTo);
    if (this.#appending) return;
    this.#appending = true;
    this.#appendNext();
  }

  /** Makes the next append, or ends the appending (a promise chain: one append per step). */
  #appendNext(): void {
    if (this.#lineageSeq >= this.#appendUpTo) {
      this.#appendsEnded();
      return;
    }
    const target = this.#appendUpTo;
    let append: Promise<number>;
    try {
      // A run that lost its lease appends nothing: another runtime may append the same.
      this.#assertLease?.();
      append = saveRuntimeLineage(
        this.#manager,
        this.#taskId,
        this.#lineage,
        target + 1,
        this.#rereadLineage,
      );
    } catch {
      this.#appendsEnded();
      return;
    }
    append.then(
      () => {
        this.#lineageSeq = Math.max(this.#lineageSeq, target);
        this.#rereadLineage = false;
        this.#appendNext();
      },
      () => this.#appendsEnded(),
    );
  }

  #appendsEnded(): void {
    this.#appending = false;
    const waiting = this.#waiting;
    if (waiting.length === 0) return;
    this.#waiting = [];
    for (const resolve of waiting) resolve();
  }
}
