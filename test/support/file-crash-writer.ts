/**
 * Child process of the crash test: saves large records to one task in a loop, appends a batch of
 * three log entries after each, and prunes with deleteOld now and then, until it is killed.
 * Usage: file-crash-writer.ts <directory> <taskId> <writer name> <body bytes>
 */
import { createFileStore } from 'mcp-orchestration/file';
import { waitForGo } from './file-child-process.js';
import { crashBody } from './file-crash-body.js';

const [directory, taskId, writer, bytes] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
];
const store = createFileStore({ directory, lockTimeoutMs: 5_000 });
process.stdout.write('ready\n');
await waitForGo();
for (let i = 0; ; i++) {
  const checkpointId = `${writer}-${i}`;
  const { seq } = await store.save({
    taskId,
    checkpointId,
    createdAt: Date.now(),
    body: crashBody(checkpointId, Number(bytes)),
  });
  await store.appendLog(taskId, 'lineage', [
    `${checkpointId}:a`,
    `${checkpointId}:b`,
    `${checkpointId}:c`,
  ]);
  if (i % 4 === 3) await store.deleteOld(taskId, 6);
  process.stdout.write(`saved ${checkpointId} ${seq}\n`);
}
