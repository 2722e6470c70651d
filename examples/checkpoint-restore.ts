/** The README's example: checkpoint a running XState actor, then restore it and carry on. */
import { createWorkflowState, getCheckpointManager } from 'mcp-orchestration';
import { createMemoryStore } from 'mcp-orchestration/memory';
import { assign, createActor, setup } from 'xstate';

const review = setup({}).createMachine({
  id: 'review',
  initial: 'drafting',
  context: { edits: 0 },
  states: {
    drafting: {
      on: {
        edit: { actions: assign({ edits: ({ context }) => context.edits + 1 }) },
        submit: 'reviewing',
      },
    },
    reviewing: { on: { approve: 'published' } },
    published: { type: 'final' },
  },
});

const manager = await getCheckpointManager(createMemoryStore()); // or the file/redis/indexeddb store
const actor = createActor(review).start();
actor.send({ type: 'edit' });
actor.send({ type: 'submit' });
const snapshot = actor.getPersistedSnapshot();
await manager.saveCheckpoint(createWorkflowState({ taskId: 'doc_1', status: 'running', snapshot }));
actor.stop(); // the process may die here

const saved = await manager.loadLatestCheckpoint('doc_1');
const restored = createActor(review, { snapshot: saved?.snapshot }).start();
restored.send({ type: 'approve' });
console.log(restored.getSnapshot().value, restored.getSnapshot().context); // published { edits: 1 }
