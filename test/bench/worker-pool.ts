import { loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import {
  type Context,
  createContext,
  defineWorkerPool,
  type RouterHandle,
  startRouter,
} from 'mcp-orchestration';
import { Bench } from 'tinybench';
import { type Row, renderTable } from './table.js';

/**
 * Issue 5, "Scale and speed": end-to-end contexts per second through a worker pool of 4 workers
 * under the router actor (`startRouter(...).getWorkerPool(id).submit(context)`: router machine →
 * pool machine → worker actor → back, the result checked as a context), next to calling the
 * same trivial handler directly. Three loads: 16 contexts submitted at once (4 per worker: the
 * pool kept busy, the goal's row), `batch` at once (the queue holds them), and one at a time
 * (latency). The pool's overhead per context is the difference per context between the pool and
 * the direct calls under the same load.
 *
 * Standalone: `npx tsx --conditions=source test/bench/worker-pool.ts`.
 */

/** Options of {@link runWorkerPoolBench}. */
export interface WorkerPoolBenchOptions {
  /** Contexts submitted at once in the large-batch row. Default: 256. */
  readonly batch?: number;
  /** Time per measured cell, ms. Default: 1,500. */
  readonly timeMs?: number;
  /** Where the table goes, line by line. Default: `console.log`. */
  readonly log?: (line: string) => void;
}

/** One measured load. */
export interface WorkerPoolBenchCell {
  readonly load: string;
  /** Contexts in flight at once. */
  readonly inFlight: number;
  /** Median µs per context, through the pool and direct. */
  readonly poolMicros: number;
  readonly directMicros: number;
}

/** The goal: the pool's overhead under 50 µs per context. */
export const POOL_OVERHEAD_GOAL_MICROS = 50;

/** The trivial handler: a new context from the input's data. */
function handler(context: Context): Context {
  return createContext('Echo', context.data);
}

const num = (n: number) => Math.round(n).toLocaleString('en-US');
const micros = (n: number) => n.toFixed(n < 10 ? 2 : 1);

async function medianMicros(
  time: number,
  perIteration: number,
  run: () => Promise<unknown>,
): Promise<number> {
  const bench = new Bench({ time, warmupTime: 300 });
  bench.add('run', run);
  await bench.run();
  const result = bench.getTask('run')?.result;
  if (result === undefined || !('latency' in result)) throw new Error('the bench did not run');
  return (result.latency.p50 * 1000) / perIteration;
}

/** Measures the pool against direct calls and prints the table; returns the cells. */
export async function runWorkerPoolBench(
  options: WorkerPoolBenchOptions = {},
): Promise<WorkerPoolBenchCell[]> {
  const batch = options.batch ?? 256;
  const time = options.timeMs ?? 1500;
  const log = options.log ?? console.log;
  const loadAtStart = loadavg()
    .map((l) => l.toFixed(2))
    .join(' / ');
  // Room for more than one batch: tinybench may start a call before the previous one settled.
  const pool = defineWorkerPool({ id: 'bench_pool', size: 4, queueLimit: batch * 4, handler });
  const router: RouterHandle = startRouter({ targets: [pool] });
  const { submit } = router.getWorkerPool('bench_pool');
  const contexts = Array.from({ length: batch }, (_, n) =>
    createContext('Job', { n, body: 'x'.repeat(100) }),
  );
  const direct = (context: Context) => Promise.resolve().then(() => handler(context));
  const first = contexts[0] as Context;

  const batched = async (inFlight: number): Promise<WorkerPoolBenchCell> => {
    const some = contexts.slice(0, inFlight);
    return {
      load: `${num(inFlight)} submitted at once`,
      inFlight,
      poolMicros: await medianMicros(time, inFlight, () => Promise.all(some.map((c) => submit(c)))),
      directMicros: await medianMicros(time, inFlight, () => Promise.all(some.map(direct))),
    };
  };
  const cells: WorkerPoolBenchCell[] = [];
  for (const inFlight of [...new Set([16, batch])]) cells.push(await batched(inFlight));
  cells.push({
    load: 'one at a time',
    inFlight: 1,
    poolMicros: await medianMicros(time, 1, () => submit(first)),
    directMicros: await medianMicros(time, 1, () => direct(first)),
  });
  router.stop();

  const rows: Row[] = cells.map((c) => [
    c.load,
    micros(c.poolMicros),
    num(1e6 / c.poolMicros),
    micros(c.directMicros),
    num(1e6 / c.directMicros),
    micros(c.poolMicros - c.directMicros),
  ]);
  log(
    'Worker pool of 4 under the router actor, trivial handler (createContext from the input data)',
  );
  log(
    renderTable(
      [
        'load',
        'pool µs/context',
        'pool contexts/s',
        'direct µs/context',
        'direct contexts/s',
        'overhead µs/context',
      ],
      rows,
    ),
  );
  log('');
  log(
    `- load average (1/5/15 min) at start ${loadAtStart}, at end ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' / ')}`,
  );
  const overheads = cells.map((c) => `${micros(c.poolMicros - c.directMicros)} µs at ${c.load}`);
  const busy = cells[0] as WorkerPoolBenchCell; // 16 in flight: 4 per worker, the pool kept busy
  const overhead = busy.poolMicros - busy.directMicros;
  log(
    `goal: pool overhead under ${POOL_OVERHEAD_GOAL_MICROS} µs per context (pool kept busy, 16 in flight): ${overhead < POOL_OVERHEAD_GOAL_MICROS ? 'met' : 'MISSED'} (${overheads.join('; ')})`,
  );
  const large = cells.find((c) => c.inFlight === batch && c !== busy);
  if (large !== undefined) {
    const growth = (large.poolMicros - large.directMicros) / overhead;
    log(
      `growth: the overhead per context at ${num(batch)} in flight is ${growth.toFixed(2)}× the one at 16 in flight (no per-request copies: it should stay near 1×)`,
    );
  }
  return cells;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runWorkerPoolBench();
}
