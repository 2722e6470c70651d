import {
  CheckpointManager,
  checkpointIdTime,
  createWorkflowState,
  getCheckpointManager,
  isOrchestrationError,
  type OrchestrationErrorByCode,
  type OrchestrationErrorCode,
  type WorkflowState,
  type WorkflowStep,
} from 'mcp-orchestration';
import { createMemoryStore } from 'mcp-orchestration/memory';
import { describe, expect, it } from 'vitest';

function steps(): WorkflowStep[] {
  return [
    {
      stepId: 'parse',
      name: 'Parse Input',
      toolName: 'input_parser',
      action: 'parse',
      stepIndex: 0,
      isComplete: true,
    },
    {
      stepId: 'process',
      name: 'Process Data',
      description: 'Process the validated data',
      toolName: 'data_processor',
      action: 'process',
      stepIndex: 1,
      isComplete: true,
    },
    {
      stepId: 'generate',
      name: 'Generate Result',
      toolName: 'result_generator',
      action: 'generate',
      stepIndex: 2,
      isComplete: false,
    },
  ];
}

async function failure<C extends OrchestrationErrorCode>(
  fn: () => Promise<unknown>,
  code: C,
): Promise<OrchestrationErrorByCode[C]> {
  try {
    await fn();
  } catch (error) {
    if (isOrchestrationError(error, code)) return error;
    throw error;
  }
  throw new Error(`expected ${code}, but it succeeded`);
}

function clock(start = Date.now()) {
  let time = start;
  return {
    now: () => time,
    advance(ms: number) {
      time += ms;
    },
  };
}

describe('CheckpointManager', () => {
  it("runs the seed's usage example: save, load, latest, list, delete old keeping 3", async () => {
    const checkpointManager = await getCheckpointManager(createMemoryStore());
    const workflowState = createWorkflowState({
      taskId: 'task_123',
      plan: steps(),
      status: 'running',
      currentStepIndex: 2,
    });
    const checkpointId = await checkpointManager.saveCheckpoint(workflowState);
    expect(checkpointId).toMatch(/^checkpoint-[0-9A-HJKMNP-TV-Z]{26}$/);

    const restoredState = await checkpointManager.loadCheckpoint('task_123', checkpointId);
    const { checkpoint, ...restored } = restoredState ?? {};
    expect(restored).toEqual(workflowState);
    // Format 1: the state has no snapshot, so no context to store once (format 2).
    expect(checkpoint).toMatchObject({ checkpointId, seq: 1, v: 1 });

    for (let step = 0; step < 4; step++) {
      workflowState.currentStepIndex = step % 3;
      await checkpointManager.saveCheckpoint(workflowState);
    }
    workflowState.status = 'completed';
    const lastId = await checkpointManager.saveCheckpoint(workflowState);

    const latestState = await checkpointManager.loadLatestCheckpoint('task_123');
    expect(latestState?.status).toBe('completed');
    expect(latestState?.checkpoint?.checkpointId).toBe(lastId);

    const checkpoints = await checkpointManager.listCheckpoints('task_123');
    expect(checkpoints).toHaveLength(6);
    expect(checkpoints[0]).toBe(lastId);
    expect(checkpoints.at(-1)).toBe(checkpointId);
    // Generated ids sort by time like the sequence numbers do.
    expect([...checkpoints].sort().reverse()).toEqual(checkpoints);

    const deletedCount = await checkpointManager.deleteOldCheckpoints('task_123', {
      keepLatest: 3,
    });
    expect(deletedCount).toBe(3);
    expect(await checkpointManager.listCheckpoints('task_123')).toEqual(checkpoints.slice(0, 3));
    expect(await checkpointManager.deleteOldCheckpoints('task_123')).toBe(0); // default keepLatest 3
    expect(await checkpointManager.loadCheckpoint('task_123', checkpointId)).toBeUndefined();
    expect(await checkpointManager.deleteCheckpoint('task_123', lastId)).toBe(true);
    expect(await checkpointManager.deleteCheckpoint('task_123', lastId)).toBe(false);
  });

  it('returns undefined and [] for a task it has never seen', async () => {
    const manager = new CheckpointManager(createMemoryStore());
    expect(await manager.loadLatestCheckpoint('nobody')).toBeUndefined();
    expect(await manager.loadCheckpoint('nobody', 'nothing')).toBeUndefined();
    expect(await manager.listCheckpoints('nobody')).toEqual([]);
    expect(await manager.listCheckpointInfo('nobody')).toEqual([]);
  });

  it('writes a versioned envelope with the creation time, TTL and status', async () => {
    const time = clock();
    const store = createMemoryStore({ now: time.now });
    const manager = new CheckpointManager(store, { now: time.now, checkpointPrefix: 'cp' });
    const state = createWorkflowState({
      taskId: 'task-1',
      status: 'running',
      machine: { id: 'wf', version: '2' },
    });
    const id = await manager.saveCheckpoint(state, { ttl: 1.5 });
    expect(id.startsWith('cp-')).toBe(true);
    expect(checkpointIdTime(id.slice(3))).toBe(time.now());
    const record = await store.load('task-1', id);
    expect(record).toMatchObject({ seq: 1, createdAt: time.now(), expiresAt: time.now() + 1500 });
    expect(JSON.parse(record?.body ?? '')).toEqual({
      v: 1,
      checkpointId: id,
      taskId: 'task-1',
      createdAt: time.now(),
      expiresAt: time.now() + 1500,
      status: 'running',
      machine: { id: 'wf', version: '2' },
      state: {
        taskId: 'task-1',
        plan: [],
        status: 'running',
        currentStepIndex: 0,
        metadata: {},
        machine: { id: 'wf', version: '2' },
      },
    });
    const info = await manager.listCheckpointInfo('task-1');
    expect(info).toEqual([
      {
        taskId: 'task-1',
        checkpointId: id,
        seq: 1,
        createdAt: time.now(),
        expiresAt: time.now() + 1500,
      },
    ]);
  });

  it('lets checkpoints expire after their TTL, falling back to older ones', async () => {
    const time = clock();
    const manager = new CheckpointManager(createMemoryStore({ now: time.now }), { now: time.now });
    const state = createWorkflowState({ taskId: 'task-1', status: 'running' });
    const durable = await manager.saveCheckpoint(state);
    state.currentStepIndex = 1;
    const shortLived = await manager.saveCheckpoint(state, { ttl: 0.25 });
    expect((await manager.loadLatestCheckpoint('task-1'))?.checkpoint).toMatchObject({
      checkpointId: shortLived,
      expiresAt: time.now() + 250,
    });
    time.advance(250);
    expect(await manager.loadCheckpoint('task-1', shortLived)).toBeUndefined();
    expect((await manager.loadLatestCheckpoint('task-1'))?.checkpoint?.checkpointId).toBe(durable);
    expect(await manager.listCheckpoints('task-1')).toEqual([durable]);
    for (const ttl of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, 1e13, Number.MAX_VALUE]) {
      await expect(manager.saveCheckpoint(state, { ttl })).rejects.toThrow(RangeError);
      await expect(manager.saveCheckpoint(state, { ttl })).rejects.toThrow(/ttl/);
    }
    // The longest ttl a Date can hold still saves.
    const last = (8.64e15 - time.now()) / 1000;
    await expect(manager.saveCheckpoint(state, { ttl: last })).resolves.toBeDefined();
  });

  it('makes writes conditional with expectedSeq', async () => {
    const manager = new CheckpointManager(createMemoryStore());
    const state = createWorkflowState({ taskId: 'task-1' });
    const first = await manager.saveCheckpoint(state, { expectedSeq: 0 });
    const seq = (await manager.loadCheckpoint('task-1', first))?.checkpoint?.seq;
    expect(seq).toBe(1);
    await manager.saveCheckpoint(state, { expectedSeq: seq });
    const conflict = await failure(
      () => manager.saveCheckpoint(state, { expectedSeq: seq, checkpointId: 'late' }),
      'CHECKPOINT_CONFLICT',
    );
    expect(conflict).toMatchObject({ expectedSeq: 1, actualSeq: 2 });
    expect(await manager.loadCheckpoint('task-1', 'late')).toBeUndefined();
    expect(await manager.listCheckpoints('task-1')).toHaveLength(2);
  });

  it('lets exactly one of two managers racing on one task win', async () => {
    const store = createMemoryStore();
    const [a, b] = [new CheckpointManager(store), new CheckpointManager(store)];
    const state = createWorkflowState({ taskId: 'task-1' });
    const outcomes = await Promise.allSettled([
      a.saveCheckpoint(state, { expectedSeq: 0 }),
      b.saveCheckpoint(state, { expectedSeq: 0 }),
    ]);
    expect(outcomes.map((o) => o.status).sort()).toEqual(['fulfilled', 'rejected']);
    const rejected = outcomes.find((o) => o.status === 'rejected');
    expect(isOrchestrationError(rejected?.reason, 'CHECKPOINT_CONFLICT')).toBe(true);
  });

  it('takes caller ids, validated, and refuses a duplicate', async () => {
    const manager = new CheckpointManager(createMemoryStore());
    const state = createWorkflowState({ taskId: 'task-1' });
    expect(await manager.saveCheckpoint(state, { checkpointId: 'step-1' })).toBe('step-1');
    await failure(
      () => manager.saveCheckpoint(state, { checkpointId: 'step-1' }),
      'CHECKPOINT_EXISTS',
    );
    for (const bad of ['', 'a:b', '../x', 'a/b', 'x'.repeat(201), 'a b']) {
      await failure(() => manager.saveCheckpoint(state, { checkpointId: bad }), 'INVALID_ID');
      await failure(() => manager.saveCheckpoint({ ...state, taskId: bad }), 'INVALID_ID');
      await failure(() => manager.saveCheckpoint(state, { parentId: bad }), 'INVALID_ID');
      await failure(() => manager.loadCheckpoint(bad, 'x'), 'INVALID_ID');
      await failure(() => manager.listCheckpoints(bad), 'INVALID_ID');
    }
    expect(await manager.listCheckpoints('task-1')).toEqual(['step-1']);
  });

  it('refuses non-JSON state before writing anything', async () => {
    const store = createMemoryStore();
    const manager = new CheckpointManager(store);
    const bad: Array<[string, (s: WorkflowState) => void]> = [
      ['$.metadata.when', (s) => Object.assign(s.metadata, { when: new Date() })],
      ['$.metadata.fn', (s) => Object.assign(s.metadata, { fn: () => 1 })],
      ['$.metadata.gone', (s) => Object.assign(s.metadata, { gone: undefined })],
      ['$.metadata.big', (s) => Object.assign(s.metadata, { big: 1n })],
      ['$.metadata.nan', (s) => Object.assign(s.metadata, { nan: Number.NaN })],
      [
        '$.plan[0].metadata.set',
        (s) => Object.assign(s.plan[0] ?? {}, { metadata: { set: new Set() } }),
      ],
    ];
    for (const [path, spoil] of bad) {
      const state = createWorkflowState({ taskId: 'task-1', plan: steps() });
      spoil(state);
      const error = await failure(() => manager.saveCheckpoint(state), 'NON_JSON_VALUE');
      expect(error.path).toBe(path);
    }
    const cyclic = createWorkflowState({ taskId: 'task-1' });
    cyclic.metadata.self = cyclic.metadata;
    await failure(() => manager.saveCheckpoint(cyclic), 'NON_JSON_VALUE');
    expect(await store.head('task-1')).toBe(0);
  });

  it('refuses a state of the wrong shape with ContextValidationError', async () => {
    const manager = new CheckpointManager(createMemoryStore());
    const state = createWorkflowState({ taskId: 'task-1' });
    const wrong = {
      ...state,
      status: 'sleeping',
      currentStepIndex: -1,
    } as unknown as WorkflowState;
    const error = await failure(() => manager.saveCheckpoint(wrong), 'CONTEXT_VALIDATION');
    expect(error.issues.map((issue) => issue.path)).toEqual(['$.status', '$.currentStepIndex']);
    expect(await manager.listCheckpoints('task-1')).toEqual([]);
  });

  it('links each checkpoint to its parent', async () => {
    const store = createMemoryStore();
    const manager = new CheckpointManager(store);
    const state = createWorkflowState({ taskId: 'task-1' });
    const first = await manager.saveCheckpoint(state);
    const second = await manager.saveCheckpoint(state);
    const branch = await manager.saveCheckpoint(state, { parentId: first });
    expect((await manager.loadCheckpoint('task-1', first))?.checkpoint?.parentId).toBeUndefined();
    expect((await manager.loadCheckpoint('task-1', second))?.checkpoint?.parentId).toBe(first);
    expect((await manager.loadCheckpoint('task-1', branch))?.checkpoint?.parentId).toBe(first);
    // After a restart, a state loaded from a checkpoint is saved as its child.
    const restarted = new CheckpointManager(store);
    const loaded = await restarted.loadLatestCheckpoint('task-1');
    if (loaded === undefined) throw new Error('no checkpoint');
    const resumed = await restarted.saveCheckpoint(loaded);
    expect((await restarted.loadCheckpoint('task-1', resumed))?.checkpoint?.parentId).toBe(branch);
    // A rollback (the newest deleted): the next save from the state loaded then follows it.
    expect(await restarted.deleteCheckpoint('task-1', resumed)).toBe(true);
    const back = await restarted.loadLatestCheckpoint('task-1');
    if (back === undefined) throw new Error('no checkpoint');
    const after = await restarted.saveCheckpoint(back);
    expect((await restarted.loadCheckpoint('task-1', after))?.checkpoint?.parentId).toBe(branch);
    // Every checkpoint deleted, the next one follows none; `parentId: null` says so too.
    expect(await restarted.deleteOldCheckpoints('task-1', { keepLatest: 0 })).toBe(4);
    const fresh = await restarted.saveCheckpoint(state);
    expect((await restarted.loadCheckpoint('task-1', fresh))?.checkpoint?.parentId).toBeUndefined();
    const orphan = await restarted.saveCheckpoint(state, { parentId: null });
    expect(
      (await restarted.loadCheckpoint('task-1', orphan))?.checkpoint?.parentId,
    ).toBeUndefined();
  });

  it('checks its options', () => {
    const store = createMemoryStore();
    expect(() => new CheckpointManager(store, { checkpointPrefix: 'a:b' })).toThrow(
      /checkpointPrefix/,
    );
    expect(() => new CheckpointManager(store, { checkpointPrefix: 'x'.repeat(180) })).toThrow(
      RangeError,
    );
    expect(() => new CheckpointManager(store, { lineageLog: '../log' })).toThrow(/lineageLog/);
    expect(new CheckpointManager(store, { checkpointPrefix: '' }).checkpointPrefix).toBe('');
  });
});

describe('getCheckpointManager', () => {
  it('gives one instance per store, even to concurrent first calls', async () => {
    const store = createMemoryStore();
    const [a, b] = await Promise.all([getCheckpointManager(store), getCheckpointManager(store)]);
    expect(a).toBe(b);
    expect(a.store).toBe(store);
    expect(await getCheckpointManager(store)).toBe(a);
    expect(await getCheckpointManager(createMemoryStore())).not.toBe(a);
  });
});
