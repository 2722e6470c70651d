import { expect } from 'vitest';
import { listedIds, newRecord, type SuiteContext, saveMany } from '../suite-context.js';

/** deleteTask and isolation between tasks and between stores. */
export function taskCases(ctx: SuiteContext): void {
  const { test } = ctx;

  test('deleteTask removes records, logs and the head of one task only', async () => {
    const { store } = await ctx.open();
    await saveMany(ctx, store, 'task-1', 3);
    await store.appendLog('task-1', 'lineage', ['a', 'b']);
    await saveMany(ctx, store, 'task-2', 2);
    await store.appendLog('task-2', 'lineage', ['c']);
    expect(await store.deleteTask('task-1')).toBe(true);
    expect(await store.list('task-1')).toEqual([]);
    expect(await store.load('task-1', 'cp-1')).toBeUndefined();
    expect(await store.latest('task-1')).toBeUndefined();
    expect(await store.head('task-1')).toBe(0);
    expect(await store.readLog('task-1', 'lineage')).toEqual([]);
    expect(await listedIds(store, 'task-2')).toEqual(['cp-2', 'cp-1']);
    expect(await store.readLog('task-2', 'lineage')).toEqual(['c']);
    expect(await store.deleteTask('task-1')).toBe(false);
  });

  test('deleteTask reports whether anything existed', async () => {
    const { store } = await ctx.open();
    expect(await store.deleteTask('never-seen')).toBe(false);
    await store.appendLog('only-log', 'lineage', ['a']);
    expect(await store.deleteTask('only-log')).toBe(true);
    await store.save(newRecord(ctx, 'only-record', 'cp-1'));
    expect(await store.deleteTask('only-record')).toBe(true);
  });

  test('a deleted task starts again from sequence number 1', async () => {
    const { store } = await ctx.open();
    await saveMany(ctx, store, 'task-1', 3);
    await store.deleteTask('task-1');
    expect(await store.save(newRecord(ctx, 'task-1', 'cp-1'), { expectedSeq: 0 })).toEqual({
      seq: 1,
    });
    expect(await listedIds(store, 'task-1')).toEqual(['cp-1']);
  });

  test('two tasks in one store do not see each other', async () => {
    const { store } = await ctx.open();
    await saveMany(ctx, store, 'task-1', 3);
    await store.save(newRecord(ctx, 'task-2', 'other'));
    expect(await store.head('task-1')).toBe(3);
    expect(await store.head('task-2')).toBe(1);
    expect(await listedIds(store, 'task-2')).toEqual(['other']);
    expect(await store.load('task-2', 'cp-1')).toBeUndefined();
    expect(await store.deleteOld('task-2', 0)).toBe(1);
    expect(await store.list('task-1')).toHaveLength(3);
  });

  test('task ids that are prefixes of each other are separate tasks', async () => {
    const { store } = await ctx.open();
    await store.save(newRecord(ctx, 'task', 'cp-1'));
    await store.save(newRecord(ctx, 'task-1', 'cp-1'));
    await store.save(newRecord(ctx, 'task.1', 'cp-1'));
    await store.appendLog('task', 'log', ['a']);
    await store.appendLog('task', 'log-1', ['b']);
    expect(await store.deleteTask('task')).toBe(true);
    expect(await listedIds(store, 'task-1')).toEqual(['cp-1']);
    expect(await listedIds(store, 'task.1')).toEqual(['cp-1']);
    expect(await store.readLog('task', 'log-1')).toEqual([]);
  });

  test('two stores from two create() calls do not see each other', async () => {
    const first = (await ctx.open()).store;
    const second = (await ctx.open()).store;
    await saveMany(ctx, first, 'task-1', 2);
    await first.appendLog('task-1', 'lineage', ['a']);
    expect(await second.head('task-1')).toBe(0);
    expect(await second.list('task-1')).toEqual([]);
    expect(await second.latest('task-1')).toBeUndefined();
    expect(await second.load('task-1', 'cp-1')).toBeUndefined();
    expect(await second.readLog('task-1', 'lineage')).toEqual([]);
    expect(await second.save(newRecord(ctx, 'task-1', 'cp-1'), { expectedSeq: 0 })).toEqual({
      seq: 1,
    });
    expect(await second.deleteTask('task-1')).toBe(true);
    expect(await listedIds(first, 'task-1')).toEqual(['cp-2', 'cp-1']);
    expect(await first.readLog('task-1', 'lineage')).toEqual(['a']);
  });
}
