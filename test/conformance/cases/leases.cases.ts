import { MAX_LEASE_TTL_MS } from 'mcp-orchestration';
import { expect } from 'vitest';
import { expectCode, failureOf, newRecord, type SuiteContext } from '../suite-context.js';

/** Lease TTLs are minutes long, like the TTL cases': the fake clock jumps over them. */
const MINUTE = 60_000;

/** Task leases: one live owner at a time, renewed by claiming again, lapsing at `expiresAt`. */
export function leaseCases(ctx: SuiteContext): void {
  const { test } = ctx;

  test('a free task is leased to the first owner, until now + ttlMs', async () => {
    const { store } = await ctx.open();
    expect(await store.readLease('task-1')).toBeUndefined();
    const expiresAt = ctx.clock().now() + 5 * MINUTE;
    const claim = await store.claimLease('task-1', 'worker-a', 5 * MINUTE);
    expect(claim).toEqual({ granted: true, lease: { owner: 'worker-a', expiresAt } });
    expect(await store.readLease('task-1')).toEqual({ owner: 'worker-a', expiresAt });
  });

  test('another owner is refused a live lease and told who holds it', async () => {
    const { store } = await ctx.open();
    const { lease } = await store.claimLease('task-1', 'worker-a', 5 * MINUTE);
    ctx.clock().advance(5 * MINUTE - 1);
    expect(await store.claimLease('task-1', 'worker-b', 10 * MINUTE)).toEqual({
      granted: false,
      lease,
    });
    expect(await store.readLease('task-1')).toEqual(lease);
  });

  test('the holder renews its lease by claiming it again', async () => {
    const { store } = await ctx.open();
    await store.claimLease('task-1', 'worker-a', 5 * MINUTE);
    ctx.clock().advance(4 * MINUTE);
    const expiresAt = ctx.clock().now() + 5 * MINUTE;
    expect(await store.claimLease('task-1', 'worker-a', 5 * MINUTE)).toEqual({
      granted: true,
      lease: { owner: 'worker-a', expiresAt },
    });
    ctx.clock().advance(4 * MINUTE); // past the first expiry, before the renewed one
    expect((await store.claimLease('task-1', 'worker-b', MINUTE)).granted).toBe(false);
    expect(await store.readLease('task-1')).toEqual({ owner: 'worker-a', expiresAt });
  });

  test('a lease lapses at its expiresAt, and then another owner gets it', async () => {
    const { store } = await ctx.open();
    await store.claimLease('task-1', 'worker-a', 5 * MINUTE);
    ctx.clock().advance(5 * MINUTE); // now === expiresAt: lapsed
    expect(await store.readLease('task-1')).toBeUndefined();
    const expiresAt = ctx.clock().now() + 2 * MINUTE;
    expect(await store.claimLease('task-1', 'worker-b', 2 * MINUTE)).toEqual({
      granted: true,
      lease: { owner: 'worker-b', expiresAt },
    });
    // The lapsed owner's release changes nothing.
    expect(await store.releaseLease('task-1', 'worker-a')).toBe(false);
    expect(await store.readLease('task-1')).toEqual({ owner: 'worker-b', expiresAt });
  });

  test('only the holder releases a lease; then it is free', async () => {
    const { store } = await ctx.open();
    const { lease } = await store.claimLease('task-1', 'worker-a', 5 * MINUTE);
    expect(await store.releaseLease('task-1', 'worker-b')).toBe(false);
    expect(await store.readLease('task-1')).toEqual(lease);
    expect(await store.releaseLease('task-1', 'worker-a')).toBe(true);
    expect(await store.readLease('task-1')).toBeUndefined();
    expect(await store.releaseLease('task-1', 'worker-a')).toBe(false);
    expect((await store.claimLease('task-1', 'worker-b', MINUTE)).granted).toBe(true);
  });

  test('owners racing for a free lease: exactly one gets it, the others are told which', async () => {
    const { store } = await ctx.open();
    const owners = Array.from({ length: 12 }, (_, i) => `worker-${i}`);
    const claims = await Promise.all(
      owners.map((owner) => store.claimLease('task-1', owner, 5 * MINUTE)),
    );
    const winners = claims.filter((claim) => claim.granted);
    expect(winners).toHaveLength(1);
    const lease = winners[0]?.lease;
    expect(owners).toContain(lease?.owner);
    for (const claim of claims) expect(claim.lease).toEqual(lease);
    expect(await store.readLease('task-1')).toEqual(lease);
  });

  test('leases are per task, do not list a task or move its head, and go with deleteTask', async () => {
    const { store } = await ctx.open();
    await store.claimLease('task-1', 'worker-a', 5 * MINUTE);
    expect((await store.claimLease('task-2', 'worker-b', 5 * MINUTE)).granted).toBe(true);
    expect(await store.listTasks()).toEqual([]);
    expect(await store.head('task-1')).toBe(0);
    // A first save is not refused by the lease, nor does it end it.
    expect(await store.save(newRecord(ctx, 'task-1', 'cp-1'), { expectedSeq: 0 })).toEqual({
      seq: 1,
    });
    expect((await store.readLease('task-1'))?.owner).toBe('worker-a');
    expect(await store.deleteTask('task-1')).toBe(true);
    expect(await store.readLease('task-1')).toBeUndefined();
    expect((await store.readLease('task-2'))?.owner).toBe('worker-b');
    // A lease alone is not a task: deleteTask removes it, and reports that nothing existed.
    expect(await store.deleteTask('task-2')).toBe(false);
    expect(await store.readLease('task-2')).toBeUndefined();
    expect(await store.listTasks()).toEqual([]);
  });

  test('bad ids and TTLs are refused and change nothing', async () => {
    const { store } = await ctx.open();
    await expectCode(() => store.claimLease('../x', 'worker-a', MINUTE), 'INVALID_ID');
    await expectCode(() => store.claimLease('task-1', 'a/b', MINUTE), 'INVALID_ID');
    await expectCode(() => store.releaseLease('task-1', ''), 'INVALID_ID');
    await expectCode(() => store.readLease('task 1'), 'INVALID_ID');
    for (const ttlMs of [0, -1, 1.5, Number.NaN, MAX_LEASE_TTL_MS + 1]) {
      expect(await failureOf(() => store.claimLease('task-1', 'worker-a', ttlMs))).toBeInstanceOf(
        TypeError,
      );
    }
    expect(await store.readLease('task-1')).toBeUndefined();
    expect((await store.claimLease('task-1', 'worker-a', MAX_LEASE_TTL_MS)).granted).toBe(true);
  });
}
