import {
  assertValidId,
  checkpointIdTime,
  createCheckpointId,
  InvalidIdError,
  MAX_ID_LENGTH,
} from 'mcp-orchestration';
import { describe, expect, it } from 'vitest';

describe('assertValidId', () => {
  it.each(['task_123', 'a', 'A-b.c_9', '01HZX3J1R6', 'x'.repeat(MAX_ID_LENGTH)])(
    'accepts %s',
    (id) => {
      expect(() => assertValidId('taskId', id)).not.toThrow();
    },
  );

  it.each([
    ['', 'empty'],
    ['a:b', 'separator'],
    ['a/b', 'slash'],
    ['a\\b', 'backslash'],
    ['..', 'parent directory'],
    ['.hidden', 'leading dot'],
    ['-flag', 'leading dash'],
    ['a b', 'space'],
    ['tab\there', 'control character'],
    ['ünï', 'non-ASCII'],
    ['{tag}', 'braces'],
    ['x'.repeat(MAX_ID_LENGTH + 1), 'too long'],
  ])('rejects %j (%s) with a typed error', (id) => {
    expect(() => assertValidId('taskId', id)).toThrow(InvalidIdError);
  });

  it('rejects non-strings', () => {
    expect(() => assertValidId('taskId', 42)).toThrow(/not a string/);
  });
});

describe('createCheckpointId', () => {
  it('makes valid, time-ordered ids that encode their time', () => {
    const id = createCheckpointId(1_700_000_000_123);
    expect(id).toHaveLength(26);
    expect(() => assertValidId('checkpointId', id)).not.toThrow();
    expect(checkpointIdTime(id)).toBe(1_700_000_000_123);
    expect(createCheckpointId(1_700_000_000_124) > id).toBe(true);
  });

  it('is unique and strictly increasing within one millisecond', () => {
    const ids = Array.from({ length: 10_000 }, () => createCheckpointId(1_800_000_000_000));
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
  });

  it('never goes backwards when the clock does', () => {
    const later = createCheckpointId(1_900_000_000_000);
    expect(createCheckpointId(1_899_999_999_000) > later).toBe(true);
  });

  it('returns undefined time for ids it did not make', () => {
    expect(checkpointIdTime('my-own-id')).toBeUndefined();
  });
});
