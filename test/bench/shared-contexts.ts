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
 * Bytes written while a parallel group runs: its checkpoints, which hold each context once
 * (format 2) or name it in the task's contexts log once it has been in two checkpoints (format
 * 3), plus what that log gets, against the same checkpoints with every copy (what format 1
 * wrote: each checkpoint read back and serialized whole). The workflow: a step making a context
 * of `input` bytes, then a group of `regions` regions of two steps each (region r's steps take
 * r + 1 ms), then a last step. The main lane holds the group's input while the group runs, and
 * each region's lane and step in flight hold it until the region's first step is done. Memory
 * store; bytes are the record bodies' and log entries' UTF-16 lengths (ASCII here: bytes).
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
  const logBytes = (await store.readLog(taskId, 'contexts')).reduce((n, e) => n + e.length, 0);
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
    logBytes,
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
      const measured = await measure(input, regions);
      const { count, stored, whole, logBytes, largestStored, largestWhole } = measured;
      rows.push([
        kb(input),
        String(regions),
        String(count),
        kb(stored),
        kb(logBytes),
        kb(whole),
        `${((whole * count) / (stored * count + logBytes)).toFixed(1)}×`,
        `${kb(largestStored)} / ${kb(largestWhole)}`,
      ]);
    }
  }
  log('\nbytes written while a parallel group runs: contexts stored once vs every copy');
  log(
    renderTable(
      [
        'group input',
        'regions',
        'checkpoints',
        'checkpoint (avg)',
        'contexts log',
        'every copy (avg)',
        'saved (all bytes)',
        'largest: checkpoint / every copy',
      ],
      rows,
    ),
  );
  log(
    "- every copy: the same checkpoint read back and serialized whole, as format 1 wrote it; saved: the group's checkpoints with every copy ÷ (its checkpoints + the contexts log); memory store",
  );
  return rows;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runSharedContextsBench();
}
