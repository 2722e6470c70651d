import {
  type CheckpointStore,
  MAX_LEASE_TTL_MS,
  type TaskLease,
} from '../checkpoint/checkpoint-store.js';
import { LeaseLostError, TaskLeasedError } from '../errors.js';
import { assertValidId, createCheckpointId } from '../ids.js';
import type { LeaseOptions } from './runtime-types.js';

/** How long a lease lasts without renewal by default, ms. */
export const DEFAULT_LEASE_TTL_MS = 30_000;

/** A lease this runtime holds for a live run. */
interface Held {
  readonly store: CheckpointStore;
  /** Called once when the lease is lost. */
  readonly onLost: (error: LeaseLostError) => void;
  /**
   * Asked before each renewal: whether the run still has its task (see {@link TaskLeases.hold}).
   */
  readonly stillHeld: () => Promise<boolean>;
  /** The renewal in flight, if any (never rejects). */
  renewing: Promise<void> | undefined;
  /** Fires when the lease lapses unless a renewal lands first. */
  fence: ReturnType<typeof setTimeout> | undefined;
}

/** `timer` does not keep a Node process alive (browsers have no unref). */
function unref(timer: ReturnType<typeof setTimeout>): void {
  (timer as { unref?: () => void }).unref?.();
}

/**
 * The leases of one runtime's tasks (internal; `RuntimeOptions.lease`): claims a task's lease
 * before its run starts, renews every held lease every `ttlMs / 3` from one timer, and releases
 * a lease when its run ends. A lease is lost, and its run ended through `onLost`, when the
 * store refuses a renewal (another owner took the lease) or when it lapses before a renewal
 * landed (by this process's clock, counted from when the last granted claim was sent): from
 * then on another runtime may take the task, so this one stops. A renewal that fails (the store
 * unreachable) is tried again at the next tick. It knows each lease it holds as the store last
 * granted it ({@link lease}), so a status needs no store read.
 */
export class TaskLeases {
  readonly owner: string;
  readonly ttlMs: number;
  readonly #held = new Map<string, Held>();
  /**
   * The leases this runtime holds as the store last granted them (claim or renewal), from the
   * claim until released or lost, each with when that claim or renewal was sent (`sentAt`, this
   * process's clock): the lease lapses `ttlMs` after it unless renewed.
   */
  readonly #granted = new Map<string, { readonly lease: TaskLease; readonly sentAt: number }>();
  /** Releases in flight (they never reject). */
  readonly #releasing = new Set<Promise<void>>();
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(options: LeaseOptions) {
    const owner = options.owner ?? `runtime-${createCheckpointId()}`;
    assertValidId('lease owner', owner);
    const ttlMs = options.ttlMs ?? DEFAULT_LEASE_TTL_MS;
    // Renewed every ttlMs / 3: below 3 ms there would be no interval left.
    if (!(Number.isSafeInteger(ttlMs) && ttlMs >= 3 && ttlMs <= MAX_LEASE_TTL_MS)) {
      throw new TypeError(`lease.ttlMs must be an integer from 3 to ${MAX_LEASE_TTL_MS}`);
    }
    this.owner = owner;
    this.ttlMs = ttlMs;
  }

  /**
   * Takes (or renews) the task's lease; `TaskLeasedError` when another owner holds it. Returns
   * when the claim was sent (this process's clock), for {@link hold}.
   */
  async claim(store: CheckpointStore, taskId: string): Promise<number> {
    const sentAt = Date.now();
    const { granted, lease } = await store.claimLease(taskId, this.owner, this.ttlMs);
    if (!granted) throw new TaskLeasedError(taskId, lease.owner, lease.expiresAt);
    this.#grant(taskId, lease, sentAt);
    return sentAt;
  }

  /**
   * The task's lease while this runtime holds it (claimed, not yet released or lost): its owner
   * and the expiry the store gave its latest granted claim or renewal. `undefined` otherwise.
   */
  lease(taskId: string): TaskLease | undefined {
    return this.#granted.get(taskId)?.lease;
  }

  /**
   * Throws `LeaseLostError` unless this runtime holds the task's lease by its own clock now:
   * claimed, neither released nor lost, and its latest granted claim or renewal sent less than
   * `ttlMs` ago (as the fence times it). A lease found lapsed is lost at once: its run is ended
   * through `onLost`, as when the fence fires. Synchronous, for the run to call before it opens a
   * gate, saves or appends: after a stall (a blocked event loop, `SIGSTOP`) the continuations of
   * the promises that settled meanwhile run before any timer, the fence's included, so without
   * this check a step could start after another runtime took the task over.
   */
  assertHeld(taskId: string): void {
    const sentAt = this.#granted.get(taskId)?.sentAt;
    if (sentAt !== undefined && Date.now() < sentAt + this.ttlMs) return;
    const held = this.#held.get(taskId);
    if (held !== undefined) {
      this.#lost(taskId, held, undefined);
    } else {
      // Claimed but not held yet (its run is being created), or already released or lost.
      this.#granted.delete(taskId);
    }
    throw new LeaseLostError(taskId, undefined);
  }

  /**
   * Keeps renewing a lease claimed at `claimedAt` while its run lives; `onLost` ends the run if
   * the lease is taken or lapses. `stillHeld` is asked before each renewal: `false`
   * (the run found its task stopped or deleted by another writer, and ended) skips the renewal,
   * so a lease deleted with its task is not claimed again (the run's end releases it; a deletion
   * landing between the check and the claim is seen at the next tick). The runtime's check reads
   * the head of a run at rest (suspended, or in a durable sleep or backoff with nothing else in
   * flight; its latest checkpoint only when the head moved) and nothing for a run with a step in
   * flight, which finds out at its next write.
   */
  hold(
    store: CheckpointStore,
    taskId: string,
    claimedAt: number,
    onLost: (error: LeaseLostError) => void,
    stillHeld: () => Promise<boolean>,
  ): void {
    const held: Held = { store, onLost, stillHeld, renewing: undefined, fence: undefined };
    this.#held.set(taskId, held);
    this.#fence(taskId, held, claimedAt);
    if (this.#timer === undefined) {
      this.#timer = setInterval(() => this.#renewAll(), Math.floor(this.ttlMs / 3));
      unref(this.#timer);
    }
  }

  /** Stops renewing the task's lease and releases it (best effort: it lapses otherwise). */
  release(store: CheckpointStore, taskId: string): void {
    const held = this.#held.get(taskId);
    if (held !== undefined) this.#forget(taskId, held);
    this.#granted.delete(taskId); // claimed but never held (no run goes on here)
    // After a renewal in flight, which would otherwise grant the lease again.
    const releasing = (held?.renewing ?? Promise.resolve())
      .then(() => store.releaseLease(taskId, this.owner))
      .then(
        () => {},
        () => {},
      );
    this.#releasing.add(releasing);
    void releasing.then(() => this.#releasing.delete(releasing));
  }

  /** Settles once the releases started so far have ended. */
  async settled(): Promise<void> {
    await Promise.all(this.#releasing);
  }

  #renewAll(): void {
    for (const [taskId, held] of this.#held) {
      if (held.renewing !== undefined) continue;
      const renewing = this.#renew(taskId, held);
      held.renewing = renewing;
      void renewing.then(() => {
        if (held.renewing === renewing) held.renewing = undefined;
      });
    }
  }

  /** Renews one held lease, once its run says it still has its task. Never rejects. */
  async #renew(taskId: string, held: Held): Promise<void> {
    try {
      // A run that found its task stopped or deleted elsewhere has ended (and released).
      if (!(await held.stillHeld())) return;
      if (this.#held.get(taskId) !== held) return;
      const sentAt = Date.now();
      const { granted, lease } = await held.store.claimLease(taskId, this.owner, this.ttlMs);
      if (this.#held.get(taskId) !== held) return;
      if (granted) {
        this.#grant(taskId, lease, sentAt);
        this.#fence(taskId, held, sentAt);
      } else {
        this.#lost(taskId, held, lease.owner);
      }
    } catch {
      // Tried again at the next tick, unless it lapses first.
    }
  }

  /**
   * Records a lease the store granted to a claim sent at `sentAt` (a copy: the store's object is
   * its own).
   */
  #grant(taskId: string, lease: TaskLease, sentAt: number): void {
    const copy = Object.freeze({ owner: this.owner, expiresAt: lease.expiresAt });
    this.#granted.set(taskId, { lease: copy, sentAt });
  }

  /** (Re)arms the fence of a lease granted by a claim sent at `sentAt`. */
  #fence(taskId: string, held: Held, sentAt: number): void {
    clearTimeout(held.fence);
    const lapsesIn = Math.max(0, sentAt + this.ttlMs - Date.now());
    held.fence = setTimeout(() => this.#lost(taskId, held, undefined), lapsesIn);
    unref(held.fence);
  }

  #lost(taskId: string, held: Held, owner: string | undefined): void {
    if (this.#held.get(taskId) !== held) return;
    this.#forget(taskId, held);
    held.onLost(new LeaseLostError(taskId, owner));
  }

  #forget(taskId: string, held: Held): void {
    clearTimeout(held.fence);
    this.#held.delete(taskId);
    this.#granted.delete(taskId);
    if (this.#held.size === 0 && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }
}
