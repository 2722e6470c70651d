import {
  type CheckpointStore,
  isOrchestrationError,
  type NewCheckpointRecord,
  type OrchestrationErrorByCode,
  type OrchestrationErrorCode,
} from 'mcp-orchestration';
import { expect } from 'vitest';
import type { StoreUnderTest } from './harness.js';

/** The suite's clock: starts at the real `Date.now()` and only moves forward. */
export interface FakeClock {
  now(): number;
  /** Moves the clock forward by `ms` (≥ 0). */
  advance(ms: number): void;
}

/** A fresh {@link FakeClock}. */
export function createFakeClock(): FakeClock {
  let time = Date.now();
  return {
    now: () => time,
    advance(ms: number) {
      if (!(ms >= 0)) throw new RangeError('the fake clock only moves forward');
      time += ms;
    },
  };
}

/** What every case group gets from `describeCheckpointStore`. */
export interface SuiteContext {
  /** Declares a test; skipped (with its reason) when the adapter lists it as a known gap. */
  test(title: string, fn: () => Promise<void>, timeout?: number): void;
  /** Opens a fresh, empty store for the running test; closed and cleaned up after it. */
  open(options?: { maxRecordBytes?: number }): Promise<StoreUnderTest>;
  /** The running test's clock (the one its stores were given). */
  clock(): FakeClock;
  /** Timeout for the heavy tests (bursts, 5 MB bodies), in ms. */
  readonly slowTimeout: number;
}

/** A new record for `save`, created now by the running test's clock. */
export function newRecord(
  ctx: SuiteContext,
  taskId: string,
  checkpointId: string,
  fields: { body?: string; ttlMs?: number } = {},
): NewCheckpointRecord {
  const createdAt = ctx.clock().now();
  return {
    taskId,
    checkpointId,
    createdAt,
    ...(fields.ttlMs === undefined ? {} : { expiresAt: createdAt + fields.ttlMs }),
    body: fields.body ?? `{"checkpoint":${JSON.stringify(checkpointId)}}`,
  };
}

/** Saves `count` records `cp-1`…`cp-<count>` in order; returns their ids. */
export async function saveMany(
  ctx: SuiteContext,
  store: CheckpointStore,
  taskId: string,
  count: number,
  fields: { ttlMs?: number } = {},
): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 1; i <= count; i++) {
    const id = `cp-${i}`;
    await store.save(newRecord(ctx, taskId, id, fields));
    ids.push(id);
  }
  return ids;
}

/** The error `fn` throws or rejects with; fails the test when it succeeds. */
export async function failureOf(fn: () => unknown): Promise<unknown> {
  try {
    await fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected the operation to fail, but it succeeded');
}

/** Asserts that `fn` fails with an `OrchestrationError` of `code`, and returns the error. */
export async function expectCode<C extends OrchestrationErrorCode>(
  fn: () => unknown,
  code: C,
): Promise<OrchestrationErrorByCode[C]> {
  const error = await failureOf(fn);
  if (!isOrchestrationError(error, code)) {
    expect.fail(`expected an OrchestrationError ${code}, got ${String(error)}`);
  }
  return error;
}

/** The ids of a task's live records, newest first. */
export async function listedIds(store: CheckpointStore, taskId: string): Promise<string[]> {
  return (await store.list(taskId)).map((meta) => meta.checkpointId);
}
