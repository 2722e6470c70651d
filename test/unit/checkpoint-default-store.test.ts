import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createWorkflowState, getCheckpointManager } from 'mcp-orchestration';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The browser default is not reachable through `#default-store` in Node; import it directly.
import { createDefaultStore as createBrowserDefaultStore } from '../../adapters/default-store.js';

describe('the default store', () => {
  let directory: string;
  const previous = process.env.MCP_ORCHESTRATION_DIR;

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'mcp-default-store-'));
    process.env.MCP_ORCHESTRATION_DIR = directory;
  });

  afterAll(async () => {
    await (await getCheckpointManager()).store.close();
    if (previous === undefined) delete process.env.MCP_ORCHESTRATION_DIR;
    else process.env.MCP_ORCHESTRATION_DIR = previous;
    await rm(directory, { recursive: true, force: true });
  });

  it('is created once when first calls race, and is the file store in Node', async () => {
    const managers = await Promise.all(Array.from({ length: 5 }, () => getCheckpointManager()));
    const [first] = managers;
    for (const manager of managers) expect(manager).toBe(first);
    if (first === undefined) throw new Error('no manager');
    expect(first.store.name).toBe('file');
    expect(await getCheckpointManager(first.store)).toBe(first);
  });

  it('keeps checkpoints in MCP_ORCHESTRATION_DIR', async () => {
    const manager = await getCheckpointManager();
    const state = createWorkflowState({ taskId: 'default-task', status: 'running' });
    const id = await manager.saveCheckpoint(state);
    expect((await manager.loadCheckpoint('default-task', id))?.status).toBe('running');
    expect((await readdir(directory, { recursive: true })).length).toBeGreaterThan(0);
  });

  it('is an in-memory store outside Node', async () => {
    const store = await createBrowserDefaultStore();
    expect(store.name).toBe('memory');
    expect(await createBrowserDefaultStore()).not.toBe(store);
  });
});
