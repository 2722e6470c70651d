import { loadavg } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  CheckpointManager,
  type Context,
  ContextFlowManager,
  createContext,
  createRuntime,
  defineWorkflow,
  type Workflow,
} from 'mcp-orchestration';
import { createMemoryStore } from 'mcp-orchestration/memory';
import { createActor, toPromise } from 'xstate';
import { CheckpointWriter } from '../../src/runtime/checkpoint-writer.js';
import { RunTracker } from '../../src/runtime/run-tracker.js';
import { indexSteps, type StepIndex } from '../../src/runtime/workflow-progress.js';
import { type Row, renderTable } from './table.js';
import { median, printIsolatedResult, runIsolated, shuffle } from './timing.js';

/**
 * Where the memory store's overhead goes (issue 4's goal: memory-store checkpointing ≤ +30% over
 * the bare machine). The refs workflow of `runtime-steps.ts` (N steps, each returning a context
 * with a 200-byte item and the previous context's id) is run by five drivers, each doing what the
 * one before it does and more:
 * 1. `bare`: the machine alone, ungated (the baseline of `runtime-steps.ts`);
 * 2. `gate`: the machine gated; at each commit gate its persisted snapshot is serialized
 *    (`JSON.stringify`) and saved to a memory store as a conditional write, then
 *    `workflow.committed` is sent when the save lands: the least a checkpoint at every step can
 *    do on this design;
 * 3. `tracked`: 2, and the runtime's `RunTracker` reads every snapshot: step events, and one
 *    lineage transition logged into a `ContextFlowManager` per new context;
 * 4. `writer`: 3, but each checkpoint is written by the runtime's `CheckpointWriter`: the
 *    checkpoint's state and envelope, its checks, a checkpoint id, and the lineage appended to the
 *    store's log (the transitions not yet appended ride in the checkpoint);
 * 5. `runtime`: `createRuntime({ store: createMemoryStore() })`, what `runtime-steps.ts` measures.
 * And for reference, `barrier`: 2 without the gate. The machine runs ungated; each snapshot with
 * a new lane context (a step done, the next one started) is saved as in 2, and each step's `run`
 * first waits for the last save, so no step starts before the previous one's result is saved:
 * the guarantee of the gate, without its event (and its second snapshot per step).
 *
 * How it is timed: each driver runs in a Node process of its own (`runIsolated`), is warmed up
 * for {@link WARM_MS} (about seven runs; the JIT needs five or so to settle), then timed over
 * consecutive runs for {@link MEASURE_MS}: wall time ÷ steps, garbage collections included as
 * they come. Drivers take turns in a random order each round; a row's time is the median over
 * rounds, and "over bare" the median of the ratios to bare within each round. No collection is
 * forced: a forced full collection (`gc()`) deoptimizes code that refers to objects it frees and
 * shrinks the heap, and for many runs afterwards the runtime ran about 40% slower per step (1,000
 * steps: 188 µs against 134 without) and the bare machine about 15% (102 against 89), so the
 * 2026-11-24 numbers of this bench, taken with `gc()` before each sample in one process, showed
 * that state rather than a process that keeps running workflows.
 *
 * Standalone: `npx tsx --conditions=source test/bench/runtime-overhead.ts` (`BENCH_STEPS=1000`,
 * `BENCH_ROUNDS=5`).
 */

const DRIVERS = ['bare', 'gate', 'tracked', 'writer', 'runtime', 'barrier'] as const;
type Driver = (typeof DRIVERS)[number];

const WHAT: Record<Driver, string> = {
  bare: 'the machine alone, ungated',
  gate: '+ a gate per step, snapshot JSON saved to the memory store',
  tracked: '+ RunTracker: step events, lineage logged',
  writer: "+ the runtime's CheckpointWriter (state, envelope, checks, lineage appended)",
  runtime: 'createRuntime (run bookkeeping, queue, statuses)',
  barrier: 'reference: 2 without the gate, each step waiting for the last save',
};

/** Untimed runs of a driver first, for at least this long (ms). */
export const WARM_MS = 1_200;
/** Then timed runs for at least this long (ms). */
export const MEASURE_MS = 2_000;
/** The goal of issue 4: memory-store checkpointing adds at most this much over the bare machine. */
const GOAL_OVER_BARE = 0.3;

/** Options of {@link runRuntimeOverheadBench}. */
export interface RuntimeOverheadOptions {
  /** Steps of the workflow. Default: 1,000. */
  readonly steps?: number;
  /** Processes per driver (rounds). Default: 5. */
  readonly rounds?: number;
  /** Where the table goes, line by line. Default: `console.log`. */
  readonly log?: (line: string) => void;
}

/** One row of the result. */
export interface OverheadRow {
  readonly driver: Driver;
  /** Median time per step, µs. */
  readonly microsPerStep: number;
  /** Median over rounds of this driver's time ÷ bare's, minus 1. */
  readonly overBare: number;
}

/** The save the `barrier` driver's next step waits for (runs are made one at a time). */
let barrier: Promise<unknown> = Promise.resolve();

/** The refs workflow; `behindBarrier`: each step's run first waits for {@link barrier}. */
function refsWorkflow(n: number, behindBarrier: boolean): Workflow {
  const item = (i: number, context: Context) =>
    createContext('Item', { item: `item-${i}:`.padEnd(200, 'x'), prev: context.contextId });
  return defineWorkflow({
    id: 'overhead-refs',
    version: '1',
    steps: Array.from({ length: n }, (_, i) => ({
      stepId: `s${i}`,
      run: behindBarrier
        ? (context: Context) => barrier.then(() => item(i, context))
        : (context: Context) => item(i, context),
    })),
  });
}

/** The workflows the drivers run. */
interface Workflows {
  readonly plain: Workflow;
  readonly behindBarrier: Workflow;
  readonly index: StepIndex;
}

let taskCounter = 0;

/** One run of `workflow` by `driver`, start to output. */
async function runOnce(driver: Driver, workflows: Workflows): Promise<void> {
  const { index } = workflows;
  const workflow = driver === 'barrier' ? workflows.behindBarrier : workflows.plain;
  const taskId = `overhead-${taskCounter++}`;
  const input = createContext('Item', { item: null, prev: null });
  if (driver === 'runtime') {
    const runtime = createRuntime({ store: createMemoryStore() });
    const run = await runtime.start(workflow, input, { taskId });
    await run.result;
    await runtime.close();
    return;
  }
  const actor = createActor(workflow.machine, {
    input: { taskId, input, gated: driver !== 'bare' && driver !== 'barrier' },
  });
  let fail: (error: unknown) => void = () => {};
  const failed = new Promise<never>((_, reject) => {
    fail = reject;
  });
  const done = Promise.race([toPromise(actor), failed]);
  if (driver !== 'bare') {
    const store = createMemoryStore();
    const flow = new ContextFlowManager({ workflowId: taskId });
    const tracker = new RunTracker(taskId, index, flow, () => {});
    const writer = new CheckpointWriter(new CheckpointManager(store), taskId, flow, () => {});
    const commit = () => actor.send({ type: 'workflow.committed' });
    let seq = 0;
    const save = () =>
      store
        .save(
          {
            taskId,
            checkpointId: `c-${seq}`,
            createdAt: Date.now(),
            body: JSON.stringify(actor.getPersistedSnapshot()),
          },
          { expectedSeq: seq },
        )
        .then(() => {
          seq += 1;
        });
    let lanes: unknown;
    barrier = Promise.resolve();
    actor.subscribe((snapshot) => {
      if (driver === 'barrier') {
        if (snapshot.status !== 'active' || snapshot.context.lanes === lanes) return;
        lanes = snapshot.context.lanes;
        barrier = save();
        barrier.catch(fail);
        return;
      }
      if (driver !== 'gate') tracker.observe(snapshot);
      if (snapshot.status !== 'active' || !snapshot.hasTag('checkpoint')) return;
      if (driver === 'writer') {
        writer
          .write({
            taskId,
            workflow,
            status: 'running',
            currentStepIndex: tracker.currentIndex,
            currentStepId: tracker.currentId,
            completed: undefined,
            waitingFor: [],
            extra: {},
            snapshot: actor.getPersistedSnapshot(),
          })
          .then(commit, fail);
        return;
      }
      save().then(commit, fail);
    });
  }
  actor.start();
  const output = await done.finally(() => actor.stop());
  if (typeof output !== 'object' || output === null || !('contextId' in output)) {
    throw new Error(`${driver}: the workflow did not complete`);
  }
}

/** In a process of its own: warms `driver` up, then times it; µs per step. */
async function timeDriver(driver: Driver, steps: number): Promise<number> {
  const plain = refsWorkflow(steps, false);
  const workflows: Workflows = {
    plain,
    behindBarrier: refsWorkflow(steps, true),
    index: indexSteps(plain.steps, plain.plan),
  };
  const warmEnd = performance.now() + WARM_MS;
  do await runOnce(driver, workflows);
  while (performance.now() < warmEnd);
  let runs = 0;
  const t0 = performance.now();
  do {
    await runOnce(driver, workflows);
    runs += 1;
  } while (performance.now() - t0 < MEASURE_MS);
  return ((performance.now() - t0) * 1000) / (runs * steps);
}

/** Times each driver in turns, each in a process of its own, and prints the table; returns its rows. */
export async function runRuntimeOverheadBench(
  options: RuntimeOverheadOptions = {},
): Promise<OverheadRow[]> {
  const steps = options.steps ?? 1_000;
  const rounds = options.rounds ?? 5;
  const log = options.log ?? ((line: string) => console.log(line));
  const loadAtStart = loadavg().map((l) => l.toFixed(2));
  const samples = new Map<Driver, number[]>(DRIVERS.map((d) => [d, []]));
  const ratios = new Map<Driver, number[]>(DRIVERS.map((d) => [d, []]));
  const file = fileURLToPath(import.meta.url);
  for (let round = 0; round < rounds; round++) {
    const got = new Map<Driver, number>();
    for (const driver of shuffle([...DRIVERS])) {
      const { microsPerStep } = await runIsolated<{ microsPerStep: number }>(file, {
        OVERHEAD_DRIVER: driver,
        BENCH_STEPS: String(steps),
      });
      got.set(driver, microsPerStep);
    }
    const bare = got.get('bare')!;
    for (const [driver, micros] of got) {
      samples.get(driver)!.push(micros);
      ratios.get(driver)!.push(micros / bare);
    }
  }
  const rows = DRIVERS.map((driver) => ({
    driver,
    microsPerStep: median(samples.get(driver)!),
    overBare: median(ratios.get(driver)!) - 1,
  }));
  const pct = (x: number) => `${x >= 0 ? '+' : ''}${Math.round(x * 100)}%`;
  const gate = rows.find((row) => row.driver === 'gate')!;
  const table: Row[] = rows.map((row, i) => {
    // The reference row compares with the gate; the others with the row above.
    const reference = row.driver === 'barrier';
    const added = reference
      ? `${pct(row.overBare - gate.overBare)} vs 2`
      : pct(row.overBare - (rows[i - 1]?.overBare ?? 0));
    return [
      reference ? `ref. ${row.driver}` : `${i + 1}. ${row.driver}`,
      WHAT[row.driver],
      `${row.microsPerStep.toFixed(1)} µs`,
      i === 0 ? '—' : pct(row.overBare),
      i === 0 ? '—' : added,
    ];
  });
  log(
    `\nwhere the memory store's overhead goes: refs workflow, N = ${steps.toLocaleString('en-US')}`,
  );
  log(renderTable(['driver', 'does', 'per step', 'over bare', 'added'], table));
  log(
    `- rows 2–5 each do what the row above does and more; each driver in a process of its own, warmed up ${WARM_MS} ms, then timed ${MEASURE_MS} ms (no collection forced); per step: median of ${rounds} rounds, drivers taking turns; over bare: median of same-round ratios`,
  );
  log(
    `- load average (1/5/15 min) at start ${loadAtStart.join(' ')}, at end ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  const runtime = rows.find((row) => row.driver === 'runtime')!;
  const range = ratios.get('runtime')!.map((ratio) => ratio - 1);
  log(
    `- goal (issue 4): memory-store checkpointing ≤ ${pct(GOAL_OVER_BARE)} over the bare machine: ${pct(runtime.overBare)} (rounds ${pct(Math.min(...range))} to ${pct(Math.max(...range))}): ${runtime.overBare <= GOAL_OVER_BARE ? 'MET' : 'MISSED'}`,
  );
  return rows;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const steps = Number(process.env.BENCH_STEPS ?? 1_000);
  const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
  if (!Number.isInteger(steps) || steps < 1 || !Number.isInteger(rounds) || rounds < 1) {
    throw new Error('BENCH_STEPS and BENCH_ROUNDS: positive integers');
  }
  const driver = process.env.OVERHEAD_DRIVER;
  if (driver === undefined) await runRuntimeOverheadBench({ steps, rounds });
  else if ((DRIVERS as readonly string[]).includes(driver)) {
    printIsolatedResult({ microsPerStep: await timeDriver(driver as Driver, steps) });
  } else throw new Error(`OVERHEAD_DRIVER: one of ${DRIVERS.join(', ')}`);
}
