/**
 * The longest delay a timer takes: 2^31 − 1 ms (about 24.8 days). `setTimeout` and `setInterval`
 * fire a longer delay after 1 ms instead (Node says so with a `TimeoutOverflowWarning`), so a
 * user-given delay that ends in a timer is checked against it ({@link assertTimerDelay}) and a
 * longer wait is armed in chunks ({@link setLongTimeout}). @internal
 */
export const MAX_TIMER_DELAY_MS = 2_147_483_647;

/**
 * Checks a user-given delay in ms that ends in a timer: a number from 1 to
 * {@link MAX_TIMER_DELAY_MS}, or `Infinity` when `infinity` is given (what it means, for the
 * message: `'no timeout'`, say). Anything else (0, a negative number, `NaN`, a delay a timer cannot
 * take, not a number) is a `TypeError` naming `name`, as the MCP adapter's `timeoutMs`. @internal
 */
export function assertTimerDelay(
  name: string,
  value: unknown,
  infinity?: string,
): asserts value is number {
  if (value === Number.POSITIVE_INFINITY && infinity !== undefined) return;
  if (typeof value === 'number' && value >= 1 && value <= MAX_TIMER_DELAY_MS) return;
  const orInfinity = infinity === undefined ? '' : `, or Infinity for ${infinity}`;
  throw new TypeError(
    `${name} must be a number of ms from 1 to ${MAX_TIMER_DELAY_MS}${orInfinity}; got ${String(value)}`,
  );
}

/**
 * `setTimeout(fn, ms)` for any `ms`, a longer one than a timer takes included: armed in chunks of
 * at most {@link MAX_TIMER_DELAY_MS} until `ms` have passed (by `Date.now`). `ms` not above 0
 * (or `NaN`) fires on the next turn; `Infinity` never fires. Returns its cancellation. @internal
 */
export function setLongTimeout(fn: () => void, ms: number): () => void {
  const due = Date.now() + (ms > 0 ? ms : 0);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = (remaining: number) => {
    timer = setTimeout(tick, Math.min(Math.max(remaining, 0), MAX_TIMER_DELAY_MS));
  };
  const tick = () => {
    const remaining = due - Date.now();
    if (remaining > 0) arm(remaining);
    else fn();
  };
  if (ms === Number.POSITIVE_INFINITY) return () => {};
  arm(due - Date.now());
  return () => clearTimeout(timer);
}
