import { type CheckpointStore, MAX_LEASE_TTL_MS } from '../checkpoint/checkpoint-store.js';
import { LeaseLostError, TaskLeasedError } from '../errors.js';
import { assertValidId, createCheckpointId } from '../ids.js';
import type { LeaseOptions } from './runtime-types.js';

/** How long a lease lasts without renewal by default, ms. */
export const DEFAULT_LEASE_TTL_MS = 30_000;

/** A lease this runtime holds for a live run. */
interface Held {
  readonly store: CheckpointStore;
  /** Called once if another owner takes the lease. */
  readonly onLost: (error: LeaseLostError) => void;
  /** The renewal in flight, if any (never rejects). */
  renewing: Promise<void> | undefined;
}

/**
 * The leases of one runtime's tasks (internal; `RuntimeOptions.lease`): claims a task's lease
 * before its run starts, renews every held lease every `ttlMs / 3` from one timer, and releases
 * a lease when its run ends. A renewal the store refuses (another owner took the lapsed lease)
 * ends the run through `onLost`; a renewal that fails (the store unreachable) is tried again at
 * the next tick, while the lease still has two thirds of its TTL to go.
 */
export class TaskLeases {
  readonly owner: string;
  readonly ttlMs: number;
  readonly #held = new Map<string, Held>();
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

  /** Takes (or renews) the task's lease; `TaskLeasedError` when another owner holds it. */
  async claim(store: CheckpointStore, taskId: string): Promise<void> {
    const { granted, lease } = await store.claimLease(taskId, this.owner, this.ttlMs);
    if (!granted) throw new TaskLeasedError(taskId, lease.owner, lease.expiresAt);
  }

  /** Keeps renewing a claimed lease while its run lives; `onLost` ends the run if it is taken. */
  hold(store: CheckpointStore, taskId: string, onLost: (error: LeaseLostError) => void): void {
    this.#held.set(taskId, { store, onLost, renewing: undefined });
    if (this.#timer === undefined) {
      this.#timer = setInterval(() => this.#renewAll(), Math.floor(this.ttlMs / 3));
      // In Node, renewals alone do not keep the process alive (browsers have no unref).
      (this.#timer as { unref?: () => void }).unref?.();
    }
  }

  /** Stops renewing the task's lease and releases it (best effort: it lapses otherwise). */
  release(store: CheckpointStore, taskId: string): void {
    const held = this.#held.get(taskId);
    this.#held.delete(taskId);
    if (this.#held.size === 0) this.#stopTimer();
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
      held.renewing = held.store.claimLease(taskId, this.owner, this.ttlMs).then(
        ({ granted, lease }) => {
          held.renewing = undefined;
          if (granted || this.#held.get(taskId) !== held) return;
          this.#held.delete(taskId);
          if (this.#held.size === 0) this.#stopTimer();
          held.onLost(new LeaseLostError(taskId, lease.owner));
        },
        () => {
          held.renewing = undefined; // tried again at the next tick
        },
      );
    }
  }

  #stopTimer(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
