import { enqueueActions, fromCallback, setup } from 'xstate';
import type { Context } from '../../src/context/context.js';
import { parseContext } from '../../src/context/parse-context.js';
import { PoolSaturatedError } from '../../src/errors.js';
import { assertValidId } from '../../src/ids.js';
import type { TargetCallHelpers } from '../../src/router/routing-target.js';
import { assertRetryPolicy, backoffDelay, type RetryPolicy } from '../backoff.js';
import {
  type CallMeta,
  callHelpers,
  type TargetChildEvent,
  type TargetChildInput,
} from './router-protocol.js';
import type { WorkerPoolTarget } from './target-types.js';

/** What {@link defineWorkerPool} takes. */
export interface WorkerPoolDefinition {
  /** The pool's id: a valid id, unique among pools. */
  readonly id: string;
  /** Human description. Default: none. */
  readonly description?: string;
  /** Number of worker actors, i.e. contexts handled at once; an integer ≥ 1. */
  readonly size: number;
  /** Handles one context; may be async. Must return a context with JSON data. */
  readonly handler: (context: Context, helpers: TargetCallHelpers) => Context | Promise<Context>;
  /**
   * Contexts that may wait for a worker; one more is refused with `PoolSaturatedError`.
   * Default: `1000`.
   */
  readonly queueLimit?: number;
  /** How a job whose handler threw is retried, on the same worker. Default: one attempt. */
  readonly retry?: RetryPolicy;
}

/**
 * Defines a worker pool target: `size` worker actors behind a FIFO queue. Back-pressure is a
 * refusal, not a wait: when `queueLimit` contexts already wait, a new one fails at once with
 * `PoolSaturatedError` and nothing runs (an actor cannot block its sender; the caller decides,
 * e.g. a routed step retries per its own `retry`). A handler that throws (a crashed job) fails
 * only that job: it is retried per `retry` on the same worker after the backoff delay, and the
 * other workers carry on.
 *
 * @example
 * ```ts
 * const chunks = defineWorkerPool({
 *   id: 'chunk_workers',
 *   size: 4,
 *   retry: { attempts: 3, backoff: { initialMs: 50, maxMs: 1000 } },
 *   handler: (context) => createContext('ChunkResult', { length: String(context.data).length }),
 * });
 * ```
 */
export function defineWorkerPool(definition: WorkerPoolDefinition): WorkerPoolTarget {
  assertValidId('worker pool id', definition?.id);
  const { id, size, handler } = definition;
  const queueLimit = definition.queueLimit ?? 1000;
  if (!(Number.isSafeInteger(size) && size >= 1)) {
    throw new TypeError(`Worker pool ${id}: size must be an integer ≥ 1, got ${size}`);
  }
  if (!(Number.isSafeInteger(queueLimit) && queueLimit >= 0)) {
    throw new TypeError(`Worker pool ${id}: queueLimit must be an integer ≥ 0`);
  }
  if (typeof handler !== 'function') {
    throw new TypeError(`Worker pool ${id}: handler must be a function`);
  }
  assertRetryPolicy(id, definition.retry);
  return {
    targetType: 'worker_pool',
    targetId: id,
    ...(definition.description === undefined ? {} : { description: definition.description }),
    size,
    queueLimit,
    retry: definition.retry ?? {},
    handler,
  };
}

/** One context in the pool: waiting in the queue or running on a worker. JSON. */
interface Job {
  readonly requestId: string;
  readonly context: Context;
  readonly meta: CallMeta;
  /** 1 for the first run of the job. */
  readonly attempt: number;
}

/** What the pool sends a worker. */
type WorkerEvent =
  | { readonly type: 'job.run'; readonly job: Job; readonly delayMs: number }
  | { readonly type: 'job.cancel'; readonly requestId: string };

/** What a worker sends the pool. */
type WorkerReport =
  | { readonly type: 'worker.ready'; readonly slot: number }
  | {
      readonly type: 'job.done';
      readonly slot: number;
      readonly job: Job;
      readonly result: Context;
    }
  | {
      readonly type: 'job.failed';
      readonly slot: number;
      readonly job: Job;
      readonly error: unknown;
    };

/** The pool child's machine context. */
export interface PoolChildContext {
  readonly childId: string;
  /** Jobs waiting for a worker, oldest first. */
  readonly queue: readonly Job[];
  /** The job on each worker (by slot), `null` when the worker is free. */
  readonly running: readonly (Job | null)[];
  /** Whether each worker has started (said `worker.ready`) since the pool (re)started. */
  readonly ready: readonly boolean[];
}

const workerId = (slot: number) => `worker-${slot}`;

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * The child actor of a worker pool under the router: a machine with `size` worker children
 * (callback actors `worker-0`…), its queue and the job on each worker in its context. A worker
 * says `worker.ready` when it starts; after a restore the workers start again and each gets back
 * the job it had (run again, at least once).
 */
export function workerPoolChildLogic(pool: WorkerPoolTarget) {
  const attempts = pool.retry.attempts ?? 1;
  const worker = fromCallback<WorkerEvent, { readonly slot: number }>(
    ({ input, receive, sendBack }) => {
      const { slot } = input;
      let current: { requestId: string; controller: AbortController } | undefined;
      let stopped = false;
      receive((event) => {
        if (event.type === 'job.cancel') {
          if (current?.requestId === event.requestId) current.controller.abort();
          return;
        }
        const { job, delayMs } = event;
        const controller = new AbortController();
        current = { requestId: job.requestId, controller };
        // A pool retry is the same call again: same helpers (attempt, idempotency key).
        const helpers = callHelpers(job.meta, controller.signal);
        sleep(delayMs, controller.signal)
          .then(() => pool.handler(job.context, helpers))
          .then(parseContext)
          .then(
            (result): WorkerReport => ({ type: 'job.done', slot, job, result }),
            (error: unknown): WorkerReport => ({ type: 'job.failed', slot, job, error }),
          )
          .then((report) => {
            if (current?.controller === controller) current = undefined;
            if (!stopped) sendBack(report);
          });
      });
      sendBack({ type: 'worker.ready', slot });
      return () => {
        stopped = true;
        current?.controller.abort();
      };
    },
  );

  return setup({
    types: {
      context: {} as PoolChildContext,
      input: {} as TargetChildInput,
      events: {} as TargetChildEvent | WorkerReport,
    },
    actors: { worker },
  }).createMachine({
    id: `pool-${pool.targetId}`,
    context: ({ input }) => ({
      childId: input.childId,
      queue: [],
      running: Array.from({ length: pool.size }, () => null),
      ready: Array.from({ length: pool.size }, () => false),
    }),
    entry: enqueueActions(({ context, enqueue }) => {
      for (let slot = 0; slot < pool.size; slot++) {
        enqueue.spawnChild('worker', { id: workerId(slot), input: { slot } });
      }
      enqueue.sendParent({ type: 'target.ready', childId: context.childId });
    }),
    on: {
      'target.call': {
        actions: enqueueActions(({ context, event, enqueue }) => {
          const job: Job = { ...pick(event), attempt: 1 };
          const slot = context.running.findIndex((held, at) => held === null && context.ready[at]);
          if (slot >= 0) {
            enqueue.assign({ running: replaced(context.running, slot, job) });
            enqueue.sendTo(workerId(slot), { type: 'job.run', job, delayMs: 0 });
          } else if (context.queue.length < pool.queueLimit) {
            enqueue.assign({ queue: [...context.queue, job] });
          } else {
            enqueue.sendParent({
              type: 'target.result',
              childId: context.childId,
              requestId: job.requestId,
              ok: false,
              error: new PoolSaturatedError(pool.targetId, pool.queueLimit),
            });
          }
        }),
      },
      'target.cancel': {
        actions: enqueueActions(({ context, event, enqueue }) => {
          const { requestId } = event;
          const slot = context.running.findIndex((job) => job?.requestId === requestId);
          if (slot >= 0) enqueue.sendTo(workerId(slot), { type: 'job.cancel', requestId });
          else
            enqueue.assign({ queue: context.queue.filter((job) => job.requestId !== requestId) });
        }),
      },
      'worker.ready': {
        actions: enqueueActions(({ context, event, enqueue }) => {
          const { slot } = event;
          const ready = replaced(context.ready, slot, true);
          const held = context.running[slot];
          if (held) {
            // Restored: the worker lost the job it had; it runs it again.
            enqueue.assign({ ready });
            enqueue.sendTo(workerId(slot), { type: 'job.run', job: held, delayMs: 0 });
            return;
          }
          const [next, ...queue] = context.queue;
          if (next === undefined) {
            enqueue.assign({ ready });
            return;
          }
          enqueue.assign({ ready, queue, running: replaced(context.running, slot, next) });
          enqueue.sendTo(workerId(slot), { type: 'job.run', job: next, delayMs: 0 });
        }),
      },
      'job.done': {
        actions: enqueueActions(({ context, event, enqueue }) => {
          const { slot, job, result } = event;
          if (context.running[slot]?.requestId !== job.requestId) return;
          enqueue.sendParent({
            type: 'target.result',
            childId: context.childId,
            requestId: job.requestId,
            ok: true,
            context: result,
          });
          const [next, ...queue] = context.queue;
          if (next === undefined) {
            enqueue.assign({ running: replaced(context.running, slot, null) });
            return;
          }
          enqueue.assign({ queue, running: replaced(context.running, slot, next) });
          enqueue.sendTo(workerId(slot), { type: 'job.run', job: next, delayMs: 0 });
        }),
      },
      'job.failed': {
        actions: enqueueActions(({ context, event, enqueue }) => {
          const { slot, job, error } = event;
          if (context.running[slot]?.requestId !== job.requestId) return;
          if (job.attempt < attempts) {
            const retry: Job = { ...job, attempt: job.attempt + 1 };
            const delayMs = backoffDelay(pool.retry.backoff, job.attempt);
            enqueue.assign({ running: replaced(context.running, slot, retry) });
            enqueue.sendTo(workerId(slot), { type: 'job.run', job: retry, delayMs });
            return;
          }
          enqueue.sendParent({
            type: 'target.result',
            childId: context.childId,
            requestId: job.requestId,
            ok: false,
            error,
          });
          const [next, ...queue] = context.queue;
          if (next === undefined) {
            enqueue.assign({ running: replaced(context.running, slot, null) });
            return;
          }
          enqueue.assign({ queue, running: replaced(context.running, slot, next) });
          enqueue.sendTo(workerId(slot), { type: 'job.run', job: next, delayMs: 0 });
        }),
      },
    },
  });
}

function pick(event: TargetChildEvent): Omit<Job, 'attempt'> {
  if (event.type !== 'target.call') throw new TypeError('Not a call');
  return { requestId: event.requestId, context: event.context, meta: event.meta };
}

function replaced<T>(list: readonly T[], at: number, value: T): T[] {
  const copy = list.slice();
  copy[at] = value;
  return copy;
}
