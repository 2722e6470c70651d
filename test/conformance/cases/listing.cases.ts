import { expect } from 'vitest';
import { expectCode, newRecord, type SuiteContext, saveMany } from '../suite-context.js';

/** listTasks: which tasks a store has, in id order, a page at a time. */
export function listingCases(ctx: SuiteContext): void {
  const { test } = ctx;

  test('listTasks lists tasks that were saved or have a log, in id order', async () => {
    const { store } = await ctx.open();
    expect(await store.listTasks()).toEqual([]);
    await saveMany(ctx, store, 'task-b', 2);
    await store.appendLog('task-a', 'lineage', ['x']);
    await store.save(newRecord(ctx, 'Task-C', 'cp-1'));
    await store.save(newRecord(ctx, 'task.1', 'cp-1'));
    await store.save(newRecord(ctx, 'task', 'cp-1'));
    // Ordered by code units: capitals before lower case, '.' before letters.
    expect(await store.listTasks()).toEqual(['Task-C', 'task', 'task-a', 'task-b', 'task.1']);
  });

  test('listTasks pages with after and limit', async () => {
    const { store } = await ctx.open();
    const ids = Array.from({ length: 12 }, (_, i) => `t-${String(i).padStart(2, '0')}`);
    for (const id of [...ids].reverse()) await store.save(newRecord(ctx, id, 'cp-1'));
    expect(await store.listTasks({ limit: 5 })).toEqual(ids.slice(0, 5));
    expect(await store.listTasks({ after: 't-04', limit: 5 })).toEqual(ids.slice(5, 10));
    expect(await store.listTasks({ after: 't-09', limit: 5 })).toEqual(ids.slice(10));
    expect(await store.listTasks({ after: 't-11' })).toEqual([]);
    // `after` need not be a listed id.
    expect(await store.listTasks({ after: 't-04x', limit: 2 })).toEqual(['t-05', 't-06']);
    const pages: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await store.listTasks({ limit: 4, ...(after === undefined ? {} : { after }) });
      if (page.length === 0) break;
      pages.push(...page);
      after = page.at(-1);
    }
    expect(pages).toEqual(ids);
  });

  test('listTasks leaves out deleted tasks and tasks whose records all expired', async () => {
    const { store } = await ctx.open();
    await saveMany(ctx, store, 'deleted', 2);
    await store.deleteTask('deleted');
    await store.save(newRecord(ctx, 'expiring', 'cp-1', { ttlMs: 60_000 }));
    await store.save(newRecord(ctx, 'expiring-with-log', 'cp-1', { ttlMs: 60_000 }));
    await store.appendLog('expiring-with-log', 'lineage', ['kept']);
    await store.save(newRecord(ctx, 'pruned', 'cp-1'));
    await store.save(newRecord(ctx, 'pruned', 'cp-2'));
    await store.deleteOld('pruned', 0);
    expect(await store.listTasks()).toEqual(['expiring', 'expiring-with-log', 'pruned']);
    ctx.clock().advance(60_001);
    // 'pruned' keeps its head (head() > 0: its next save is seq 3), so it is still a task.
    expect(await store.head('pruned')).toBe(2);
    expect(await store.listTasks()).toEqual(['expiring-with-log', 'pruned']);
  });

  test('listTasks sees only its own store', async () => {
    const first = await ctx.open();
    const second = await ctx.open();
    await first.store.save(newRecord(ctx, 'mine', 'cp-1'));
    await second.store.appendLog('theirs', 'lineage', ['x']);
    expect(await first.store.listTasks()).toEqual(['mine']);
    expect(await second.store.listTasks()).toEqual(['theirs']);
  });

  test('listTasks refuses a bad after or limit', async () => {
    const { store } = await ctx.open();
    await expectCode(() => store.listTasks({ after: '../x' }), 'INVALID_ID');
    for (const limit of [0, -1, 1.5, 10_001, Number.NaN]) {
      await expect(store.listTasks({ limit }), String(limit)).rejects.toThrow(TypeError);
    }
  });
}
