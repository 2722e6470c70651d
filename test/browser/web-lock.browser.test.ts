import { taskLockName, withWebLock } from 'mcp-orchestration/indexeddb';
import { describe, expect, it } from 'vitest';

// Real Web Locks in headless Chromium: two callers in one page contend exactly like two tabs.

/** A promise with its resolve, to hold a lock until the test lets go. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = () => {};
  const promise = new Promise<void>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

function uniqueName(): string {
  return taskLockName(`lock_${Date.now()}_${Math.random().toString(36).slice(2)}`);
}

describe('withWebLock', () => {
  it('runs the task at once when the lock is free, and releases it after', async () => {
    const name = uniqueName();
    let waited = false;
    const value = await withWebLock(
      name,
      async () => {
        const { held } = await navigator.locks.query();
        return held?.some((lock) => lock.name === name);
      },
      { onWait: () => (waited = true) },
    );
    expect(value).toBe(true);
    expect(waited).toBe(false);
    expect((await navigator.locks.query()).held?.some((lock) => lock.name === name)).toBe(false);
  });

  it('never runs two tasks at once: the second waits, told so, and takes over after the first', async () => {
    const name = uniqueName();
    const release = deferred();
    const order: string[] = [];
    const first = withWebLock(name, async () => {
      order.push('first started');
      await release.promise;
      order.push('first ended');
      return 'first';
    });
    await expect.poll(() => order).toEqual(['first started']);
    const second = withWebLock(
      name,
      async () => {
        order.push('second started');
        return 'second';
      },
      { onWait: () => order.push('second waits') },
    );
    await expect.poll(() => order).toEqual(['first started', 'second waits']);
    release.resolve();
    expect(await Promise.all([first, second])).toEqual(['first', 'second']);
    expect(order).toEqual(['first started', 'second waits', 'first ended', 'second started']);
  });

  it('a failing task releases the lock and rejects with its error', async () => {
    const name = uniqueName();
    await expect(
      withWebLock(name, async () => {
        throw new RangeError('step failed');
      }),
    ).rejects.toThrow(RangeError);
    expect(await withWebLock(name, async () => 'free again')).toBe('free again');
  });

  it('stops waiting when its signal aborts, without running the task', async () => {
    const name = uniqueName();
    const release = deferred();
    const holder = withWebLock(name, () => release.promise);
    const controller = new AbortController();
    let ran = false;
    const waiting = withWebLock(
      name,
      async () => {
        ran = true;
      },
      { signal: controller.signal, onWait: () => controller.abort(new Error('tab closing')) },
    );
    await expect(waiting).rejects.toThrow('tab closing');
    release.resolve();
    await holder;
    expect(ran).toBe(false);
  });

  it('names task locks after the task id, and refuses an invalid one', () => {
    expect(taskLockName('trip_1')).toBe('mcp-orchestration:task:trip_1');
    expect(() => taskLockName('no spaces')).toThrow(/taskId/);
  });
});
