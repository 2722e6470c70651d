import {
  CheckpointManager,
  type CheckpointStore,
  createContext,
  createWorkflowState,
  decodeRecord,
  isOrchestrationError,
} from 'mcp-orchestration';
import { createMemoryStore } from 'mcp-orchestration/memory';
import { describe, expect, it } from 'vitest';
import { storedEntriesOf } from '../../src/checkpoint/restore-shared-contexts.js';
import { MAX_STORED_ENTRIES, shareContexts } from '../../src/checkpoint/shared-contexts.js';
import { readStoredEntries } from '../../src/checkpoint/stored-context-reads.js';
import {
  ContextLogWriter,
  entriesReadFor,
  MAX_SPLICE_DEPTH,
  MIN_STORED_CHARS,
  REBASE_CHARS,
} from '../../src/checkpoint/stored-contexts.js';

const big = (label: string) => createContext('Doc', { label, text: 'x'.repeat(MIN_STORED_CHARS) });

/**
 * A memory store where task-1 has a checkpoint, as after the runtime's saves: on a store with
 * `appendLogAt` the writer appends only to a task that has one (a task without was deleted).
 */
async function storeWithTask(): Promise<CheckpointStore> {
  const store = createMemoryStore();
  await store.save({ taskId: 'task-1', checkpointId: 'c0', createdAt: 1, body: '{}' });
  return store;
}

describe('ContextLogWriter', () => {
  it('stores a large context once it was in two checkpoints in a row, once, at the right entry', async () => {
    const store = await storeWithTask();
    await store.appendLog('task-1', 'contexts', ['"an older entry"']);
    const log = new ContextLogWriter(store, 'task-1', 'contexts');
    const doc = big('doc');
    const small = createContext('Note', { text: 'short' });
    const passing = big('passing');
    log.saved(new Set([doc, small, passing]));
    await log.settled();
    expect(await store.readLog('task-1', 'contexts')).toHaveLength(1); // nothing outlived one yet
    log.saved(new Set([doc, small]));
    log.saved(new Set([doc, small])); // while the append is in flight: not appended twice
    await log.settled();
    const entries = await store.readLog('task-1', 'contexts');
    expect(entries).toEqual(['"an older entry"', JSON.stringify(doc)]);
    expect(log.entryOf(doc)).toBe(1);
    expect(log.entryOf(small)).toBeUndefined(); // too small to be worth it
    expect(log.entryOf(passing)).toBeUndefined();
    log.saved(new Set([doc]));
    await log.settled();
    expect(await store.readLog('task-1', 'contexts')).toHaveLength(2);
    // Known to this writer only: another run of the task id stores it anew (the task may have
    // been deleted and its log started again since).
    expect(new ContextLogWriter(store, 'task-1', 'contexts').entryOf(doc)).toBeUndefined();
    // A writer seeded with the entries its state was read from names them.
    const seeded = new ContextLogWriter(store, 'task-1', 'contexts', new Map([[doc, 1]]));
    expect(seeded.entryOf(doc)).toBe(1);
  });

  it('leaves a context in the checkpoints when its append fails, and does not try again', async () => {
    const store = createMemoryStore();
    let appends = 0;
    const failing = Object.assign(Object.create(store), {
      appendLog: async () => {
        appends += 1;
        throw new Error('the store is down');
      },
      appendLogAt: undefined, // its appends are unconditional
    });
    const log = new ContextLogWriter(failing, 'task-1', 'contexts');
    const doc = big('doc');
    for (let i = 0; i < 4; i++) log.saved(new Set([doc]));
    await log.settled();
    expect(appends).toBe(1);
    expect(log.entryOf(doc)).toBeUndefined();
  });
});

describe('the log entries one checkpoint names', () => {
  it(`are at most ${MAX_STORED_ENTRIES}: more stored contexts stay in the checkpoint, and a read refuses more`, () => {
    const docs = Array.from({ length: MAX_STORED_ENTRIES + 1 }, (_, i) =>
      createContext('Note', { i }),
    );
    const entries = new Map(docs.map((doc, i) => [doc as object, i]));
    const sharing = shareContexts({ docs }, { entryOf: (context) => entries.get(context) });
    const shared = JSON.parse(sharing.taken?.json ?? '[]') as { entry?: number }[];
    expect(shared).toHaveLength(MAX_STORED_ENTRIES);
    const left = (sharing.taken!.snapshot as { docs: unknown[] }).docs.filter((d) => d !== null);
    expect(left).toHaveLength(1); // held, as before the log had it
    const names = (n: number) => Array.from({ length: n }, (_, i) => ({ entry: i }));
    expect(storedEntriesOf(names(MAX_STORED_ENTRIES))).toMatchObject({
      entries: { length: MAX_STORED_ENTRIES },
    });
    expect(storedEntriesOf(names(MAX_STORED_ENTRIES + 1))).toMatch(/more than/);
    // One entry named twice counts once.
    expect(storedEntriesOf([{ entry: 3 }, { entry: 3 }])).toEqual({ entries: [3], spliced: false });
  });
});

/**
 * Saves checkpoint `id` of task-1 in format `v` (3: `shared` names log entries; 4: it may also
 * splice them): its snapshot's context is `context` (with `null` where the named contexts go).
 * Returns the envelope.
 */
async function saveNaming(
  store: CheckpointStore,
  context: object,
  shared: object[],
  { v = 3, id = 'c1' }: { v?: number; id?: string } = {},
) {
  const state = createWorkflowState({
    taskId: 'task-1',
    plan: [],
    status: 'running',
    currentStepIndex: 0,
    snapshot: { status: 'active', context } as never,
  });
  const body = {
    v,
    checkpointId: id,
    taskId: 'task-1',
    createdAt: 1,
    status: 'running',
    shared,
    state: JSON.parse(JSON.stringify(state)),
  };
  await store.save({
    taskId: 'task-1',
    checkpointId: id,
    createdAt: 1,
    body: JSON.stringify(body),
  });
  return body;
}

describe('checkpoints that name stored contexts (format 3)', () => {
  /** A format 3 checkpoint naming `doc` at entry 0 of task-1's contexts log, at two places. */
  async function saved() {
    const store = createMemoryStore();
    const manager = new CheckpointManager(store);
    const doc = big('doc');
    const other = big('other');
    await store.appendLog('task-1', 'contexts', [JSON.stringify(doc)]);
    // What the runtime's writer does: the context is known to be entry 0.
    const stored = { entryOf: (context: object) => (context === doc ? 0 : undefined) };
    const sharing = shareContexts({ lanes: { main: doc, 'g.a': other } }, stored);
    expect(sharing.taken?.stored).toBe(true);
    const shared = JSON.parse(sharing.taken?.json ?? '');
    expect(shared).toEqual([{ entry: 0, contextId: doc.contextId, at: [['lanes', 'main']] }]);
    const body = await saveNaming(store, { lanes: { main: null, 'g.a': other } }, [
      { entry: 0, contextId: doc.contextId, at: [['context', 'lanes', 'main']] },
    ]);
    return { store, manager, doc, other, body };
  }

  it('a load reads the entry back into every place, and its state says which entry it was', async () => {
    const { manager, doc, other } = await saved();
    const loaded = await manager.loadCheckpoint('task-1', 'c1');
    expect(loaded?.checkpoint?.v).toBe(3);
    const lanes = (loaded!.snapshot as unknown as { context: { lanes: Record<string, object> } })
      .context.lanes;
    expect(lanes).toEqual({ main: doc, 'g.a': other });
    expect(entriesReadFor(loaded!)).toEqual(new Map([[lanes.main, 0]]));
    expect(entriesReadFor(loaded!).get(lanes.main as object)).toBe(0);
  });

  it('a reference that the log does not back is a CorruptRecordError, and nothing is lost', async () => {
    const { store, manager, doc, body } = await saved();
    await store.appendLog('task-1', 'contexts', ['not json', JSON.stringify(big('another'))]);
    const ref = body.shared[0] as Record<string, unknown>;
    const cases: [string, unknown, RegExp][] = [
      ['beyond the log', [{ ...ref, entry: 9 }], /holds no context/],
      ['not JSON', [{ ...ref, entry: 1 }], /holds no context/],
      ['another context', [{ ...ref, entry: 2 }], /another context/],
      ['a negative entry', [{ ...ref, entry: -1 }], /not an integer/],
      ['a fractional entry', [{ ...ref, entry: 0.5 }], /not an integer/],
      ['no place', [{ ...ref, at: [] }], /1 place or more/],
      ['both', [{ ...ref, context: doc }], /both holds and names/],
    ];
    for (const [name, shared, reason] of cases) {
      const id = `bad-${name.replaceAll(' ', '-')}`;
      await store.save({
        taskId: 'task-1',
        checkpointId: id,
        createdAt: 2,
        body: JSON.stringify({ ...body, checkpointId: id, shared }),
      });
      const error = await manager.loadCheckpoint('task-1', id).catch((e: unknown) => e);
      expect(isOrchestrationError(error, 'CORRUPT_RECORD'), name).toBe(true);
      expect((error as Error).message, name).toMatch(reason);
      // Without its snapshot, the rest of the state still reads (a status needs no context).
      const summary = await manager.loadCheckpoint('task-1', id, { snapshot: false });
      expect(summary?.status, name).toBe('running');
      expect(summary?.snapshot, name).toBeUndefined();
    }
    // A reference in format 2, where there are none.
    await store.save({
      taskId: 'task-1',
      checkpointId: 'v2',
      createdAt: 2,
      body: JSON.stringify({ ...body, checkpointId: 'v2', v: 2 }),
    });
    const v2 = await manager.loadCheckpoint('task-1', 'v2').catch((e: unknown) => e);
    expect((v2 as Error).message).toMatch(/stored contexts in format 2/);
    // decodeRecord without a reader of the log cannot read it, and says so.
    const record = await store.load('task-1', 'c1');
    const unread = await decodeRecord(record!).catch((e: unknown) => e);
    expect(isOrchestrationError(unread, 'CORRUPT_RECORD')).toBe(true);
    expect((unread as Error).message).toMatch(/nothing reads them/);
    const { snapshot, ...rest } = await decodeRecord(record!, undefined, undefined, {
      snapshot: false,
    });
    expect(snapshot).toBeUndefined();
    expect(rest).toMatchObject({ taskId: 'task-1', status: 'running' });
    // The good checkpoint still loads.
    expect((await manager.loadCheckpoint('task-1', 'c1'))?.checkpoint?.v).toBe(3);
  });

  it('reads each run of consecutive entries at once, each entry to its own places', async () => {
    const store = createMemoryStore();
    let reads = 0;
    const counting = Object.assign(Object.create(store), {
      readLog: (...args: Parameters<typeof store.readLog>) => {
        reads += 1;
        return store.readLog(...args);
      },
    });
    const manager = new CheckpointManager(counting);
    const docs = ['a', 'b', 'c', 'd'].map(big);
    const log = [docs[0], docs[1], docs[2], big('x'), big('y'), docs[3]];
    await store.appendLog(
      'task-1',
      'contexts',
      log.map((doc) => JSON.stringify(doc)),
    );
    const at = ['a', 'b', 'c', 'd'];
    const entries = [0, 1, 2, 5];
    // Listed out of order: the reads sort them.
    const shared = [3, 1, 0, 2].map((i) => ({
      entry: entries[i],
      contextId: docs[i]?.contextId,
      at: [['context', at[i]]],
    }));
    await saveNaming(store, { a: null, b: null, c: null, d: null }, shared);
    const loaded = await manager.loadCheckpoint('task-1', 'c1');
    expect((loaded!.snapshot as unknown as { context: object }).context).toEqual({
      a: docs[0],
      b: docs[1],
      c: docs[2],
      d: docs[3],
    });
    expect(reads).toBe(2); // entries 0–2, then 5
  });

  it('the contexts log is its own log, named by an option, and never the lineage', () => {
    const store = createMemoryStore();
    expect(new CheckpointManager(store).contextsLog).toBe('contexts');
    expect(new CheckpointManager(store, { contextsLog: 'docs' }).contextsLog).toBe('docs');
    expect(() => new CheckpointManager(store, { contextsLog: 'lineage' })).toThrow(RangeError);
    expect(() => new CheckpointManager(store, { contextsLog: '../x' })).toThrow();
  });
});

describe('contexts that grow (format 4)', () => {
  /** Version `n` of a transcript: `n` lines of 100 characters (new context, new id, each time). */
  const transcript = (n: number) =>
    createContext('Transcript', {
      lines: Array.from({ length: n }, (_, i) => `line ${i}:`.padEnd(100, '.')),
    });

  it('the writer keeps a base per type, splices each next version from it, and stores a new base as they grow', async () => {
    const store = await storeWithTask();
    const log = new ContextLogWriter(store, 'task-1', 'contexts');
    const versions: object[] = [];
    const splices: (number | undefined)[] = [];
    for (let n = 1; n <= 400; n++) {
      const version = transcript(n);
      versions.push(version);
      // What serializing a checkpoint holding it does, then its save.
      splices.push(log.spliceOf(version)?.splice.mid.length);
      log.saved(new Set([version, createContext('Note', { n })]));
      await log.settled();
    }
    // Small versions have no base; from the first large one after another of its type, each is
    // spliced from a base, by at most about REBASE_CHARS (the splice that makes the next base).
    const first = splices.findIndex((mid) => mid !== undefined);
    expect(first).toBeGreaterThan(0);
    expect(JSON.stringify(versions[first - 1]).length).toBeGreaterThanOrEqual(MIN_STORED_CHARS);
    for (const mid of splices.slice(first)) {
      expect(mid).toBeDefined();
      expect(mid).toBeLessThanOrEqual(REBASE_CHARS + 110);
    }
    // The log: whole entries as the data doubles, splices of the previous base between them.
    const entries = await store.readLog('task-1', 'contexts');
    const whole = entries.filter((entry) => !entry.startsWith('{"splice":'));
    expect(entries.length).toBeGreaterThan(8);
    expect(whole.length).toBeGreaterThanOrEqual(2);
    expect(whole.length).toBeLessThan(entries.length / 2);
    const stored = entries.reduce((sum, entry) => sum + entry.length, 0);
    const everyVersion = versions.reduce((sum, v) => sum + JSON.stringify(v).length, 0);
    expect(stored).toBeLessThan(everyVersion / 20);
    // Each entry reads back as the version it stores.
    const byEntry = new Map<number, object>();
    for (const version of versions) {
      const entry = log.entryOf(version);
      if (entry !== undefined) byEntry.set(entry, version);
    }
    expect(byEntry.size).toBe(entries.length);
    const read = await readStoredEntries(store, 'task-1', 'contexts', [...byEntry.keys()]);
    for (const [entry, version] of byEntry) expect(read.get(entry)).toEqual(version);
  });

  it("a context that drifted from its type's base (a merge, say) becomes a new whole base", async () => {
    const store = await storeWithTask();
    const log = new ContextLogWriter(store, 'task-1', 'contexts');
    const checkpoint = async (version: object) => {
      log.spliceOf(version);
      log.saved(new Set([version]));
      await log.settled();
    };
    for (const n of [30, 31]) await checkpoint(transcript(n)); // 31 lines: the base
    const merged = (n: number) =>
      createContext('Transcript', {
        lines: Array.from({ length: n }, (_, i) => `merged ${i}:`.padEnd(100, '-')),
      });
    expect(log.spliceOf(merged(60))).toBeUndefined(); // shares too little with the base
    await checkpoint(merged(60));
    const entries = await store.readLog('task-1', 'contexts');
    expect(entries).toHaveLength(2);
    expect((JSON.parse(entries[1] as string) as { data: unknown }).data).toEqual(merged(60).data);
    expect(log.spliceOf(merged(61))).toMatchObject({
      base: 1,
      splice: { mid: expect.any(String) },
    });
    expect(log.spliceOf(merged(61))?.splice.mid.length).toBeLessThan(120);
  });

  it('two contexts of one type growing side by side: one splices, and the other does not replace its base', async () => {
    const store = await storeWithTask();
    const log = new ContextLogWriter(store, 'task-1', 'contexts');
    const other = (n: number) =>
      createContext('Transcript', {
        lines: Array.from({ length: n }, (_, i) => `other ${i}:`.padEnd(100, '-')),
      });
    const checkpoint = async (...versions: object[]) => {
      for (const version of versions) log.spliceOf(version);
      log.saved(new Set(versions));
      await log.settled();
    };
    for (const n of [30, 31]) await checkpoint(transcript(n)); // the base: entry 0
    for (let n = 32; n < 42; n++) await checkpoint(transcript(n), other(n + 20));
    // The transcript kept splicing from its bases; the other was never appended.
    expect(log.spliceOf(transcript(42))).toBeDefined();
    const entries = await store.readLog('task-1', 'contexts');
    expect(entries.every((entry) => !entry.includes('other 0:'))).toBe(true);
  });

  it('a load makes the context from the entry and its splice; a splice that does not fit is a CorruptRecordError', async () => {
    const store = await storeWithTask();
    const manager = new CheckpointManager(store);
    const [v1, v2, v3] = [30, 31, 32].map(transcript) as [object, object, object];
    const log = new ContextLogWriter(store, 'task-1', 'contexts');
    log.saved(new Set([transcript(29)]));
    log.saved(new Set([v1])); // the first base: entry 0
    await log.settled();
    const splice2 = log.spliceOf(v2)?.splice;
    const ref = { base: 0, ...splice2, at: [['context', 'main']] };
    await saveNaming(store, { main: null }, [ref], { v: 4 });
    const loaded = await manager.loadCheckpoint('task-1', 'c1');
    expect(loaded?.checkpoint?.v).toBe(4);
    expect((loaded!.snapshot as unknown as { context: object }).context).toEqual({ main: v2 });
    // An entry that splices entry 0 into v3, and a chain of empty splices on it.
    const { p, s, mid } = log.spliceOf(v3)?.splice ?? {};
    const spliceEntry = (base: number, extra: object = {}) =>
      JSON.stringify({
        splice: {
          base,
          contextId: (v3 as { contextId: string }).contextId,
          metadata: {},
          p,
          s,
          mid,
          ...extra,
        },
      });
    await store.appendLog('task-1', 'contexts', [spliceEntry(0)]); // entry 1
    const v3Json = JSON.stringify((v3 as { data: unknown }).data);
    const same = (base: number) => spliceEntry(base, { p: v3Json.length, s: 0, mid: '' });
    for (let i = 1; i <= MAX_SPLICE_DEPTH; i++) {
      await store.appendLog('task-1', 'contexts', [same(i)]); // entries 2 to MAX_SPLICE_DEPTH + 1
    }
    const named = (entry: number, id: string) =>
      saveNaming(
        store,
        { main: null },
        [{ entry, contextId: (v3 as { contextId: string }).contextId, at: [['context', 'main']] }],
        { id },
      );
    await named(1, 'from-1');
    await named(MAX_SPLICE_DEPTH, 'deep');
    for (const id of ['from-1', 'deep']) {
      const state = await manager.loadCheckpoint('task-1', id);
      expect((state!.snapshot as unknown as { context: object }).context, id).toEqual({ main: v3 });
    }
    await named(MAX_SPLICE_DEPTH + 1, 'too-deep');
    const bad = [['too-deep', /holds no context/]] as [string, RegExp][];
    // Splice entries that do not fit: each is its own entry, named by a checkpoint.
    const misfits: [string, string][] = [
      ['later-base', spliceEntry(999)],
      ['own-base', spliceEntry(MAX_SPLICE_DEPTH + 3)],
      ['bad-id', spliceEntry(0, { contextId: '../x' })],
      ['bad-metadata', spliceEntry(0, { metadata: [] })],
      ['past-the-end', spliceEntry(0, { p: v3Json.length, s: 5 })],
    ];
    for (const [id, entry] of misfits) {
      const at = await store.appendLog('task-1', 'contexts', [entry]);
      await named(at - 1, id);
      bad.push([id, /holds no context/]);
    }
    // Checkpoint references that do not fit.
    const refs: [string, object, number, RegExp][] = [
      ['ref-past-the-end', { ...ref, p: 1e9 }, 4, /splice that does not fit/],
      ['ref-bad-id', { ...ref, contextId: 'a b' }, 4, /splice that does not fit/],
      ['ref-no-mid', { ...ref, mid: undefined }, 4, /splice that does not fit/],
      ['ref-both', { ...ref, entry: 0 }, 4, /both a log entry and a base/],
      ['ref-in-format-3', ref, 3, /splices stored contexts in format 3/],
      ['ref-not-a-context', { ...ref, base: 1e6 }, 4, /holds no context/],
    ];
    for (const [id, shared, v, reason] of refs) {
      await saveNaming(store, { main: null }, [shared], { v, id });
      bad.push([id, reason]);
    }
    for (const [id, reason] of bad) {
      const error = await manager.loadCheckpoint('task-1', id).catch((e: unknown) => e);
      expect(isOrchestrationError(error, 'CORRUPT_RECORD'), id).toBe(true);
      expect((error as Error).message, id).toMatch(reason);
    }
  });
});
