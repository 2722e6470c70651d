import { describeCheckpointStore } from '../conformance/checkpoint-store.conformance.js';
import { describeRedis, openRedisStore } from '../support/redis.js';

describeRedis('redis', () => {
  describeCheckpointStore('redis', { create: (options) => openRedisStore(options) });
});
