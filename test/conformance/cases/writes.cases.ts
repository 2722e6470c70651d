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
