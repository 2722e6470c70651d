import type { RuntimeEvent } from 'mcp-orchestration';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RuntimeListeners } from '../../src/runtime/runtime-listeners.js';

const event: RuntimeEvent = { type: 'step.started', taskId: 't', stepId: 's', stepIndex: 0 };

afterEach(() => {
  vi.useRealTimers();
});

describe('RuntimeListeners', () => {
  it('reports a throwing listener unhandled, in a macrotask of its own, and calls the others', () => {
    vi.useFakeTimers({ toFake: ['setTimeout'] });
    const listeners = new RuntimeListeners();
    const seen: string[] = [];
    listeners.add(() => {
      throw new Error('display broke');
    });
    listeners.add((e) => seen.push(e.type));
    expect(() => listeners.emit(event)).not.toThrow();
    expect(seen).toEqual(['step.started']);
    expect(vi.getTimerCount()).toBe(1);
    expect(() => vi.runOnlyPendingTimers()).toThrow('display broke');
  });

  it('reports the rejection of an async listener the same way', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout'] });
    const listeners = new RuntimeListeners();
    listeners.add(async () => {
      throw new Error('async display broke');
    });
    listeners.emit(event);
    await Promise.resolve();
    await Promise.resolve();
    expect(vi.getTimerCount()).toBe(1);
    expect(() => vi.runOnlyPendingTimers()).toThrow('async display broke');
  });

  it('removes a listener, and refuses one that is not a function', () => {
    const listeners = new RuntimeListeners();
    const seen: string[] = [];
    const remove = listeners.add((e) => seen.push(e.type));
    listeners.emit(event);
    remove();
    listeners.emit(event);
    expect(seen).toEqual(['step.started']);
    expect(() => listeners.add('x' as never)).toThrow(TypeError);
  });
});
