import {
  type CheckpointStore,
  type Context,
  createContext,
  defineWorkflow,
  type Runtime,
  type Workflow,
} from 'mcp-orchestration';

/** The group input of {@link heldFanOut}: 24 KB, over the size at which contexts go to the log. */
export const HELD_DOC = 'lorem ipsum '.repeat(2_000);

/** {@link heldFanOut} and the means to let its `hold` step end. */
export interface HeldFanOut {
  readonly workflow: Workflow;
  /** Lets `hold` end (it waits until then, the first time and every time). */
  release(): void;
}

/**
 * plan (a context holding {@link HELD_DOC}) → a group of region a: `a1`, and region b: `hold`
 * (waits for `release()`, then passes its input on as it is), `b2`, `b3`. Every step but `hold`
 * returns a `Finding` with the length of its input's doc (or of its input's type name).
 * `onRun(stepId, context)` sees each step's input first.
 */
export function heldFanOut(onRun: (stepId: string, context: Context) => void): HeldFanOut {
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  const step = (stepId: string) => ({
    stepId,
    run: async (context: Context) => {
      onRun(stepId, context);
      if (stepId === 'hold') {
        await held;
        return context;
      }
      const doc = (context.data as { doc?: string }).doc ?? context.contextType;
      return createContext('Finding', { [stepId]: doc.length });
    },
  });
  const workflow = defineWorkflow({
    id: 'held-fan-out',
    version: '1',
    steps: [
      { stepId: 'plan', run: () => createContext('Doc', { doc: HELD_DOC }) },
      {
        stepId: 'fanout',
        parallel: { a: [step('a1')], b: [step('hold'), step('b2'), step('b3')] },
      },
    ],
  });
  return { workflow, release: () => release() };
}

/**
 * Closes `runtime` (as a crash would) right after the checkpoint holding `hold`'s completion is
 * saved, before `b2`'s; returns a promise of that close.
 */
export function closeAfterHold(runtime: Runtime): Promise<void> {
  return new Promise((resolve, reject) => {
    let holdDone = false;
    let closing: Promise<void> | undefined;
    runtime.subscribe((event) => {
      if (event.type === 'step.completed' && event.stepId === 'hold') holdDone = true;
      if (event.type === 'checkpoint.saved' && holdDone && closing === undefined) {
        closing = runtime.close();
        closing.then(resolve, reject);
      }
    });
  });
}

/** A store whose appends to `contexts` logs are watched: see {@link watchContextAppends}. */
export interface WatchedContextAppends {
  readonly store: CheckpointStore;
  /**
   * Settles once every append to a `contexts` log made so far has settled, and the runtime has
   * taken its result: a checkpoint saved after it names the entries. (A read of the log sees an
   * entry as soon as the store has it, before the runtime knows: under load, a checkpoint saved
   * in between still held the context.)
   */
  landed(): Promise<void>;
}

/**
 * `store` behind a proxy that keeps each `appendLog` and `appendLogAt` (the runtime's, on a store
 * that has it) to a `contexts` log.
 */
export function watchContextAppends(store: CheckpointStore): WatchedContextAppends {
  const appends: Promise<unknown>[] = [];
  const watched = new Proxy(store, {
    get(target, key) {
      const value = Reflect.get(target, key, target) as unknown;
      if (typeof value !== 'function') return value;
      if (key !== 'appendLog' && key !== 'appendLogAt') return value.bind(target);
      return (...args: unknown[]) => {
        const append = Reflect.apply(value, target, args) as Promise<unknown>;
        // Kept before the runtime's own callbacks are added: those run first once it settles.
        if (args[1] === 'contexts') appends.push(append.catch(() => {}));
        return append;
      };
    },
  });
  return {
    store: watched,
    async landed() {
      await Promise.all(appends);
      await new Promise((resolve) => setTimeout(resolve, 0));
    },
  };
}
