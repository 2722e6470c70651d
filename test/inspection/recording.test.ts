import {
  type CheckpointStore,
  createRunRecorder,
  createRuntime,
  exportStatelyMachine,
  INSPECTION_LOG,
  type RunRecorderOptions,
  type Runtime,
  readRecording,
  replayRecording,
} from 'mcp-orchestration';
import { createMemoryStore } from 'mcp-orchestration/memory';
import { describe, expect, it } from 'vitest';
import { createActor, type InspectionEvent, setup } from 'xstate';
import { documentWorkflow } from './helpers.js';

/** The state values of the root actor's snapshots, in order, without repeats. */
function rootValues(events: readonly InspectionEvent[]): unknown[] {
  const values: unknown[] = [];
  for (const e of events) {
    if (e.type !== '@xstate.snapshot' || e.actorRef.sessionId !== e.rootId) continue;
    const value = (e.snapshot as { value?: unknown }).value;
    if (JSON.stringify(values.at(-1)) !== JSON.stringify(value)) values.push(value);
  }
  return values;
}

/** Resolves when a run of `runtime` first suspends (waits for an event). */
function untilSuspended(runtime: Runtime): Promise<void> {
  return new Promise((resolve) => {
    const stop = runtime.subscribe((e) => {
      if (e.type === 'status.changed' && e.status === 'suspended') {
        stop();
        resolve();
      }
    });
  });
}

/** Runs the document workflow to the end (approving it) with recording on; closes the runtime. */
async function recordedRun(
  record: RunRecorderOptions = {},
  store: CheckpointStore = createMemoryStore(),
) {
  const runtime = createRuntime({ store, record });
  const taskId = 'doc_1';
  const suspended = untilSuspended(runtime);
  const run = await runtime.start(documentWorkflow(), { text: 'a b c' }, { taskId });
  await suspended;
  await runtime.send(taskId, { type: 'approval', data: { ok: true } });
  await run.result;
  await runtime.close();
  return { store, taskId };
}

describe('recording a run (createRuntime({ record }))', () => {
  it('writes the run’s inspection events beside its checkpoints and replays them in order', async () => {
    const { store, taskId } = await recordedRun();
    const recording = await readRecording(store, taskId);
    expect(recording.sessions).toHaveLength(1);
    const [session] = recording.sessions;
    expect(session?.truncated).toBeUndefined();
    expect(session?.end).toEqual({ recorded: session?.events.length, dropped: 0 });
    expect(session?.events.map((e) => e.seq)).toEqual(session?.events.map((_, i) => i));

    const replayed: InspectionEvent[] = [];
    const count = replayRecording(recording, (event) => replayed.push(event));
    expect(count).toBe(session?.events.length);
    // The root actor is registered first; its states follow the plan to the end.
    expect(replayed[0]?.type).toBe('@xstate.actor');
    expect(rootValues(replayed).at(-1)).toBe('done');
    const steps = rootValues(replayed).map((v) =>
      typeof v === 'string' ? v : Object.keys(v as object)[0],
    );
    expect([...new Set(steps)]).toEqual(['parse', 'analyze', 'approve', 'done']);
    // The workflow actor carries its machine config, as exportStatelyMachine writes it.
    const root = replayed[0]?.actorRef as unknown as { logic: { config: unknown } };
    const { machine } = documentWorkflow();
    expect(root.logic.config).toEqual(exportStatelyMachine({ id: 'document', machine }).config);
    // Step actors (runStep) are children of the workflow actor.
    const children = replayed.filter(
      (e) => e.type === '@xstate.actor' && e.actorRef.sessionId !== e.rootId,
    );
    expect(children.map((e) => (e.actorRef as unknown as { id: string }).id)).toEqual([
      'runStep.parse',
      'runStep.count',
      'runStep.tone',
    ]);
    const received = replayed.flatMap((e) => (e.type === '@xstate.event' ? [e.event.type] : []));
    expect(received).toContain('approval');
    expect(received).toContain('workflow.committed');
    expect(await store.readLog(taskId, INSPECTION_LOG)).toHaveLength(session!.events.length + 2);
  });

  it('records a resumed run as a second session; replayed ids are rewritten per session', async () => {
    // Two runtimes on one store stand for two processes: the second resumes the first's task.
    const store = createMemoryStore();
    const workflow = documentWorkflow();
    const taskId = 'doc_2';
    const first = createRuntime({ store, record: true, workflows: [workflow] });
    const suspended = untilSuspended(first);
    const run = await first.start(workflow, { text: 'a b' }, { taskId });
    run.result.catch(() => undefined);
    await suspended;
    await first.close();
    const second = createRuntime({ store, record: true, workflows: [workflow] });
    const resumed = await second.resume(taskId);
    await second.send(taskId, { type: 'approval', data: { ok: true } });
    await resumed.result;
    await second.close();

    const recording = await readRecording(store, taskId);
    expect(recording.sessions).toHaveLength(2);
    const [a, b] = recording.sessions;
    expect(a?.id).not.toBe(b?.id);
    // XState numbers actors per process (x:0, x:1…): raw ids are not unique across processes.
    for (const e of [...(a?.events ?? []), ...(b?.events ?? [])])
      expect(e.actorId).toMatch(/^x:\d+$/);

    const replayed: InspectionEvent[] = [];
    replayRecording(recording, (e) => replayed.push(e));
    const roots = [...new Set(replayed.map((e) => e.rootId))];
    expect(roots).toEqual([
      `doc_2/${a?.id}/${a?.events[0]?.rootId}`,
      `doc_2/${b?.id}/${b?.events[0]?.rootId}`,
    ]);
    for (const e of replayed) expect(e.actorRef.sessionId).toMatch(/^doc_2\/[0-9A-Z]{26}\/x:\d+$/);
    // The first session ends suspended at the approval, the second finishes the run.
    const firstValues = rootValues(replayed.filter((e) => e.rootId === roots[0]));
    expect(firstValues.at(-1)).toEqual({ approve: 'waiting' });
    expect(rootValues(replayed.filter((e) => e.rootId === roots[1])).at(-1)).toBe('done');
    // A custom rewrite, e.g. a per-process prefix.
    const custom: InspectionEvent[] = [];
    replayRecording(recording, (e) => custom.push(e), {
      rewriteId: (id, o) => `p1:${o.session}:${id}`,
    });
    expect(custom[0]?.rootId).toBe(`p1:${a?.id}:${a?.events[0]?.rootId}`);
  });

  it('keeps at most maxEvents, marks the truncation and still ends in the final state', async () => {
    const { store, taskId } = await recordedRun({ maxEvents: 10 });
    const [session] = (await readRecording(store, taskId)).sessions;
    expect(session?.truncated).toEqual({ reason: 'maxEvents', fromSeq: 10 });
    // The first ten, plus the root's last snapshot written at the end.
    expect(session?.events).toHaveLength(11);
    expect(session?.events.slice(0, 10).map((e) => e.seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const last = session?.events.at(-1);
    expect(last?.type).toBe('@xstate.snapshot');
    expect(last?.snapshot).toMatchObject({ status: 'done', value: 'done' });
    expect(session?.end?.recorded).toBe(10);
    expect(session?.end?.dropped).toBeGreaterThan(20);
  });

  it('bounds the bytes of a session and of each stored value', async () => {
    const { store, taskId } = await recordedRun({ maxBytes: 4000 });
    const lines = await store.readLog(taskId, INSPECTION_LOG);
    const [session] = (await readRecording(store, taskId)).sessions;
    expect(session?.truncated?.reason).toBe('maxBytes');
    const eventBytes = lines
      .filter((line) => line.includes('"kind":"event"'))
      .slice(0, -1)
      .reduce((sum, line) => sum + new TextEncoder().encode(line).length, 0);
    expect(eventBytes).toBeLessThanOrEqual(4000);

    const small = createMemoryStore();
    const recorder = createRunRecorder(small, { maxValueBytes: 64 });
    const runtime = createRuntime({ store: small, inspect: recorder.inspect });
    const run = await runtime.start(
      documentWorkflow(),
      { text: 'x'.repeat(500) },
      { taskId: 't2' },
    );
    await runtime.send('t2', { type: 'approval' }).catch(() => undefined);
    await runtime.close();
    await recorder.end('t2');
    await recorder.flush();
    void run.result.catch(() => undefined);
    const recorded = (await readRecording(small, 't2')).sessions[0]?.events ?? [];
    const contexts = recorded.flatMap((e) =>
      e.snapshot?.context === undefined ? [] : [e.snapshot.context],
    );
    expect(contexts.length).toBeGreaterThan(0);
    for (const context of contexts)
      expect(context).toEqual({ $truncated: expect.stringMatching(/bytes, over 64$/) });
  });

  it('a failed write loses its own events only: the session and the entries after it stay readable', async () => {
    // The first write of the recording (the session's header and first events) fails.
    const base = createMemoryStore();
    let failures = 1;
    const store = withAppendLog(base, async (taskId, name, entries) => {
      if (name === INSPECTION_LOG && failures > 0) {
        failures -= 1;
        throw new Error('transient EIO');
      }
      return base.appendLog(taskId, name, entries);
    });
    const errors: unknown[] = [];
    const { taskId } = await recordedRun({ onError: (error) => errors.push(error) }, store);
    expect(errors).toHaveLength(1);

    const recording = await readRecording(store, taskId);
    expect(recording.sessions).toHaveLength(1);
    const [session] = recording.sessions;
    const lost = session?.events[0]?.seq ?? 0;
    expect(lost).toBeGreaterThan(0);
    expect(session?.events.map((e) => e.seq)).toEqual(session?.events.map((_, i) => i + lost));
    expect(session?.end).toEqual({
      recorded: (session?.events.length ?? 0) + lost,
      dropped: 0,
      lost,
    });
    // It still replays, to the run's final state.
    const replayed: InspectionEvent[] = [];
    replayRecording(recording, (event) => replayed.push(event));
    expect(rootValues(replayed).at(-1)).toBe('done');
  });

  it('a header written again after a write that failed but landed opens no second session', async () => {
    const base = createMemoryStore();
    let failures = 1;
    const store = withAppendLog(base, async (taskId, name, entries) => {
      const appended = await base.appendLog(taskId, name, entries);
      if (name === INSPECTION_LOG && failures > 0) {
        failures -= 1;
        throw new Error('timed out (but written)');
      }
      return appended;
    });
    const { taskId } = await recordedRun({}, store);
    const lines = await base.readLog(taskId, INSPECTION_LOG);
    expect(lines.filter((line) => line.includes('"kind":"session"'))).toHaveLength(2);
    const [session, ...more] = (await readRecording(store, taskId)).sessions;
    expect(more).toEqual([]);
    expect(session?.events.map((e) => e.seq)).toEqual(session?.events.map((_, i) => i));
  });

  it('records any XState actor safely: cycles, functions, errors and actor refs become JSON', async () => {
    const store = createMemoryStore();
    const recorder = createRunRecorder(store);
    const loop: Record<string, unknown> = { name: 'loop' };
    loop.self = loop;
    const machine = setup({}).createMachine({
      id: 'odd',
      initial: 'idle',
      context: { loop, fn: function shout() {}, error: new TypeError('bad'), big: 10n },
      states: { idle: { on: { go: 'gone' } }, gone: { type: 'final' } },
    });
    const actor = createActor(machine, { inspect: recorder.forTask('odd_1') }).start();
    actor.send({ type: 'go', at: new Date(0), child: actor });
    await recorder.end('odd_1');
    await recorder.flush();
    const [session] = (await readRecording(store, 'odd_1')).sessions;
    const snapshots = session?.events.filter((e) => e.type === '@xstate.snapshot') ?? [];
    expect(snapshots.at(-1)?.snapshot).toEqual({
      status: 'done',
      value: 'gone',
      context: {
        loop: { name: 'loop', self: '[Circular]' },
        fn: '[Function shout]',
        error: { name: 'TypeError', message: 'bad' },
        big: '10',
      },
    });
    expect(snapshots.at(-1)?.event).toEqual({
      type: 'go',
      at: '1970-01-01T00:00:00.000Z',
      child: { actorRef: actor.sessionId },
    });
    expect(session?.end).toEqual({ recorded: session?.events.length, dropped: 0 });
  });
});

/** `store` with its `appendLog` replaced (to make writes fail). */
function withAppendLog(
  store: CheckpointStore,
  appendLog: CheckpointStore['appendLog'],
): CheckpointStore {
  return new Proxy(store, {
    get(target, key, receiver) {
      if (key === 'appendLog') return appendLog;
      const value = Reflect.get(target, key, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
