import {
  CHECKPOINT_FORMAT_VERSION,
  CheckpointManager,
  isOrchestrationError,
  type OrchestrationErrorByCode,
  type OrchestrationErrorCode,
} from 'mcp-orchestration';
import { createMemoryStore } from 'mcp-orchestration/memory';
import { describe, expect, it } from 'vitest';

/** A format this code does not know yet. */
const NEXT_FORMAT = CHECKPOINT_FORMAT_VERSION + 1;

/** A step as the Python system stored it. */
interface PythonStep {
  step_id: string;
  name: string;
  step_index: number;
  is_complete: boolean;
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

describe('checkpoint format: envelope versions, migration, corruption', () => {
  it('reports a corrupt record as CorruptRecordError and a newer format as CheckpointVersionError', async () => {
    const store = createMemoryStore();
    const manager = new CheckpointManager(store);
    const base = { taskId: 'task-1', createdAt: Date.now() };
    await store.save({ ...base, checkpointId: 'not-json', body: '{"v":1,' });
    await failure(() => manager.loadCheckpoint('task-1', 'not-json'), 'CORRUPT_RECORD');
    await store.save({
      ...base,
      checkpointId: 'wrong-shape',
      body: '{"v":1,"checkpointId":"wrong-shape","taskId":"task-1","status":"running","state":{"taskId":"task-1"}}',
    });
    const shape = await failure(
      () => manager.loadCheckpoint('task-1', 'wrong-shape'),
      'CORRUPT_RECORD',
    );
    expect(shape.message).toContain('$.state.plan');
    await store.save({
      ...base,
      checkpointId: 'other-id',
      body: JSON.stringify({ v: 1, checkpointId: 'x', taskId: 'task-1' }),
    });
    await failure(() => manager.loadCheckpoint('task-1', 'other-id'), 'CORRUPT_RECORD');
    await store.save({ ...base, checkpointId: 'array', body: '[1,2]' });
    await failure(() => manager.loadLatestCheckpoint('task-1'), 'CORRUPT_RECORD');
    await store.save({
      ...base,
      checkpointId: 'future',
      body: `{"v":${NEXT_FORMAT},"whatever":true}`,
    });
    const future = await failure(
      () => manager.loadLatestCheckpoint('task-1'),
      'CHECKPOINT_VERSION',
    );
    expect(future).toMatchObject({
      version: NEXT_FORMAT,
      supportedVersion: CHECKPOINT_FORMAT_VERSION,
      checkpointId: 'future',
    });
    expect(future.message).toMatch(/newer version/);
  });

  it('upgrades older formats with migrate, and refuses them without', async () => {
    const store = createMemoryStore();
    // A record as the Python system stored it: a bare snake_case state, no envelope, no `v`.
    const python = {
      task_id: 'task_123',
      plan: [{ step_id: 'parse', name: 'Parse Input', step_index: 0, is_complete: true }],
      status: 'running',
      current_step_index: 1,
    };
    const meta = { taskId: 'task_123', checkpointId: 'legacy', createdAt: Date.UTC(2025, 0, 1) };
    await store.save({ ...meta, body: JSON.stringify(python) });

    const strict = new CheckpointManager(store);
    const refused = await failure(
      () => strict.loadLatestCheckpoint('task_123'),
      'CHECKPOINT_VERSION',
    );
    expect(refused).toMatchObject({ version: 0, supportedVersion: CHECKPOINT_FORMAT_VERSION });

    const seen: unknown[] = [];
    const migrating = new CheckpointManager(store, {
      migrate: (old, fromVersion, recordMeta) => {
        seen.push([fromVersion, recordMeta.checkpointId, recordMeta.seq]);
        const plan = (old.plan as unknown as PythonStep[]).map((s) => ({
          stepId: s.step_id,
          name: s.name,
          stepIndex: s.step_index,
          isComplete: s.is_complete,
        }));
        const state = {
          taskId: recordMeta.taskId,
          plan,
          status: 'running' as const,
          currentStepIndex: old.current_step_index as number,
          metadata: {},
        };
        return {
          v: 1,
          checkpointId: recordMeta.checkpointId,
          taskId: recordMeta.taskId,
          createdAt: recordMeta.createdAt,
          status: state.status,
          state,
        };
      },
    });
    const upgraded = await migrating.loadLatestCheckpoint('task_123');
    expect(seen).toEqual([[0, 'legacy', 1]]);
    expect(upgraded).toMatchObject({
      taskId: 'task_123',
      currentStepIndex: 1,
      plan: [{ stepId: 'parse', name: 'Parse Input', stepIndex: 0, isComplete: true }],
      checkpoint: { checkpointId: 'legacy', seq: 1, v: 0, createdAt: meta.createdAt },
    });
    // Saving it again writes the current format (1: nothing shared), as a child of the legacy
    // checkpoint.
    if (upgraded === undefined) throw new Error('not loaded');
    const id = await migrating.saveCheckpoint(upgraded);
    const resaved = await strict.loadCheckpoint('task_123', id);
    expect(resaved?.checkpoint).toMatchObject({ v: 1, parentId: 'legacy', seq: 2 });

    const broken = new CheckpointManager(store, { migrate: (old) => old as never });
    await failure(() => broken.loadCheckpoint('task_123', 'legacy'), 'CORRUPT_RECORD');
  });
});
