import { type Context, createContext, defineMachineWorkflow } from 'mcp-orchestration';
import { type AnyStateMachine, assign, fromPromise, setup } from 'xstate';
import { type Calls, delay } from './helpers.js';

/** The context of the hand-written test machine: contexts by key, and the task id. */
interface ReviewContext {
  readonly taskId: string;
  readonly current: Context;
  readonly left?: Context;
  readonly right?: Context;
  readonly approval?: Context;
}

function textOf(context: Context | undefined): string {
  return String((context?.data as { text?: unknown } | undefined)?.text);
}

function count(calls: Calls, name: string): void {
  calls[name] = (calls[name] ?? 0) + 1;
}

/**
 * A hand-written XState machine (not `defineWorkflow`): an invoked registered `fromPromise`
 * (`fetch`), a parallel state whose regions each invoke one, a state tagged `suspended` that
 * waits for an `approve` event, and a final `summarize` step; output: the summary context.
 */
export function reviewMachine(calls: Calls = {}, ms = 3) {
  const work = (name: string) =>
    fromPromise<Context, { taskId: string; from: Context }>(async ({ input }) => {
      count(calls, name);
      await delay(ms);
      const data = input.from.data as { text: string };
      return createContext(
        `${name}Result`,
        { text: `${name}(${data.text})` },
        { contextId: `${input.taskId}_${name}` },
      );
    });
  return setup({
    types: {
      context: {} as ReviewContext,
      input: {} as { taskId: string; input: Context },
      events: {} as { type: 'approve'; data?: unknown },
      output: {} as Context,
    },
    actors: {
      fetch: work('fetch'),
      left: work('left'),
      right: work('right'),
      summarize: work('summarize'),
    },
  }).createMachine({
    id: 'review-machine',
    context: ({ input }) => ({ taskId: input.taskId, current: input.input }),
    initial: 'fetching',
    states: {
      fetching: {
        invoke: {
          src: 'fetch',
          input: ({ context }) => ({ taskId: context.taskId, from: context.current }),
          onDone: {
            target: 'analyzing',
            actions: assign({ current: ({ event }) => event.output }),
          },
        },
      },
      analyzing: {
        type: 'parallel',
        states: {
          l: {
            initial: 'run',
            states: {
              run: {
                invoke: {
                  src: 'left',
                  input: ({ context }) => ({ taskId: context.taskId, from: context.current }),
                  onDone: { target: 'ok', actions: assign({ left: ({ event }) => event.output }) },
                },
              },
              ok: { type: 'final' },
            },
          },
          r: {
            initial: 'run',
            states: {
              run: {
                invoke: {
                  src: 'right',
                  input: ({ context }) => ({ taskId: context.taskId, from: context.current }),
                  onDone: { target: 'ok', actions: assign({ right: ({ event }) => event.output }) },
                },
              },
              ok: { type: 'final' },
            },
          },
        },
        onDone: 'review',
      },
      review: {
        tags: ['suspended'],
        on: {
          approve: {
            target: 'summarizing',
            actions: assign({
              approval: ({ context, event }) =>
                createContext(
                  'Approval',
                  { ok: (event.data as { ok?: boolean } | undefined)?.ok === true },
                  { contextId: `${context.taskId}_approval` },
                ),
            }),
          },
        },
      },
      summarizing: {
        invoke: {
          src: 'summarize',
          input: ({ context }) => ({
            taskId: context.taskId,
            from: createContext('Joined', {
              text: `${textOf(context.left)}+${textOf(context.right)}`,
            }),
          }),
          onDone: { target: 'done', actions: assign({ current: ({ event }) => event.output }) },
        },
      },
      done: { type: 'final' },
    },
    output: ({ context }) => context.current,
  });
}

/** The test machine as a runtime workflow. */
export function reviewMachineWorkflow(calls: Calls = {}, ms = 3) {
  return defineMachineWorkflow({
    id: 'review-machine',
    version: '1',
    machine: reviewMachine(calls, ms),
    plan: [
      { stepId: 'fetching', name: 'Fetch', stepIndex: 0 },
      { stepId: 'analyzing', name: 'Analyze', stepIndex: 1 },
      { stepId: 'review', name: 'Review', stepIndex: 2 },
      { stepId: 'summarizing', name: 'Summarize', stepIndex: 3 },
    ].map((step) => ({ ...step, description: step.name, isComplete: false, metadata: {} })),
  });
}

/** Options of {@link makeWaitUseMachine}. */
export interface MakeWaitUseOptions {
  readonly id: string;
  /** Builds the context the machine then holds. */
  readonly make: () => Context | Promise<Context>;
  /** How many `go` events it waits for (each wait tagged `suspended`). Default: 1. */
  readonly waits?: number;
  /** Takes the context after the waits; its result is the output. Default: none (the context). */
  readonly use?: (context: Context) => Context | Promise<Context>;
}

/**
 * A small hand-written machine: `make` builds a context, the machine waits for `go` (tagged
 * `suspended`) `waits` times, then `use` takes the context; output: the last context.
 */
export function makeWaitUseMachine(options: MakeWaitUseOptions): AnyStateMachine {
  const waits = options.waits ?? 1;
  const use = options.use;
  const states: Record<string, object> = {
    making: {
      invoke: {
        src: 'make',
        onDone: { target: 'wait1', actions: assign({ current: ({ event }) => event.output }) },
      },
    },
    done: { type: 'final' },
  };
  for (let i = 1; i <= waits; i++) {
    const next = i < waits ? `wait${i + 1}` : use === undefined ? 'done' : 'using';
    states[`wait${i}`] = { tags: ['suspended'], on: { go: next } };
  }
  if (use !== undefined) {
    states.using = {
      invoke: {
        src: 'use',
        input: ({ context }: { context: { current: Context } }) => context.current,
        onDone: { target: 'done', actions: assign({ current: ({ event }) => event.output }) },
      },
    };
  }
  return setup({
    types: {
      context: {} as { current: Context },
      input: {} as { taskId: string; input: Context },
      events: {} as { type: 'go' },
      output: {} as Context,
    },
    actors: {
      make: fromPromise<Context>(async () => options.make()),
      use: fromPromise<Context, Context>(async ({ input }) => (use ? use(input) : input)),
    },
  }).createMachine({
    id: options.id,
    context: ({ input }) => ({ current: input.input }),
    initial: 'making',
    states: states as never,
    output: ({ context }) => context.current,
  }) as unknown as AnyStateMachine;
}
