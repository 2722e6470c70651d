import { enqueueActions, fromCallback, setup } from 'xstate';
import type { AnyContext, Context } from '../../src/context/context.js';
import { PoolSaturatedError } from '../../src/errors.js';
import { assertValidId } from '../../src/ids.js';
import type { TargetCallHelpers } from '../../src/router/routing-target.js';
import { setLongTimeout } from '../../src/timer-delay.js';
import { assertRetryPolicy, backoffDelay, type RetryPolicy } from '../backoff.js';
import {
  acceptContext,
  type CallMeta,
  type LazyCall,
  lazyCallHelpers,
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
  readonly handler: (
    context: Context,
    helpers: TargetCallHelpers,
  ) => AnyContext | Promise<AnyContext>;
  /**
   * Contexts that may wait for a worker; one more is refused with `PoolSaturatedError`.
   * Default: `1000`.
   */
  readonly queueLimit?: number;
  /**
   * How a job whose handler threw is retried, on the same worker (a job its caller withdrew is
   * not). Default: one attempt.
   */
  readonly retry?: RetryPolicy;
}

/**
 * Defines a worker pool target: `size` worker actors behind a FIFO queue. Back-pressure is a
 * refusal, not a wait: when `queueLimit` contexts already wait, a new one fails at once with
 * `PoolSaturatedError` and nothing runs (an actor cannot block its sender; the caller decides,
 * e.g. a routed step retries per its own `retry`). A handler that throws (a crashed job) fails
 * only that job: it is retried per `retry` on the same worker after the backoff delay, and the
 * other workers carry on. A job withdrawn by its caller (its signal aborted, its workflow
 * cancelled) is dropped if it waits; if it runs, its handler's `signal` aborts, and it is neither
 * retried nor run again: its worker takes the next job once the handler settles.
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
  assertWorkerPoolParts(id, { size, queueLimit, handler, retry: definition.retry });
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

/**
 * Checks what a worker pool needs beside its id: an integer `size` ≥ 1, an integer `queueLimit`
 * ≥ 0, a `handler` function and a valid `retry` (or none). Used by {@link defineWorkerPool} (with
 * its defaults applied) and by the router for a pool target made by hand. Throws `TypeError`
 * naming the argument.
 */
export function assertWorkerPoolParts(
  id: string,
  parts: {
    readonly size?: unknown;
    readonly queueLimit?: unknown;
    readonly handler?: unknown;
    readonly retry?: unknown;
  },
): void {
  const { size, queueLimit } = parts;
  if (!(Number.isSafeInteger(size) && (size as number) >= 1)) {
    throw new TypeError(`Worker pool ${id}: size must be an integer ≥ 1, got ${String(size)}`);
  }
  if (!(Number.isSafeInteger(queueLimit) && (queueLimit as number) >= 0)) {
    throw new TypeError(`Worker pool ${id}: queueLimit must be an integer ≥ 0`);
  }
  if (typeof parts.handler !== 'function') {
    throw new TypeError(`Worker pool ${id}: handler must be a function`);
  }
  assertRetryPolicy(id, parts.retry as RetryPolicy | undefined);
}

/** One context in the pool: waiting in the queue or running on a worker. JSON. */
interface Job {
  readonly requestId: string;
  readonly context: Context;
  readonly meta: CallMeta;
  /** 1 for the first run of the job. */
  readonly attempt: number;
  /**
   * Set when its caller withdrew it while it ran: it is not retried nor run again (not even after
   * a restore), its outcome goes nowhere, and its worker is free once its handler settles.
   */
  readonly withdrawn?: true;
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
  /**
   * Jobs waiting for a worker, oldest first. Like `running` and `ready`, updated in place (O(1)
   * per job whatever the queue's length; copying it per job made a long queue quadratic), so
   * serialize a persisted snapshot before the pool goes on (`startRouter` hands out JSON copies).
   */
  readonly queue: Job[];
  /** The job on each worker (by slot), `null` when the worker is free. */
  readonly running: (Job | null)[];
  /** Whether each worker has started (said `worker.ready`) since the pool (re)started. */
  readonly ready: boolean[];
}

const workerId = (slot: number) => `worker-${slot}`;

/** Waits `ms` (a backoff of any length: armed in chunks a timer takes) or until `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const cancel = setLongTimeout(resolve, ms);
    const onAbort = () => {
      cancel();
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
  const { attempts = 1, backoff } = pool.retry ?? {};
  const worker = fromCallback<WorkerEvent, { readonly slot: number }>(
    ({ input, receive, sendBack }) => {
      const { slot } = input;
      let current: { requestId: string; call: LazyCall } | undefined;
      let stopped = false;
      receive((event) => {
        if (event.type === 'job.cancel') {
          if (current?.requestId === event.requestId) current.call.abort();
          return;
        }
        const { job, delayMs } = event;
        // A pool retry is the same call again: same helpers (attempt, idempotency key).
        const call = lazyCallHelpers(job.meta);
        current = { requestId: job.requestId, call };
        const run = async (): Promise<Context> => {
          if (delayMs > 0) {
            await sleep(delayMs, call.helpers.signal);
            // Withdrawn during the backoff: the handler is not called again.
            if (call.aborted) throw new Error(`Job ${job.requestId} was withdrawn`);
          }
          return acceptContext(await pool.handler(job.context, call.helpers));
        };
        const report = (made: WorkerReport) => {
          if (current?.call === call) current = undefined;
          if (!stopped) sendBack(made);
        };
        run().then(
          (result) => report({ type: 'job.done', slot, job, result }),
          (error: unknown) => report({ type: 'job.failed', slot, job, error }),
        );
      });
      sendBack({ type: 'worker.ready', slot });
      return () => {
        stopped = true;
        current?.call.abort();
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
          const { running, ready, queue } = context;
          // Jobs wait only while every ready worker is busy: a free one is found in O(size).
          const slot = queue.length > 0 ? -1 : freeSlot(running, ready);
          if (slot >= 0) {
            running[slot] = job;
            enqueue.sendTo(workerId(slot), { type: 'job.run', job, delayMs: 0 });
          } else if (queue.length < pool.queueLimit) {
            queue.push(job);
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
          const { running } = context;
          const slot = running.findIndex((job) => job?.requestId === requestId && !job.withdrawn);
          const job = running[slot];
          if (job) {
            // Its worker stays busy until the handler settles; then the job is dropped.
            running[slot] = { ...job, withdrawn: true };
            enqueue.sendTo(workerId(slot), { type: 'job.cancel', requestId });
            return;
          }
          const at = context.queue.findIndex((job) => job.requestId === requestId);
          if (at >= 0) context.queue.splice(at, 1);
        }),
      },
      'worker.ready': {
        actions: enqueueActions(({ context, event, enqueue }) => {
          const { slot } = event;
          context.ready[slot] = true;
          const held = context.running[slot];
          // Restored: the worker lost the job it had; it runs it again, unless it was withdrawn.
          const next = held && !held.withdrawn ? held : context.queue.shift();
          context.running[slot] = next ?? null;
          if (next === undefined) return;
          enqueue.sendTo(workerId(slot), { type: 'job.run', job: next, delayMs: 0 });
        }),
      },
      'job.done': {
        actions: enqueueActions(({ context, event, enqueue }) => {
          const { slot, job, result } = event;
          const held = context.running[slot];
          if (held?.requestId !== job.requestId) return;
          if (held.withdrawn) {
            runNext(context, slot, enqueue); // its outcome goes nowhere
            return;
          }
          enqueue.sendParent({
            type: 'target.result',
            childId: context.childId,
            requestId: job.requestId,
            ok: true,
            context: result,
          });
          runNext(context, slot, enqueue);
        }),
      },
      'job.failed': {
        actions: enqueueActions(({ context, event, enqueue }) => {
          const { slot, job, error } = event;
          const held = context.running[slot];
          if (held?.requestId !== job.requestId) return;
          if (held.withdrawn) {
            runNext(context, slot, enqueue); // not retried
            return;
          }
          if (job.attempt < attempts) {
            const retry: Job = { ...job, attempt: job.attempt + 1 };
            const delayMs = backoffDelay(backoff, job.attempt);
            context.running[slot] = retry;
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
          runNext(context, slot, enqueue);
        }),
      },
    },
  });
}

/** The first free worker that has started, or -1. */
function freeSlot(running: readonly (Job | null)[], ready: readonly boolean[]): number {
  for (let slot = 0; slot < running.length; slot++) {
    if (running[slot] === null && ready[slot] === true) return slot;
  }
  return -1;
}

/** Gives the worker at `slot` the oldest waiting job, or marks it free. */
function runNext(
  context: PoolChildContext,
  slot: number,
  enqueue: { sendTo(id: string, event: WorkerEvent): void },
): void {
  const next = context.queue.shift();
  context.running[slot] = next ?? null;
  if (next !== undefined)
    enqueue.sendTo(workerId(slot), { type: 'job.run', job: next, delayMs: 0 });
}

function pick(event: TargetChildEvent): Omit<Job, 'attempt'> {
  if (event.type !== 'target.call') throw new TypeError('Not a call');
  return { requestId: event.requestId, context: event.context, meta: event.meta };
}
