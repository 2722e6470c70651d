import { assertStorableState, isOrchestrationError } from 'mcp-orchestration';
import { describe, expect, it } from 'vitest';
import { thrownBy } from '../support/rejection.js';

type StoredState = Parameters<typeof assertStorableState>[0];

const state = (fields: Record<string, unknown>): StoredState =>
  ({
    taskId: 't',
    plan: [],
    status: 'running',
    currentStepIndex: 0,
    metadata: {},
    ...fields,
  }) as StoredState;

/** The NonJsonValueError `fn` throws, or a failure. */
function nonJsonPath(fn: () => void): string {
  const error = thrownBy(fn);
  if (isOrchestrationError(error, 'NON_JSON_VALUE')) return error.path;
  throw error;
}

describe('assertStorableState', () => {
  it('accepts JSON everywhere, and undefined properties in the snapshot only', () => {
    expect(() => assertStorableState(state({}))).not.toThrow();
    expect(() => assertStorableState(state({ snapshot: { a: undefined, b: [1] } }))).not.toThrow();
    // A snapshot property left undefined is no snapshot (JSON leaves it out).
    expect(() => assertStorableState(state({ snapshot: undefined }))).not.toThrow();
    expect(nonJsonPath(() => assertStorableState(state({ metadata: { x: undefined } })))).toBe(
      '$.metadata.x',
    );
    expect(
      nonJsonPath(() =>
        assertStorableState(state({ metadata: { x: undefined }, snapshot: undefined })),
      ),
    ).toBe('$.metadata.x');
  });

  it('names the path of a bad value in the state and in its snapshot', () => {
    const snapshot = { context: { when: new Date(0) } };
    expect(nonJsonPath(() => assertStorableState(state({ snapshot })))).toBe(
      '$.snapshot.context.when',
    );
    expect(
      nonJsonPath(() => assertStorableState(state({ metadata: { f: () => 1 }, snapshot: {} }))),
    ).toBe('$.metadata.f');
    expect(nonJsonPath(() => assertStorableState(state({ plan: [{ n: Number.NaN }] })))).toBe(
      '$.plan[0].n',
    );
  });
});
