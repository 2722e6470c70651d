import { createRuntime, getCheckpointManager } from 'mcp-orchestration';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InspectionEvent } from 'xstate';
import { makeTempDir } from '../support/file-temp-dir.js';
import { basicWorkflow, newTaskId } from './helpers.js';

// This file owns the process's default store: the embedded file store in a temp folder.
let temp: { dir: string; remove(): Promise<void> };
const previous = process.env.MCP_ORCHESTRATION_DIR;
beforeAll(async () => {
  temp = await makeTempDir('runtime-default');
  process.env.MCP_ORCHESTRATION_DIR = temp.dir;
});
afterAll(async () => {
  await (await getCheckpointManager()).store.close();
  if (previous === undefined) delete process.env.MCP_ORCHESTRATION_DIR;
  else process.env.MCP_ORCHESTRATION_DIR = previous;
  await temp.remove();
});

describe('createRuntime without a store', () => {
  it('uses the default store (the embedded file store in Node)', async () => {
    const runtime = createRuntime();
    const taskId = newTaskId('default');
    const run = await runtime.start(basicWorkflow(), { text: 'in the default store' }, { taskId });
    await run.result;
    const manager = await getCheckpointManager();
    expect(manager.store.name).toBe('file');
    expect((await manager.loadLatestCheckpoint(taskId))?.status).toBe('completed');
    expect(await createRuntime().status(taskId)).toMatchObject({ status: 'completed' });
  });
});

describe('the inspect option', () => {
  it("passes every workflow actor's inspection events to the given inspector", async () => {
    const events: InspectionEvent[] = [];
    const runtime = createRuntime({ inspect: (event) => events.push(event) });
    const run = await runtime.start(basicWorkflow(), { text: 'x' }, { taskId: newTaskId('insp') });
    await run.result;
    const types = new Set(events.map((e) => e.type));
    expect(types.has('@xstate.snapshot')).toBe(true);
    expect(types.has('@xstate.event')).toBe(true);
    const received = events.flatMap((e) => (e.type === '@xstate.event' ? [e.event.type] : []));
    expect(received).toContain('workflow.committed');
  });
});
