import type { CheckpointStore } from 'mcp-orchestration';
import { expect } from 'vitest';
import {
  expectCode,
  failureOf,
  listedIds,
  newRecord,
  type SuiteContext,
} from '../suite-context.js';

/**
 * `save` with `appendLog`: a store with `appendsOnSave` writes the record and appends the entries
 * together, or neither; a store without it refuses the option (a `TypeError`) and writes nothing,
 * so entries are never dropped in silence.
 */
export function appendOnSaveCases(ctx: SuiteContext): void {
  const { test } = ctx;

  /** Asserts that `store` refuses `appendLog` for want of `appendsOnSave`; true if it did. */
  async function refusedWithout(store: CheckpointStore): Promise<boolean> {
    if (store.appendsOnSave === true) return false;
    const appendLog = { name: 'lineage', entries: ['a'] };
    const error = await failureOf(() =>
      store.save(newRecord(ctx, 'task-1', 'cp-1'), { appendLog }),
    );
    expect(error).toBeInstanceOf(TypeError);
    expect(String(error)).toContain('appendsOnSave');
    expect(await store.head('task-1')).toBe(0);
    expect(await store.readLog('task-1', 'lineage')).toEqual([]);
    return true;
  }

  test('a save with appendLog writes the record and appends the entries in order (or, without appendsOnSave, is refused)', async () => {
    const { store } = await ctx.open();
    if (await refusedWithout(store)) return;
    await store.appendLog('task-1', 'lineage', ['a']);
    const appendLog = { name: 'lineage', entries: ['b', 'c'] };
    expect(await store.save(newRecord(ctx, 'task-1', 'cp-1'), { appendLog })).toEqual({ seq: 1 });
    expect(await store.readLog('task-1', 'lineage')).toEqual(['a', 'b', 'c']);
    expect((await store.load('task-1', 'cp-1'))?.seq).toBe(1);
    const empty = { name: 'lineage', entries: [] };
    await store.save(newRecord(ctx, 'task-1', 'cp-2'), { expectedSeq: 1, appendLog: empty });
    expect(await store.readLog('task-1', 'lineage')).toEqual(['a', 'b', 'c']);
    // A new task's first save can start its log; other logs and tasks are untouched.
    const other = { name: 'contexts', entries: ['x'] };
    await store.save(newRecord(ctx, 'task-2', 'cp-1'), { expectedSeq: 0, appendLog: other });
    expect(await store.readLog('task-2', 'contexts')).toEqual(['x']);
    expect(await store.readLog('task-2', 'lineage')).toEqual([]);
    expect(await store.readLog('task-1', 'contexts')).toEqual([]);
    // A record that expires appends the same way (its log outlives it: logs have no TTL).
    const expiring = newRecord(ctx, 'task-3', 'cp-1', { ttlMs: 1_000 });
    await store.save(expiring, { appendLog: { name: 'lineage', entries: ['t'] } });
    expect(await store.readLog('task-3', 'lineage')).toEqual(['t']);
    expect(await store.listTasks()).toEqual(['task-1', 'task-2', 'task-3']);
    ctx.clock().advance(1_001);
    expect(await store.load('task-3', 'cp-1')).toBeUndefined();
    expect(await store.readLog('task-3', 'lineage')).toEqual(['t']);
  });

  test('a refused save appends nothing: a stale expectedSeq, a taken checkpoint id', async () => {
    const { store } = await ctx.open();
    if (await refusedWithout(store)) return;
    await store.save(newRecord(ctx, 'task-1', 'cp-1'), {
      appendLog: { name: 'lineage', entries: ['first'] },
    });
    const appendLog = { name: 'lineage', entries: ['lost'] };
    await expectCode(
      () => store.save(newRecord(ctx, 'task-1', 'late'), { expectedSeq: 0, appendLog }),
      'CHECKPOINT_CONFLICT',
    );
    await expectCode(
      () => store.save(newRecord(ctx, 'task-1', 'cp-1'), { appendLog }),
      'CHECKPOINT_EXISTS',
    );
    expect(await store.readLog('task-1', 'lineage')).toEqual(['first']);
    expect(await listedIds(store, 'task-1')).toEqual(['cp-1']);
    expect(await store.head('task-1')).toBe(1);
  });

  test('appendLog is checked before anything is written: its name, its entries, their size', async () => {
    const { store } = await ctx.open({ maxRecordBytes: 1024 });
    if (await refusedWithout(store)) return;
    const save = (name: string, entries: unknown) =>
      store.save(newRecord(ctx, 'task-1', 'cp-1'), {
        appendLog: { name, entries: entries as string[] },
      });
    await expectCode(() => save('bad/name', ['a']), 'INVALID_ID');
    expect(await failureOf(() => save('lineage', ['a', 7]))).toBeInstanceOf(TypeError);
    expect(await failureOf(() => save('lineage', 'a'))).toBeInstanceOf(TypeError);
    const tooLarge = await expectCode(
      () => save('lineage', ['fits', 'x'.repeat(1025)]),
      'RECORD_TOO_LARGE',
    );
    expect(tooLarge.message).toContain('entry 1');
    expect(await store.head('task-1')).toBe(0);
    expect(await store.readLog('task-1', 'lineage')).toEqual([]);
    expect(await store.listTasks()).toEqual([]);
  });

  test('saves with appendLog racing on one expectedSeq: one record lands, with its entries only', async () => {
    const { store } = await ctx.open();
    if (await refusedWithout(store)) return;
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        store.save(newRecord(ctx, 'task-1', `cp-${i}`), {
          expectedSeq: 0,
          appendLog: { name: 'lineage', entries: [`${i}:a`, `${i}:b`] },
        }),
      ),
    );
    const won = results.flatMap((result, i) => (result.status === 'fulfilled' ? [i] : []));
    expect(won).toHaveLength(1);
    const winner = won[0] as number;
    expect(await listedIds(store, 'task-1')).toEqual([`cp-${winner}`]);
    expect(await store.readLog('task-1', 'lineage')).toEqual([`${winner}:a`, `${winner}:b`]);
  });
}
