import type { CheckpointStore } from 'mcp-orchestration';

/**
 * What an adapter's test file gives the conformance suite (`describeCheckpointStore`).
 * Each call of `create` returns a fresh, empty store isolated from every other one (its own
 * Redis key prefix, directory or IndexedDB database), so tests can run in parallel.
 */
export interface ConformanceHarness {
  create(options: HarnessStoreOptions): Promise<StoreUnderTest>;
}

/** Passed to every store the suite creates. */
export interface HarnessStoreOptions {
  /**
   * The clock for TTL decisions. The suite's fake clock starts at the real `Date.now()`, only
   * moves forward, and its TTLs are minutes long, so a backend's own expiry (Redis `PEXPIREAT`,
   * in real time) never fires before the store's clock says a record expired.
   */
  now: () => number;
  /** The record size bound to configure, when the test needs a small one. */
  maxRecordBytes?: number;
}

/** A store under test and the backdoors the suite needs. */
export interface StoreUnderTest {
  store: CheckpointStore;
  /** Overwrites the stored bytes of an existing record with garbage, directly in the backend. */
  corrupt(taskId: string, checkpointId: string): Promise<void>;
  /**
   * Makes the (absent) log `name` of `taskId` hold exactly `entries`, written directly in the
   * backend past the store's checks (its size bound), as a store with a larger bound would.
   */
  plantLog(taskId: string, name: string, entries: readonly string[]): Promise<void>;
  /** Deletes everything this store wrote and closes it (and its client, if the harness made one). */
  cleanup(): Promise<void>;
}
