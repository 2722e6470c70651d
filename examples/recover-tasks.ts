/**
 * A worker that finds its tasks again after a crash, without knowing their ids: the store lists
 * its tasks (`runtime.listTasks`), `runtime.recover()` resumes every one left running or
 * suspended, and `runtime.purgeFinished` deletes finished ones past their retention. The worker
 * leases the tasks it runs (`lease: { owner }`), so workers sharing the store leave each other's
 * live tasks alone; coming back under the same owner, it takes its own back at once instead of
 * waiting for their leases to lapse. Uses a file store of its own, `recover-demo/` in the default
 * store's folder (`.mcp-orchestration/`), so that its purge touches no other task.
 *
 *   SIMULATE_CRASH=1 npx tsx --conditions=source examples/recover-tasks.ts   # starts 3 orders, dies
 *   npx tsx --conditions=source examples/recover-tasks.ts                    # recovers them
 */
import { join } from 'node:path';
import {
  type Context,
  createContext,
  createRuntime,
  defineWorkflow,
  getCheckpointManager,
} from 'mcp-orchestration';
import { createFileStore } from 'mcp-orchestration/file';

type Order = { order: string; steps: string[] };
const crash = process.env.SIMULATE_CRASH === '1';

/** A step that records itself in the order; `charge` of the orders after the first hangs on a crash run. */
function step(stepId: string) {
  return {
    stepId,
    run: (context: Context) => {
      const data = context.data as Order;
      if (crash && stepId === 'charge' && data.order !== 'order_1') {
        return new Promise<Context>(() => {}); // the process dies while this step is in flight
      }
      console.log(`  ${data.order}: ${stepId}`);
      return createContext('Order', { ...data, steps: [...data.steps, stepId] });
    },
  };
}

const fulfil = defineWorkflow({
  id: 'fulfil-order',
  version: '1',
  steps: [step('reserve'), step('charge'), step('ship')],
});

const directory = join(process.env.MCP_ORCHESTRATION_DIR ?? '.mcp-orchestration', 'recover-demo');
const store = createFileStore({ directory });
// A stable owner (in production: the host or pod name), the same before and after the crash.
const runtime = createRuntime({ store, workflows: [fulfil], lease: { owner: 'order-worker' } });
const orders = ['order_1', 'order_2', 'order_3'];

if (crash) {
  const manager = await getCheckpointManager(store);
  for (const taskId of orders) await manager.deleteTask(taskId); // a fresh demo each time
  console.log('Starting 3 orders');
  const runs = await Promise.all(
    orders.map((order) => runtime.start(fulfil, { order, steps: [] }, { taskId: order })),
  );
  await runs[0]?.result;
  // Wait until the other two have checkpointed their first step, then die.
  for (;;) {
    const listing = await runtime.listTasks();
    const reserved = listing.tasks.filter((task) => task.currentStepId === 'charge');
    if (reserved.length === 2) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  console.log('(simulated crash: the process dies with two orders in flight)');
  process.exit(137);
}

console.log('Tasks in the store:');
for (const task of (await runtime.listTasks()).tasks) {
  console.log(`  ${task.taskId}: ${task.status} at ${task.currentStepId ?? '-'}`);
}
const { resumed, failed, leased } = await runtime.recover();
console.log(`Recovered ${resumed.length}: ${resumed.map((run) => run.taskId).join(', ') || '-'}`);
for (const { taskId, owner } of leased) console.log(`  ${taskId} runs on ${owner}: left to it`);
for (const { taskId, error } of failed)
  console.log(`  could not recover ${taskId}: ${error.message}`);
for (const run of resumed) {
  const result = await run.result;
  console.log(`  ${run.taskId} done: ${(result.data as Order).steps.join(' → ')}`);
}
// A retention of 0 ms: every finished task goes (in production: days).
const { deleted } = await runtime.purgeFinished({ olderThanMs: 0 });
console.log(`Purged ${deleted.length} finished: ${deleted.join(', ') || '-'}`);
await runtime.close();
await store.close();
