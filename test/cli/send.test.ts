import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCliDir, runCli } from './cli-harness.js';

let dir = '';
let remove = async () => {};
let store = '';
const cli = (...args: string[]) => runCli([...args, '--store', store], { cwd: dir });

beforeAll(async () => {
  ({ dir, remove } = await makeCliDir());
  store = `file:${join(dir, 'store')}`;
});
afterAll(async () => {
  await remove();
});

describe('mcp-orch: a run that waits for an event (human in the loop)', {
  timeout: 120_000,
}, () => {
  it('run stops once the wait is checkpointed; send delivers the event and the run finishes', async () => {
    const run = await cli('run', 'approval.mjs', '--task', 'doc_a');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('checkpoint 3 saved (suspended)');
    expect(run.stdout).toContain(
      `Task doc_a is suspended, waiting for approve. Go on with:\n  mcp-orch send doc_a approve --file approval.mjs --store ${store} [--data JSON]\n`,
    );
    const status = JSON.parse((await cli('status', 'doc_a', '--json')).stdout);
    expect(status).toMatchObject({
      status: 'suspended',
      currentStepId: 'review',
      waitingFor: ['approve'],
    });

    const wrong = await cli('send', 'doc_a', 'reject', '--file', 'approval.mjs');
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(
      /^mcp-orch: Task doc_a does not accept event "reject" now .+ \(EVENT_NOT_ACCEPTED\)\n$/,
    );
    expect(JSON.parse((await cli('status', 'doc_a', '--json')).stdout).seq).toBe(status.seq);

    const sent = await cli(
      'send',
      'doc_a',
      'approve',
      '--file',
      'approval.mjs',
      '--data',
      '{"by":"ana"}',
      '--json',
    );
    expect(sent.stderr).toBe('');
    expect(sent.code).toBe(0);
    expect(JSON.parse(sent.stdout)).toMatchObject({
      taskId: 'doc_a',
      status: 'completed',
      result: { contextId: 'doc_a_published', data: { by: 'ana' } },
    });
  });
});
