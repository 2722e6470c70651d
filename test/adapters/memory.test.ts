import { isOrchestrationError } from 'mcp-orchestration';
import { createMemoryStore } from 'mcp-orchestration/memory';
import { describe, expect, it } from 'vitest';
import { describeCheckpointStore } from '../conformance/checkpoint-store.conformance.js';

describeCheckpointStore('memory', {
  async create({ now, maxRecordBytes }) {
    const records = new Map<string, string>();
    const logs = new Map<string, string[]>();
    const store = createMemoryStore({ now, maxRecordBytes, records, logs });
    return {
      store,
      async corrupt(taskId, checkpointId) {
        records.set(`${taskId}/${checkpointId}`, '\u0000garbage{');
      },
      async plantLog(taskId, name, entries) {
        logs.set(`${taskId}/${name}`, [...entries]);
      },
      cleanup: () => store.close(),
    };
  },
});

describe('memory store specifics', () => {
  it('checks the header stored with each record against its index', async () => {
    const records = new Map<string, string>();
    const store = createMemoryStore({ records });
    await store.save({ taskId: 't', checkpointId: 'a', createdAt: 1, body: 'A' });
    await store.save({ taskId: 't', checkpointId: 'b', createdAt: 1, body: 'B' });
    // A record swapped for another one's bytes (valid header, wrong record) is corrupt.
    records.set('t/a', records.get('t/b') ?? '');
    await store.load('t', 'a').then(
      () => expect.fail('expected CorruptRecordError'),
      (error) => expect(isOrchestrationError(error, 'CORRUPT_RECORD')).toBe(true),
    );
    expect((await store.load('t', 'b'))?.body).toBe('B');
  });

  it('hands out metadata the caller cannot change, and wants an empty records map', async () => {
    const store = createMemoryStore();
    await store.save({ taskId: 't', checkpointId: 'a', createdAt: 1, body: 'A' });
    const [meta] = await store.list('t');
    expect(Object.isFrozen(meta)).toBe(true);
    expect(() => createMemoryStore({ records: new Map([['t/a', 'x']]) })).toThrow(TypeError);
  });

  it('refuses a maxRecordBytes that is not an integer > 0, as the file and Redis stores do', async () => {
    // NaN would lift the bound (every size passes); 0, -5 and 1.5 would fail every save.
    for (const bad of [Number.NaN, 0, -5, 1.5, Number.POSITIVE_INFINITY, '1024']) {
      const create = () => createMemoryStore({ maxRecordBytes: bad as number });
      expect(create).toThrow(TypeError);
      expect(create).toThrow(`maxRecordBytes must be an integer > 0, got ${bad}`);
    }
    const tiny = createMemoryStore({ maxRecordBytes: 1 });
    await tiny.save({ taskId: 't', checkpointId: 'a', createdAt: 1, body: 'A' });
    await expect(
      tiny.save({ taskId: 't', checkpointId: 'b', createdAt: 1, body: 'AB' }),
    ).rejects.toSatisfy((error) => isOrchestrationError(error, 'RECORD_TOO_LARGE'));
  });
});
