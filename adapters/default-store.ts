import type { CheckpointStore } from '../src/checkpoint/checkpoint-store.js';
import { createMemoryStore } from './memory.js';

/**
 * The store `getCheckpointManager()` uses when given none, outside Node (browsers, workers,
 * other runtimes): a fresh in-memory store. Node resolves the `#default-store` import to
 * `default-store.node.ts` instead (the embedded file store).
 */
export async function createDefaultStore(): Promise<CheckpointStore> {
  return createMemoryStore();
}
