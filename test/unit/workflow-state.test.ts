import {
  ContextValidationError,
  createWorkflowState,
  parseWorkflowState,
  WORKFLOW_STATUSES,
  type WorkflowState,
} from 'mcp-orchestration';
import { describe, expect, it } from 'vitest';

function issuesOf(value: unknown): string[] {
  try {
    parseWorkflowState(value);
  } catch (error) {
    if (error instanceof ContextValidationError) {
      expect(error.contextType).toBe('WorkflowState');
      return error.issues.map((issue) => `${issue.path}: ${issue.message}`);
    }
    throw error;
  }
  return [];
}

describe('WorkflowState', () => {
  it('createWorkflowState fills in the defaults, like the seed constructor', () => {
    expect(createWorkflowState({ taskId: 'task_123' })).toEqual({
      taskId: 'task_123',
      plan: [],
      status: 'pending',
      currentStepIndex: 0,
      metadata: {},
    });
    expect(WORKFLOW_STATUSES).toEqual([
      'pending',
      'running',
      'suspended',
      'paused',
      'completed',
      'error',
      'cancelled',
    ]);
  });

  it('parses a full state and drops optional properties that are undefined', () => {
    const state = {
      taskId: 'task_123',
      plan: [
        {
          stepId: 'parse',
          name: 'Parse Input',
          description: undefined,
          toolName: 'input_parser',
          action: 'parse',
          stepIndex: 0,
          isComplete: false,
          metadata: { retries: 0 },
        },
      ],
      status: 'running',
      currentStepIndex: 0,
      metadata: { error: null },
      machine: { id: 'wf', version: undefined },
      snapshot: { status: 'active', output: undefined, error: undefined, value: 'idle' },
      checkpoint: undefined,
    };
    const parsed = parseWorkflowState(state);
    expect(parsed).toEqual(state);
    expect(Object.keys(parsed.plan[0] ?? {})).not.toContain('description');
    expect(Object.keys(parsed.machine ?? {})).toEqual(['id']);
    expect('checkpoint' in parsed).toBe(false);
    expect(parsed).not.toBe(state);
    expect(parsed.metadata).toBe(state.metadata); // shared, not copied
  });

  it('lists every problem with its path', () => {
    expect(issuesOf(null)).toEqual(['$: must be a plain object']);
    expect(
      issuesOf({
        taskId: '',
        plan: [
          { stepId: 'a', name: 'A', stepIndex: 0, isComplete: false },
          { stepId: 'a', name: 7, stepIndex: -1, isComplete: 'no', extra: 1 },
          'not a step',
        ],
        status: 'sleeping',
        currentStepIndex: 1.5,
        metadata: [],
        snapshot: { status: 'sleeping' },
        machine: { version: 2 },
        surprise: true,
      }),
    ).toEqual([
      '$.surprise: is not a known property',
      '$.taskId: must be a non-empty string',
      '$.plan[1].extra: is not a known property',
      '$.plan[1].name: must be a string',
      '$.plan[1].stepIndex: must be an integer ≥ 0',
      '$.plan[1].isComplete: must be a boolean',
      '$.plan[1].stepId: repeats a',
      '$.plan[2]: must be a plain object',
      '$.status: must be one of pending, running, suspended, paused, completed, error, cancelled',
      '$.currentStepIndex: must be an integer ≥ 0',
      '$.metadata: must be a plain object',
      '$.machine.id: must be a non-empty string',
      '$.machine.version: must be a string when present',
      '$.snapshot.status: must be an XState snapshot status (active, done, error, stopped)',
    ]);
  });

  it('keeps checkpoint info of a loaded state', () => {
    const state: WorkflowState = {
      ...createWorkflowState({ taskId: 't' }),
      checkpoint: { checkpointId: 'c', seq: 2, createdAt: 5, parentId: 'p', v: 1 },
    };
    expect(parseWorkflowState(state).checkpoint).toEqual(state.checkpoint);
    expect(issuesOf({ ...state, checkpoint: { checkpointId: 'c', seq: -1 } })).toEqual([
      '$.checkpoint.seq: must be an integer ≥ 0',
      '$.checkpoint.createdAt: must be an integer ≥ 0',
      '$.checkpoint.v: must be an integer ≥ 0',
    ]);
  });

  it('createWorkflowState validates too', () => {
    expect(() => createWorkflowState({ taskId: 't', currentStepIndex: -1 })).toThrow(
      ContextValidationError,
    );
  });
});
