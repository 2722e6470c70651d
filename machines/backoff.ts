import { assertKnownKeys, isRecord } from '../src/objects.js';

/** How long to wait between attempts of a failing step. */
export interface BackoffPolicy {
  /** Delay before the second attempt, in ms. */
  readonly initialMs: number;
  /** Each further delay is the previous one times this. Default: `2`. */
  readonly factor?: number;
  /** Upper bound of a delay before jitter, in ms. */
  readonly maxMs: number;
  /** Random spread as a fraction of the delay: `0.2` means ±20 %. Default: `0.2`. */
  readonly jitter?: number;
}

/** Retry policy of a task step. */
export interface RetryPolicy {
  /** Total attempts, the first one included; `1` means no retry. Default: `1`. */
  readonly attempts?: number;
  /** Delays between attempts. Default: none (retry at once). */
  readonly backoff?: BackoffPolicy;
}

/**
 * The delay in ms before the attempt after `failedAttempt` (1 = the first attempt failed):
 * `min(maxMs, initialMs × factor^(failedAttempt − 1))`, spread by ±`jitter` and never negative.
 * `random` returns a number in `[0, 1)`. Default: `Math.random`.
 *
 * @example
 * ```ts
 * backoffDelay({ initialMs: 100, maxMs: 1000, jitter: 0 }, 3); // 400
 * ```
 */
export function backoffDelay(
  policy: BackoffPolicy | undefined,
  failedAttempt: number,
  random: () => number = Math.random,
): number {
  if (policy === undefined) return 0;
  const factor = policy.factor ?? 2;
  const jitter = policy.jitter ?? 0.2;
  const base = Math.min(policy.maxMs, policy.initialMs * factor ** Math.max(0, failedAttempt - 1));
  const spread = jitter === 0 ? 0 : base * jitter * (2 * random() - 1);
  return Math.max(0, Math.round(base + spread));
}

const RETRY_KEYS: ReadonlySet<string> = new Set(['attempts', 'backoff']);
const BACKOFF_KEYS: ReadonlySet<string> = new Set(['initialMs', 'factor', 'maxMs', 'jitter']);

/** Checks a retry policy once, when the workflow is defined. Throws `TypeError`. */
export function assertRetryPolicy(stepId: string, retry: RetryPolicy | undefined): void {
  if (retry === undefined) return;
  if (!isRecord(retry as unknown)) {
    throw new TypeError(`Step ${stepId}: retry must be an options object`);
  }
  assertKnownKeys(retry, RETRY_KEYS, `Step ${stepId}: retry`);
  const attempts = retry.attempts ?? 1;
  if (!(Number.isSafeInteger(attempts) && attempts >= 1)) {
    throw new TypeError(`Step ${stepId}: retry.attempts must be an integer ≥ 1, got ${attempts}`);
  }
  const backoff = retry.backoff;
  if (backoff === undefined) return;
  if (!isRecord(backoff as unknown)) {
    throw new TypeError(`Step ${stepId}: retry.backoff must be an options object`);
  }
  assertKnownKeys(backoff, BACKOFF_KEYS, `Step ${stepId}: retry.backoff`);
  for (const name of ['initialMs', 'maxMs'] as const) {
    if (backoff[name] === undefined) {
      throw new TypeError(`Step ${stepId}: retry.backoff.${name} is required`);
    }
  }
  const numbers: [string, number | undefined][] = [
    ['initialMs', backoff.initialMs],
    ['maxMs', backoff.maxMs],
    ['factor', backoff.factor],
    ['jitter', backoff.jitter],
  ];
  for (const [name, value] of numbers) {
    if (value !== undefined && !(Number.isFinite(value) && value >= 0)) {
      throw new TypeError(`Step ${stepId}: retry.backoff.${name} must be a finite number ≥ 0`);
    }
  }
  if ((backoff.jitter ?? 0) > 1) {
    throw new TypeError(`Step ${stepId}: retry.backoff.jitter must be at most 1`);
  }
}
