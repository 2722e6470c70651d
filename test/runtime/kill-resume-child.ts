/**
 * Child process of the kill-and-resume test: runs (or resumes, when the task has checkpoints)
 * the 50-step workflow of `killResumeWorkflow` on the file or Redis store, appending every step
 * invocation to a log file before the step does anything. Prints `checkpoint <seq>` per saved
 * checkpoint and `result <JSON data>` at the end, then exits 0.
 * Usage: kill-resume-child.ts <file|redis> <directory|redis key prefix> <taskId> <invocation log>
 */
import { appendFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { type CheckpointStore, createRuntime } from 'mcp-orchestration';
import { createFileStore } from 'mcp-orchestration/file';
import { createRedisStore } from 'mcp-orchestration/redis';
import { killResumeWorkflow } from './kill-resume-workflow.js';

const [kind, location, taskId, invocations] = process.argv.slice(2) as [
  'file' | 'redis',
  string,
  string,
  string,
];
let redis: Redis | undefined;
let store: CheckpointStore;
if (kind === 'redis') {
  redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  store = createRedisStore({ client: redis, prefix: location });
} else {
  store = createFileStore({ directory: location });
}
const workflow = killResumeWorkflow((stepId) => appendFileSync(invocations, `${stepId}\n`));
const runtime = createRuntime({ store, workflows: [workflow] });
runtime.subscribe((event) => {
  if (event.type === 'checkpoint.saved') process.stdout.write(`checkpoint ${event.seq}\n`);
});
const run = await runtime.start(workflow, { items: [] }, { taskId, ifExists: 'resume' });
const output = await run.result;
process.stdout.write(`result ${JSON.stringify(output.data)}\n`);
await store.close();
redis?.disconnect();
process.exit(0);
