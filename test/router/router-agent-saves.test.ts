import {
  type CheckpointStore,
  ContextRouter,
  createContext,
  createRuntime,
  defineAgent,
  defineTool,
  defineWorkflow,
  getCheckpointManager,
  isOrchestrationError,
  startPersistedRouter,
} from 'mcp-orchestration';
import { createMemoryStore } from 'mcp-orchestration/memory';
import { describe, expect, it } from 'vitest';
import { gate } from '../support/gate.js';

let counter = 0;
const newTaskId = (prefix: string) => `${prefix}-${++counter}`;

/** `store`, with each save of a router record first waiting for `before()`. */
function holdingRouterSaves(store: CheckpointStore, before: () => Promise<void>): CheckpointStore {
  return new Proxy(store, {
    get(target, key) {
      const value = Reflect.get(target, key, target);
      if (key !== 'save') return typeof value === 'function' ? value.bind(target) : value;
      const save: CheckpointStore['save'] = async (record, options) => {
        if (record.taskId.startsWith('router.')) await before();
        return target.save(record, options);
      };
      return save;
    },
  });
}

/** An agent that remembers every text it was given (`big` adds a long one). */
const notes = defineAgent({
  id: 'notes',
  initialState: { heard: [] as string[] },
  process: (context, state) => {
    const text = String((context.data as { text: string }).text);
    const heard = [...state.heard, text === 'big' ? 'x'.repeat(10_000) : text];
    return { result: createContext('Heard', { count: heard.length }), state: { heard } };
  },
});
const echo = defineTool({ id: 'echo', call: (context) => context });

const say = (text: string) => createContext('Say', { text });

/** The agent state in the latest router record of `store`. */
async function savedHeard(store: CheckpointStore): Promise<string[] | undefined> {
  const manager = await getCheckpointManager(store);
  const saved = await manager.loadLatestCheckpoint('router.router');
  const child = (
    saved?.snapshot as
      | { children?: Record<string, { snapshot: { context: { state: { heard: string[] } } } }> }
      | undefined
  )?.children?.['target:agent_type:notes'];
  return child?.snapshot.context.state.heard.map((text) => (text.length > 100 ? 'big' : text));
}

describe('agent calls on a persisted router', () => {
  it('resolve only once the state they made is saved; tool calls do not wait', async () => {
    const held = gate();
    const store = createMemoryStore();
    const manager = await getCheckpointManager(holdingRouterSaves(store, () => held.opened));
    const router = await startPersistedRouter({ manager, targets: [notes, echo] });
    let answered = false;
    const call = router
      .getAgent('notes')
      .process(say('one'))
      .then((result) => {
        answered = true;
        return result;
      });
    await expect(router.getTool('echo').run(say('tool'))).resolves.toMatchObject({
      data: { text: 'tool' },
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(answered).toBe(false); // the agent answered; its state is not in the store yet
    expect(await savedHeard(store)).toBeUndefined();
    held.open();
    await expect(call).resolves.toMatchObject({ data: { count: 1 } });
    expect(await savedHeard(store)).toEqual(['one']);
    await router.close();
  });

  it('reject when the save of the state they made fails; the agent goes back to the saved state and later calls go on', async () => {
    const store = createMemoryStore({ maxRecordBytes: 4000 });
    const manager = await getCheckpointManager(store);
    const router = await startPersistedRouter({ manager, targets: [notes] });
    const agent = router.getAgent('notes');
    await expect(agent.process(say('one'))).resolves.toMatchObject({ data: { count: 1 } });
    const refused = await agent.process(say('big')).catch((error: unknown) => error);
    expect(isOrchestrationError(refused, 'RECORD_TOO_LARGE')).toBe(true);
    // Not poisoned: the next call runs from the saved state (without `big`) and is saved.
    await expect(agent.process(say('two'))).resolves.toMatchObject({ data: { count: 2 } });
    await router.flush();
    expect(await savedHeard(store)).toEqual(['one', 'two']);
    await router.close();
  });

  it('run a call again from the saved state when the save of the state it started from fails', async () => {
    const store = createMemoryStore({ maxRecordBytes: 4000 });
    const manager = await getCheckpointManager(store);
    const seen: { text: string; heard: number; aborted: boolean }[] = [];
    const slow = defineAgent({
      id: 'notes',
      initialState: { heard: [] as string[] },
      process: async (context, state, { signal }) => {
        const text = String((context.data as { text: string }).text);
        const entry = { text, heard: state.heard.length, aborted: false };
        seen.push(entry);
        // The first run of `two` starts from `big`'s state and waits for the save's outcome.
        if (text === 'two' && seen.length === 2) {
          await new Promise((resolve) => signal.addEventListener('abort', resolve));
          entry.aborted = true;
        }
        const heard = [...state.heard, text === 'big' ? 'x'.repeat(10_000) : text];
        return { result: createContext('Heard', { count: heard.length }), state: { heard } };
      },
    });
    const router = await startPersistedRouter({ manager, targets: [slow] });
    const agent = router.getAgent('notes');
    const big = agent.process(say('big')).catch((error: unknown) => error);
    const two = agent.process(say('two'));
    expect(isOrchestrationError(await big, 'RECORD_TOO_LARGE')).toBe(true);
    await expect(two).resolves.toMatchObject({ data: { count: 1 } });
    expect(seen).toEqual([
      { text: 'big', heard: 0, aborted: false },
      { text: 'two', heard: 1, aborted: true }, // dropped: it started from the unsaved state
      { text: 'two', heard: 0, aborted: false },
    ]);
    expect(await savedHeard(store)).toEqual(['two']);
    await router.close();
  });
});

describe('routed agent steps on a runtime', () => {
  const ask = defineWorkflow({ id: 'ask', version: '1', steps: [{ stepId: 'ask', route: true }] });
  const rules = () =>
    new ContextRouter({ fallback: { targetType: 'agent_type', targetId: 'notes', priority: 0 } });

  it('fail at the step that made an agent state the store cannot hold; the next task goes on', async () => {
    const store = createMemoryStore({ maxRecordBytes: 4000 });
    const runtime = createRuntime({ store, router: rules(), targets: [notes] });
    const run = async (text: string) =>
      (await runtime.start(ask, { text }, { taskId: newTaskId('ask') })).result.then(
        (result) => result.data,
        (error: unknown) => error,
      );
    expect(await run('one')).toEqual({ count: 1 });
    const failed = await run('big');
    expect(isOrchestrationError(failed, 'WORKFLOW_FAILED') && failed.failure).toMatchObject({
      stepId: 'ask',
      code: 'RECORD_TOO_LARGE',
    });
    expect(await run('two')).toEqual({ count: 2 });
    await runtime.close();

    // A new runtime on the store continues the memory the store holds.
    const again = createRuntime({ store, router: rules(), targets: [notes] });
    const next = await again.start(ask, { text: 'three' }, { taskId: newTaskId('ask') });
    expect((await next.result).data).toEqual({ count: 3 });
    expect(await savedHeard(store)).toEqual(['one', 'two', 'three']);
    await again.close();
  });

  it('complete a routed agent step only once the agent state is saved', async () => {
    const held = gate();
    const store = createMemoryStore();
    const runtime = createRuntime({
      store: holdingRouterSaves(store, () => held.opened),
      router: rules(),
      targets: [notes],
    });
    const taskId = newTaskId('ask');
    const run = await runtime.start(ask, { text: 'one' }, { taskId });
    await new Promise((resolve) => setTimeout(resolve, 30));
    const manager = await getCheckpointManager(store);
    const latest = await manager.loadLatestCheckpoint(taskId);
    expect(latest?.plan.find((step) => step.stepId === 'ask')?.isComplete).toBe(false);
    held.open();
    expect((await run.result).data).toEqual({ count: 1 });
    expect(await savedHeard(store)).toEqual(['one']);
    await runtime.close();
  });
});
