/**
 * Child process of the lease test: a worker on a file store with leases (`owner`, `ttlMs`).
 * `start`: starts a chain workflow of 20 steps as task `job` (worker-a hangs in its step a03) and prints `checkpoint <seq>` per saved
 * checkpoint, then `result <JSON data>`. `recover`: runs `runtime.recover()`, prints
 * `recovered <ids>` and `leased <task>:<owner>…`, then `result <JSON data>` of each resumed run.
 * Every step invocation is appended to `<invocation log>` as `<owner> <stepId>` before it runs.
 * Usage: lease-worker-child.ts <directory> <owner> <ttlMs> <start|recover> <invocation log>
 */
import { appendFileSync } from 'node:fs';
import { createRuntime } from 'mcp-orchestration';
import { createFileStore } from 'mcp-orchestration/file';
import { chainWorkflow } from './chain-workflow.js';

const [directory, owner, ttlMs, mode, invocations] = process.argv.slice(2) as [
  string,
  string,
  string,
  'start' | 'recover',
  string,
];
const workflow = chainWorkflow({
  before: 10,
  regions: 2,
  perRegion: 2,
  after: 6,
  onRun: (stepId) => appendFileSync(invocations, `${owner} ${stepId}\n`),
  // worker-a never gets past a03 (it is killed there); everyone else's steps take 20 ms.
  ms: (stepId) => (owner === 'worker-a' && stepId === 'a03' ? 600_000 : 20),
});
const store = createFileStore({ directory });
const runtime = createRuntime({
  store,
  workflows: [workflow],
  lease: { owner, ttlMs: Number(ttlMs) },
});
runtime.subscribe((event) => {
  if (event.type === 'checkpoint.saved') process.stdout.write(`checkpoint ${event.seq}\n`);
});
const runs =
  mode === 'start'
    ? [await runtime.start(workflow, { items: [] }, { taskId: 'job' })]
    : await runtime.recover().then(({ resumed, leased }) => {
        process.stdout.write(`recovered ${resumed.map((run) => run.taskId).join(',')}\n`);
        process.stdout.write(`leased ${leased.map((l) => `${l.taskId}:${l.owner}`).join(',')}\n`);
        return resumed;
      });
for (const run of runs) {
  const output = await run.result;
  process.stdout.write(`result ${JSON.stringify(output.data)}\n`);
}
await runtime.close();
await store.close();
process.exit(0);
