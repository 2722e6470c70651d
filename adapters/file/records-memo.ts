/**
 * What a file store instance remembers of the records of the tasks it saved to, so that a save
 * need not list the task's `records/` folder (O(records): with a listing at every save, a
 * runtime step at 5,000 records took 1.45× as long as at 100). A memo is good for the next lock
 * claim only if that claim follows this instance's own last claim of the task
 * (`HeldTaskLock.follows`): nobody else held the lock since, so no record was written or deleted
 * but by this instance, which kept the memo up to date. Readers of other processes remove only
 * expired files without the lock, and a memo is not used once any of its records may have
 * expired.
 */

/** A task's live records, as the last claim by this instance left them. */
export interface RecordsMemo {
  /** The task's head: the seq of its newest record. */
  readonly head: number;
  /**
   * The checkpoint id of the live record at seq {@link head} (`undefined`: none there, e.g. a
   * rollback deleted it), for `expectedId`.
   */
  readonly headId: string | undefined;
  /** The checkpoint ids of its live records (the save that takes the memo adds its own). */
  readonly ids: Set<string>;
  /** The earliest `expiresAt` among them (`Infinity`: none expires). */
  readonly nextExpiry: number;
}

/** Memos kept at most, oldest used forgotten first. */
const MAX_TASKS = 1_024;
/** Checkpoint ids kept at most over all memos (a memo larger than this is not kept). */
const MAX_IDS = 200_000;

interface Entry {
  /** The token of the claim that left the memo. */
  readonly token: string;
  readonly memo: RecordsMemo;
}

/** The memos of one store instance, per task id. */
export class RecordsMemos {
  readonly #entries = new Map<string, Entry>();
  #ids = 0;

  /**
   * Takes the task's memo out (it is valid for one claim only): the memo when the claim follows
   * the one that left it and none of its records has expired by `now`, else `undefined`.
   */
  take(taskId: string, follows: string | undefined, now: number): RecordsMemo | undefined {
    const entry = this.#entries.get(taskId);
    if (entry === undefined) return undefined;
    this.forget(taskId);
    const { memo } = entry;
    if (follows !== entry.token || memo.ids.size === 0 || now >= memo.nextExpiry) return undefined;
    return memo;
  }

  /** Remembers the task's records as claim `token` leaves them. */
  put(taskId: string, token: string, memo: RecordsMemo): void {
    this.forget(taskId);
    if (memo.ids.size > MAX_IDS) return;
    this.#entries.set(taskId, { token, memo });
    this.#ids += memo.ids.size;
    for (const [oldest, entry] of this.#entries) {
      if (this.#entries.size <= MAX_TASKS && this.#ids <= MAX_IDS) break;
      this.#entries.delete(oldest);
      this.#ids -= entry.memo.ids.size;
    }
  }

  /** Forgets the task's memo. */
  forget(taskId: string): void {
    const entry = this.#entries.get(taskId);
    if (entry === undefined) return;
    this.#entries.delete(taskId);
    this.#ids -= entry.memo.ids.size;
  }
}
