import { isOrchestrationError } from 'mcp-orchestration';
import { createRedisStore } from 'mcp-orchestration/redis';
import { expect, it } from 'vitest';
import {
  createTestClient,
  deleteKeysUnder,
  describeRedis,
  keysUnder,
  openRedisStoresPerTest,
  randomPrefix,
} from '../support/redis.js';
import { rejectionOf } from '../support/rejection.js';

/** What the Redis store does with leases beyond the conformance suite: its key, TTL, damage. */

const open = openRedisStoresPerTest();

const MINUTE = 60_000;

/**
 * How much longer than the lease a lease key lives by the server's clock (`LEASE_KEY_MARGIN_MS`
 * in `adapters/redis/leases.ts`).
 */
const KEY_MARGIN_MS = MINUTE;

describeRedis('Redis store: leases', () => {
  it('keeps a lease in one key of the task\'s hash tag, "<expiresAt> <owner>", with a backstop TTL', async () => {
    let time = Date.now();
    const { store, client, prefix } = await open({ now: () => time });
    const key = `${prefix}{task-1}:lease`;
    await store.claimLease('task-1', 'worker-a', 5 * MINUTE);
    expect(await keysUnder(client, prefix)).toEqual([key]);
    expect(await client.get(key)).toBe(`${time + 5 * MINUTE} worker-a`);
    // The key's TTL runs on the server's clock: the lease's TTL plus a margin.
    const ttl = await client.pttl(key);
    expect(ttl).toBeGreaterThan(5 * MINUTE + KEY_MARGIN_MS - 5_000);
    expect(ttl).toBeLessThanOrEqual(5 * MINUTE + KEY_MARGIN_MS);
    // A refused claim changes neither the value nor its TTL; a renewal sets both anew.
    time += MINUTE;
    expect((await store.claimLease('task-1', 'worker-b', 20 * MINUTE)).granted).toBe(false);
    expect(await client.get(key)).toBe(`${time + 4 * MINUTE} worker-a`);
    expect(await client.pttl(key)).toBeLessThanOrEqual(5 * MINUTE + KEY_MARGIN_MS);
    await store.claimLease('task-1', 'worker-a', 20 * MINUTE);
    expect(await client.get(key)).toBe(`${time + 20 * MINUTE} worker-a`);
    expect(await client.pttl(key)).toBeGreaterThan(20 * MINUTE);
    expect(await store.releaseLease('task-1', 'worker-a')).toBe(true);
    expect(await keysUnder(client, prefix)).toEqual([]);
  });

  it('judges a lease by the store clock: lapsed but still stored counts as none', async () => {
    let time = Date.now();
    const { store, client, prefix } = await open({ now: () => time });
    const key = `${prefix}{task-1}:lease`;
    await store.claimLease('task-1', 'worker-a', MINUTE);
    time += MINUTE;
    expect(await client.exists(key)).toBe(1);
    expect(await store.readLease('task-1')).toBeUndefined();
    expect(await store.releaseLease('task-1', 'worker-a')).toBe(false);
    const claim = await store.claimLease('task-1', 'worker-b', MINUTE);
    expect(claim).toEqual({
      granted: true,
      lease: { owner: 'worker-b', expiresAt: time + MINUTE },
    });
    // Gone from Redis before the store clock says it lapsed (the backstop TTL, or a flush): free.
    await client.del(key);
    expect(await store.readLease('task-1')).toBeUndefined();
    expect((await store.claimLease('task-1', 'worker-a', MINUTE)).granted).toBe(true);
  });

  it('deleteTask removes the lease key, but a lease alone does not make the task exist', async () => {
    const { store, client, prefix } = await open();
    await store.claimLease('task-1', 'worker-a', MINUTE);
    await store.claimLease('task-2', 'worker-a', MINUTE);
    expect(await store.deleteTask('task-1')).toBe(false);
    expect(await keysUnder(client, prefix)).toEqual([`${prefix}{task-2}:lease`]);
    expect(await store.listTasks()).toEqual([]);
  });

  it('reports a damaged lease key as corrupt and never overwrites it; deleteTask clears it', async () => {
    const { store, client, prefix } = await open();
    const key = `${prefix}{task-1}:lease`;
    const t = Date.now() + MINUTE;
    const damaged: [string, () => Promise<unknown>][] = [
      ['a hash', () => client.hset(key, 'owner', 'worker-a')],
      ['a list', () => client.rpush(key, `${t} worker-a`)],
      ['an oversized value', () => client.set(key, `${t} ${'w'.repeat(300)}`)],
      ['garbage', () => client.set(key, '\u0000garbage')],
      ['no owner', () => client.set(key, `${t}`)],
      ['an invalid owner', () => client.set(key, `${t} a/b`)],
      ['a fractional expiry', () => client.set(key, `${t}.5 worker-a`)],
      ['an empty value', () => client.set(key, '')],
    ];
    for (const [what, plant] of damaged) {
      await plant();
      const before = await client.dump(key);
      for (const call of [
        store.claimLease('task-1', 'worker-b', MINUTE),
        store.releaseLease('task-1', 'worker-a'),
        store.readLease('task-1'),
      ]) {
        const error = await rejectionOf(call);
        expect(isOrchestrationError(error, 'CORRUPT_RECORD'), what).toBe(true);
        expect(error).toMatchObject({ taskId: 'task-1', recordId: 'lease' });
      }
      expect(await client.dump(key), what).toEqual(before);
      expect(await store.deleteTask('task-1')).toBe(false);
      expect(await client.exists(key)).toBe(0);
    }
    expect((await store.claimLease('task-1', 'worker-b', MINUTE)).granted).toBe(true);
  });

  it("works through a client with ioredis' keyPrefix (the lease key lands under it)", async () => {
    const keyPrefix = randomPrefix();
    const client = createTestClient({ keyPrefix });
    const plain = createTestClient();
    try {
      const store = createRedisStore({ client, prefix: 'app:' });
      await store.claimLease('task-1', 'worker-a', MINUTE);
      expect((await store.readLease('task-1'))?.owner).toBe('worker-a');
      expect(await keysUnder(plain, keyPrefix)).toEqual([`${keyPrefix}app:{task-1}:lease`]);
      expect(await store.releaseLease('task-1', 'worker-a')).toBe(true);
      expect(await keysUnder(plain, keyPrefix)).toEqual([]);
    } finally {
      await deleteKeysUnder(plain, keyPrefix);
      await Promise.all([client.quit(), plain.quit()]);
    }
  });
});
