import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createFileStore } from 'mcp-orchestration/file';
import { logPath, taskPaths } from '../../adapters/file/task-paths.js';
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
      async plantLog(taskId, name, entries) {
        // One line, as one append writes it: its first entry's index, then the entries.
        const path = logPath(taskPaths(temp.dir, taskId), name);
        await mkdir(dirname(path), { recursive: true });
        await writeFile(path, `${JSON.stringify([0, ...entries])}\n`);
      },
      async cleanup() {
        await store.close();
        await temp.remove();
      },
    };
  },
});
