/**
 * Timing loops for the benchmark, with `process.hrtime`. A store and its floor are measured
 * interleaved (alternating calls for latency, alternating windows for throughput), so a change in
 * machine load during the run hits both sides of a ratio alike.
 */

/** Latency of one operation, in milliseconds. */
export interface LatencyStats {
  readonly median: number;
  readonly p99: number;
  readonly samples: number;
}

/** How long a latency measurement may run. */
export interface LatencyOptions {
  /**
   * Untimed calls of each operation first, taking turns (JIT, connections, script cache): at
   * least this many, and for at least {@link warmupMs}. Default: 20.
   */
  readonly warmup?: number;
  /**
   * Fewest milliseconds of warm-up. Default: 500. After only 20 calls, the first timed calls
   * still run cold (partly unoptimized code; both sides slower): a Redis save measured 1.44–1.78×
   * a `SET` over eight runs that way, and 1.29–1.40× over eleven with this warm-up.
   */
  readonly warmupMs?: number;
  /** Most timed calls of each operation. Default: 1000. */
  readonly maxSamples?: number;
  /** Stop after this many ms in all (once every operation has `minSamples`). Default: 3000. */
  readonly maxMs?: number;
  /** Fewest timed calls of each operation, whatever the time. Default: 200. */
  readonly minSamples?: number;
}

/** An operation to time: `i` counts its calls from 0. */
export type Operation = (i: number) => Promise<unknown>;

/** The median of `values` (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Fisher–Yates, in place; returns `items`. */
export function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

function percentile(sorted: readonly number[], p: number): number {
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[index] ?? Number.NaN;
}

/**
 * Times each operation one call at a time, taking turns (each round in a random order), and
 * reports the median and p99 duration of each, in the order given.
 */
export async function measureLatencies(
  ops: readonly Operation[],
  options: LatencyOptions = {},
): Promise<LatencyStats[]> {
  const warmup = options.warmup ?? 20;
  const warmupNs = BigInt(Math.round((options.warmupMs ?? 500) * 1e6));
  const maxSamples = options.maxSamples ?? 1000;
  const maxNs = BigInt(Math.round((options.maxMs ?? 3000) * 1e6));
  const minSamples = options.minSamples ?? 200;
  const calls = ops.map(() => 0);
  const samples: number[][] = ops.map(() => []);
  const warmupStart = process.hrtime.bigint();
  for (let w = 0; w < warmup || process.hrtime.bigint() - warmupStart < warmupNs; w++) {
    for (const [k, op] of ops.entries()) await op(calls[k]!++);
  }
  const start = process.hrtime.bigint();
  const order = ops.map((_, k) => k);
  for (let n = 0; n < maxSamples; n++) {
    // A new order each round: what runs just before an operation (garbage to collect, memory
    // for the server to free) measurably shifts its latency, so no operation always follows
    // the same one.
    shuffle(order);
    for (const k of order) {
      const before = process.hrtime.bigint();
      await ops[k]!(calls[k]!++);
      samples[k]!.push(Number(process.hrtime.bigint() - before) / 1e6);
    }
    if (n + 1 >= minSamples && process.hrtime.bigint() - start > maxNs) break;
  }
  return samples.map((list) => {
    const sorted = [...list].sort((a, b) => a - b);
    return {
      median: percentile(sorted, 0.5),
      p99: percentile(sorted, 0.99),
      samples: sorted.length,
    };
  });
}

/** A concurrent workload: `workers` loops, each calling `op(worker)` one call at a time. */
export interface Workload {
  readonly op: (worker: number) => Promise<unknown>;
  readonly workers: number;
  /** Operations one call performs (e.g. a pipeline of 100 SETs). Default: 1. */
  readonly batch?: number;
}

async function runWindow(workload: Workload, ms: number): Promise<{ ops: number; ns: bigint }> {
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(Math.round(ms * 1e6));
  const counts = await Promise.all(
    Array.from({ length: workload.workers }, async (_, worker) => {
      let done = 0;
      while (process.hrtime.bigint() < deadline) {
        await workload.op(worker);
        done += 1;
      }
      return done;
    }),
  );
  const ops = counts.reduce((a, b) => a + b, 0) * (workload.batch ?? 1);
  return { ops, ns: process.hrtime.bigint() - start };
}

/**
 * Operations per second of each workload, measured in alternating windows (`rounds` windows of
 * `windowMs` each, after one warm-up window per workload), in the order given.
 */
export async function measureThroughputs(
  workloads: readonly Workload[],
  options: { rounds?: number; windowMs?: number } = {},
): Promise<number[]> {
  const rounds = options.rounds ?? 4;
  const windowMs = options.windowMs ?? 500;
  for (const workload of workloads) await runWindow(workload, 200);
  const totals = workloads.map(() => ({ ops: 0, ns: 0n }));
  for (let r = 0; r < rounds; r++) {
    for (const [k, workload] of workloads.entries()) {
      const { ops, ns } = await runWindow(workload, windowMs);
      totals[k]!.ops += ops;
      totals[k]!.ns += ns;
    }
  }
  return totals.map(({ ops, ns }) => ops / (Number(ns) / 1e9));
}

/** The line prefix a child process of {@link runIsolated} prints its result after. */
const RESULT_PREFIX = 'BENCH-RESULT ';

/**
 * Runs `file` in a fresh Node process, with the flags of this one (the tsx loader,
 * `--conditions=source`) and `env` added to the environment, and returns the JSON it printed with
 * {@link printIsolatedResult}. A process of its own gives a measurement a heap and JIT state that
 * nothing else touched: no garbage left by what ran before, no code deoptimized by a collection
 * another measurement forced (see `runtime-overhead.ts`).
 */
export async function runIsolated<T>(file: string, env: Record<string, string>): Promise<T> {
  const { execFile } = await import('node:child_process');
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(
      process.execPath,
      [...process.execArgv, file],
      { env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024 },
      (error, out, err) =>
        error ? reject(new Error(`${file} failed: ${error.message}\n${err}`)) : resolve(out),
    );
  });
  const line = stdout.split('\n').findLast((text) => text.startsWith(RESULT_PREFIX));
  if (line === undefined) throw new Error(`${file} printed no result:\n${stdout}`);
  return JSON.parse(line.slice(RESULT_PREFIX.length)) as T;
}

/** Prints `result` for the parent of a {@link runIsolated} process. */
export function printIsolatedResult(result: unknown): void {
  console.log(`${RESULT_PREFIX}${JSON.stringify(result)}`);
}
