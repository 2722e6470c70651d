import { expect } from 'vitest';
import { listedIds, newRecord, type SuiteContext, saveMany } from '../suite-context.js';

/** save, load, latest, list, delete, deleteOld and sequence numbers. */
export function recordCases(ctx: SuiteContext): void {
  const { test } = ctx;

  test('has a name', async () => {
    const { store } = await ctx.open();
    expect(typeof store.name).toBe('string');
    expect(store.name.length).toBeGreaterThan(0);
  });

  test('round-trips a record exactly (metadata and body)', async () => {
    const { store } = await ctx.open();
    const plain = newRecord(ctx, 'task-1', 'cp-plain', { body: '{"a":[1,2,{"b":null}]}' });
    const timed = newRecord(ctx, 'task-1', 'cp-timed', { body: 'not even JSON', ttlMs: 3_600_000 });
    expect(await store.save(plain)).toEqual({ seq: 1 });
    expect(await store.save(timed)).toEqual({ seq: 2 });
    const loadedPlain = await store.load('task-1', 'cp-plain');
    expect(loadedPlain).toEqual({ ...plain, seq: 1 });
    expect(loadedPlain?.expiresAt).toBeUndefined();
    expect(await store.load('task-1', 'cp-timed')).toEqual({ ...timed, seq: 2 });
  });

  test('load of a missing record or task is undefined', async () => {
    const { store } = await ctx.open();
    expect(await store.load('nobody', 'nothing')).toBeUndefined();
    await store.save(newRecord(ctx, 'task-1', 'cp-1'));
    expect(await store.load('task-1', 'cp-2')).toBeUndefined();
    expect(await store.load('task-2', 'cp-1')).toBeUndefined();
  });

  test('assigns sequence numbers 1, 2, 3 and moves the head', async () => {
    const { store } = await ctx.open();
    expect(await store.head('task-1')).toBe(0);
    for (const seq of [1, 2, 3]) {
      expect(await store.save(newRecord(ctx, 'task-1', `cp-${seq}`))).toEqual({ seq });
      expect(await store.head('task-1')).toBe(seq);
    }
    expect((await store.load('task-1', 'cp-2'))?.seq).toBe(2);
  });

  test(
    'gives 200 concurrent saves unique sequence numbers 1..200, listed newest first',
    async () => {
      const { store } = await ctx.open();
      const ids = Array.from({ length: 200 }, (_, i) => `burst-${i}`);
      const results = await Promise.all(ids.map((id) => store.save(newRecord(ctx, 'task-1', id))));
      const seqOf = new Map(ids.map((id, i) => [id, results[i]?.seq]));
      expect([...seqOf.values()].sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual(
        Array.from({ length: 200 }, (_, i) => i + 1),
      );
      expect(await store.head('task-1')).toBe(200);
      const listed = await store.list('task-1');
      expect(listed.map((meta) => meta.seq)).toEqual(
        Array.from({ length: 200 }, (_, i) => 200 - i),
      );
      for (const meta of listed) expect(meta.seq).toBe(seqOf.get(meta.checkpointId));
      const latest = await store.latest('task-1');
      expect(latest?.seq).toBe(200);
      expect(latest?.checkpointId).toBe(listed[0]?.checkpointId);
    },
    ctx.slowTimeout,
  );

  test('latest is the highest sequence number, not the highest id', async () => {
    const { store } = await ctx.open();
    expect(await store.latest('task-1')).toBeUndefined();
    const first = newRecord(ctx, 'task-1', 'zzz', { body: 'first' });
    const second = newRecord(ctx, 'task-1', 'aaa', { body: 'second' });
    await store.save(first);
    await store.save(second);
    expect(await store.latest('task-1')).toEqual({ ...second, seq: 2 });
    expect(await listedIds(store, 'task-1')).toEqual(['aaa', 'zzz']);
  });

  test('list gives the metadata of live records, newest first', async () => {
    const { store } = await ctx.open();
    expect(await store.list('task-1')).toEqual([]);
    const a = newRecord(ctx, 'task-1', 'cp-a');
    ctx.clock().advance(5);
    const b = newRecord(ctx, 'task-1', 'cp-b', { ttlMs: 3_600_000 });
    await store.save(a);
    await store.save(b);
    const listed = await store.list('task-1');
    expect(
      listed.map(({ taskId, checkpointId, seq, createdAt, expiresAt }) => ({
        taskId,
        checkpointId,
        seq,
        createdAt,
        expiresAt,
      })),
    ).toEqual([
      {
        taskId: 'task-1',
        checkpointId: 'cp-b',
        seq: 2,
        createdAt: b.createdAt,
        expiresAt: b.expiresAt,
      },
      {
        taskId: 'task-1',
        checkpointId: 'cp-a',
        seq: 1,
        createdAt: a.createdAt,
        expiresAt: undefined,
      },
    ]);
  });

  test('delete removes one record and reports whether it existed', async () => {
    const { store } = await ctx.open();
    await saveMany(ctx, store, 'task-1', 3);
    expect(await store.delete('task-1', 'cp-2')).toBe(true);
    expect(await store.delete('task-1', 'cp-2')).toBe(false);
    expect(await store.delete('task-1', 'never')).toBe(false);
    expect(await store.delete('other-task', 'cp-1')).toBe(false);
    expect(await store.load('task-1', 'cp-2')).toBeUndefined();
    expect(await listedIds(store, 'task-1')).toEqual(['cp-3', 'cp-1']);
  });

  test('the head never goes down while the task has live records', async () => {
    const { store } = await ctx.open();
    await saveMany(ctx, store, 'task-1', 3);
    expect(await store.delete('task-1', 'cp-3')).toBe(true);
    expect(await store.head('task-1')).toBe(3);
    expect((await store.latest('task-1'))?.checkpointId).toBe('cp-2');
    expect(await store.save(newRecord(ctx, 'task-1', 'cp-4'))).toEqual({ seq: 4 });
  });

  test('a deleted id can be saved again, with a new sequence number', async () => {
    const { store } = await ctx.open();
    await saveMany(ctx, store, 'task-1', 2);
    await store.delete('task-1', 'cp-1');
    const again = newRecord(ctx, 'task-1', 'cp-1', { body: 'again' });
    expect(await store.save(again)).toEqual({ seq: 3 });
    expect(await store.load('task-1', 'cp-1')).toEqual({ ...again, seq: 3 });
    expect(await listedIds(store, 'task-1')).toEqual(['cp-1', 'cp-2']);
  });

  test('deleteOld keeps the newest N and returns how many it deleted', async () => {
    const { store } = await ctx.open();
    await saveMany(ctx, store, 'task-1', 5);
    expect(await store.deleteOld('task-1', 2)).toBe(3);
    expect(await listedIds(store, 'task-1')).toEqual(['cp-5', 'cp-4']);
    expect(await store.load('task-1', 'cp-3')).toBeUndefined();
    expect(await store.deleteOld('task-1', 2)).toBe(0);
    expect(await store.head('task-1')).toBe(5);
  });

  test('deleteOld with keepLatest 0 deletes every record', async () => {
    const { store } = await ctx.open();
    await saveMany(ctx, store, 'task-1', 3);
    expect(await store.deleteOld('task-1', 0)).toBe(3);
    expect(await store.list('task-1')).toEqual([]);
    expect(await store.latest('task-1')).toBeUndefined();
  });

  test('deleteOld keeping more than exist deletes nothing', async () => {
    const { store } = await ctx.open();
    expect(await store.deleteOld('task-1', 3)).toBe(0);
    await saveMany(ctx, store, 'task-1', 2);
    expect(await store.deleteOld('task-1', 10)).toBe(0);
    expect(await listedIds(store, 'task-1')).toEqual(['cp-2', 'cp-1']);
  });

  test('deleteOld refuses a keepLatest that is not an integer ≥ 0', async () => {
    const { store } = await ctx.open();
    await saveMany(ctx, store, 'task-1', 2);
    for (const bad of [-1, 1.5, Number.NaN]) {
      await expect(async () => store.deleteOld('task-1', bad)).rejects.toThrow(TypeError);
    }
    expect(await listedIds(store, 'task-1')).toEqual(['cp-2', 'cp-1']);
  });
}
