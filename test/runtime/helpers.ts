import {
  type CheckpointStore,
  type Context,
  ContextMergeStrategy,
  createContext,
  defineWorkflow,
  getCheckpointManager,
  type JsonValue,
  type RuntimeEvent,
  type WorkflowState,
} from 'mcp-orchestration';
import { createFileStore } from 'mcp-orchestration/file';
import { createMemoryStore } from 'mcp-orchestration/memory';
import { expect } from 'vitest';
import { z } from 'zod';
import { makeTempDir } from '../support/file-temp-dir.js';

let counter = 0;

/** A fresh task id per test. */
export function newTaskId(prefix = 'task'): string {
  counter += 1;
  return `${prefix}-${process.pid}-${counter}`;
}

/** Invocations per step id. */
export type Calls = Record<string, number>;

function count(calls: Calls, stepId: string): void {
  calls[stepId] = (calls[stepId] ?? 0) + 1;
}

/**
 * A step that counts its calls in `calls[name]` and returns a `Trail` context: the previous
 * context's `trail` with `name` added.
 */
export function trailStep(calls: Calls, name: string): (context: Context) => Context {
  return (context) => {
    count(calls, name);
    const trail = (context.data as { trail?: string[] }).trail ?? [];
    return createContext('Trail', { trail: [...trail, name] });
  };
}

/**
 * Three steps; the second, the first time it runs, blocks (a step in flight) until `release()`
 * or until its signal aborts (the run stopped), and runs at once after that. Counts completed
 * calls.
 */
export function blockingWorkflow(calls: Calls, id = 'blocking') {
  let blocked = false;
  let unblock: () => void = () => {};
  const step = (name: string) => trailStep(calls, name);
  const workflow = defineWorkflow({
    id,
    version: '1',
    steps: [
      { stepId: 'first', run: step('first') },
      {
        stepId: 'second',
        run: async (context: Context, _step, { signal }) => {
          if (!blocked) {
            blocked = true;
            await new Promise<void>((resolve, reject) => {
              unblock = resolve;
              signal.addEventListener('abort', () => reject(signal.reason));
            });
          }
          return step('second')(context);
        },
      },
      { stepId: 'third', run: step('third') },
    ],
  });
  return { workflow, release: () => unblock() };
}

/** Resolves after `ms`. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * The seed's "Basic Workflow Management": parse → process → generate, each step a tool with an
 * action. Context ids are derived from the task so reruns give the same contexts.
 */
export function basicWorkflow(calls: Calls = {}, options: { version?: string; ms?: number } = {}) {
  const ms = options.ms ?? 1;
  return defineWorkflow({
    id: 'basic-workflow',
    version: options.version ?? '1.0.0',
    steps: [
      {
        stepId: 'parse',
        name: 'Parse Input',
        description: 'Parse and validate input data',
        toolName: 'input_parser',
        action: 'parse',
        run: async (context, step, { taskId }) => {
          count(calls, step.stepId);
          await delay(ms);
          const text = String((context.data as { text?: unknown }).text ?? '');
          return createContext(
            'ParsedContext',
            { words: text.split(' ') },
            {
              contextId: `${taskId}_step_0`,
            },
          );
        },
      },
      {
        stepId: 'process',
        name: 'Process Data',
        description: 'Process the validated data',
        toolName: 'data_processor',
        action: 'process',
        run: async (context, step, { taskId }) => {
          count(calls, step.stepId);
          await delay(ms);
          const { words } = context.data as { words: string[] };
          return createContext(
            'ProcessedContext',
            { upper: words.map((word) => word.toUpperCase()) },
            { contextId: `${taskId}_step_1` },
          );
        },
      },
      {
        stepId: 'generate',
        name: 'Generate Result',
        description: 'Generate the final result',
        toolName: 'result_generator',
        action: 'generate',
        run: async (context, step, { taskId }) => {
          count(calls, step.stepId);
          await delay(ms);
          const { upper } = context.data as { upper: string[] };
          return createContext(
            'ResultContext',
            { summary: `${upper.length} words: ${upper.join(' ')}` },
            { contextId: `${taskId}_step_2` },
          );
        },
      },
    ],
  });
}

/**
 * The seed's "Parallel Processing with Context Merging": split the input into chunks, process
 * each chunk in its own region, merge the results with `AppendList`, then summarize.
 */
export function parallelWorkflow(calls: Calls = {}, chunks = 3) {
  const regions: Record<string, Parameters<typeof defineWorkflow>[0]['steps']> = {};
  for (let i = 0; i < chunks; i++) {
    regions[`chunk${i}`] = [
      {
        stepId: `split${i}`,
        name: `Split chunk ${i}`,
        toolName: 'DataSplitter',
        action: 'split',
        run: async (context, step, { taskId }) => {
          count(calls, step.stepId);
          const items = (context.data as { items: number[] }).items;
          const chunk = items.filter((_, index) => index % chunks === i);
          return createContext('InputContext', { chunk }, { contextId: `${taskId}_chunk_${i}` });
        },
      },
      {
        stepId: `process${i}`,
        name: `Process chunk ${i}`,
        toolName: 'ChunkProcessor',
        action: 'process',
        run: async (context, step, { taskId }) => {
          count(calls, step.stepId);
          await delay(2 + i * 3);
          const chunk = (context.data as { chunk: number[] }).chunk;
          return createContext(
            'ChunkResult',
            { results: chunk.map((n) => n * n) },
            { contextId: `${taskId}_result_${i}` },
          );
        },
      },
    ];
  }
  return defineWorkflow({
    id: 'parallel-processing',
    version: '1',
    steps: [
      {
        stepId: 'fanout',
        name: 'Process chunks in parallel',
        toolName: 'ResultMerger',
        merge: { strategy: ContextMergeStrategy.AppendList, contextType: 'ResultContext' },
        parallel: regions,
      },
      {
        stepId: 'total',
        name: 'Total',
        run: (context, step, { taskId }) => {
          count(calls, step.stepId);
          const results = (context.data as { results: number[] }).results;
          return createContext(
            'TotalContext',
            { sorted: [...results].sort((a, b) => a - b), sum: results.reduce((a, b) => a + b, 0) },
            { contextId: `${taskId}_total` },
          );
        },
      },
    ],
  });
}

/**
 * Runs `count` crash trials, each stopping a run after a checkpoint drawn at random from 1 to one
 * less than `checkpoints` (a reference run's count). How many checkpoints a run writes varies:
 * lanes that reach their gates while a save is in flight are committed by one save, as often as
 * the store's latency makes them meet. So a trial whose run ended without being stopped returns
 * how many checkpoints it wrote, and is made again with a draw below that; a trial that stopped
 * its run returns `undefined`.
 */
export async function crashTrials(
  checkpoints: number,
  count: number,
  trial: (crashAt: number, index: number) => Promise<number | undefined>,
): Promise<void> {
  let most = checkpoints;
  for (let done = 0; done < count; ) {
    const crashAt = 1 + Math.floor(Math.random() * (most - 1));
    const wrote = await trial(crashAt, done);
    if (wrote === undefined) {
      done += 1;
    } else {
      expect(wrote).toBeLessThan(most); // the next draw is lower: the trials end
      most = wrote;
    }
  }
}

/** A store for a test, and its cleanup. */
export interface TestStore {
  readonly store: CheckpointStore;
  /** A second store over the same data (another "process"); the file store's own instance. */
  reopen(): Promise<CheckpointStore>;
  cleanup(): Promise<void>;
}

/** The two stores the runtime tests run against. */
export const STORES: Record<'memory' | 'file', () => Promise<TestStore>> = {
  memory: async () => {
    const store = createMemoryStore();
    return { store, reopen: async () => store, cleanup: () => store.close() };
  },
  file: async () => {
    const temp = await makeTempDir('runtime');
    const opened: CheckpointStore[] = [];
    const open = async () => {
      const store = await createFileStore({ directory: temp.dir });
      opened.push(store);
      return store;
    };
    const store = await open();
    return {
      store,
      reopen: open,
      cleanup: async () => {
        for (const each of opened) await each.close();
        await temp.remove();
      },
    };
  },
};

/** Every checkpoint of a task, oldest first. */
export async function checkpointsOf(
  store: CheckpointStore,
  taskId: string,
): Promise<WorkflowState[]> {
  const manager = await getCheckpointManager(store);
  const ids = await manager.listCheckpoints(taskId);
  const states: WorkflowState[] = [];
  for (const id of ids.reverse()) {
    const state = await manager.loadCheckpoint(taskId, id);
    if (state !== undefined) states.push(state);
  }
  return states;
}

/** Collects a runtime's events. */
export function recorder(): { events: RuntimeEvent[]; listener: (event: RuntimeEvent) => void } {
  const events: RuntimeEvent[] = [];
  return { events, listener: (event) => events.push(event) };
}

/** The data of a context. */
export function dataOf(context: Context): JsonValue {
  return context.data;
}

/** Draft → wait for an `approval` event (zod schema) → publish. */
export function reviewWorkflow(calls: Calls = {}, version = '1') {
  const count = (stepId: string) => {
    calls[stepId] = (calls[stepId] ?? 0) + 1;
  };
  return defineWorkflow({
    id: 'review',
    version,
    steps: [
      {
        stepId: 'draft',
        run: (context, _s, { taskId }) => {
          count('draft');
          return createContext(
            'Draft',
            { text: `Draft of ${String(context.data)}` },
            {
              contextId: `${taskId}_draft`,
            },
          );
        },
      },
      {
        stepId: 'approve',
        waitFor: {
          event: 'approval',
          schema: z.object({ ok: z.boolean(), reviewer: z.string() }),
        },
      },
      {
        stepId: 'publish',
        run: (context, _s, { taskId }) => {
          count('publish');
          const { ok, reviewer } = context.data as { ok: boolean; reviewer: string };
          return createContext(
            'Published',
            { published: ok, reviewer },
            {
              contextId: `${taskId}_published`,
            },
          );
        },
      },
    ],
  });
}
