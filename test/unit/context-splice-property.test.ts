import { CheckpointManager, type Context, createContext } from 'mcp-orchestration';
import { createMemoryStore } from 'mcp-orchestration/memory';
import { describe, expect, it } from 'vitest';
import { saveRuntimeCheckpoint } from '../../src/checkpoint/checkpoint-manager.js';
import { ContextLogWriter } from '../../src/checkpoint/stored-contexts.js';

/** A small deterministic PRNG (mulberry32), so a failure can be replayed from its seed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Any run of checkpoints whose contexts grow, shrink, stay, drift or change type, with appends
// landing at any moment, reads back exactly: each checkpoint's contexts as they were saved.
describe('contexts stored, shared and spliced: property', () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    it(`every checkpoint reads back as saved (seed ${seed})`, async () => {
      const next = random(seed);
      const pick = <T>(items: readonly T[]) => items[Math.floor(next() * items.length)] as T;
      const text = (n: number) =>
        Array.from({ length: n }, () => pick(['a', 'é', '"', '\\', '😀', ' ', 'z', '\n'])).join('');
      const store = createMemoryStore();
      const manager = new CheckpointManager(store);
      const taskId = `prop-${seed}`;
      const log = new ContextLogWriter(store, taskId, manager.contextsLog);
      let lanes: Record<string, Context> = {
        a: createContext('Talk', { lines: [] as string[] }),
        b: createContext('Talk', { lines: [] as string[] }),
      };
      const saved: { id: string; lanes: Record<string, Context> }[] = [];
      for (let seq = 0; seq < 250; seq++) {
        const changed: Record<string, Context> = {};
        for (const [lane, context] of Object.entries(lanes)) {
          const lines = (context.data as { lines: string[] }).lines;
          const roll = next();
          const type = next() < 0.05 ? pick(['Talk', 'Notes']) : context.contextType;
          if (roll < 0.6) {
            const more = Array.from({ length: 1 + Math.floor(next() * 3) }, () =>
              text(20 + Math.floor(next() * 400)),
            );
            changed[lane] = createContext(type, { lines: [...lines, ...more] });
          } else if (roll < 0.7) {
            changed[lane] = createContext(type, { lines: lines.slice(0, -1) }); // shrinks
          } else if (roll < 0.75) {
            changed[lane] = createContext(type, { lines: [text(3_000)] }); // drifts
          } else {
            changed[lane] = context; // outlives the checkpoint
          }
        }
        lanes = changed;
        // Two places for one context now and then (a group's input, say).
        const context = next() < 0.2 ? { lanes, also: lanes.a } : { lanes };
        const id = await saveRuntimeCheckpoint(
          manager,
          {
            taskId,
            plan: [],
            completed: undefined,
            status: 'running',
            currentStepIndex: seq,
            metadata: {},
            machine: { id: 'prop', version: '1' },
            snapshot: { status: 'active', context } as never,
          },
          { expectedSeq: seq },
          log,
        );
        saved.push({ id, lanes });
        if (next() < 0.5) await log.settled(); // else appends land later, or meanwhile
      }
      await log.settled();
      const formats = new Set<number>();
      for (const { id, lanes: expected } of saved) {
        const state = await manager.loadCheckpoint(taskId, id);
        formats.add(state?.checkpoint?.v ?? 0);
        const read = (state?.snapshot as unknown as { context: { lanes: object } } | undefined)
          ?.context;
        expect(read?.lanes, id).toEqual(expected);
      }
      // The run went through every format (1 to 4).
      expect([...formats].sort()).toEqual([1, 2, 3, 4]);
    });
  }
});
