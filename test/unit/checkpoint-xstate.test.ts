import {
  CheckpointManager,
  createWorkflowState,
  isOrchestrationError,
  type WorkflowState,
} from 'mcp-orchestration';
import { createMemoryStore } from 'mcp-orchestration/memory';
import { describe, expect, it } from 'vitest';
import { type AnyActorRef, assign, createActor, sendTo, setup } from 'xstate';

/** A child that counts INC events up to its `target`, then finishes with its count and label. */
const counter = setup({
  types: {} as {
    context: { count: number; target: number; label: string };
    input: { target: number; label: string };
    events: { type: 'INC' };
    output: { count: number; label: string };
  },
}).createMachine({
  id: 'counter',
  context: ({ input }) => ({ count: 0, target: input.target, label: input.label }),
  initial: 'counting',
  states: {
    counting: {
      on: { INC: { actions: assign({ count: ({ context }) => context.count + 1 }) } },
      always: { guard: ({ context }) => context.count >= context.target, target: 'finished' },
    },
    finished: { type: 'final' },
  },
  output: ({ context }) => ({ count: context.count, label: context.label }),
});

interface WorkflowContext {
  notes: string[];
  regionA?: string;
  regionB?: { count: number; label: string };
  merged?: string;
}

/**
 * A workflow with a parallel state: region `a` steps through two states on A_NEXT; region `b`
 * invokes the `counter` child (registered by name, never inline) and forwards B_INC to it. When
 * both regions are done, `onDone` merges their results.
 */
const workflow = setup({
  types: {} as {
    context: WorkflowContext;
    events: { type: 'A_NEXT' } | { type: 'B_INC' };
    output: { merged: string; notes: string[] };
  },
  actors: { counter },
}).createMachine({
  id: 'parallel-workflow',
  version: '1.0.0',
  context: { notes: [] },
  initial: 'work',
  states: {
    work: {
      type: 'parallel',
      states: {
        a: {
          initial: 'a1',
          states: {
            a1: {
              on: {
                A_NEXT: {
                  target: 'a2',
                  actions: assign({ notes: ({ context }) => [...context.notes, 'a1→a2'] }),
                },
              },
            },
            a2: {
              on: {
                A_NEXT: {
                  target: 'aDone',
                  actions: assign({
                    regionA: 'a finished',
                    notes: ({ context }) => [...context.notes, 'a2→done'],
                  }),
                },
              },
            },
            aDone: { type: 'final' },
          },
        },
        b: {
          initial: 'running',
          states: {
            running: {
              invoke: {
                id: 'worker',
                src: 'counter',
                input: { target: 3, label: 'region b' },
                onDone: {
                  target: 'bDone',
                  actions: assign({ regionB: ({ event }) => event.output }),
                },
              },
              on: {
                B_INC: {
                  actions: [
                    sendTo('worker', { type: 'INC' }),
                    assign({ notes: ({ context }) => [...context.notes, 'b inc'] }),
                  ],
                },
              },
            },
            bDone: { type: 'final' },
          },
        },
      },
      onDone: {
        target: 'complete',
        actions: assign({
          merged: ({ context }) =>
            `${context.regionA} + ${context.regionB?.label}:${context.regionB?.count}`,
        }),
      },
    },
    complete: { type: 'final' },
  },
  output: ({ context }) => ({ merged: context.merged ?? '', notes: context.notes }),
});

const beforeCheckpoint = ['A_NEXT', 'A_NEXT', 'B_INC'] as const;
const afterCheckpoint = ['B_INC', 'B_INC'] as const;

function workerOf(actor: { getSnapshot(): { children: Record<string, AnyActorRef | undefined> } }) {
  return actor.getSnapshot().children.worker;
}

describe('checkpointing a real XState workflow', () => {
  it('restores a parallel state mid-way with its invoked child, and finishes like an uninterrupted run', async () => {
    // The uninterrupted run.
    const reference = createActor(workflow).start();
    for (const type of [...beforeCheckpoint, ...afterCheckpoint]) reference.send({ type });
    expect(reference.getSnapshot().status).toBe('done');

    // The interrupted run: region a finished, region b mid-way (its child counted 1 of 3).
    const first = createActor(workflow).start();
    for (const type of beforeCheckpoint) first.send({ type });
    expect(first.getSnapshot().value).toEqual({ work: { a: 'aDone', b: 'running' } });
    expect(workerOf(first)?.getSnapshot().context.count).toBe(1);

    const manager = new CheckpointManager(createMemoryStore());
    const state: WorkflowState = createWorkflowState({
      taskId: 'xstate-task',
      status: 'running',
      machine: { id: workflow.id, version: workflow.version },
      snapshot: first.getPersistedSnapshot(),
    });
    const checkpointId = await manager.saveCheckpoint(state);
    first.stop(); // the process "dies"

    const loaded = await manager.loadCheckpoint('xstate-task', checkpointId);
    expect(loaded?.machine).toEqual({ id: 'parallel-workflow', version: '1.0.0' });
    expect(loaded?.checkpoint).toMatchObject({ checkpointId, seq: 1, v: 1 });
    expect(loaded?.snapshot).toBeDefined();

    const restored = createActor(workflow, { snapshot: loaded?.snapshot }).start();
    expect(restored.getSnapshot().value).toEqual({ work: { a: 'aDone', b: 'running' } });
    expect(restored.getSnapshot().context.notes).toEqual(['a1→a2', 'a2→done', 'b inc']);
    expect(workerOf(restored)?.getSnapshot().context).toEqual({
      count: 1,
      target: 3,
      label: 'region b',
    });

    for (const type of afterCheckpoint) restored.send({ type });
    expect(restored.getSnapshot().status).toBe('done');
    expect(restored.getSnapshot().output).toEqual(reference.getSnapshot().output);
    expect(restored.getSnapshot().context).toEqual(reference.getSnapshot().context);
    expect(restored.getSnapshot().output).toEqual({
      merged: 'a finished + region b:3',
      notes: ['a1→a2', 'a2→done', 'b inc', 'b inc', 'b inc'],
    });
  });

  it('checkpoints a finished workflow and reads its output back', async () => {
    const actor = createActor(workflow).start();
    for (const type of [...beforeCheckpoint, ...afterCheckpoint]) actor.send({ type });
    const manager = new CheckpointManager(createMemoryStore());
    await manager.saveCheckpoint(
      createWorkflowState({
        taskId: 'done-task',
        status: 'completed',
        machine: { id: workflow.id },
        snapshot: actor.getPersistedSnapshot(),
      }),
    );
    const latest = await manager.loadLatestCheckpoint('done-task');
    const restored = createActor(workflow, { snapshot: latest?.snapshot }).start();
    expect(restored.getSnapshot().status).toBe('done');
    expect(restored.getSnapshot().output).toEqual(actor.getSnapshot().output);
  });

  it('refuses a snapshot whose context is not JSON, before writing anything', async () => {
    const store = createMemoryStore();
    const manager = new CheckpointManager(store);
    const actor = createActor(workflow).start();
    const snapshot = actor.getPersistedSnapshot() as unknown as {
      context: Record<string, unknown>;
    };
    snapshot.context.startedAt = new Date(0);
    const state = createWorkflowState({
      taskId: 'bad-snapshot',
      snapshot: snapshot as unknown as WorkflowState['snapshot'],
    });
    let error: unknown;
    try {
      await manager.saveCheckpoint(state);
    } catch (caught) {
      error = caught;
    }
    expect(isOrchestrationError(error, 'NON_JSON_VALUE')).toBe(true);
    expect((error as { path: string }).path).toBe('$.snapshot.context.startedAt');
    expect(await store.head('bad-snapshot')).toBe(0);
    expect(await manager.listCheckpoints('bad-snapshot')).toEqual([]);
  });
});
