import { createDefaultStore } from '#default-store';
import { CheckpointManager } from './checkpoint-manager.js';
import type { CheckpointStore } from './checkpoint-store.js';

const managers = new WeakMap<CheckpointStore, CheckpointManager>();
let defaultManager: Promise<CheckpointManager> | undefined;

/**
 * The one {@link CheckpointManager} of `store` (the seed's `get_checkpoint_manager()`): the
 * same instance for every call with the same store, so its per-task memory (default parent
 * ids, persisted lineage) is shared. Without a store it uses the default store, created once
 * even when first calls race: the `#default-store` import condition picks it, the embedded file
 * store in Node (directory `MCP_ORCHESTRATION_DIR`, default `.mcp-orchestration`) and an
 * in-memory store elsewhere. A failed default creation is retried on the next call.
 *
 * @example
 * ```ts
 * const manager = await getCheckpointManager(); // default store
 * const same = await getCheckpointManager(manager.store); // same instance
 * ```
 */
export async function getCheckpointManager(store?: CheckpointStore): Promise<CheckpointManager> {
  if (store !== undefined) return managerOf(store);
  if (defaultManager === undefined) {
    const creating = createDefaultStore().then(managerOf);
    defaultManager = creating;
    creating.catch(() => {
      if (defaultManager === creating) defaultManager = undefined;
    });
  }
  return defaultManager;
}

function managerOf(store: CheckpointStore): CheckpointManager {
  let manager = managers.get(store);
  if (manager === undefined) {
    manager = new CheckpointManager(store);
    managers.set(store, manager);
  }
  return manager;
}
