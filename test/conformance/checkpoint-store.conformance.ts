import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appendOnSaveCases } from './cases/append-on-save.cases.js';
import { leaseCases } from './cases/leases.cases.js';
import { listingCases } from './cases/listing.cases.js';
import { logCases } from './cases/logs.cases.js';
import { recordCases } from './cases/records.cases.js';
import { taskCases } from './cases/tasks.cases.js';
import { ttlCases } from './cases/ttl.cases.js';
import { validationCases } from './cases/validation.cases.js';
import { writeCases } from './cases/writes.cases.js';
import type { ConformanceHarness, StoreUnderTest } from './harness.js';
import { createFakeClock, type FakeClock, type SuiteContext } from './suite-context.js';

export type { ConformanceHarness, HarnessStoreOptions, StoreUnderTest } from './harness.js';

/** Options of {@link describeCheckpointStore}. */
export interface ConformanceOptions {
  /**
   * Tests this adapter is known to fail, by exact title, each with the reason. They are
   * reported as skipped with the reason; a title that names no test fails the suite's test
   * `knownGaps name tests of the suite`. Default: none.
   */
  readonly knownGaps?: Readonly<Record<string, string>>;
  /** Timeout of the heavy tests (200 concurrent saves, the large body), in ms. Default: 30000. */
  readonly slowTimeout?: number;
  /** Size of the large body round-tripped, in UTF-8 bytes. Default: 5 MiB. */
  readonly largeBodyBytes?: number;
}

/**
 * Declares the `CheckpointStore` conformance suite for one adapter: every guarantee of the
 * contract's JSDoc, each test on fresh stores from `harness.create` (with a fake clock that
 * starts at the real `Date.now()` and only moves forward), cleaned up after.
 *
 * @example
 * ```ts
 * import { createMemoryStore } from 'mcp-orchestration/memory';
 * import { describeCheckpointStore } from '../conformance/checkpoint-store.conformance.js';
 *
 * describeCheckpointStore('memory', {
 *   async create({ now, maxRecordBytes }) {
 *     const records = new Map<string, string>();
 *     const store = createMemoryStore({ now, maxRecordBytes, records });
 *     return {
 *       store,
 *       corrupt: async (taskId, checkpointId) => void records.set(`${taskId}/${checkpointId}`, '!'),
 *       cleanup: () => store.close(),
 *     };
 *   },
 * });
 * ```
 */
export function describeCheckpointStore(
  name: string,
  harness: ConformanceHarness,
  options: ConformanceOptions = {},
): void {
  const knownGaps = options.knownGaps ?? {};
  const titles = new Set<string>();
  let clock: FakeClock | undefined;
  let opened: StoreUnderTest[] = [];

  const ctx: SuiteContext = {
    slowTimeout: options.slowTimeout ?? 30_000,
    clock() {
      if (clock === undefined) throw new Error('the clock exists only while a test runs');
      return clock;
    },
    async open(storeOptions = {}) {
      const under = await harness.create({ now: ctx.clock().now, ...storeOptions });
      opened.push(under);
      return under;
    },
    test(title, fn, timeout) {
      if (titles.has(title)) throw new Error(`duplicate conformance test title: ${title}`);
      titles.add(title);
      const gap = knownGaps[title];
      if (gap !== undefined) it.skip(`${title} [known gap: ${gap}]`, fn);
      else it(title, fn, timeout);
    },
  };

  describe(`CheckpointStore conformance: ${name}`, () => {
    beforeEach(() => {
      clock = createFakeClock();
      opened = [];
    });
    afterEach(async () => {
      const toClean = opened;
      opened = [];
      clock = undefined;
      await Promise.all(toClean.map((under) => under.cleanup()));
    });

    describe('records', () => recordCases(ctx));
    describe('TTL', () => ttlCases(ctx));
    describe('conditional writes', () => writeCases(ctx));
    describe('validation and integrity', () =>
      validationCases(ctx, { largeBodyBytes: options.largeBodyBytes ?? 5 * 1024 * 1024 }));
    describe('logs', () => logCases(ctx));
    describe('logs appended on save', () => appendOnSaveCases(ctx));
    describe('tasks and isolation', () => taskCases(ctx));
    describe('listing tasks', () => listingCases(ctx));
    describe('leases', () => leaseCases(ctx));

    // A test, not a check here: vitest collects the groups above only after this body returns.
    it('knownGaps name tests of the suite', () => {
      const unknown = Object.keys(knownGaps).filter((title) => !titles.has(title));
      expect(unknown, 'knownGaps that name no conformance test').toEqual([]);
    });
  });
}
