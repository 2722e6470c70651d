/**
 * Child process of the race test: until the task's head reaches <target>, reads the head and saves
 * with `expectedSeq` = that head. Prints one JSON line: the seqs it won and how many conflicts it
 * lost; any other error fails it (exit code 1).
 * Usage: file-race-writer.ts <directory> <taskId> <writer name> <target>
 */

import { isOrchestrationError } from 'mcp-orchestration';
import { createFileStore } from 'mcp-orchestration/file';
import { waitForGo } from './file-child-process.js';

const [directory, taskId, writer, target] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
];
const store = createFileStore({ directory, lockTimeoutMs: 10_000 });
const won: number[] = [];
let conflicts = 0;
process.stdout.write('ready\n');
await waitForGo();
for (let attempt = 0; ; attempt++) {
  const head = await store.head(taskId);
  if (head >= Number(target)) break;
  try {
    const checkpointId = `${writer}-${attempt}`;
    const { seq } = await store.save(
      { taskId, checkpointId, createdAt: Date.now(), body: `{"by":"${writer}","head":${head}}` },
      { expectedSeq: head },
    );
    won.push(seq);
  } catch (error) {
    if (!isOrchestrationError(error, 'CHECKPOINT_CONFLICT')) throw error;
    conflicts++;
  }
}
await store.close();
process.stdout.write(`${JSON.stringify({ writer, won, conflicts })}\n`);
