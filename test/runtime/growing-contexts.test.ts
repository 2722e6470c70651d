import { createContext, createRuntime, getCheckpointManager } from 'mcp-orchestration';
import { afterEach, describe, expect, it } from 'vitest';
import {
  growingTranscript,
  LINE_CHARS,
  runUntilCheckpoint,
  transcriptAfter,
} from './growing-transcript.js';
import { type Calls, newTaskId, STORES, type TestStore } from './helpers.js';

// A context that is new and larger at every step (a transcript gaining a line): checkpoints make
// each version from a base in the task's contexts log with one splice (format 4), so what a step
// writes stays about the same size while the transcript grows.

const STEPS = 80; // the transcript ends at 80 KB

/**
 * Most characters of a checkpoint between the first and the last: the splice since the last base
 * (4 KB when the next base is appended, plus the lines added while that append is in flight) and
 * the rest of the state. The transcript itself reaches 80 KB.
 */
const MOST_CHARS = 10 * LINE_CHARS;

describe.each(['memory', 'file'] as const)('contexts that grow (%s store)', (kind) => {
  let store: TestStore | undefined;
  afterEach(async () => {
    await store?.cleanup();
    store = undefined;
  });

  it('checkpoints stay small while the transcript grows, and each loads back whole', async () => {
    store = await STORES[kind]();
    const workflow = growingTranscript(STEPS, () => {});
    const runtime = createRuntime({ store: store.store, workflows: [workflow] });
    const taskId = newTaskId('grow');
    const input = createContext('Transcript', { lines: [] });
    const output = await (await runtime.start(workflow, input, { taskId })).result;
    await runtime.close();
    expect(output.data).toEqual(transcriptAfter(STEPS));

    const manager = await getCheckpointManager(store.store);
    const metas = [...(await store.store.list(taskId))].reverse();
    const formats = new Set<number>();
    let written = 0;
    for (const meta of metas) {
      const body = (await store.store.load(taskId, meta.checkpointId))?.body ?? '';
      const parsed = JSON.parse(body) as { v: number; state: { metadata: { lineage?: unknown } } };
      // The contexts' bytes: lineage waiting for its append (file store) rides along, not counted.
      const lineage = parsed.state.metadata.lineage;
      written += body.length - (lineage === undefined ? 0 : JSON.stringify(lineage).length);
      formats.add(parsed.v);
      const state = await manager.loadCheckpoint(taskId, meta.checkpointId);
      const main = (state?.snapshot as { context?: { lanes?: { main?: { data: unknown } } } })
        ?.context?.lanes?.main;
      // Checkpoint k + 1 holds the transcript of k lines (the first holds the input, the last
      // the output again).
      const lines = Math.min(meta.seq - 1, STEPS);
      expect(main?.data, `seq ${meta.seq}`).toEqual(transcriptAfter(lines));
      // Middle checkpoints (the plan is in the first and last only): about one splice's worth.
      if (meta.seq > 1 && meta.seq < metas.length) {
        expect(body.length, `seq ${meta.seq}`).toBeLessThan(MOST_CHARS);
      }
    }
    expect(formats.has(4)).toBe(true);
    const log = await store.store.readLog(taskId, 'contexts');
    written += log.reduce((sum, entry) => sum + entry.length, 0);
    // Every version written whole would be about STEPS² / 2 lines; here about 5× less is
    // written (the whole bases, written as the transcript doubles, weigh most at 80 steps).
    const everyVersion = (STEPS * (STEPS + 1) * LINE_CHARS) / 2;
    expect(written).toBeLessThan(everyVersion / 4);
  });

  it('a run stopped after a spliced checkpoint resumes in a new runtime and ends as a whole run does', async () => {
    store = await STORES[kind]();
    const calls: Calls = {};
    const count = (stepId: string) => {
      calls[stepId] = (calls[stepId] ?? 0) + 1;
    };
    const workflow = growingTranscript(STEPS, count);
    const first = createRuntime({ store: store.store, workflows: [workflow] });
    const taskId = newTaskId('grow-stop');
    await runUntilCheckpoint(first, workflow, taskId, 50);
    const manager = await getCheckpointManager(store.store);
    const latest = await manager.loadLatestCheckpoint(taskId);
    expect(latest?.checkpoint?.v).toBe(4);

    const reopened = await store.reopen();
    const second = createRuntime({ store: reopened, workflows: [workflow] });
    // A pause from a runtime that does not run the task splices the transcript again.
    await second.pause(taskId);
    const paused = (await reopened.latest(taskId))?.body ?? '';
    expect(JSON.parse(paused)).toMatchObject({ v: 4, status: 'paused' });
    expect(paused.length).toBeLessThan(MOST_CHARS);
    const output = await (await second.resume(taskId)).result;
    await second.close();
    expect(output.data).toEqual(transcriptAfter(STEPS));
    // Completed steps never ran again (the one in flight at the stop may have).
    const again = Object.entries(calls).filter(([, n]) => n > 1);
    expect(again.length).toBeLessThanOrEqual(1);
    expect(Object.keys(calls)).toHaveLength(STEPS);
    // The resumed run spliced from the base it read: its middle checkpoints stay small too.
    const resumedFrom = latest?.checkpoint?.seq ?? 0;
    const after = (await reopened.list(taskId)).filter(
      (meta) => meta.seq > resumedFrom && meta.seq < STEPS + 2,
    );
    expect(after.length).toBeGreaterThan(10);
    for (const meta of after) {
      const body = (await reopened.load(taskId, meta.checkpointId))?.body ?? '';
      expect(body.length, `seq ${meta.seq}`).toBeLessThan(MOST_CHARS);
    }
  });
});
