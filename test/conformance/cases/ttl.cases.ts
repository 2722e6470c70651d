import type { CheckpointStore } from 'mcp-orchestration';
import { expect } from 'vitest';
import { listedIds, newRecord, type SuiteContext, saveMany } from '../suite-context.js';

/**
 * TTLs here are minutes long and the fake clock jumps over them: real time never catches up
 * during a test, so a backend's own expiry (Redis `PEXPIREAT`, in real time) never fires before
 * the store's clock says a record expired.
 */
const MINUTE = 60_000;

/** Expiry: expired records are gone for every operation. */
export function ttlCases(ctx: SuiteContext): void {
  const { test } = ctx;

  test('a record is live until its expiresAt and gone from then on', async () => {
    const { store } = await ctx.open();
    const record = newRecord(ctx, 'task-1', 'cp-1', { ttlMs: 10 * MINUTE });
    await store.save(record);
    ctx.clock().advance(10 * MINUTE - 1);
    expect(await store.load('task-1', 'cp-1')).toEqual({ ...record, seq: 1 });
    ctx.clock().advance(1); // now === expiresAt: expired
    expect(await store.load('task-1', 'cp-1')).toBeUndefined();
    expect(await store.latest('task-1')).toBeUndefined();
    expect(await store.list('task-1')).toEqual([]);
    expect(await store.delete('task-1', 'cp-1')).toBe(false);
  });

  test('latest falls back to an older live record when newer ones expired', async () => {
    const { store } = await ctx.open();
    await store.save(newRecord(ctx, 'task-1', 'cp-1'));
    await store.save(newRecord(ctx, 'task-1', 'cp-2', { ttlMs: 20 * MINUTE }));
    await store.save(newRecord(ctx, 'task-1', 'cp-3', { ttlMs: 10 * MINUTE }));
    expect((await store.latest('task-1'))?.checkpointId).toBe('cp-3');
    ctx.clock().advance(10 * MINUTE);
    expect((await store.latest('task-1'))?.checkpointId).toBe('cp-2');
    expect(await listedIds(store, 'task-1')).toEqual(['cp-2', 'cp-1']);
    ctx.clock().advance(10 * MINUTE);
    expect((await store.latest('task-1'))?.checkpointId).toBe('cp-1');
    expect(await listedIds(store, 'task-1')).toEqual(['cp-1']);
  });

  test('the head does not go down when the newest record expires while older ones live', async () => {
    const { store } = await ctx.open();
    await store.save(newRecord(ctx, 'task-1', 'cp-1'));
    await store.save(newRecord(ctx, 'task-1', 'cp-2', { ttlMs: 10 * MINUTE }));
    ctx.clock().advance(10 * MINUTE);
    expect(await store.head('task-1')).toBe(2);
    expect(await store.save(newRecord(ctx, 'task-1', 'cp-3'), { expectedSeq: 2 })).toEqual({
      seq: 3,
    });
  });

  test('the head is 0 once every record of the task has expired', async () => {
    const { store } = await ctx.open();
    await saveMany(ctx, store, 'task-1', 3, { ttlMs: 10 * MINUTE });
    expect(await store.head('task-1')).toBe(3);
    ctx.clock().advance(10 * MINUTE);
    expect(await store.head('task-1')).toBe(0);
    expect(await store.save(newRecord(ctx, 'task-1', 'cp-1'), { expectedSeq: 0 })).toEqual({
      seq: 1,
    });
  });

  for (const [how, prune] of [
    ['delete', (store: CheckpointStore) => store.delete('task-1', 'cp-1')],
    ['deleteOld', (store: CheckpointStore) => store.deleteOld('task-1', 1)],
  ] as const) {
    test(`the head lapses with the records left after ${how} took the immortal one`, async () => {
      const { store } = await ctx.open();
      await store.save(newRecord(ctx, 'task-1', 'cp-1')); // never expires
      await store.save(newRecord(ctx, 'task-1', 'cp-2', { ttlMs: 10 * MINUTE }));
      await prune(store);
      expect(await listedIds(store, 'task-1')).toEqual(['cp-2']);
      // The record left keeps the head while it lives...
      ctx.clock().advance(10 * MINUTE - 1);
      expect(await store.head('task-1')).toBe(2);
      expect(await store.listTasks()).toEqual(['task-1']);
      // ...and takes it along when it expires: the task counts as never saved.
      ctx.clock().advance(1);
      expect(await store.head('task-1')).toBe(0);
      expect(await store.listTasks()).toEqual([]);
      expect(await store.save(newRecord(ctx, 'task-1', 'cp-3'), { expectedSeq: 0 })).toEqual({
        seq: 1,
      });
    });
  }

  test('the head outlives records deleted before they expire, until the last would have expired', async () => {
    const { store } = await ctx.open();
    await store.save(newRecord(ctx, 'task-1', 'cp-1', { ttlMs: 10 * MINUTE }));
    await store.save(newRecord(ctx, 'task-1', 'cp-2', { ttlMs: 20 * MINUTE }));
    expect(await store.delete('task-1', 'cp-1')).toBe(true);
    expect(await store.delete('task-1', 'cp-2')).toBe(true);
    expect(await store.head('task-1')).toBe(2);
    // Past the first record's expiry, not the last's: the head is still there.
    ctx.clock().advance(10 * MINUTE);
    expect(await store.head('task-1')).toBe(2);
    expect(await store.listTasks()).toEqual(['task-1']);
    await expect(store.save(newRecord(ctx, 'task-1', 'cp-3'), { expectedSeq: 0 })).rejects.toThrow(
      /conflict|expected/i,
    );
    ctx.clock().advance(10 * MINUTE);
    expect(await store.head('task-1')).toBe(0);
    expect(await store.listTasks()).toEqual([]);
    expect(await store.save(newRecord(ctx, 'task-1', 'cp-3'), { expectedSeq: 0 })).toEqual({
      seq: 1,
    });
  });

  for (const [lifetime, ttlMs] of [
    ['never expires', undefined],
    ['expires late', 100 * MINUTE],
  ] as const) {
    test(`a read that expires records keeps the head a delete left (its record ${lifetime})`, async () => {
      const { store } = await ctx.open();
      await store.save(newRecord(ctx, 'task-1', 'cp-1', { ttlMs }));
      expect(await store.deleteOld('task-1', 0)).toBe(1); // the head keeps cp-1's lifetime
      await store.save(newRecord(ctx, 'task-1', 'cp-2', { ttlMs: 13 * MINUTE }));
      await store.save(newRecord(ctx, 'task-1', 'cp-3', { ttlMs: MINUTE }));
      ctx.clock().advance(6 * MINUTE);
      // Expiring cp-3 (on a read) does not shorten the head's lifetime to cp-2's.
      expect(await store.head('task-1')).toBe(3);
      expect(await listedIds(store, 'task-1')).toEqual(['cp-2']);
      ctx.clock().advance(18 * MINUTE); // cp-2 expired too
      expect(await store.head('task-1')).toBe(3);
      expect(await store.listTasks()).toEqual(['task-1']);
      await expect(
        store.save(newRecord(ctx, 'task-1', 'cp-4'), { expectedSeq: 0 }),
      ).rejects.toThrow(/conflict|expected/i);
      expect(await store.save(newRecord(ctx, 'task-1', 'cp-4', { ttlMs: MINUTE }))).toEqual({
        seq: 4,
      });
      if (ttlMs === undefined) return;
      // Once cp-1 would have expired (and cp-4 did), the task counts as never saved.
      ctx.clock().advance(ttlMs);
      expect(await store.head('task-1')).toBe(0);
      expect(await store.listTasks()).toEqual([]);
    });
  }

  test('an expired id can be saved again', async () => {
    const { store } = await ctx.open();
    await store.save(newRecord(ctx, 'task-1', 'keep'));
    await store.save(newRecord(ctx, 'task-1', 'cp-1', { ttlMs: 10 * MINUTE }));
    ctx.clock().advance(10 * MINUTE);
    const again = newRecord(ctx, 'task-1', 'cp-1', { body: 'second life' });
    expect(await store.save(again)).toEqual({ seq: 3 });
    expect(await store.load('task-1', 'cp-1')).toEqual({ ...again, seq: 3 });
  });

  test('deleteOld counts and keeps live records only', async () => {
    const { store } = await ctx.open();
    await saveMany(ctx, store, 'task-1', 3);
    await store.save(newRecord(ctx, 'task-1', 'short-1', { ttlMs: 10 * MINUTE }));
    await store.save(newRecord(ctx, 'task-1', 'short-2', { ttlMs: 10 * MINUTE }));
    ctx.clock().advance(10 * MINUTE);
    expect(await store.deleteOld('task-1', 1)).toBe(2);
    expect(await listedIds(store, 'task-1')).toEqual(['cp-3']);
  });

  test('expiry of one record leaves the others and other tasks alone', async () => {
    const { store } = await ctx.open();
    await store.save(newRecord(ctx, 'task-1', 'short', { ttlMs: 10 * MINUTE }));
    await store.save(newRecord(ctx, 'task-1', 'long', { ttlMs: 100 * MINUTE }));
    await store.save(newRecord(ctx, 'task-2', 'short', { ttlMs: 20 * MINUTE }));
    ctx.clock().advance(10 * MINUTE);
    expect(await listedIds(store, 'task-1')).toEqual(['long']);
    expect(await listedIds(store, 'task-2')).toEqual(['short']);
    expect((await store.load('task-2', 'short'))?.seq).toBe(1);
  });

  test('deleteTask of a task whose every record expired reports that nothing existed', async () => {
    const { store } = await ctx.open();
    await saveMany(ctx, store, 'task-1', 2, { ttlMs: 10 * MINUTE });
    await saveMany(ctx, store, 'task-2', 2, { ttlMs: 10 * MINUTE });
    await store.appendLog('task-2', 'lineage', ['a']);
    ctx.clock().advance(10 * MINUTE);
    expect(await store.deleteTask('task-1')).toBe(false);
    expect(await store.deleteTask('task-2')).toBe(true); // its log lives on
    expect(await store.readLog('task-2', 'lineage')).toEqual([]);
    expect(await store.deleteTask('task-1')).toBe(false);
    expect(await store.listTasks()).toEqual([]);
  });

  test('logs have no TTL: they outlive expired records', async () => {
    const { store } = await ctx.open();
    await store.save(newRecord(ctx, 'task-1', 'cp-1', { ttlMs: 10 * MINUTE }));
    await store.appendLog('task-1', 'lineage', ['a', 'b']);
    ctx.clock().advance(1_000 * MINUTE);
    expect(await store.list('task-1')).toEqual([]);
    expect(await store.readLog('task-1', 'lineage')).toEqual(['a', 'b']);
  });
}
