import {
  type Context,
  createContext,
  createRuntime,
  defineMachineWorkflow,
  defineWorkflow,
  getCheckpointManager,
} from 'mcp-orchestration';
import { afterEach, describe, expect, it } from 'vitest';
import { makeWaitUseMachine } from './custom-machine.js';
import { newTaskId, STORES, type TestStore } from './helpers.js';

/** What a step saw of its input context. */
interface Seen {
  readonly frozen: boolean;
  readonly dataFrozen: boolean;
  readonly itemsFrozen: boolean;
  /** What pushing onto `data.items` did: `'allowed'`, or the error's name. */
  readonly mutation: string;
}

const DEEP_FROZEN: Seen = {
  frozen: true,
  dataFrozen: true,
  itemsFrozen: true,
  mutation: 'TypeError',
};

/** Records in `seen` whether `context` is deep-frozen and what a mutation of it does. */
function probe(seen: Seen[], context: Context): Context {
  const data = context.data as { items: string[] };
  let mutation = 'allowed';
  try {
    data.items.push('changed');
  } catch (error) {
    mutation = (error as Error).name;
  }
  seen.push({
    frozen: Object.isFrozen(context),
    dataFrozen: Object.isFrozen(context.data),
    itemsFrozen: Object.isFrozen(data.items),
    mutation,
  });
  return context;
}

/** A step that probes its input, and the first time it runs blocks until the run stops. */
function blockingProbe(seen: Seen[], next: (context: Context) => Context) {
  let blocked = false;
  return async (context: Context, _step: unknown, { signal }: { signal: AbortSignal }) => {
    probe(seen, context);
    if (!blocked) {
      blocked = true;
      await new Promise<void>((_, reject) =>
        signal.addEventListener('abort', () => reject(signal.reason)),
      );
    }
    return next(context);
  };
}

/**
 * first → nap (a durable sleep) → second (blocks once) → a group of left (blocks once) and right
 * → third. The contexts carry 600 characters, so the group's checkpoints share its input.
 */
function probeWorkflow(seen: Record<'second' | 'left' | 'right' | 'third', Seen[]>) {
  const pad = 'x'.repeat(600);
  return defineWorkflow({
    id: 'restored-contexts',
    version: '1',
    steps: [
      { stepId: 'first', run: () => createContext('Items', { items: ['a'], pad }) },
      { stepId: 'nap', sleep: { ms: 150 } },
      {
        stepId: 'second',
        run: blockingProbe(seen.second, () => createContext('Items', { items: ['a', 'b'], pad })),
      },
      {
        stepId: 'group',
        parallel: {
          left: [{ stepId: 'left', run: blockingProbe(seen.left, (context) => context) }],
          right: [{ stepId: 'right', run: (context: Context) => probe(seen.right, context) }],
        },
      },
      { stepId: 'third', run: (context) => probe(seen.third, context) },
    ],
  });
}

/**
 * A hand-written machine: `make` builds a context, the machine waits (tagged `suspended`) for
 * `go`, then `use` probes the context `make` built.
 */
function probeMachineWorkflow(seen: Seen[]) {
  const machine = makeWaitUseMachine({
    id: 'restored-machine',
    make: () => createContext('Items', { items: ['a'] }),
    use: (context) => probe(seen, context),
  });
  return defineMachineWorkflow({
    id: 'restored-machine',
    version: '1',
    machine,
    plan: ['making', 'wait1', 'using'].map((stepId, stepIndex) => ({
      stepId,
      name: stepId,
      description: stepId,
      stepIndex,
      isComplete: false,
      metadata: {},
    })),
  });
}

describe.each(['memory', 'file'] as const)('restored contexts on the %s store', (kind) => {
  let store: TestStore | undefined;
  afterEach(async () => {
    await store?.cleanup();
    store = undefined;
  });

  it('are deep-frozen when steps get them, as in a live run', async () => {
    store = await STORES[kind]();
    const seen = { second: [], left: [], right: [], third: [] };
    const workflow = probeWorkflow(seen);
    const taskId = newTaskId('frozen');
    const runtime = async () =>
      createRuntime({ store: await store!.reopen(), workflows: [workflow] });
    // 1. Stopped during the sleep: `first`'s context is read back into the lane.
    const one = createRuntime({ store: store.store, workflows: [workflow] });
    const run = await one.start(workflow, createContext('Items', { items: [] }), { taskId });
    await expect.poll(() => run.status().currentStepId).toBe('nap');
    await one.close();
    // 2. Resumed: `second` gets that lane context; stopped while `second` is in flight.
    const two = await runtime();
    await two.resume(taskId);
    await expect.poll(() => seen.second.length).toBe(1);
    await two.close();
    // 3. Resumed: `second` runs again on its restored input; stopped while `left` is in flight,
    // its input shared by the lanes and the step (format 2).
    const three = await runtime();
    await three.resume(taskId);
    await expect.poll(() => seen.left.length + seen.right.length).toBe(2);
    await three.close();
    const latest = await (await getCheckpointManager(store.store)).loadLatestCheckpoint(taskId);
    expect(latest?.checkpoint?.v).toBe(2);
    // 4. Resumed: `left` runs again on its restored input, then `third`.
    const four = await runtime();
    const output = await (await four.resume(taskId)).result;
    await four.close();

    expect(seen).toEqual({
      second: [DEEP_FROZEN, DEEP_FROZEN],
      left: [DEEP_FROZEN, DEEP_FROZEN],
      right: [DEEP_FROZEN],
      third: [DEEP_FROZEN],
    });
    expect(output.data).toMatchObject({ items: ['a', 'b'] });
  });

  it('are deep-frozen in a hand-written machine resumed by a new runtime', async () => {
    store = await STORES[kind]();
    const seen: Seen[] = [];
    const workflow = probeMachineWorkflow(seen);
    const taskId = newTaskId('frozen-machine');
    const one = createRuntime({ store: store.store, workflows: [workflow] });
    const run = await one.start(workflow, createContext('Items', { items: [] }), { taskId });
    await expect.poll(() => run.status().status).toBe('suspended');
    await one.close();
    const two = createRuntime({ store: await store.reopen(), workflows: [workflow] });
    const resumed = await two.resume(taskId);
    await two.send(taskId, { type: 'go' });
    const output = await resumed.result;
    await two.close();
    expect(seen).toEqual([DEEP_FROZEN]);
    expect(output.data).toEqual({ items: ['a'] });
  });
});
