import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type CheckpointStore,
  createContext,
  createRuntime,
  defineWorkflow,
  INSPECTION_LOG,
  isOrchestrationError,
  type Runtime,
} from 'mcp-orchestration';
import { createFileStore } from 'mcp-orchestration/file';
import { createMemoryStore } from 'mcp-orchestration/memory';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTempDir } from '../support/file-temp-dir.js';
import { rejectionOf } from '../support/rejection.js';
import { blockingWorkflow, type Calls, delay, newTaskId } from './helpers.js';

/**
 * A run held in one runtime whose task another runtime (on the same store) cancels, pauses or
 * deletes: the run ends, releases its lease and writes nothing; the other writer's checkpoint
 * (or deletion) stands. Real runtimes, real stores (memory: one store shared; file: two store
 * instances over one folder, as two processes have).
 */

const runtimes: Runtime[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const runtime of runtimes.splice(0)) await runtime.close();
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/** One store as two processes see it: the memory store shared, or two file stores on a folder. */
interface SharedStore {
  readonly store: CheckpointStore;
  readonly other: CheckpointStore;
  /** The names in the file store's `tasks/` folder (what is on disk); none for memory. */
  taskFolders(): Promise<string[]>;
}

async function sharedStore(kind: 'memory' | 'file'): Promise<SharedStore> {
  if (kind === 'memory') {
    const store = createMemoryStore();
    cleanups.push(() => store.close());
    return { store, other: store, taskFolders: async () => [] };
  }
  const temp = await makeTempDir('stopped-elsewhere');
  const store = await createFileStore({ directory: temp.dir });
  const other = await createFileStore({ directory: temp.dir });
  cleanups.push(async () => {
    await store.close();
    await other.close();
    await temp.remove();
  });
  return {
    store,
    other,
    taskFolders: () => readdir(join(temp.dir, 'tasks')).catch(() => []),
  };
}

/** Short enough to wait out, long enough that a loaded CI machine's stalls do not lapse a lease. */
const TTL = 1_000;

const waiting = defineWorkflow({
  id: 'waiting',
  version: '1',
  steps: [
    { stepId: 'wait', waitFor: { event: 'go' } },
    { stepId: 'after', run: () => createContext('After', { done: true }) },
  ],
});

/** Runtime A (holds the runs, with or without leases) and B (the other writer), one store. */
async function twoRuntimes(
  kind: 'memory' | 'file',
  lease: boolean,
): Promise<SharedStore & { a: Runtime; b: Runtime }> {
  const shared = await sharedStore(kind);
  const { store, other } = shared;
  const a = createRuntime({
    store,
    workflows: [waiting],
    ...(lease ? { lease: { owner: 'worker-a', ttlMs: TTL } } : {}),
  });
  const b = createRuntime({ store: other, workflows: [waiting] });
  runtimes.push(a, b);
  return { ...shared, a, b };
}

/** A sleep an hour long: a run in it writes nothing until then. */
const sleepy = defineWorkflow({
  id: 'sleepy',
  version: '1',
  steps: [
    { stepId: 'nap', sleep: { ms: 3_600_000 } },
    { stepId: 'after', run: () => createContext('After', { done: true }) },
  ],
});

/** A step whose first attempt fails, retried after an hour's backoff. */
const backingOff = defineWorkflow({
  id: 'backing-off',
  version: '1',
  steps: [
    {
      stepId: 'flaky',
      retry: { attempts: 2, backoff: { initialMs: 3_600_000, maxMs: 3_600_000, jitter: 0 } },
      run: (_context, _step, { attempt }) => {
        if (attempt === 1) throw new Error('not yet');
        return createContext('Done', { done: true });
      },
    },
  ],
});

/** A group whose one region sleeps an hour while the other waits for `go`. */
const sleepBesideWait = defineWorkflow({
  id: 'sleep-beside-wait',
  version: '1',
  steps: [
    {
      stepId: 'both',
      parallel: {
        nap: [{ stepId: 'nap', sleep: { ms: 3_600_000 } }],
        wait: [{ stepId: 'wait', waitFor: { event: 'go' } }],
      },
    },
  ],
});

function codeOf(error: unknown): string | undefined {
  return isOrchestrationError(error) ? error.code : String(error);
}

describe.each(['memory', 'file'] as const)('a run stopped elsewhere (%s store)', (kind) => {
  it('with leases: ends as cancelled when another runtime cancels its suspended task, releases its lease and writes nothing', async () => {
    const { a, b, store } = await twoRuntimes(kind, true);
    const taskId = newTaskId('cancelled');
    const run = await a.start(waiting, { n: 1 }, { taskId });
    expect((await a.status(taskId))?.status).toBe('suspended');
    await b.cancel(taskId);
    const head = await store.head(taskId);
    // No call on A: its lease renewal finds the cancel.
    expect(codeOf(await rejectionOf(run.result))).toBe('WORKFLOW_CANCELLED');
    await expect.poll(() => store.readLease(taskId)).toBeUndefined();
    expect(await store.head(taskId)).toBe(head);
    expect((await store.latest(taskId))?.checkpointId).toBe((await b.status(taskId))?.checkpointId);
    const status = await a.status(taskId);
    expect(status?.status).toBe('cancelled');
    expect(status?.live).toBe(false);
    // A purges it now like any finished task.
    expect((await a.purgeFinished({ olderThanMs: 0 })).deleted).toEqual([taskId]);
  });

  it('with leases: ends as paused when another runtime pauses it, so that one can resume it', async () => {
    const { a, b, store } = await twoRuntimes(kind, true);
    const taskId = newTaskId('paused');
    const run = await a.start(waiting, { n: 1 }, { taskId });
    await b.pause(taskId);
    expect(codeOf(await rejectionOf(run.result))).toBe('WORKFLOW_PAUSED');
    await expect.poll(() => store.readLease(taskId)).toBeUndefined();
    expect((await a.status(taskId))?.status).toBe('paused');
    const resumed = await b.resume(taskId);
    await b.send(taskId, { type: 'go' });
    expect((await resumed.result).data).toEqual({ done: true });
  });

  it('with leases: ends with TASK_NOT_FOUND when another writer deletes its task, and never brings it back', async () => {
    const { a, b, store, other, taskFolders } = await twoRuntimes(kind, true);
    const taskId = newTaskId('deleted');
    const run = await a.start(waiting, { n: 1 }, { taskId });
    const claimed = await store.readLease(taskId);
    expect(claimed).toMatchObject({ owner: 'worker-a' });
    // Deleted just after a renewal has landed, not while one is in flight (a deletion between a
    // renewal's check and its claim is the one case the store's contract cannot rule out).
    await expect
      .poll(async () => (await store.readLease(taskId))?.expiresAt)
      .not.toBe(claimed?.expiresAt);
    expect(await other.deleteTask(taskId)).toBe(true);
    expect(codeOf(await rejectionOf(run.result))).toBe('TASK_NOT_FOUND');
    expect(await a.status(taskId)).toBeUndefined();
    expect(await b.status(taskId)).toBeUndefined();
    // Its lease is neither renewed nor claimed again: nothing of the task is in the store.
    expect(await store.readLease(taskId)).toBeUndefined();
    expect(await store.head(taskId)).toBe(0);
    expect(await store.listTasks()).toEqual([]);
    expect(await taskFolders()).toEqual([]);
    await a.close();
    expect(await store.readLease(taskId)).toBeUndefined();
    expect(await taskFolders()).toEqual([]);
  });

  it('with leases: many suspended runs cancelled and purged elsewhere all end, and none comes back', async () => {
    const { a, b, store } = await twoRuntimes(kind, true);
    const ids = Array.from({ length: 20 }, () => newTaskId('many'));
    const results = [];
    for (const taskId of ids) results.push((await a.start(waiting, {}, { taskId })).result);
    for (const taskId of ids) await b.cancel(taskId);
    // Purged by B at once, whether A has seen the cancels yet or not.
    await b.purgeFinished({ olderThanMs: 0 });
    const codes = await Promise.all(results.map((result) => rejectionOf(result).then(codeOf)));
    for (const code of codes) expect(['WORKFLOW_CANCELLED', 'TASK_NOT_FOUND']).toContain(code);
    await b.purgeFinished({ olderThanMs: 0 }); // any cancelled before A saw it, purged after
    await expect.poll(() => store.listTasks()).toEqual([]);
    for (const taskId of ids) expect(await a.status(taskId)).toBeUndefined();
    for (const taskId of ids) await expect.poll(() => store.readLease(taskId)).toBeUndefined();
  });

  it('without leases: purgeFinished sees a suspended run cancelled elsewhere, ends it and purges the task', async () => {
    const { a, b } = await twoRuntimes(kind, false);
    const taskId = newTaskId('purged');
    const run = await a.start(waiting, {}, { taskId });
    await b.cancel(taskId);
    expect((await a.purgeFinished({ olderThanMs: 0 })).deleted).toEqual([taskId]);
    expect(codeOf(await rejectionOf(run.result))).toBe('WORKFLOW_CANCELLED');
    expect(await a.status(taskId)).toBeUndefined();
  });

  it('without leases: status and send see a task deleted elsewhere', async () => {
    const { a, other } = await twoRuntimes(kind, false);
    const viaStatus = newTaskId('status');
    const viaSend = newTaskId('send');
    const first = await a.start(waiting, {}, { taskId: viaStatus });
    const second = await a.start(waiting, {}, { taskId: viaSend });
    await other.deleteTask(viaStatus);
    await other.deleteTask(viaSend);
    expect(await a.status(viaStatus)).toBeUndefined();
    expect(codeOf(await rejectionOf(first.result))).toBe('TASK_NOT_FOUND');
    expect(codeOf(await rejectionOf(a.send(viaSend, { type: 'go' })))).toBe('TASK_NOT_FOUND');
    expect(codeOf(await rejectionOf(second.result))).toBe('TASK_NOT_FOUND');
    // A start of the same id begins a new task.
    const again = await a.start(waiting, {}, { taskId: viaStatus });
    await a.send(viaStatus, { type: 'go' });
    expect((await again.result).data).toEqual({ done: true });
  });

  it('with leases: a run in a durable sleep ends as paused at its next renewal when another runtime pauses it', async () => {
    const { store, other } = await sharedStore(kind);
    const a = createRuntime({
      store,
      workflows: [sleepy],
      lease: { owner: 'worker-a', ttlMs: TTL },
    });
    const b = createRuntime({ store: other, workflows: [sleepy] });
    runtimes.push(a, b);
    const taskId = newTaskId('napping');
    const run = await a.start(sleepy, { n: 1 }, { taskId });
    expect(run.status()).toMatchObject({ status: 'running', currentStepId: 'nap' });
    await b.pause(taskId);
    const head = await store.head(taskId);
    // No call on A, and the sleep is an hour away: its lease renewal finds the pause.
    expect(codeOf(await rejectionOf(run.result))).toBe('WORKFLOW_PAUSED');
    await expect.poll(() => store.readLease(taskId)).toBeUndefined();
    expect(await store.head(taskId)).toBe(head);
    expect((await a.status(taskId))?.status).toBe('paused');
    // So B can resume it: the sleep goes on, to the deadline it had.
    const resumed = await b.resume(taskId);
    expect(resumed.status()).toMatchObject({ status: 'running', currentStepId: 'nap' });
    await b.cancel(taskId);
    expect(codeOf(await rejectionOf(resumed.result))).toBe('WORKFLOW_CANCELLED');
  });

  it("with leases: a run in a retry's backoff ends as cancelled at its next renewal when another runtime cancels it", async () => {
    const { store, other } = await sharedStore(kind);
    const a = createRuntime({
      store,
      workflows: [backingOff],
      lease: { owner: 'worker-a', ttlMs: TTL },
    });
    const b = createRuntime({ store: other, workflows: [backingOff] });
    runtimes.push(a, b);
    const taskId = newTaskId('backoff');
    const run = await a.start(backingOff, { n: 1 }, { taskId });
    // The first attempt failed: the backoff's deadline is checkpointed, an hour away.
    await expect.poll(() => store.head(taskId)).toBe(2);
    await b.cancel(taskId);
    expect(codeOf(await rejectionOf(run.result))).toBe('WORKFLOW_CANCELLED');
    await expect.poll(() => store.readLease(taskId)).toBeUndefined();
    expect(await store.head(taskId)).toBe(3);
    expect((await a.status(taskId))?.status).toBe('cancelled');
  });

  it('with leases: a sleep beside a wait, paused elsewhere, ends at the next renewal too', async () => {
    const { store, other } = await sharedStore(kind);
    const a = createRuntime({
      store,
      workflows: [sleepBesideWait],
      lease: { owner: 'worker-a', ttlMs: TTL },
    });
    const b = createRuntime({ store: other, workflows: [sleepBesideWait] });
    runtimes.push(a, b);
    const taskId = newTaskId('nap-wait');
    const run = await a.start(sleepBesideWait, { n: 1 }, { taskId });
    expect(run.status()).toMatchObject({ status: 'running', waitingFor: ['go'] });
    await b.pause(taskId);
    expect(codeOf(await rejectionOf(run.result))).toBe('WORKFLOW_PAUSED');
    await expect.poll(() => store.readLease(taskId)).toBeUndefined();
  });

  it('without leases: status and purgeFinished see a sleeping run stopped elsewhere', async () => {
    const { store, other } = await sharedStore(kind);
    const a = createRuntime({ store, workflows: [sleepy] });
    const b = createRuntime({ store: other, workflows: [sleepy] });
    runtimes.push(a, b);
    const paused = newTaskId('nap-status');
    const cancelled = newTaskId('nap-purge');
    const first = await a.start(sleepy, {}, { taskId: paused });
    const second = await a.start(sleepy, {}, { taskId: cancelled });
    await b.pause(paused);
    await b.cancel(cancelled);
    expect((await a.status(paused))?.status).toBe('paused');
    expect(codeOf(await rejectionOf(first.result))).toBe('WORKFLOW_PAUSED');
    expect((await a.purgeFinished({ olderThanMs: 0 })).deleted).toEqual([cancelled]);
    expect(codeOf(await rejectionOf(second.result))).toBe('WORKFLOW_CANCELLED');
  });

  it('with leases: a run with a step in flight is not read at renewals; it finds a pause at its next write', async () => {
    const { store, other } = await sharedStore(kind);
    const calls: Calls = {};
    const { workflow, release } = blockingWorkflow(calls);
    const a = createRuntime({
      store,
      workflows: [workflow],
      lease: { owner: 'worker-a', ttlMs: TTL },
    });
    const b = createRuntime({ store: other, workflows: [workflow] });
    runtimes.push(a, b);
    const taskId = newTaskId('in-flight');
    const run = await a.start(workflow, { n: 1 }, { taskId });
    await expect.poll(async () => (await a.status(taskId))?.currentStepId).toBe('second');
    await b.pause(taskId);
    // Several renewals later the run still holds its task, its step in flight.
    await delay(TTL * 1.5);
    expect(run.status()).toMatchObject({ status: 'running', live: true });
    expect(await store.readLease(taskId)).toMatchObject({ owner: 'worker-a' });
    release();
    expect(codeOf(await rejectionOf(run.result))).toBe('WORKFLOW_PAUSED');
    await expect.poll(() => store.readLease(taskId)).toBeUndefined();
  });

  it('a running run whose task was deleted meanwhile ends with TASK_NOT_FOUND at its next write', async () => {
    const { a, other } = await twoRuntimes(kind, false);
    const calls: Calls = {};
    const { workflow, release } = blockingWorkflow(calls);
    const taskId = newTaskId('running');
    const run = await a.start(workflow, { n: 1 }, { taskId });
    await expect.poll(async () => (await a.status(taskId))?.currentStepId).toBe('second');
    await other.deleteTask(taskId);
    release();
    expect(codeOf(await rejectionOf(run.result))).toBe('TASK_NOT_FOUND');
    expect(await other.head(taskId)).toBe(0);
  });
});

describe('a resume that fails after its actor was created (record: true)', () => {
  it('closes the recording session it opened', async () => {
    const store = createMemoryStore();
    const v1 = defineWorkflow({
      id: 'changing',
      version: '1',
      steps: [
        { stepId: 'w', waitFor: { event: 'go' } },
        { stepId: 'a', run: () => createContext('A', {}) },
      ],
    });
    // The same version with other states: the checkpoint cannot be restored.
    const changed = defineWorkflow({
      id: 'changing',
      version: '1',
      steps: [
        { stepId: 'x', waitFor: { event: 'go' } },
        { stepId: 'y', run: () => createContext('A', {}) },
      ],
    });
    const first = createRuntime({ store, workflows: [v1] });
    await first.start(v1, {}, { taskId: 'mismatched' });
    await first.close();
    const second = createRuntime({ store, workflows: [changed], record: true });
    runtimes.push(second);
    const error = await rejectionOf(second.resume('mismatched'));
    expect(codeOf(error)).toBe('WORKFLOW_MISMATCH');
    await second.close();
    const kinds = (await store.readLog('mismatched', INSPECTION_LOG)).map(
      (line) => (JSON.parse(line) as { kind: string }).kind,
    );
    expect(kinds[0]).toBe('session');
    expect(kinds.at(-1)).toBe('end');
    expect(kinds.filter((kind) => kind === 'session')).toHaveLength(1);
  });
});
