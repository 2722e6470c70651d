import { randomBytes } from 'node:crypto';
import { cpus } from 'node:os';
import type { CheckpointStore } from 'mcp-orchestration';
import { type Row, renderTable } from './table.js';
import { type BenchTarget, CONCURRENT_WORKFLOWS, TARGETS } from './targets.js';
import {
  type LatencyStats,
  measureLatencies,
  measureThroughputs,
  type Workload,
} from './timing.js';

/**
 * `npm run bench`: checkpoint-store latency and throughput per adapter, next to the raw floor of
 * the same backend measured in the same run. Adapters whose module (or server) is missing are
 * skipped with a message. Set REDIS_URL for another Redis. `BENCH_STORES=redis,file` (or the
 * same names as arguments) measures only those adapters.
 */

const SIZES = [
  { label: '1 KB', bytes: 1024 },
  { label: '100 KB', bytes: 100 * 1024 },
] as const;

/** A JSON body of exactly `bytes` bytes, like a serialized checkpoint envelope. */
function bodyOf(bytes: number): string {
  const head = '{"v":1,"snapshot":{"blob":"';
  const tail = '"}}';
  const filler = randomBytes(bytes)
    .toString('base64url')
    .slice(0, bytes - head.length - tail.length);
  return head + filler + tail;
}

/** A sequential, conditional saver for one task (what one workflow does). */
function saver(store: CheckpointStore, taskId: string, body: string): () => Promise<unknown> {
  let head = 0;
  let n = 0;
  return async () => {
    const { seq } = await store.save(
      { taskId, checkpointId: `cp-${n++}`, createdAt: Date.now(), body },
      { expectedSeq: head },
    );
    head = seq;
  };
}

const ms = (value: number) =>
  value < 1 ? value.toFixed(3) : value < 10 ? value.toFixed(2) : value.toFixed(1);
const perSecond = (value: number) => Math.round(value).toLocaleString('en-US');
const ratio = (value: number) => `${value.toFixed(2)}×`;

interface Results {
  readonly rows: Row[];
  readonly goals: string[];
}

async function benchTarget(
  target: BenchTarget,
  taskIds: string[],
  results: Results,
): Promise<void> {
  const { store, floor } = target;
  const latencyRow = (what: string, mine: LatencyStats, floorName: string, raw?: LatencyStats) => {
    results.rows.push([
      target.name,
      what,
      `${ms(mine.median)} / ${ms(mine.p99)} ms`,
      raw ? `${floorName}: ${ms(raw.median)} / ${ms(raw.p99)} ms` : '—',
      raw ? ratio(mine.median / raw.median) : '—',
    ]);
  };
  let redisSave1k: [LatencyStats, LatencyStats] | undefined;
  for (const size of SIZES) {
    const body = bodyOf(size.bytes);
    const taskId = `lat-${size.bytes}`;
    taskIds.push(taskId);
    // Like the store, which keeps every record, the floor writes a new key each time.
    const floorKey = (i: number) => `raw-${size.bytes}-${i}`;
    const save = saver(store, taskId, body);
    const [saveStats, rawWrite] = await measureLatencies(
      floor ? [save, (i) => floor.writeOnce(floorKey(i), body)] : [save],
    );
    latencyRow(`save ${size.label}`, saveStats!, `${floor?.write} ${size.label}`, rawWrite);
    if (target.name === 'redis' && size.bytes === 1024 && rawWrite) {
      redisSave1k = [saveStats!, rawWrite];
    }
    const latest = () => store.latest(taskId);
    const [latestStats, rawRead] = await measureLatencies(
      floor ? [latest, () => floor.readOnce(floorKey(0))] : [latest],
    );
    latencyRow(`latest ${size.label}`, latestStats!, `${floor?.read} ${size.label}`, rawRead);
  }

  const body = bodyOf(1024);
  const workflows = Array.from({ length: CONCURRENT_WORKFLOWS }, (_, w) => {
    const taskId = `wf-${w}`;
    taskIds.push(taskId);
    return saver(target.concurrentStore, taskId, body);
  });
  const workloads: Workload[] = [
    { op: (w) => (workflows[w] as () => Promise<unknown>)(), workers: CONCURRENT_WORKFLOWS },
  ];
  if (floor) {
    workloads.push({
      op: (w) => floor.concurrentOnce(w, body),
      workers: floor.workers,
      batch: floor.batch,
    });
  }
  const rewrite = floor?.rewrite;
  if (rewrite) {
    workloads.push({ op: () => rewrite.once(body), workers: 1, batch: floor.batch });
  }
  const [saves, rawSaves, rewriteSaves] = await measureThroughputs(workloads);
  results.rows.push([
    target.name,
    `saves/s, ${CONCURRENT_WORKFLOWS} workflows, 1 KB`,
    perSecond(saves!),
    rawSaves === undefined ? '—' : `${floor?.concurrent}: ${perSecond(rawSaves)}/s`,
    rawSaves === undefined ? '—' : ratio(rawSaves / saves!),
  ]);
  if (rewrite && rewriteSaves !== undefined) {
    results.rows.push([
      target.name,
      '(reference) the same, floor rewriting keys',
      perSecond(saves!),
      `${rewrite.name}: ${perSecond(rewriteSaves)}/s`,
      ratio(rewriteSaves / saves!),
    ]);
  }

  if (target.name === 'redis' && redisSave1k && rawSaves !== undefined) {
    const [mine, raw] = redisSave1k;
    const latency = mine.median / raw.median;
    const throughput = rawSaves / saves!;
    results.goals.push(
      `redis save 1 KB within 1.5× of one raw SET round trip: ${ratio(latency)} → ${latency <= 1.5 ? 'MET' : 'NOT MET'}`,
      `redis concurrent saves within 2× of raw pipelined SET throughput: ${ratio(throughput)} slower → ${throughput <= 2 ? 'MET' : 'NOT MET'}`,
    );
  }
}

async function main(): Promise<void> {
  const started = process.hrtime.bigint();
  console.log(
    `checkpoint-store benchmark — node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'} ×${cpus().length}`,
  );
  const results: Results = { rows: [], goals: [] };
  const notes: string[] = [];
  const only = [...process.argv.slice(2), ...(process.env.BENCH_STORES ?? '').split(',')]
    .map((name) => name.trim())
    .filter((name) => name !== '');
  for (const { name, create } of TARGETS) {
    if (only.length > 0 && !only.includes(name)) continue;
    const target = await create();
    if (typeof target === 'string') {
      console.log(`skipped: ${target}`);
      continue;
    }
    process.stdout.write(`measuring ${target.name}… `);
    const taskIds: string[] = [];
    const t0 = process.hrtime.bigint();
    try {
      await benchTarget(target, taskIds, results);
      notes.push(...target.notes);
    } finally {
      await target.cleanup(taskIds);
    }
    console.log(`${(Number(process.hrtime.bigint() - t0) / 1e9).toFixed(1)} s`);
  }
  console.log();
  console.log(
    renderTable(
      ['adapter', 'operation', 'store (median / p99)', 'floor: raw op (median / p99)', 'ratio'],
      results.rows,
    ),
  );
  console.log(
    '\nratio: store median ÷ floor median (latency), floor ÷ store (throughput); lower is better.',
  );
  for (const note of notes) console.log(`- ${note}`);
  if (results.goals.length > 0)
    console.log(`\ngoals:\n${results.goals.map((g) => `- ${g}`).join('\n')}`);
  console.log(`\ntotal ${(Number(process.hrtime.bigint() - started) / 1e9).toFixed(1)} s`);
}

await main();
