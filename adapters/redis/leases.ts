/**
 * The Redis store's task leases. Internal to the adapter.
 *
 * A task's lease is one key, `<prefix>{<taskId>}:lease` (`"<expiresAt> <owner>"`), claimed,
 * released and read by one script each. The store's clock decides when it lapses (a lapsed lease
 * may stay stored and counts as none); the key's own TTL, the lease's plus a minute on the
 * server's clock, only clears leases nobody claims again. `deleteTask` deletes it too.
 */
import type {
  CheckpointStore,
  LeaseClaim,
  TaskLease,
} from '../../src/checkpoint/checkpoint-store.js';
import { assertLeaseArgs } from '../../src/checkpoint/store-guards.js';
import { StorageError } from '../../src/errors.js';
import { assertValidId } from '../../src/ids.js';
import { leaseOf, replyFailure, Status } from './redis-replies.js';
import { type StoreContext, scripts } from './store-context.js';

/**
 * How much longer than a lease's TTL its key lives, by the server's clock (a relative TTL, so
 * an offset between the store's clock and the server's does not matter): the store's clock
 * decides when a lease lapses, this backstop only clears lapsed leases nobody claims again.
 */
const LEASE_KEY_MARGIN_MS = 60_000;

/** A store's lease operations. */
export type LeaseOperations = Pick<CheckpointStore, 'claimLease' | 'releaseLease' | 'readLease'>;

/** The lease operations of the store with this context. */
export function createLeases(context: StoreContext): LeaseOperations {
  const { clock, maxRecordBytes, keysOf, run, numberOf, now } = context;
  return {
    async claimLease(taskId: string, owner: string, ttlMs: number): Promise<LeaseClaim> {
      assertLeaseArgs(taskId, owner, ttlMs);
      const at = Math.floor(clock());
      const expiresAt = at + ttlMs;
      const keys = [keysOf(taskId).lease];
      const args = [String(at), owner, String(expiresAt), String(ttlMs + LEASE_KEY_MARGIN_MS)];
      const reply = await run('claimLease', taskId, scripts.claimLease, keys, args);
      if (reply[0] !== Status.Ok) throw replyFailure(taskId, reply, maxRecordBytes, 'lease');
      // {0, 1}: granted; {0, 0, owner, expiresAt}: refused, with the holder's lease.
      if (reply[1] === 1) return { granted: true, lease: { owner, expiresAt } };
      if (reply[1] !== 0) {
        throw new StorageError('redis', 'claimLease: unexpected reply from Redis');
      }
      return { granted: false, lease: leaseOf(taskId, reply[2], reply[3]) };
    },

    async releaseLease(taskId: string, owner: string): Promise<boolean> {
      assertLeaseArgs(taskId, owner);
      const keys = [keysOf(taskId).lease];
      const reply = await run('releaseLease', taskId, scripts.releaseLease, keys, [now(), owner]);
      return numberOf(taskId, reply, 'lease') === 1;
    },

    async readLease(taskId: string): Promise<TaskLease | undefined> {
      assertValidId('taskId', taskId);
      const keys = [keysOf(taskId).lease];
      const reply = await run('readLease', taskId, scripts.readLease, keys, [now()]);
      if (reply[0] !== Status.Ok) throw replyFailure(taskId, reply, maxRecordBytes, 'lease');
      return reply.length === 1 ? undefined : leaseOf(taskId, reply[1], reply[2]);
    },
  };
}
