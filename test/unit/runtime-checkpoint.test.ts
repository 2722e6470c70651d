import {
  CheckpointManager,
  ContextFlowManager,
  type ContextTransition,
  createContext,
  isOrchestrationError,
  type WorkflowState,
  type WorkflowStep,
} from 'mcp-orchestration';
import { createMemoryStore } from 'mcp-orchestration/memory';
import { describe, expect, it } from 'vitest';
import {
  saveRuntimeCheckpoint,
  saveRuntimeLineage,
} from '../../src/checkpoint/checkpoint-manager.js';
import type { RuntimeCheckpoint } from '../../src/checkpoint/runtime-checkpoint.js';
import type { JsonObject } from '../../src/json.js';

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

const planOf = (n: number): WorkflowStep[] =>
  Array.from({ length: n }, (_, i) => ({
    stepId: `s${i}`,
    name: `Step ${i}`,
    description: '',
    action: 'task',
    stepIndex: i,
    isComplete: false,
    metadata: { kind: 'task', lane: 'main' },
  }));

const snapshot = {
  status: 'active',
  value: { s1: 'commit' },
  historyValue: {},
  context: { lanes: { main: { contextId: 'c1', contextType: 'Item', data: { x: 1 } } } },
  children: {},
  output: undefined,
} as unknown as WorkflowState['snapshot'];

function checkpointOf(overrides: Partial<RuntimeCheckpoint> = {}): RuntimeCheckpoint {
  return {
    taskId: 'task_1',
    plan: deepFreeze(planOf(3)),
    completed: new Set(['s0']),
    status: 'running',
    currentStepIndex: 1,
    metadata: { currentStepId: 's1' },
    machine: { id: 'wf', version: '1' },
    snapshot,
    ...overrides,
  };
}

/** The equivalent state `saveCheckpoint` takes. */
function stateOf(checkpoint: RuntimeCheckpoint): WorkflowState {
  const { completed, plan, ...rest } = checkpoint;
  return {
    ...rest,
    plan: completed ? plan.map((s) => ({ ...s, isComplete: completed.has(s.stepId) })) : [],
  };
}

async function code(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (error) {
    return isOrchestrationError(error) ? error.code : (error as Error).name;
  }
  return undefined;
}

describe('saveRuntimeCheckpoint (the runtime path of saveCheckpoint)', () => {
  it('writes the same envelope and state as saveCheckpoint', async () => {
    for (const completed of [new Set(['s0', 's2']), undefined]) {
      const fast = new CheckpointManager(createMemoryStore());
      const slow = new CheckpointManager(createMemoryStore());
      const checkpoint = checkpointOf({ completed });
      const a = await saveRuntimeCheckpoint(fast, checkpoint, { expectedSeq: 0 });
      const b = await slow.saveCheckpoint(stateOf(checkpoint), { expectedSeq: 0 });
      const bodyA = JSON.parse((await fast.store.load('task_1', a))?.body ?? '');
      const bodyB = JSON.parse((await slow.store.load('task_1', b))?.body ?? '');
      expect({ ...bodyA, checkpointId: 'x', createdAt: 0 }).toEqual({
        ...bodyB,
        checkpointId: 'x',
        createdAt: 0,
      });
      const loaded = await fast.loadCheckpoint('task_1', a);
      expect(loaded?.plan.map((s) => s.isComplete)).toEqual(completed ? [true, false, true] : []);
    }
  });

  it('checks a frozen plan (once) and refuses a bad one with the same typed error', async () => {
    const manager = new CheckpointManager(createMemoryStore());
    const bad = deepFreeze([
      ...planOf(2),
      { stepId: 's0', name: 'again', stepIndex: 2, isComplete: false },
    ]);
    const fast = code(saveRuntimeCheckpoint(manager, checkpointOf({ plan: bad }), {}));
    const slow = code(manager.saveCheckpoint(stateOf(checkpointOf({ plan: bad }))));
    expect(await fast).toBe('CONTEXT_VALIDATION');
    expect(await slow).toBe('CONTEXT_VALIDATION');
    // Still refused the second time: a bad plan is never remembered as checked.
    expect(await code(saveRuntimeCheckpoint(manager, checkpointOf({ plan: bad }), {}))).toBe(
      'CONTEXT_VALIDATION',
    );
    expect(await manager.store.head('task_1')).toBe(0);
  });

  it('checks a plan that is not frozen at every save (it may have changed)', async () => {
    const manager = new CheckpointManager(createMemoryStore());
    const plan = planOf(2);
    await saveRuntimeCheckpoint(manager, checkpointOf({ plan }), {});
    (plan[1] as { metadata: JsonObject }).metadata = { when: new Date() as never };
    expect(await code(saveRuntimeCheckpoint(manager, checkpointOf({ plan }), {}))).toBe(
      'NON_JSON_VALUE',
    );
    expect(await manager.store.head('task_1')).toBe(1);
  });

  it('checks the snapshot, metadata and fields of every save', async () => {
    const manager = new CheckpointManager(createMemoryStore());
    const cases: [Partial<RuntimeCheckpoint>, string][] = [
      [{ metadata: { at: new Date() as never } }, 'NON_JSON_VALUE'],
      [{ metadata: { n: Number.NaN } }, 'NON_JSON_VALUE'],
      [
        {
          snapshot: {
            ...snapshot,
            context: { m: new Map() },
          } as unknown as WorkflowState['snapshot'],
        },
        'NON_JSON_VALUE',
      ],
      [
        { snapshot: { ...snapshot, status: 'nope' } as unknown as WorkflowState['snapshot'] },
        'CONTEXT_VALIDATION',
      ],
      [{ status: 'sleeping' as never }, 'CONTEXT_VALIDATION'],
      [{ currentStepIndex: -1 }, 'CONTEXT_VALIDATION'],
      [{ metadata: [] as never }, 'CONTEXT_VALIDATION'],
      [{ machine: { id: '', version: '1' } }, 'CONTEXT_VALIDATION'],
      [{ machine: { id: 'm', version: '1', extra: 1 } as never }, 'CONTEXT_VALIDATION'],
      [{ taskId: '../x' }, 'INVALID_ID'],
    ];
    for (const [overrides, expected] of cases) {
      expect(await code(saveRuntimeCheckpoint(manager, checkpointOf(overrides), {}))).toBe(
        expected,
      );
    }
    expect(await manager.store.head('task_1')).toBe(0);
  });
});

describe('saveRuntimeLineage (the runtime path of saveLineage)', () => {
  it("appends a genuine ContextFlowManager's transitions below a seq, as saveLineage would", async () => {
    const manager = new CheckpointManager(createMemoryStore());
    // The runtime appends the lineage of checkpoints it saved: only to a task that has one.
    await manager.store.save({ taskId: 'task_1', checkpointId: 'c0', createdAt: 1, body: '{}' });
    const flow = new ContextFlowManager({ workflowId: 'task_1' });
    const a = createContext('Item', { i: 0 });
    const b = createContext('Item', { i: 1 });
    flow.logTransition({ toContext: a, componentName: 'load' });
    flow.logTransition({ toContext: b, componentName: 'step', fromContext: a });
    flow.logTransition({ toContext: a, componentName: 'again', fromContext: b });
    expect(await saveRuntimeLineage(manager, 'task_1', flow, 2)).toBe(2);
    expect(await saveRuntimeLineage(manager, 'task_1', flow, 3)).toBe(1);
    expect(await manager.loadLineage('task_1')).toEqual(flow.getFullTransitionLog());
  });

  it('parses what a subclass hands out, like saveLineage', async () => {
    class Forged extends ContextFlowManager {
      override transitionsSince(): ContextTransition[] {
        return [{ seq: 0, workflowId: 'task_1', metadata: { at: new Date() } } as never];
      }
    }
    const manager = new CheckpointManager(createMemoryStore());
    const forged = new Forged({ workflowId: 'task_1' });
    expect(await code(saveRuntimeLineage(manager, 'task_1', forged, 5))).toBe('CONTEXT_VALIDATION');
    expect(await manager.loadLineage('task_1')).toEqual([]);
  });
});
