import {
  CheckpointManager,
  createContext,
  createWorkflowState,
  isOrchestrationError,
} from 'mcp-orchestration';
import { createMemoryStore } from 'mcp-orchestration/memory';
import { describe, expect, it } from 'vitest';
import { restoreSharedContexts } from '../../src/checkpoint/restore-shared-contexts.js';
import {
  MAX_SHARED_PLACES,
  MIN_SHARED_CHARS,
  shareContexts,
} from '../../src/checkpoint/shared-contexts.js';

const big = (label: string) => createContext('Doc', { label, text: 'x'.repeat(MIN_SHARED_CHARS) });

describe('shareContexts / restoreSharedContexts', () => {
  it('takes each context held twice out once, leaves the snapshot as it was, and puts it back', () => {
    const doc = big('doc');
    const other = big('other');
    const snapshot = {
      context: { lanes: { main: doc, 'g.a': doc, 'g.b': other }, list: [doc, { deep: other }] },
      children: { 'runStep.a': { snapshot: { input: { context: doc } } } },
    };
    const before = JSON.stringify(snapshot);
    const sharing = shareContexts(snapshot);
    expect(JSON.stringify(snapshot)).toBe(before); // nothing of the caller's changed
    expect(sharing.taken?.shared.map((s) => ('context' in s ? s.context : undefined))).toEqual(
      expect.arrayContaining([doc, other]),
    );
    const at = new Map(
      sharing.taken?.shared.map((s) => ['context' in s ? s.context : undefined, s.at]),
    );
    expect(at.get(doc)).toHaveLength(4);
    expect(at.get(other)).toEqual(
      expect.arrayContaining([
        ['context', 'lanes', 'g.b'],
        ['context', 'list', 1, 'deep'],
      ]),
    );
    const stored = JSON.parse(JSON.stringify(sharing.taken?.snapshot));
    expect(JSON.stringify(stored)).not.toContain('x'.repeat(MIN_SHARED_CHARS));
    const shared = JSON.parse(JSON.stringify(sharing.taken?.shared));
    expect(JSON.parse(sharing.taken?.json ?? '')).toEqual(shared); // the list as the envelope holds it
    expect(restoreSharedContexts(stored, shared)).toBeUndefined();
    expect(stored).toEqual(JSON.parse(before));
    // One object at every place again.
    expect(stored.context.lanes['g.a']).toBe(stored.context.lanes.main);
    expect(stored.children['runStep.a'].snapshot.input.context).toBe(stored.context.lanes.main);
  });

  it('shares nothing when no context is held twice, a context is small, or two only share an id', () => {
    const doc = big('doc');
    expect(shareContexts({ a: doc, b: big('b') }).taken).toBeUndefined();
    const small = createContext('Note', { text: 'short' });
    expect(shareContexts({ a: small, b: small }).taken).toBeUndefined();
    // Two objects claiming one id are not one context.
    const twin = createContext(
      'Doc',
      { label: 'twin', text: 'y'.repeat(MIN_SHARED_CHARS) },
      {
        contextId: doc.contextId,
      },
    );
    expect(shareContexts({ a: doc, b: twin }).taken).toBeUndefined();
    expect(shareContexts(undefined).taken).toBeUndefined();
  });

  it('refuses a place inside a context (nothing is ever taken out of one)', () => {
    const holder = JSON.parse(
      JSON.stringify(
        createContext('Doc', { text: 'x'.repeat(MIN_SHARED_CHARS) }, { metadata: { x: null } }),
      ),
    );
    const shared = [{ context: holder, at: [['a'], ['b']] }];
    expect(restoreSharedContexts({ a: null, b: null }, shared)).toBeUndefined();
    const inside = [{ context: holder, at: [['a'], ['a', 'metadata', 'x']] }];
    expect(restoreSharedContexts({ a: null }, inside)).toMatch(/does not leave empty/);
  });

  it(`names at most ${MAX_SHARED_PLACES} places, so that a read never restores more`, () => {
    const doc = big('doc');
    const most = shareContexts({ list: Array(MAX_SHARED_PLACES).fill(doc) });
    expect(most.taken?.shared[0]?.at).toHaveLength(MAX_SHARED_PLACES);
    const stored = JSON.parse(JSON.stringify(most.taken?.snapshot));
    expect(restoreSharedContexts(stored, JSON.parse(JSON.stringify(most.taken?.shared)))).toBe(
      undefined,
    );
    // One place more: the context stays in place (written in full each time, readable).
    expect(shareContexts({ list: Array(MAX_SHARED_PLACES + 1).fill(doc) }).taken).toBeUndefined();
    const over = [
      { context: doc, at: Array.from({ length: MAX_SHARED_PLACES + 1 }, (_, i) => [i]) },
    ];
    const holes = Array(MAX_SHARED_PLACES + 1).fill(null);
    expect(restoreSharedContexts(holes, JSON.parse(JSON.stringify(over)))).toMatch(/more than/);
  });

  it('keeps a __proto__ key an own property both ways', () => {
    const doc = big('doc');
    const snapshot = JSON.parse('{"__proto__":{"x":null},"lanes":{"main":null}}');
    Object.getOwnPropertyDescriptor(snapshot, '__proto__')!.value.x = doc;
    snapshot.lanes.main = doc;
    const sharing = shareContexts(snapshot);
    const stored = JSON.parse(JSON.stringify(sharing.taken?.snapshot));
    expect(Object.hasOwn(stored, '__proto__')).toBe(true);
    expect(restoreSharedContexts(stored, JSON.parse(JSON.stringify(sharing.taken?.shared)))).toBe(
      undefined,
    );
    expect(Object.getPrototypeOf(stored)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(stored, '__proto__')?.value.x).toEqual(doc);
  });

  it('says why a shared list does not fit its snapshot', () => {
    const context = JSON.parse(JSON.stringify(big('doc')));
    const fits = () => ({ a: null, b: [null] });
    const entry = (at: unknown) => [{ context, at }];
    expect(restoreSharedContexts(fits(), entry([['a'], ['b', 0]]))).toBeUndefined();
    expect(restoreSharedContexts(fits(), [])).toMatch(/not a list/);
    expect(restoreSharedContexts(fits(), { 0: 1 })).toMatch(/not a list/);
    expect(restoreSharedContexts(undefined, entry([['a'], ['b', 0]]))).toMatch(/no snapshot/);
    expect(restoreSharedContexts(fits(), [{ context: { x: 1 }, at: [['a'], ['b', 0]] }])).toMatch(
      /holds no context/,
    );
    expect(restoreSharedContexts(fits(), entry([['a']]))).toMatch(/2 places or more/);
    expect(restoreSharedContexts(fits(), entry([['a'], []]))).toMatch(/not a path/);
    expect(restoreSharedContexts(fits(), entry([['a'], 'b']))).toMatch(/not a path/);
    // A place the snapshot does not leave empty: missing, filled, twice, of the wrong kind.
    for (const at of [
      [['a'], ['c']],
      [['a'], ['b', 1]],
      [['a'], ['a']],
      [['a'], ['b', '0']],
      [['a'], ['a', 'x']],
      [['a'], ['toString']],
    ]) {
      expect(restoreSharedContexts(fits(), entry(at)), JSON.stringify(at)).toMatch(
        /does not leave empty/,
      );
    }
  });
});

describe('checkpoints that share contexts', () => {
  async function saved() {
    const store = createMemoryStore();
    const manager = new CheckpointManager(store);
    const doc = big('doc');
    const state = createWorkflowState({
      taskId: 'task-1',
      plan: [],
      status: 'running',
      currentStepIndex: 0,
      snapshot: { status: 'active', context: { lanes: { main: doc, 'g.a': doc } } } as never,
    });
    const checkpointId = await manager.saveCheckpoint(state);
    return { store, manager, checkpointId, doc };
  }

  it('saveCheckpoint writes format 2 with the context once; a load gives the state back', async () => {
    const { store, manager, checkpointId, doc } = await saved();
    const body = (await store.load('task-1', checkpointId))?.body ?? '';
    expect(JSON.parse(body)).toMatchObject({ v: 2, shared: [{ at: expect.any(Array) }] });
    expect(body.split(doc.data.text).length - 1).toBe(1);
    const loaded = await manager.loadCheckpoint('task-1', checkpointId);
    expect(loaded?.checkpoint?.v).toBe(2);
    expect(loaded?.snapshot).toEqual({
      status: 'active',
      context: { lanes: { main: doc, 'g.a': doc } },
    });
  });

  it('a shared list that does not fit, or one in a format 1 envelope, is a CorruptRecordError', async () => {
    const { store, manager, checkpointId } = await saved();
    const body = JSON.parse((await store.load('task-1', checkpointId))?.body ?? '');
    const damaged = [
      { ...body, shared: [{ ...body.shared[0], at: [['context', 'lanes', 'main']] }] },
      { ...body, shared: [{ ...body.shared[0], at: [...body.shared[0].at, ['status']] }] },
      { ...body, shared: 'none' },
      { ...body, v: 1 },
      { ...body, state: { ...body.state, snapshot: undefined } },
    ];
    for (const [i, envelope] of damaged.entries()) {
      const id = `damaged-${i}`;
      await store.save({
        taskId: 'task-1',
        checkpointId: id,
        createdAt: Date.now(),
        body: JSON.stringify({ ...envelope, checkpointId: id }),
      });
      const error = await manager.loadCheckpoint('task-1', id).catch((e: unknown) => e);
      expect(isOrchestrationError(error, 'CORRUPT_RECORD'), String(error)).toBe(true);
      expect((error as Error).message).toMatch(/shared/);
    }
    // The intact checkpoint still loads.
    expect((await manager.loadCheckpoint('task-1', checkpointId))?.checkpoint?.v).toBe(2);
  });
});
