import type { CheckpointStore } from 'mcp-orchestration';

/**
 * `inner` behind a proxy that keeps every log append (a run's appends may land after its end),
 * and calls `before` ahead of each one with entries to the log named `log`. `settled` waits until
 * the appends made so far have settled and no new one came for a while.
 */
export function trackLogAppends(
  inner: CheckpointStore,
  log: string,
  before: () => Promise<void> = async () => {},
): { store: CheckpointStore; settled(): Promise<void> } {
  const appends: Promise<unknown>[] = [];
  const store = new Proxy(inner, {
    get(target, key) {
      const value = Reflect.get(target, key, target) as unknown;
      if (typeof value !== 'function') return value;
      if (key !== 'appendLog' && key !== 'appendLogAt') return value.bind(target);
      return (...args: unknown[]) => {
        // appendLog(taskId, name, entries), appendLogAt(taskId, name, at, entries, options?)
        const entries = (key === 'appendLog' ? args[2] : args[3]) as readonly string[];
        const ahead = args[1] === log && entries.length > 0 ? before() : Promise.resolve();
        const append = ahead.then(() => Reflect.apply(value, target, args) as Promise<unknown>);
        appends.push(append.catch(() => undefined));
        return append;
      };
    },
  }) as CheckpointStore;
  return {
    store,
    async settled() {
      for (let seen = -1; seen !== appends.length; ) {
        seen = appends.length;
        await Promise.all(appends);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
  };
}
