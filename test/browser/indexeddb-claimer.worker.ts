import type { LeaseClaim } from 'mcp-orchestration';
import { createIndexedDbStore } from 'mcp-orchestration/indexeddb';

/**
 * A second browsing context for `indexeddb.contexts.browser.test.ts`, like the writer worker: a
 * dedicated worker with its own IndexedDB connection that claims a task's lease for each owner
 * it is told of, all at once, and reports each claim.
 */
export interface ClaimerJob {
  readonly dbName: string;
  readonly taskId: string;
  readonly owners: readonly string[];
  readonly ttlMs: number;
}

self.onmessage = async (event: MessageEvent<ClaimerJob>) => {
  const { dbName, taskId, owners, ttlMs } = event.data;
  const store = createIndexedDbStore({ dbName });
  const claims: LeaseClaim[] = await Promise.all(
    owners.map((owner) => store.claimLease(taskId, owner, ttlMs)),
  );
  await store.close();
  self.postMessage(claims);
};
