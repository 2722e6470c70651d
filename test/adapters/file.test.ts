import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createFileStore } from 'mcp-orchestration/file';
import { describeCheckpointStore } from '../conformance/checkpoint-store.conformance.js';
import { makeTempDir } from '../support/file-temp-dir.js';

describeCheckpointStore('file', {
  async create({ now, maxRecordBytes }) {
    const temp = await makeTempDir('conformance');
    const store = createFileStore({ directory: temp.dir, now, maxRecordBytes });
    return {
      store,
      async corrupt(taskId, checkpointId) {
        const records = join(temp.dir, 'tasks', taskId, 'records');
        const name = (await readdir(records)).find((n) => n.endsWith(`~${checkpointId}`));
        if (name === undefined) throw new Error(`no record file for ${checkpointId}`);
        await writeFile(join(records, name), '\u0000garbage{');
      },
      async cleanup() {
        await store.close();
        await temp.remove();
      },
    };
  },
});
