import type { AnyActorRef } from 'xstate';
import { sleepUntil } from '../../machines/sleep-until.js';

/**
 * What the actors a run's snapshot holds are doing (internal to the runtime):
 * - `idle`: none is active (or only child machines that are themselves idle): nothing but an
 *   event moves the run;
 * - `timers`: durable timers (`sleepUntil`: a sleep, a retry's backoff) wait, and nothing else
 *   is in flight: the run moves on by itself at a deadline, and writes nothing until then;
 * - `busy`: an actor is in flight (a step's attempt, a routing decision, any promise, callback
 *   or observable actor of a hand-written machine).
 */
export type RunActivity = 'idle' | 'timers' | 'busy';

interface WithChildren {
  readonly children?: Readonly<Record<string, AnyActorRef | undefined>>;
}

/**
 * The {@link RunActivity} of a machine snapshot's children, looking into child machines: a
 * child machine counts by its own children (one that only waits for events is idle). O(active
 * actors).
 */
export function activityOf(snapshot: WithChildren): RunActivity {
  const children = snapshot.children;
  if (children === undefined) return 'idle';
  let activity: RunActivity = 'idle';
  for (const id in children) {
    const child = children[id];
    if (child === undefined) continue;
    const state = child.getSnapshot() as { readonly status?: unknown } & WithChildren;
    if (state?.status !== 'active') continue;
    if ((child as { readonly logic?: unknown }).logic === sleepUntil) {
      activity = 'timers';
      continue;
    }
    // Only a machine's snapshot has children: any other active actor is work in flight.
    if (state.children === undefined) return 'busy';
    const inner = activityOf(state);
    if (inner === 'busy') return 'busy';
    if (inner === 'timers') activity = 'timers';
  }
  return activity;
}
