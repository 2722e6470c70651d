import { createIndexedDbStore } from 'mcp-orchestration/indexeddb';

/**
 * A second browsing context for `indexeddb.contexts.browser.test.ts`: a dedicated worker with its
 * own event loop and its own IndexedDB connection, standing in for another tab. It saves what it
 * is told to and reports each outcome.
 */
export interface WriterJob {
  readonly dbName: string;
  readonly taskId: string;
  readonly ids: readonly string[];
  readonly expectedSeq?: number;
}

/** One save's outcome: the sequence number, or the error code. */
export type WriterOutcome = { id: string; seq: number } | { id: string; code: string };

self.onmessage = async (event: MessageEvent<WriterJob>) => {
  const { dbName, taskId, ids, expectedSeq } = event.data;
  const store = createIndexedDbStore({ dbName });
  const outcomes = await Promise.all(
    ids.map(
      (id): Promise<WriterOutcome> =>
        store
          .save(
            { taskId, checkpointId: id, createdAt: Date.now(), body: `written by a worker: ${id}` },
            { expectedSeq },
          )
          .then(
            ({ seq }) => ({ id, seq }),
            (error: unknown) => ({ id, code: (error as { code?: string }).code ?? String(error) }),
          ),
    ),
  );
  await store.close();
  self.postMessage(outcomes);
};
