import { fromPromise } from 'xstate';
import { MAX_TIMER_DELAY_MS } from '../src/timer-delay.js';

/** Input of {@link sleepUntil}: the absolute deadline, ms since the epoch. */
export interface SleepUntilInput {
  readonly until: number;
}

/**
 * A durable timer: a promise actor that resolves once the clock reaches `input.until`.
 *
 * Unlike XState's `after` (whose delayed events are lost when a snapshot is restored), the
 * deadline is an absolute time held in the actor's input, which is persisted with the parent's
 * snapshot. On restore XState re-invokes the actor with the same input, so it waits only for the
 * remaining time (or resolves at once if the deadline passed while nothing was running). Register
 * it by name (`setup({ actors: { sleepUntil } })`) and invoke it with
 * `input: ({ context }) => ({ until: context.deadline })`.
 */
export const sleepUntil = fromPromise<void, SleepUntilInput>(
  ({ input, signal }) =>
    new Promise<void>((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const onAbort = () => {
        clearTimeout(timer);
        resolve();
      };
      const tick = () => {
        const remaining = input.until - Date.now();
        if (!(remaining > 0) || signal.aborted) {
          signal.removeEventListener('abort', onAbort);
          resolve();
          return;
        }
        timer = setTimeout(tick, Math.min(remaining, MAX_TIMER_DELAY_MS));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      tick();
    }),
);
