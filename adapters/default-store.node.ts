import type { CheckpointStore } from '../src/checkpoint/checkpoint-store.js';

/**
 * The store `getCheckpointManager()` uses when given none, in Node: the embedded file store in
 * the directory named by `MCP_ORCHESTRATION_DIR` (default: `.mcp-orchestration` in the working
 * directory). Loaded lazily, so nothing of the file store is imported until it is needed.
 */
export async function createDefaultStore(): Promise<CheckpointStore> {
  const { createFileStore } = await import('./file.js');
  return createFileStore({ directory: process.env.MCP_ORCHESTRATION_DIR ?? '.mcp-orchestration' });
}
