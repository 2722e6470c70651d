import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeCheckpointStore } from '../conformance/checkpoint-store.conformance.js';
import {
  clusterKeysUnder,
  openClusterStore,
  redisServerAvailable,
  startTestCluster,
  type TestCluster,
} from '../support/redis-cluster.js';

// The Redis store through an ioredis `Cluster` of three masters: the whole conformance suite,
// then what only a cluster shows (tasks in different slots and nodes, one lane per task).
describe.skipIf(!redisServerAvailable)('redis store on a Redis Cluster', () => {
  let cluster: TestCluster | undefined;
  const running = () => {
    if (cluster === undefined) throw new Error('the test cluster did not start');
    return cluster;
  };
  beforeAll(async () => {
    cluster = await startTestCluster();
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  describeCheckpointStore('redis-cluster', {
    create: (options) => openClusterStore(running(), options),
  });

  it('saves many tasks at once across the nodes, each task in order', async () => {
    const { store, client, prefix, cleanup } = await openClusterStore(running());
    try {
      const tasks = Array.from({ length: 40 }, (_, t) => `task-${t}`);
      const seqs = await Promise.all(
        tasks.map(async (taskId) => {
          const saved: number[] = [];
          // Five saves per task, all issued at once: each expects the one before it.
          const saves = Array.from({ length: 5 }, (_, i) =>
            store.save(
              { taskId, checkpointId: `cp-${i}`, createdAt: Date.now(), body: `${taskId} ${i}` },
              { expectedSeq: i },
            ),
          );
          for (const save of saves) saved.push((await save).seq);
          return saved;
        }),
      );
      expect(seqs).toEqual(tasks.map(() => [1, 2, 3, 4, 5]));
      for (const taskId of tasks) {
        expect((await store.latest(taskId))?.body).toBe(`${taskId} 4`);
        expect((await store.list(taskId)).map((meta) => meta.seq)).toEqual([5, 4, 3, 2, 1]);
      }
      // The tasks' keys are spread over more than one master.
      const holding = await Promise.all(
        client.nodes('master').map(async (node) => {
          const [, keys] = await node.scan('0', 'MATCH', `${prefix}*`, 'COUNT', 10_000);
          return keys.length;
        }),
      );
      expect(holding.filter((count) => count > 0).length).toBeGreaterThan(1);
      for (const taskId of tasks) expect(await store.deleteTask(taskId)).toBe(true);
      expect(await clusterKeysUnder(client, prefix)).toEqual([]);
    } finally {
      await cleanup();
    }
  });
});
