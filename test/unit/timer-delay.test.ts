import { afterEach, describe, expect, it, vi } from 'vitest';
import { assertTimerDelay, MAX_TIMER_DELAY_MS, setLongTimeout } from '../../src/timer-delay.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('assertTimerDelay', () => {
  it('takes 1 to 2^31 − 1 ms, and Infinity only when it means something', () => {
    expect(MAX_TIMER_DELAY_MS).toBe(2 ** 31 - 1);
    for (const ms of [1, 1.5, 60_000, 2_147_483_647]) {
      expect(() => assertTimerDelay('waitMs', ms)).not.toThrow();
    }
    expect(() => assertTimerDelay('waitMs', Number.POSITIVE_INFINITY, 'none')).not.toThrow();
    expect(() => assertTimerDelay('waitMs', Number.POSITIVE_INFINITY)).toThrow(
      'waitMs must be a number of ms from 1 to 2147483647; got Infinity',
    );
  });

  it('refuses what a timer would fire at once, naming the option', () => {
    const refused = [2_147_483_648, 1e10, 0, 0.5, -1, Number.NaN, Number.NEGATIVE_INFINITY, '10'];
    for (const ms of refused) {
      expect(() => assertTimerDelay('Step a: timeoutMs', ms, 'no timeout')).toThrow(TypeError);
      expect(() => assertTimerDelay('Step a: timeoutMs', ms, 'no timeout')).toThrow(
        `Step a: timeoutMs must be a number of ms from 1 to 2147483647, or Infinity for no timeout; got ${String(ms)}`,
      );
    }
  });
});

describe('setLongTimeout', () => {
  it('waits longer than a timer takes, in chunks, and can be cancelled', () => {
    vi.useFakeTimers();
    const fired: number[] = [];
    setLongTimeout(() => fired.push(1), 3 * MAX_TIMER_DELAY_MS);
    const cancel = setLongTimeout(() => fired.push(2), 2 * MAX_TIMER_DELAY_MS);
    vi.advanceTimersByTime(1);
    expect(fired).toEqual([]); // not fired at once, as setTimeout(fn, 2^31) would be
    vi.advanceTimersByTime(MAX_TIMER_DELAY_MS);
    expect(fired).toEqual([]);
    cancel();
    vi.advanceTimersByTime(2 * MAX_TIMER_DELAY_MS - 2);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(fired).toEqual([1]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('fires a short or non-positive delay as setTimeout would, and never fires Infinity', () => {
    vi.useFakeTimers();
    const fired: string[] = [];
    setLongTimeout(() => fired.push('5'), 5);
    setLongTimeout(() => fired.push('0'), 0);
    setLongTimeout(() => fired.push('nan'), Number.NaN);
    setLongTimeout(() => fired.push('inf'), Number.POSITIVE_INFINITY);
    vi.advanceTimersByTime(0);
    expect(fired.sort()).toEqual(['0', 'nan']);
    vi.advanceTimersByTime(5);
    expect(fired).toContain('5');
    vi.advanceTimersByTime(10 * MAX_TIMER_DELAY_MS);
    expect(fired).not.toContain('inf');
  });
});
