import type { CheckpointStore } from 'mcp-orchestration';
import { expect } from 'vitest';
import { expectCode, listedIds, newRecord, type SuiteContext } from '../suite-context.js';

/** Ids that must never reach a key. */
export const BAD_IDS: readonly string[] = [
  '',
  'a:b',
  '../x',
  'a/b',
  'a\\b',
  'x'.repeat(201),
  ' a',
  'a b',
  'a\n',
  '.hidden',
];

/** Well-formed strings that must survive storage exactly (a lone surrogate cannot survive UTF-8). */
export const UNICODE_SAMPLES: readonly string[] = [
  '',
  'emoji 😀🎉 family 👩‍👩‍👧‍👦 flag 🇫🇷',
  'astral 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𠜎𠜱 max \u{10FFFF}',
  'RTL مرحبا بالعالم שלום עולם \u200f mark',
  'NUL before\u0000after',
  'controls \u0001\u001f\u007f\u0085 tab\t CRLF\r\n separators \u2028\u2029',
  'JSON-ish "quoted" \\ backslash \\u0000 literal {"seq":99}',
  '\n{"checkpointId":"x","seq":99}\nheader injection',
  'BOM \ufeff combining e\u0301 replacement \ufffd',
];

/** Deterministic text of about `bytes` UTF-8 bytes, mixing 1- to 4-byte characters. */
function largeText(bytes: number): string {
  const alphabet = ['a', 'Z', '7', ' ', '"', '\\', '\n', 'é', 'ж', '€', '中', '😀', '𠜎'];
  const sizes = alphabet.map((char) => new TextEncoder().encode(char).length);
  const chunks: string[] = [];
  let size = 0;
  let state = 2463534242;
  while (size < bytes) {
    let chunk = '';
    for (let i = 0; i < 1024; i++) {
      // xorshift32
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      state >>>= 0;
      const pick = state % alphabet.length;
      chunk += alphabet[pick] as string;
      size += sizes[pick] as number;
    }
    chunks.push(chunk);
  }
  return chunks.join('');
}

async function expectUntouched(store: CheckpointStore, taskIds: readonly string[]): Promise<void> {
  for (const taskId of taskIds) {
    expect(await listedIds(store, taskId)).toEqual(['cp']);
    expect(await store.head(taskId)).toBe(1);
    expect(await store.readLog(taskId, 'log')).toEqual(['0']);
  }
}

/** Bad ids, the size bound, corrupt records, unicode and large bodies. */
export function validationCases(ctx: SuiteContext, options: { largeBodyBytes: number }): void {
  const { test } = ctx;

  test('refuses bad ids everywhere with InvalidIdError and touches nothing', async () => {
    const { store } = await ctx.open();
    const bystanders = ['a', 'b', 'x', 'task-1'];
    for (const taskId of bystanders) {
      await store.save(newRecord(ctx, taskId, 'cp'));
      await store.appendLog(taskId, 'log', ['0']);
    }
    for (const bad of BAD_IDS) {
      const calls: Array<() => Promise<unknown>> = [
        () => store.save(newRecord(ctx, bad, 'cp-new')),
        () => store.save(newRecord(ctx, 'task-1', bad)),
        () => store.load(bad, 'cp'),
        () => store.load('task-1', bad),
        () => store.latest(bad),
        () => store.list(bad),
        () => store.delete(bad, 'cp'),
        () => store.delete('task-1', bad),
        () => store.deleteOld(bad, 0),
        () => store.head(bad),
        () => store.appendLog(bad, 'log', ['bad']),
        () => store.appendLog('task-1', bad, ['bad']),
        () => store.readLog(bad, 'log'),
        () => store.readLog('task-1', bad),
        () => store.deleteTask(bad),
      ];
      for (const call of calls) await expectCode(call, 'INVALID_ID');
    }
    await expectUntouched(store, bystanders);
  });

  test('refuses a body over maxRecordBytes (UTF-8 bytes) with RecordTooLargeError', async () => {
    const { store } = await ctx.open({ maxRecordBytes: 1024 });
    await store.save(newRecord(ctx, 'task-1', 'ascii-fits', { body: 'x'.repeat(1024) }));
    await store.save(newRecord(ctx, 'task-1', 'euro-fits', { body: '€'.repeat(341) })); // 1023 B
    const tooLarge = await expectCode(
      () => store.save(newRecord(ctx, 'task-1', 'ascii-over', { body: 'x'.repeat(1025) })),
      'RECORD_TOO_LARGE',
    );
    expect(tooLarge).toMatchObject({ bytes: 1025, limit: 1024 });
    // 342 characters, 1,026 bytes: the bound counts bytes, not characters.
    await expectCode(
      () => store.save(newRecord(ctx, 'task-1', 'euro-over', { body: '€'.repeat(342) })),
      'RECORD_TOO_LARGE',
    );
    await expectCode(
      () => store.save(newRecord(ctx, 'task-1', 'emoji-over', { body: '😀'.repeat(257) })),
      'RECORD_TOO_LARGE',
    );
    expect(await listedIds(store, 'task-1')).toEqual(['euro-fits', 'ascii-fits']);
    expect(await store.head('task-1')).toBe(2);
    expect((await store.load('task-1', 'euro-fits'))?.body).toBe('€'.repeat(341));
  });

  test('refuses a log entry over maxRecordBytes (UTF-8 bytes) and appends nothing of it', async () => {
    const { store } = await ctx.open({ maxRecordBytes: 1024 });
    await store.appendLog('task-1', 'lineage', ['first']);
    const tooLarge = await expectCode(
      () => store.appendLog('task-1', 'lineage', ['fits', 'x'.repeat(1025)]),
      'RECORD_TOO_LARGE',
    );
    expect(tooLarge).toMatchObject({ bytes: 1025, limit: 1024 });
    expect(tooLarge.message).toContain('entry 1');
    // 342 characters, 1,026 bytes: the bound counts bytes, not characters.
    await expectCode(
      () => store.appendLog('task-1', 'lineage', ['€'.repeat(342)]),
      'RECORD_TOO_LARGE',
    );
    expect(await store.readLog('task-1', 'lineage')).toEqual(['first']);
    expect(await store.appendLog('task-1', 'lineage', ['x'.repeat(1024), '€'.repeat(341)])).toBe(3);
    expect(await store.readLog('task-1', 'lineage', { from: 1 })).toEqual([
      'x'.repeat(1024),
      '€'.repeat(341),
    ]);
  });

  test('refuses to read back a log entry over maxRecordBytes', async () => {
    const under = await ctx.open({ maxRecordBytes: 1024 });
    const { store } = under;
    // Written past this store's bound (as by a store with a larger one).
    await under.plantLog('task-1', 'lineage', ['a', '€'.repeat(342), 'c']);
    const tooLarge = await expectCode(() => store.readLog('task-1', 'lineage'), 'RECORD_TOO_LARGE');
    expect(tooLarge).toMatchObject({ bytes: 1026, limit: 1024 });
    expect(tooLarge.message).toContain('entry 1');
    await expectCode(() => store.readLog('task-1', 'lineage', { from: 1 }), 'RECORD_TOO_LARGE');
    // The entries around it stay readable.
    expect(await store.readLog('task-1', 'lineage', { limit: 1 })).toEqual(['a']);
    expect(await store.readLog('task-1', 'lineage', { from: 2 })).toEqual(['c']);
  });

  test('a corrupt record is a CorruptRecordError from load and latest', async () => {
    const { store, corrupt } = await ctx.open();
    await store.save(newRecord(ctx, 'task-1', 'cp-1', { body: 'one' }));
    await store.save(newRecord(ctx, 'task-1', 'cp-2', { body: 'two' }));
    await corrupt('task-1', 'cp-2');
    const error = await expectCode(() => store.load('task-1', 'cp-2'), 'CORRUPT_RECORD');
    expect(error).toMatchObject({ taskId: 'task-1', recordId: 'cp-2' });
    await expectCode(() => store.latest('task-1'), 'CORRUPT_RECORD');
    expect((await store.load('task-1', 'cp-1'))?.body).toBe('one');
  });

  test('a corrupt record can still be deleted', async () => {
    const { store, corrupt } = await ctx.open();
    await store.save(newRecord(ctx, 'task-1', 'cp-1', { body: 'one' }));
    await store.save(newRecord(ctx, 'task-1', 'cp-2', { body: 'two' }));
    await corrupt('task-1', 'cp-2');
    expect(await store.delete('task-1', 'cp-2')).toBe(true);
    expect(await store.load('task-1', 'cp-2')).toBeUndefined();
    expect((await store.latest('task-1'))?.body).toBe('one');
  });

  test('a corrupt older record does not disturb latest', async () => {
    const { store, corrupt } = await ctx.open();
    await store.save(newRecord(ctx, 'task-1', 'cp-1', { body: 'one' }));
    await store.save(newRecord(ctx, 'task-1', 'cp-2', { body: 'two' }));
    await corrupt('task-1', 'cp-1');
    expect((await store.latest('task-1'))?.body).toBe('two');
  });

  test('list still lists a corrupt record (its id and seq) and the others whole', async () => {
    const { store, corrupt } = await ctx.open();
    const records = [
      newRecord(ctx, 'task-1', 'cp-1', { body: 'one' }),
      newRecord(ctx, 'task-1', 'cp-2', { body: 'two', ttlMs: 600_000 }),
      newRecord(ctx, 'task-1', 'cp-3', { body: 'three' }),
    ];
    for (const record of records) await store.save(record);
    await corrupt('task-1', 'cp-3');
    await corrupt('task-1', 'cp-1');
    const listed = await store.list('task-1');
    expect(listed.map((meta) => [meta.checkpointId, meta.seq])).toEqual([
      ['cp-3', 3],
      ['cp-2', 2],
      ['cp-1', 1],
    ]);
    for (const meta of listed) {
      expect(meta.taskId).toBe('task-1');
      expect(Number.isSafeInteger(meta.createdAt)).toBe(true);
    }
    const { body: _, ...intact } = records[1] as (typeof records)[number];
    expect(listed[1]).toEqual({ ...intact, seq: 2 });
    // Reading a corrupt one is what reports it.
    await expectCode(() => store.load('task-1', 'cp-1'), 'CORRUPT_RECORD');
    await expectCode(() => store.latest('task-1'), 'CORRUPT_RECORD');
  });

  test('round-trips unicode bodies and log entries exactly', async () => {
    const { store } = await ctx.open();
    const records = UNICODE_SAMPLES.map((body, i) => newRecord(ctx, 'task-1', `u-${i}`, { body }));
    for (const record of records) await store.save(record);
    for (const [i, record] of records.entries()) {
      const loaded = await store.load('task-1', record.checkpointId);
      expect(loaded?.body).toBe(record.body);
      expect(loaded?.seq).toBe(i + 1);
    }
    expect((await store.latest('task-1'))?.body).toBe(UNICODE_SAMPLES.at(-1));
    const combined = UNICODE_SAMPLES.join('|');
    await store.save(newRecord(ctx, 'task-1', 'combined', { body: combined }));
    expect((await store.load('task-1', 'combined'))?.body).toBe(combined);
    expect(await store.appendLog('task-1', 'unicode', UNICODE_SAMPLES)).toBe(
      UNICODE_SAMPLES.length,
    );
    expect(await store.readLog('task-1', 'unicode')).toEqual(UNICODE_SAMPLES);
  });

  test(
    'round-trips a large body',
    async () => {
      const { store } = await ctx.open();
      const body = largeText(options.largeBodyBytes);
      const record = newRecord(ctx, 'task-1', 'large', { body });
      expect(await store.save(record)).toEqual({ seq: 1 });
      const loaded = await store.load('task-1', 'large');
      expect(loaded?.body.length).toBe(body.length);
      expect(loaded?.body === body).toBe(true); // not toEqual: its diff of 5 MB would be unreadable
      expect((await store.latest('task-1'))?.body === body).toBe(true);
    },
    ctx.slowTimeout,
  );
}
