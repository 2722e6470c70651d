import { join } from 'node:path';
import { createFileStore } from 'mcp-orchestration/file';
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

  it('resume of a task already waiting for its event says so and stops, as run does', async () => {
    expect((await cli('run', 'approval.mjs', '--task', 'doc_w')).code).toBe(0);
    const before = JSON.parse((await cli('status', 'doc_w', '--json')).stdout);
    expect(before).toMatchObject({ status: 'suspended', seq: 3 });

    // Its wait is checkpointed already: the resumed run writes nothing, and must not wait for a
    // checkpoint that never comes.
    const resumed = await cli('resume', 'doc_w', '--file', 'approval.mjs');
    expect(resumed.stderr).toBe('');
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toMatch(
      /^Resuming task doc_w from checkpoint 3 \(suspended; 1\/3 steps done\)\n/,
    );
    expect(resumed.stdout).not.toContain('checkpoint 4');
    const goOn = `mcp-orch send doc_w approve --file approval.mjs --store ${store} [--data JSON]`;
    expect(resumed.stdout).toContain(
      `Task doc_w is suspended, waiting for approve. Go on with:\n  ${goOn}\n`,
    );

    const json = await cli('resume', 'doc_w', '--file', 'approval.mjs', '--json');
    expect(json.stderr).toBe('');
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({
      taskId: 'doc_w',
      status: 'suspended',
      waitingFor: ['approve'],
    });
    // Still at the same checkpoint, and the event still takes it on.
    expect(JSON.parse((await cli('status', 'doc_w', '--json')).stdout)).toMatchObject({
      status: 'suspended',
      seq: 3,
    });
    const sent = await cli(
      'send',
      'doc_w',
      'approve',
      '--file',
      'approval.mjs',
      '--data',
      '{"by":"bo"}',
      '--json',
    );
    expect(sent.code).toBe(0);
    expect(JSON.parse(sent.stdout)).toMatchObject({ taskId: 'doc_w', status: 'completed' });
  });
});

describe('mcp-orch pause and cancel', { timeout: 120_000 }, () => {
  it('pause writes a paused checkpoint that resume continues; cancel is final', async () => {
    expect((await cli('run', 'approval.mjs', '--task', 'doc_p')).code).toBe(0);
    const suspended = JSON.parse((await cli('status', 'doc_p', '--json')).stdout);

    const paused = await cli('pause', 'doc_p');
    expect(paused.stderr).toBe('');
    expect(paused.code).toBe(0);
    expect(paused.stdout).toBe(`Task doc_p: paused (checkpoint ${suspended.seq + 1})\n`);
    expect(JSON.parse((await cli('status', 'doc_p', '--json')).stdout)).toMatchObject({
      status: 'paused',
      seq: suspended.seq + 1,
    });
    // Pausing again writes nothing.
    expect(JSON.parse((await cli('pause', 'doc_p', '--json')).stdout)).toMatchObject({
      taskId: 'doc_p',
      status: 'paused',
      seq: suspended.seq + 1,
    });

    // Resumed, it waits for its event again (and says so in a new checkpoint).
    const resumed = await cli('resume', 'doc_p', '--file', 'approval.mjs');
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toContain('Task doc_p is suspended, waiting for approve.');
    expect(JSON.parse((await cli('status', 'doc_p', '--json')).stdout)).toMatchObject({
      status: 'suspended',
      seq: suspended.seq + 2,
    });

    const cancelled = await cli('cancel', 'doc_p', '--json');
    expect(JSON.parse(cancelled.stdout)).toMatchObject({ status: 'cancelled' });
    expect(JSON.parse((await cli('pause', 'doc_p', '--json')).stdout)).toMatchObject({
      status: 'cancelled',
    });
    const unknown = await cli('pause', 'ghost');
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toContain('(TASK_NOT_FOUND)');
  });
});

describe('mcp-orch tasks', { timeout: 120_000 }, () => {
  it("lists the store's tasks with their status, a page at a time", async () => {
    // A store of its own: the tests above leave tasks in theirs.
    const own = `file:${join(dir, 'tasks-store')}`;
    const tasks = (...args: string[]) => runCli([...args, '--store', own], { cwd: dir });
    expect((await tasks('tasks')).stdout).toBe('No tasks.\n');
    expect((await tasks('run', 'approval.mjs', '--task', 'doc_b')).code).toBe(0);
    expect((await tasks('run', 'approval.mjs', '--task', 'doc_a')).code).toBe(0);
    expect((await tasks('pause', 'doc_b')).code).toBe(0);

    // A worker's lease on doc_a (a runtime with the lease option holds one while it runs it).
    const files = createFileStore({ directory: join(dir, 'tasks-store') });
    const { lease } = await files.claimLease('doc_a', 'worker-7', 60_000);
    await files.close();

    const listed = await tasks('tasks');
    expect(listed.stderr).toBe('');
    expect(listed.code).toBe(0);
    const lines = listed.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('Tasks (2):');
    expect(lines[1]).toMatch(
      /^ {2}doc_a +suspended +approval@1 +step \d+ review +checkpoint 3 +waiting for approve {2}leased to worker-7 until \S+Z$/,
    );
    expect(lines[2]).toMatch(/^ {2}doc_b +paused +approval@1 /);

    const json = JSON.parse((await tasks('tasks', '--json')).stdout);
    expect(
      json.tasks.map((task: { taskId: string; status: string }) => [task.taskId, task.status]),
    ).toEqual([
      ['doc_a', 'suspended'],
      ['doc_b', 'paused'],
    ]);
    expect(json.tasks[0].lease).toEqual(lease);
    expect((await tasks('status', 'doc_a')).stdout).toContain(
      `  leased to   worker-7 until ${new Date(lease.expiresAt).toISOString()}\n`,
    );
    expect(json.tasks[1].lease).toBeUndefined();
    expect(json.unreadable).toEqual([]);
    expect(json.next).toBeNull(); // null on the last page, not left out

    const first = await tasks('tasks', '--limit', '1');
    expect(first.stdout).toContain(`More: mcp-orch tasks --after doc_a --limit 1`);
    const second = await tasks('tasks', '--after', 'doc_a', '--limit', '1', '--json');
    expect(JSON.parse(second.stdout).tasks.map((task: { taskId: string }) => task.taskId)).toEqual([
      'doc_b',
    ]);

    const bad = await tasks('tasks', '--limit', '0');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe(
      'mcp-orch: --limit must be an integer from 1 to 10000, got "0" (USAGE)\n',
    );

    // purge deletes finished tasks only: doc_b once cancelled, never the suspended doc_a.
    expect((await tasks('purge', '--older-than', '0s')).stdout).toBe(
      'No finished task to delete.\n',
    );
    expect((await tasks('cancel', 'doc_b')).code).toBe(0);
    expect((await tasks('purge', '--older-than', '30d')).stdout).toBe(
      'No finished task to delete.\n',
    );
    const purged = await tasks('purge', '--older-than', '0s', '--json');
    expect(purged.code).toBe(0);
    expect(JSON.parse(purged.stdout)).toEqual({ deleted: ['doc_b'], failed: [] });
    expect(JSON.parse((await tasks('tasks', '--json')).stdout).tasks).toHaveLength(1);
    const noDuration = await tasks('purge');
    expect(noDuration.code).toBe(2);
    expect(noDuration.stderr).toBe(
      'mcp-orch: purge needs --older-than DURATION, a duration such as 30d, 12h, 90m or 0s (0s: every finished task) (USAGE)\n',
    );
  });
});
