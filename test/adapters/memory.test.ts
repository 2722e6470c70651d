import { createMemoryStore } from 'mcp-orchestration/memory';
import { describeCheckpointStore } from '../conformance/checkpoint-store.conformance.js';

describeCheckpointStore('memory', {
  async create({ now, maxRecordBytes }) {
    const records = new Map<string, string>();
    const store = createMemoryStore({ now, maxRecordBytes, records });
    return {
      store,
      async corrupt(taskId, checkpointId) {
        records.set(`${taskId}/${checkpointId}`, '\u0000garbage{');
      },
      cleanup: () => store.close(),
    };
  },
});
