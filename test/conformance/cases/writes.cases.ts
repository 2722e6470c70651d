import { isOrchestrationError } from 'mcp-orchestration';
import { expect } from 'vitest';
import { expectCode, listedIds, newRecord, type SuiteContext, saveMany } from '../suite-context.js';

/** Conditional writes (expectedSeq) and duplicate ids. */
export function writeCases(ctx: SuiteContext): void {
  const { test } = ctx;

  test('a save with the current head as expectedSeq succeeds', async () => {
    const { store } = await ctx.open();
    expect(await store.save(newRecord(ctx, 'task-1', 'cp-1'), { expectedSeq: 0 })).toEqual({
      seq: 1,
    });
    expect(await store.save(newRecord(ctx, 'task-1', 'cp-2'), { expectedSeq: 1 })).toEqual({
      seq: 2,
    });
    expect(await store.save(newRecord(ctx, 'task-1', 'cp-3'), { expectedSeq: undefined })).toEqual({
      seq: 3,
    });
  });

  test('a save with a stale expectedSeq is a CheckpointConflictError and writes nothing', async () => {
    const { store } = await ctx.open();
    await saveMany(ctx, store, 'task-1', 2);
    const error = await expectCode(
      () => store.save(newRecord(ctx, 'task-1', 'late'), { expectedSeq: 1 }),
      'CHECKPOINT_CONFLICT',
    );
    expect(error).toMatchObject({ taskId: 'task-1', expectedSeq: 1, actualSeq: 2 });
    await expectCode(
      () => store.save(newRecord(ctx, 'task-1', 'early'), { expectedSeq: 3 }),
      'CHECKPOINT_CONFLICT',
    );
    await expectCode(
      () => store.save(newRecord(ctx, 'fresh-task', 'cp-1'), { expectedSeq: 1 }),
      'CHECKPOINT_CONFLICT',
    );
    expect(await store.load('task-1', 'late')).toBeUndefined();
    expect(await store.load('task-1', 'early')).toBeUndefined();
    expect(await listedIds(store, 'task-1')).toEqual(['cp-2', 'cp-1']);
    expect(await store.head('task-1')).toBe(2);
    expect(await store.head('fresh-task')).toBe(0);
    expect(await store.list('fresh-task')).toEqual([]);
  });

  test('of writers racing with the same expectedSeq, exactly one wins', async () => {
    const { store } = await ctx.open();
    await saveMany(ctx, store, 'task-1', 2);
    const writers = Array.from({ length: 10 }, (_, i) =>
      store.save(newRecord(ctx, 'task-1', `writer-${i}`, { body: `writer ${i}` }), {
        expectedSeq: 2,
      }),
    );
    const outcomes = await Promise.allSettled(writers);
    const winners = outcomes.flatMap((outcome, i) =>
      outcome.status === 'fulfilled' ? [{ i, seq: outcome.value.seq }] : [],
    );
    expect(winners).toHaveLength(1);
    expect(winners[0]?.seq).toBe(3);
    for (const outcome of outcomes) {
      if (outcome.status === 'rejected') {
        expect(isOrchestrationError(outcome.reason, 'CHECKPOINT_CONFLICT')).toBe(true);
      }
    }
    expect(await store.head('task-1')).toBe(3);
    expect(await listedIds(store, 'task-1')).toEqual([`writer-${winners[0]?.i}`, 'cp-2', 'cp-1']);
    expect((await store.latest('task-1'))?.body).toBe(`writer ${winners[0]?.i}`);
  });

  test('of writers racing for the first save with expectedSeq 0, exactly one wins', async () => {
    const { store } = await ctx.open();
    const outcomes = await Promise.allSettled(
      Array.from({ length: 5 }, (_, i) =>
        store.save(newRecord(ctx, 'task-1', `first-${i}`), { expectedSeq: 0 }),
      ),
    );
    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1);
    expect(await store.list('task-1')).toHaveLength(1);
  });

  test('saving an id that is live is a CheckpointExistsError and overwrites nothing', async () => {
    const { store } = await ctx.open();
    const original = newRecord(ctx, 'task-1', 'cp-1', { body: 'original' });
    await store.save(original);
    const error = await expectCode(
      () => store.save(newRecord(ctx, 'task-1', 'cp-1', { body: 'impostor' })),
      'CHECKPOINT_EXISTS',
    );
    expect(error).toMatchObject({ taskId: 'task-1', checkpointId: 'cp-1' });
    expect(await store.load('task-1', 'cp-1')).toEqual({ ...original, seq: 1 });
    expect(await store.head('task-1')).toBe(1);
    expect(await store.list('task-1')).toHaveLength(1);
  });

  test('the same id in two tasks is two records', async () => {
    const { store } = await ctx.open();
    await store.save(newRecord(ctx, 'task-1', 'cp-1', { body: 'one' }));
    await store.save(newRecord(ctx, 'task-2', 'cp-1', { body: 'two' }));
    expect((await store.load('task-1', 'cp-1'))?.body).toBe('one');
    expect((await store.load('task-2', 'cp-1'))?.body).toBe('two');
  });

  test('with expectedId, a save is refused when the record at expectedSeq has another id (the task was deleted and started again), and writes nothing', async () => {
    const { store } = await ctx.open();
    await saveMany(ctx, store, 'task-1', 2);
    expect(await store.deleteTask('task-1')).toBe(true);
    await store.save(newRecord(ctx, 'task-1', 'new-1'), { expectedSeq: 0 });
    await store.save(newRecord(ctx, 'task-1', 'new-2'), { expectedSeq: 1, expectedId: 'new-1' });
    // The old writer's next save: its head is 2 again, but the record there is not cp-2.
    const append = store.appendsOnSave ? { name: 'log', entries: ['late'] } : undefined;
    const error = await expectCode(
      () =>
        store.save(newRecord(ctx, 'task-1', 'late'), {
          expectedSeq: 2,
          expectedId: 'cp-2',
          ...(append === undefined ? {} : { appendLog: append }),
        }),
      'CHECKPOINT_CONFLICT',
    );
    expect(error).toMatchObject({ taskId: 'task-1', expectedSeq: 2, actualSeq: 2 });
    expect(await store.load('task-1', 'late')).toBeUndefined();
    expect(await listedIds(store, 'task-1')).toEqual(['new-2', 'new-1']);
    expect(await store.head('task-1')).toBe(2);
    expect(await store.readLog('task-1', 'log')).toEqual([]);
    // A stale seq is still a conflict of seqs, whatever the id.
    await expectCode(
      () => store.save(newRecord(ctx, 'task-1', 'late'), { expectedSeq: 1, expectedId: 'new-1' }),
      'CHECKPOINT_CONFLICT',
    );
    expect(await store.head('task-1')).toBe(2);
  });

  test('with expectedId, a save is accepted when the record at expectedSeq has that id', async () => {
    const { store } = await ctx.open();
    expect(await store.save(newRecord(ctx, 'task-1', 'cp-1'), { expectedSeq: 0 })).toEqual({
      seq: 1,
    });
    for (let seq = 1; seq <= 3; seq++) {
      const saved = await store.save(newRecord(ctx, 'task-1', `cp-${seq + 1}`), {
        expectedSeq: seq,
        expectedId: `cp-${seq}`,
      });
      expect(saved).toEqual({ seq: seq + 1 });
    }
    expect(await listedIds(store, 'task-1')).toEqual(['cp-4', 'cp-3', 'cp-2', 'cp-1']);
  });

  test('with expectedId and no live record at expectedSeq (deleted, pruned, expired), only the seq is checked', async () => {
    const { store } = await ctx.open();
    await saveMany(ctx, store, 'task-1', 3);
    // A rollback: the newest record deleted, the head stays at 3.
    expect(await store.delete('task-1', 'cp-3')).toBe(true);
    expect(await store.head('task-1')).toBe(3);
    // A run resumed from cp-2 expects the head, and knows cp-2.
    expect(
      await store.save(newRecord(ctx, 'task-1', 'cp-4'), { expectedSeq: 3, expectedId: 'cp-2' }),
    ).toEqual({ seq: 4 });
    // Pruned to none: any id goes with the right seq.
    expect(await store.deleteOld('task-1', 0)).toBe(3);
    expect(
      await store.save(newRecord(ctx, 'task-1', 'cp-5'), { expectedSeq: 4, expectedId: 'other' }),
    ).toEqual({ seq: 5 });
    // Expired: the record at the head is gone (an older one without a TTL keeps the head).
    await store.save(newRecord(ctx, 'task-1', 'brief', { ttlMs: 10 * 60_000 }), {
      expectedSeq: 5,
      expectedId: 'cp-5',
    });
    ctx.clock().advance(10 * 60_000);
    expect(await store.head('task-1')).toBe(6);
    expect(
      await store.save(newRecord(ctx, 'task-1', 'cp-7'), { expectedSeq: 6, expectedId: 'other' }),
    ).toEqual({ seq: 7 });
    expect(await listedIds(store, 'task-1')).toEqual(['cp-7', 'cp-5']);
  });

  test('expectedId must be a valid id, given with expectedSeq', async () => {
    const { store } = await ctx.open();
    await expect(async () =>
      store.save(newRecord(ctx, 'task-1', 'cp-1'), { expectedId: 'cp-0' }),
    ).rejects.toThrow(TypeError);
    await expectCode(
      () => store.save(newRecord(ctx, 'task-1', 'cp-1'), { expectedSeq: 0, expectedId: 'a/b' }),
      'INVALID_ID',
    );
    expect(await store.head('task-1')).toBe(0);
  });

  test('expectedSeq must be an integer ≥ 0', async () => {
    const { store } = await ctx.open();
    for (const bad of [-1, 0.5, Number.NaN]) {
      await expect(async () =>
        store.save(newRecord(ctx, 'task-1', 'cp-1'), { expectedSeq: bad }),
      ).rejects.toThrow(TypeError);
    }
    expect(await store.head('task-1')).toBe(0);
  });
}
