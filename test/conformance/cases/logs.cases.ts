import { expect } from 'vitest';
import { newRecord, type SuiteContext } from '../suite-context.js';

const MINUTE = 60_000;

/** `appendLogAt`'s options asking for a head above 0. */
const REQUIRE_HEAD = { requireHead: true } as const;

/** appendLog and readLog. */
export function logCases(ctx: SuiteContext): void {
  const { test } = ctx;

  test('an empty or unknown log reads as []', async () => {
    const { store } = await ctx.open();
    expect(await store.readLog('task-1', 'lineage')).toEqual([]);
    expect(await store.readLog('task-1', 'lineage', { from: 3, limit: 2 })).toEqual([]);
    expect(await store.appendLog('task-1', 'lineage', [])).toBe(0);
    expect(await store.readLog('task-1', 'lineage')).toEqual([]);
  });

  test('append returns the new length and keeps the order', async () => {
    const { store } = await ctx.open();
    expect(await store.appendLog('task-1', 'lineage', ['a', 'b', 'c'])).toBe(3);
    expect(await store.appendLog('task-1', 'lineage', ['d'])).toBe(4);
    expect(await store.appendLog('task-1', 'lineage', [])).toBe(4);
    expect(await store.appendLog('task-1', 'lineage', ['e', 'f'])).toBe(6);
    expect(await store.readLog('task-1', 'lineage')).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
  });

  test('entries are kept exactly, duplicates and empty strings included', async () => {
    const { store } = await ctx.open();
    const entries = ['same', 'same', '', '{"seq":0}', ' padded ', 'line\nbreak'];
    expect(await store.appendLog('task-1', 'lineage', entries)).toBe(entries.length);
    expect(await store.readLog('task-1', 'lineage')).toEqual(entries);
  });

  test('readLog reads [from, from + limit)', async () => {
    const { store } = await ctx.open();
    const entries = Array.from({ length: 10 }, (_, i) => `e${i}`);
    await store.appendLog('task-1', 'lineage', entries);
    expect(await store.readLog('task-1', 'lineage', { from: 0 })).toEqual(entries);
    expect(await store.readLog('task-1', 'lineage', { from: 4 })).toEqual(entries.slice(4));
    expect(await store.readLog('task-1', 'lineage', { limit: 3 })).toEqual(['e0', 'e1', 'e2']);
    expect(await store.readLog('task-1', 'lineage', { from: 8, limit: 5 })).toEqual(['e8', 'e9']);
    expect(await store.readLog('task-1', 'lineage', { from: 2, limit: 0 })).toEqual([]);
    expect(await store.readLog('task-1', 'lineage', { from: 10 })).toEqual([]);
    expect(await store.readLog('task-1', 'lineage', { from: 50, limit: 1 })).toEqual([]);
  });

  test('concurrent appends are all kept, each one contiguous and in order', async () => {
    const { store } = await ctx.open();
    const lengths = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        store.appendLog('task-1', 'lineage', [`${i}:a`, `${i}:b`, `${i}:c`]),
      ),
    );
    expect([...lengths].sort((a, b) => a - b)).toEqual(
      Array.from({ length: 50 }, (_, i) => 3 * (i + 1)),
    );
    const log = await store.readLog('task-1', 'lineage');
    expect(log).toHaveLength(150);
    for (let i = 0; i < 150; i += 3) {
      const writer = log[i]?.split(':')[0];
      expect(log.slice(i, i + 3)).toEqual([`${writer}:a`, `${writer}:b`, `${writer}:c`]);
      // The length an append returned is where its entries end.
      expect(lengths[Number(writer)]).toBe(i + 3);
    }
    expect(new Set(log).size).toBe(150);
  });

  test('logs are separate per name and per task', async () => {
    const { store } = await ctx.open();
    await store.appendLog('task-1', 'lineage', ['t1-lineage']);
    await store.appendLog('task-1', 'events', ['t1-events']);
    await store.appendLog('task-2', 'lineage', ['t2-lineage']);
    expect(await store.readLog('task-1', 'lineage')).toEqual(['t1-lineage']);
    expect(await store.readLog('task-1', 'events')).toEqual(['t1-events']);
    expect(await store.readLog('task-2', 'lineage')).toEqual(['t2-lineage']);
    expect(await store.readLog('task-2', 'events')).toEqual([]);
  });

  test('logs are independent of checkpoints', async () => {
    const { store } = await ctx.open();
    await store.appendLog('task-1', 'lineage', ['a']);
    expect(await store.head('task-1')).toBe(0);
    expect(await store.list('task-1')).toEqual([]);
    expect(await store.latest('task-1')).toBeUndefined();
    expect(await store.deleteOld('task-1', 0)).toBe(0);
    expect(await store.readLog('task-1', 'lineage')).toEqual(['a']);
  });

  test('appendLogAt appends only at the length it names (a store without it leaves it out)', async () => {
    const { store } = await ctx.open();
    const appendLogAt = store.appendLogAt?.bind(store);
    if (appendLogAt === undefined) return;
    expect(await appendLogAt('task-1', 'lineage', 0, ['a', 'b'])).toEqual({
      appended: true,
      length: 2,
    });
    expect(await appendLogAt('task-1', 'lineage', 2, ['c'])).toEqual({ appended: true, length: 3 });
    // A writer that knows an older length (another appended meanwhile) appends nothing.
    expect(await appendLogAt('task-1', 'lineage', 2, ['late'])).toEqual({
      appended: false,
      length: 3,
    });
    expect(await appendLogAt('task-1', 'lineage', 5, ['ahead'])).toEqual({
      appended: false,
      length: 3,
    });
    expect(await appendLogAt('task-1', 'lineage', 3, [])).toEqual({ appended: true, length: 3 });
    expect(await appendLogAt('task-1', 'lineage', 1, [])).toEqual({ appended: false, length: 3 });
    expect(await store.readLog('task-1', 'lineage')).toEqual(['a', 'b', 'c']);
    // A refused append to a task that has nothing makes no log and lists no task.
    expect(await appendLogAt('task-2', 'lineage', 1, ['x'])).toEqual({
      appended: false,
      length: 0,
    });
    expect(await store.readLog('task-2', 'lineage')).toEqual([]);
    expect(await store.listTasks()).toEqual(['task-1']);
    await expect(appendLogAt('task-1', 'lineage', -1, ['x'])).rejects.toThrow(TypeError);
    await expect(appendLogAt('task-1', 'lineage', 1.5, ['x'])).rejects.toThrow(TypeError);
    expect(await store.readLog('task-1', 'lineage')).toEqual(['a', 'b', 'c']);
  });

  test('appendLogAt: of writers racing at one length, exactly one appends', async () => {
    const { store } = await ctx.open();
    const appendLogAt = store.appendLogAt?.bind(store);
    if (appendLogAt === undefined) return;
    await store.appendLog('task-1', 'lineage', ['base']);
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => appendLogAt('task-1', 'lineage', 1, [`w${i}`])),
    );
    const winners = results.filter((result) => result.appended);
    expect(winners).toEqual([{ appended: true, length: 2 }]);
    for (const result of results) expect(result.length).toBe(2);
    const log = await store.readLog('task-1', 'lineage');
    expect(log).toHaveLength(2);
    expect(log[0]).toBe('base');
  });
  test('appendLogAt with requireHead appends only to a task that has a head', async () => {
    const { store } = await ctx.open();
    const appendLogAt = store.appendLogAt?.bind(store);
    if (appendLogAt === undefined) return;
    // Never saved: refused, even at the log's length (0), and nothing is made.
    expect(await appendLogAt('task-1', 'contexts', 0, ['x'], REQUIRE_HEAD)).toEqual({
      appended: false,
      length: 0,
    });
    expect(await appendLogAt('task-1', 'contexts', 0, [], REQUIRE_HEAD)).toEqual({
      appended: false,
      length: 0,
    });
    expect(await store.readLog('task-1', 'contexts')).toEqual([]);
    expect(await store.listTasks()).toEqual([]);
    // A task with a log but no checkpoint has no head either.
    await store.appendLog('task-1', 'lineage', ['t0']);
    expect(await appendLogAt('task-1', 'lineage', 1, ['t1'], REQUIRE_HEAD)).toEqual({
      appended: false,
      length: 1,
    });
    // Once saved, it appends (and the length condition still holds).
    await store.save(newRecord(ctx, 'task-1', 'cp-1'));
    expect(await appendLogAt('task-1', 'contexts', 0, ['a'], REQUIRE_HEAD)).toEqual({
      appended: true,
      length: 1,
    });
    expect(await appendLogAt('task-1', 'contexts', 0, ['late'], REQUIRE_HEAD)).toEqual({
      appended: false,
      length: 1,
    });
    expect(await appendLogAt('task-1', 'contexts', 1, [], REQUIRE_HEAD)).toEqual({
      appended: true,
      length: 1,
    });
    expect(await appendLogAt('task-1', 'lineage', 1, ['t1'], REQUIRE_HEAD)).toEqual({
      appended: true,
      length: 2,
    });
    // Its records deleted one by one, a task keeps its head (see `delete`).
    expect(await store.delete('task-1', 'cp-1')).toBe(true);
    expect(await appendLogAt('task-1', 'contexts', 1, ['b'], REQUIRE_HEAD)).toEqual({
      appended: true,
      length: 2,
    });
    expect(await store.readLog('task-1', 'contexts')).toEqual(['a', 'b']);
    expect(await store.readLog('task-1', 'lineage')).toEqual(['t0', 't1']);
    await expect(appendLogAt('task-1', 'contexts', -1, ['x'], REQUIRE_HEAD)).rejects.toThrow(
      TypeError,
    );
  });

  test('appendLogAt with requireHead is refused once the task was deleted, even at length 0', async () => {
    const { store } = await ctx.open();
    const appendLogAt = store.appendLogAt?.bind(store);
    if (appendLogAt === undefined) return;
    await store.save(newRecord(ctx, 'task-1', 'cp-1'));
    // A run's first append (the log is empty) and a later one, before the deletion.
    expect(await appendLogAt('task-1', 'contexts', 0, [], REQUIRE_HEAD)).toEqual({
      appended: true,
      length: 0,
    });
    expect(await store.deleteTask('task-1')).toBe(true);
    // After it: the log has the length the writer knew (0), but the task has no head.
    expect(await appendLogAt('task-1', 'contexts', 0, ['late'], REQUIRE_HEAD)).toEqual({
      appended: false,
      length: 0,
    });
    expect(await store.readLog('task-1', 'contexts')).toEqual([]);
    expect(await store.head('task-1')).toBe(0);
    expect(await store.listTasks()).toEqual([]);
    expect(await store.deleteTask('task-1')).toBe(false);
    // Without requireHead, an append at 0 still makes the log (the case above).
    expect(await appendLogAt('task-1', 'contexts', 0, ['x'])).toEqual({
      appended: true,
      length: 1,
    });
    expect(await store.listTasks()).toEqual(['task-1']);
  });

  test('appendLogAt with requireHead: a task whose records all expired has no head', async () => {
    const { store } = await ctx.open();
    const appendLogAt = store.appendLogAt?.bind(store);
    if (appendLogAt === undefined) return;
    await store.save(newRecord(ctx, 'task-1', 'cp-1', { ttlMs: 10 * MINUTE }));
    expect(await appendLogAt('task-1', 'contexts', 0, ['a'], REQUIRE_HEAD)).toEqual({
      appended: true,
      length: 1,
    });
    ctx.clock().advance(10 * MINUTE);
    expect(await appendLogAt('task-1', 'contexts', 1, ['b'], REQUIRE_HEAD)).toEqual({
      appended: false,
      length: 1,
    });
    expect(await store.readLog('task-1', 'contexts')).toEqual(['a']);
  });

  test('appendLogAt with requireHead racing deleteTask: it lands before the deletion or not at all', async () => {
    const { store } = await ctx.open();
    const appendLogAt = store.appendLogAt?.bind(store);
    if (appendLogAt === undefined) return;
    for (let i = 0; i < 10; i++) {
      const taskId = `task-${i}`;
      await store.save(newRecord(ctx, taskId, 'cp-1'));
      const [deleted, appended] = await Promise.all([
        store.deleteTask(taskId),
        appendLogAt(taskId, 'contexts', 0, [`e${i}`], REQUIRE_HEAD),
      ]);
      expect(deleted).toBe(true);
      expect(appended.length).toBe(appended.appended ? 1 : 0);
      expect(await store.readLog(taskId, 'contexts')).toEqual([]);
    }
    expect(await store.listTasks()).toEqual([]);
  });
}
