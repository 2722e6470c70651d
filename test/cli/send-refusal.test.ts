import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCliDir, runCli } from './cli-harness.js';

/** `checked.approval.mjs`: draft, wait for `approve` with data `{ by: <non-empty string> }`. */
const CHECKED_APPROVAL = `
import { createContext, defineWorkflow } from 'mcp-orchestration';

const byWhom = { '~standard': { version: 1, vendor: 'test', validate: (value) =>
  typeof value?.by === 'string' && value.by !== ''
    ? { value }
    : { issues: [{ message: 'by must be a non-empty string', path: ['by'] }, { message: 'second', path: ['x'] }] } } };

export default defineWorkflow({
  id: 'checked-approval',
  version: '1',
  steps: [
    { stepId: 'draft', run: (context, _step, { taskId }) =>
      createContext('Draft', { text: 'v1' }, { contextId: taskId + '_draft' }) },
    { stepId: 'review', waitFor: { event: 'approve', schema: byWhom } },
  ],
});
`;

let dir = '';
let remove = async () => {};
let store = '';
const cli = (...args: string[]) => runCli([...args, '--store', store], { cwd: dir });

beforeAll(async () => {
  ({ dir, remove } = await makeCliDir());
  await writeFile(join(dir, 'checked-approval.mjs'), CHECKED_APPROVAL);
  store = `file:${join(dir, 'store')}`;
});
afterAll(async () => {
  await remove();
});

describe('mcp-orch send: data the schema refuses', { timeout: 120_000 }, () => {
  it("prints the schema's issues, changes nothing, and a valid event then finishes", async () => {
    expect((await cli('run', 'checked-approval.mjs', '--task', 'doc_c')).code).toBe(0);
    const before = JSON.parse((await cli('status', 'doc_c', '--json')).stdout);
    expect(before).toMatchObject({ status: 'suspended', waitingFor: ['approve'] });

    const refusedLine =
      'mcp-orch: Task doc_c waits for event "approve", but refused its data: ' +
      '$.data.by: by must be a non-empty string; $.data.x: second (EVENT_NOT_ACCEPTED)\n';
    const refused = await cli(
      'send',
      'doc_c',
      'approve',
      '--file',
      'checked-approval.mjs',
      '--data',
      '{"by":3}',
    );
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(refusedLine);

    // --json prints errors as every command does: the same one line on stderr, nothing on stdout.
    const json = await cli(
      'send',
      'doc_c',
      'approve',
      '--file',
      'checked-approval.mjs',
      '--data',
      '{"by":3}',
      '--json',
    );
    expect(json.code).toBe(1);
    expect(json.stdout).toBe('');
    expect(json.stderr).toBe(refusedLine);

    expect(JSON.parse((await cli('status', 'doc_c', '--json')).stdout)).toMatchObject({
      status: 'suspended',
      seq: before.seq,
    });
    const sent = await cli(
      'send',
      'doc_c',
      'approve',
      '--file',
      'checked-approval.mjs',
      '--data',
      '{"by":"ana"}',
      '--json',
    );
    expect(sent.stderr).toBe('');
    expect(sent.code).toBe(0);
    expect(JSON.parse(sent.stdout)).toMatchObject({
      status: 'completed',
      result: { data: { by: 'ana' } },
    });
  });
});
