import { pathToFileURL } from 'node:url';
import {
  CheckpointManager,
  type Context,
  createContext,
  createRuntime,
  defineWorkflow,
} from 'mcp-orchestration';
import { createMemoryStore } from 'mcp-orchestration/memory';
import { type Row, renderTable } from './table.js';

/**
 * Bytes a checkpoint writes while a parallel group runs, with contexts stored once (format 2)
 * against the same checkpoint with every copy (what format 1 wrote: the checkpoint read back and
 * serialized whole). The workflow: a step making a context of `input` bytes, then a group of
 * `regions` regions of two steps each (region r's steps take r + 1 ms), then a last step. Each
 * region's lane and each region's step in flight hold the group's input until the region's first
 * step is done. Memory store; bytes are the record bodies' UTF-16 lengths (ASCII here: bytes).
 *
 * Standalone: `npx tsx --conditions=source test/bench/shared-contexts.ts`.
 */

const INPUTS = [1_024, 20 * 1_024, 100 * 1_024];
const REGIONS = [3, 8];

function fanOut(inputBytes: number, regions: number) {
  const step = (stepId: string, ms: number) => ({
    stepId,
    run: async () => {
      await new Promise((resolve) => setTimeout(resolve, ms));
      return createContext('Finding', { stepId });
    },
  });
  return defineWorkflow({
    id: 'bench-shared',
    version: '1',
    steps: [
      { stepId: 'input', run: () => createContext('Doc', { text: 'x'.repeat(inputBytes) }) },
      {
        stepId: 'group',
        parallel: Object.fromEntries(
          Array.from({ length: regions }, (_, r) => [
            `r${r}`,
            [step(`r${r}a`, r + 1), step(`r${r}b`, 1)],
          ]),
        ),
      },
      { stepId: 'last', run: (context: Context) => createContext('Report', context.data) },
    ],
  });
}

/** Stored and whole bytes of each checkpoint written while the group ran. */
async function measure(inputBytes: number, regions: number) {
  const store = createMemoryStore();
  const runtime = createRuntime({ store });
  const taskId = `shared-${inputBytes}-${regions}`;
  await (await runtime.start(fanOut(inputBytes, regions), {}, { taskId })).result;
  await runtime.close();
  const manager = new CheckpointManager(store);
  let stored = 0;
  let whole = 0;
  let count = 0;
  let largestWhole = 0;
  let largestStored = 0;
  for (const meta of await store.list(taskId)) {
    const record = await store.load(taskId, meta.checkpointId);
    const state = await manager.loadCheckpoint(taskId, meta.checkpointId);
    if (record === undefined || state === undefined) throw new Error('checkpoint vanished');
    const lanes = Object.keys(
      (state.snapshot as { context?: { lanes?: object } }).context?.lanes ?? {},
    );
    if (!lanes.some((lane) => lane.startsWith('group.'))) continue;
    const { checkpoint: _info, ...rest } = state;
    const { shared: _shared, state: _state, ...envelope } = JSON.parse(record.body);
    const wholeBytes = JSON.stringify({ ...envelope, v: 1, state: rest }).length;
    stored += record.body.length;
    whole += wholeBytes;
    count += 1;
    largestStored = Math.max(largestStored, record.body.length);
    largestWhole = Math.max(largestWhole, wholeBytes);
  }
  await store.close();
  return {
    count,
    stored: stored / count,
    whole: whole / count,
    largestStored,
    largestWhole,
  };
}

const kb = (bytes: number) => `${(bytes / 1_024).toFixed(1)} KB`;

/** Prints the table; returns its rows. */
export async function runSharedContextsBench(
  log: (line: string) => void = (line) => console.log(line),
): Promise<Row[]> {
  const rows: Row[] = [];
  for (const regions of REGIONS) {
    for (const input of INPUTS) {
      const { count, stored, whole, largestStored, largestWhole } = await measure(input, regions);
      rows.push([
        kb(input),
        String(regions),
        String(count),
        kb(stored),
        kb(whole),
        `${(whole / stored).toFixed(1)}×`,
        `${kb(largestStored)} / ${kb(largestWhole)}`,
      ]);
    }
  }
  log('\ncheckpoint bytes while a parallel group runs: contexts stored once vs every copy');
  log(
    renderTable(
      [
        'group input',
        'regions',
        'checkpoints',
        'stored (avg)',
        'every copy (avg)',
        'saved',
        'largest: stored / every copy',
      ],
      rows,
    ),
  );
  log(
    '- every copy: the same checkpoint read back and serialized whole, as format 1 wrote it; memory store',
  );
  return rows;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runSharedContextsBench();
}
