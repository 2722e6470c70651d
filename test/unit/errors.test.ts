import {
  CheckpointConflictError,
  isOrchestrationError,
  OrchestrationError,
  PoolSaturatedError,
  StorageError,
} from 'mcp-orchestration';
import { describe, expect, expectTypeOf, it } from 'vitest';

describe('typed errors', () => {
  it('carry a code, a name and a cause', () => {
    const cause = new Error('ECONNRESET');
    const error = new StorageError('redis', 'connection lost during save', { cause });
    expect(error).toBeInstanceOf(OrchestrationError);
    expect(error.code).toBe('STORAGE_FAILED');
    expect(error.name).toBe('StorageError');
    expect(error.cause).toBe(cause);
    expect(error.message).toBe('redis store: connection lost during save');
  });

  it('isOrchestrationError narrows by code', () => {
    const error: unknown = new CheckpointConflictError('task_1', 3, 4);
    expect(isOrchestrationError(error)).toBe(true);
    expect(isOrchestrationError(error, 'STORAGE_FAILED')).toBe(false);
    if (isOrchestrationError(error, 'CHECKPOINT_CONFLICT')) {
      expectTypeOf(error).toEqualTypeOf<CheckpointConflictError>();
      expect([error.expectedSeq, error.actualSeq]).toEqual([3, 4]);
    } else {
      expect.unreachable();
    }
    expect(isOrchestrationError(new Error('plain'))).toBe(false);
    // @ts-expect-error: not a code
    isOrchestrationError(error, 'NOT_A_CODE');
  });

  it('a checkpoint conflict says whether another writer got ahead or the checkpoints are gone', () => {
    expect(new CheckpointConflictError('t', 3, 4).message).toBe(
      'Checkpoint conflict on task t: expected sequence 3, but it is at 4 (another writer saved first); nothing was written',
    );
    expect(new CheckpointConflictError('t', 2, 0).message).toBe(
      'Checkpoint conflict on task t: expected sequence 2, but the task has no checkpoints any more (deleted, expired, or the storage was cleared); nothing was written',
    );
    expect(new CheckpointConflictError('t', 0, 1).message).toMatch(/it is at 1 \(another writer/);
    expect(new CheckpointConflictError('t', 5, 2).message).toMatch(/but it is at 2; nothing/);
  });

  it('a saturated pool counts the contexts that wait in words', () => {
    expect(new PoolSaturatedError('p', 1).message).toBe(
      'Worker pool p is saturated: 1 context already waits for a worker',
    );
    expect(new PoolSaturatedError('p', 8).message).toBe(
      'Worker pool p is saturated: 8 contexts already wait for a worker',
    );
  });
});
