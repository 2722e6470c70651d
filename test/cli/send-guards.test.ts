import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { createFileStore } from 'mcp-orchestration/file';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliCommand, makeCliDir, runCli } from './cli-harness.js';

let dir = '';
let remove = async () => {};
let store = '';
const cli = (...args: string[]) => runCli([...args, '--store', store], { cwd: dir });
const status = async (taskId: string) => JSON.parse((await cli('status', taskId, '--json')).stdout);

beforeAll(async () => {
  ({ dir, remove } = await makeCliDir());
  store = `file:${join(dir, 'store')}`;
  // A step whose promise never settles, holding nothing that keeps Node running.
  await writeFile(
    join(dir, 'hangs.mjs'),
    `import { defineWorkflow } from 'mcp-orchestration';
export default defineWorkflow({ id: 'hangs', version: '1', steps: [{ stepId: 'forever', run: () => new Promise(() => {}) }] });
`,
  );
});
afterAll(async () => {
  await remove();
});

/**
 * Starts `mcp-orch args…` in the background and resolves once its stdout shows `until`; `stop`
 * presses Ctrl-C and waits for its exit code.
 */
async function startCli(args: readonly string[], until: string, env: Record<string, string>) {
  const [command, argv] = cliCommand([...args, '--store', store]);
  const child = spawn(command, argv, { cwd: dir, env: { ...process.env, ...env } });
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  let stdout = '';
  await new Promise<void>((resolve, reject) => {
    child.on('close', () => reject(new Error(`exited before ${until}: ${stdout}`)));
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes(until)) resolve();
    });
  });
  return {
    stop: () => {
      child.kill('SIGINT');
      return exited;
    },
  };
}

describe('mcp-orch send takes only a task that waits for an event', { timeout: 120_000 }, () => {
  it('refuses a paused task as it is (resume it first), with the right event or a wrong one', async () => {
    expect((await cli('run', 'approval.mjs', '--task', 'sg_paused')).code).toBe(0);
    expect((await cli('pause', 'sg_paused')).code).toBe(0);
    const paused = await status('sg_paused');
    expect(paused.status).toBe('paused');

    for (const event of ['approve', 'reject']) {
      const sent = await cli('send', 'sg_paused', event, '--file', 'approval.mjs');
      expect(sent.code).toBe(1);
      expect(sent.stdout).toBe('');
      expect(sent.stderr).toBe(
        `mcp-orch: Task sg_paused is paused: resume it first (mcp-orch resume sg_paused --file approval.mjs --store ${store}), then send (TASK_NOT_RUNNING)\n`,
      );
      // Nothing was written: still paused, at the same checkpoint.
      expect(await status('sg_paused')).toMatchObject({ status: 'paused', seq: paused.seq });
    }

    // Resumed, it waits for its event again, and send takes it on.
    expect((await cli('resume', 'sg_paused', '--file', 'approval.mjs')).code).toBe(0);
    const sent = await cli(
      'send',
      'sg_paused',
      'approve',
      '--file',
      'approval.mjs',
      '--data',
      '{"by":"jo"}',
    );
    expect(sent.stderr).toBe('');
    expect(sent.code).toBe(0);
    expect(sent.stdout).toContain('Task sg_paused completed');
  });

  it('refuses a finished task: it takes no more events', async () => {
    expect((await cli('run', 'words.mjs', '--task', 'sg_done')).code).toBe(0);
    const sent = await cli('send', 'sg_done', 'approve', '--file', 'words.mjs');
    expect(sent.code).toBe(1);
    expect(sent.stderr).toBe(
      'mcp-orch: Task sg_done is completed: it takes no more events (TASK_NOT_RUNNING)\n',
    );
    expect((await cli('run', 'approval.mjs', '--task', 'sg_cancelled')).code).toBe(0);
    expect((await cli('cancel', 'sg_cancelled')).code).toBe(0);
    const cancelled = await cli('send', 'sg_cancelled', 'approve', '--file', 'approval.mjs');
    expect(cancelled.stderr).toBe(
      'mcp-orch: Task sg_cancelled is cancelled: it takes no more events (TASK_NOT_RUNNING)\n',
    );
  });

  it('send and resume refuse a task another mcp-orch runs (its lease), running nothing again', async () => {
    const log = join(dir, 'steps.log');
    const before = (await readFile(log, 'utf8').catch(() => '')).length;
    const running = await startCli(
      ['run', 'words.mjs', '--task', 'sg_running'],
      'step split started',
      { STEP_MS: '3000' },
    );
    try {
      const refusals = await Promise.all([
        cli('send', 'sg_running', 'approve', '--file', 'words.mjs'),
        cli('resume', 'sg_running', '--file', 'words.mjs'),
        cli('resume', 'sg_running', '--file', 'words.mjs', '--json'),
      ]);
      for (const refused of refusals) {
        expect(refused.code).toBe(1);
        expect(refused.stdout).toBe('');
        expect(refused.stderr).toMatch(
          /^mcp-orch: Task sg_running is leased to mcp-orch\.[\w.-]+\.\d+ until \S+Z: it runs there \(TASK_LEASED\)\n$/,
        );
      }
      const status = await cli('status', 'sg_running');
      expect(status.stdout).toMatch(/leased to +mcp-orch\.[\w.-]+\.\d+ until /);
      // The step in flight there ran once: nothing resumed it here.
      const steps = (await readFile(log, 'utf8')).slice(before).trim().split('\n');
      expect(steps).toEqual(['split']);
    } finally {
      // Ctrl-C pauses it and releases its lease: resume takes it on at once.
      expect(await running.stop()).toBe(130);
    }
    const resumed = await cli('resume', 'sg_running', '--file', 'words.mjs', '--json');
    expect(resumed.stderr).toBe('');
    expect(resumed.code).toBe(0);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ status: 'completed' });
    expect((await status('sg_running')).lease).toBeUndefined();
  });

  it('a killed mcp-orch leaves its lease until it lapses: resume is refused, saying until when', async () => {
    const [command, argv] = cliCommand([
      'run',
      'words.mjs',
      '--task',
      'sg_killed',
      '--store',
      store,
    ]);
    const child = spawn(command, argv, { cwd: dir, env: { ...process.env, STEP_MS: '3000' } });
    const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
    await new Promise<void>((resolve) => {
      let stdout = '';
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (stdout.includes('step split started')) resolve();
      });
    });
    child.kill('SIGKILL');
    await exited;
    const { lease } = await status('sg_killed');
    expect(lease.owner).toBe(
      `mcp-orch.${hostname().replace(/[^A-Za-z0-9_.-]/g, '_')}.${child.pid}`,
    );
    // Renewed every 10 s, it lapses at most 30 s after the kill.
    expect(lease.expiresAt - Date.now()).toBeLessThanOrEqual(30_000);
    const refused = await cli('resume', 'sg_killed', '--file', 'words.mjs');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      `mcp-orch: Task sg_killed is leased to ${lease.owner} until ${new Date(lease.expiresAt).toISOString()}: it runs there (TASK_LEASED)\n`,
    );
  });

  it('refuses a machine whose invoked actor is in flight in another process', async () => {
    expect((await cli('run', 'checked.mjs', '--task', 'sg_busy')).code).toBe(0);
    const checking = await startCli(
      ['send', 'sg_busy', 'submit', '--file', 'checked.mjs'],
      'saved (running)',
      { CHECK_MS: '3000' },
    );
    try {
      const sent = await cli('send', 'sg_busy', 'approve', '--file', 'checked.mjs');
      expect(sent.code).toBe(1);
      // The send in flight holds the task's lease.
      expect(sent.stderr).toMatch(
        /^mcp-orch: Task sg_busy is leased to mcp-orch\..+ \(TASK_LEASED\)\n$/,
      );
    } finally {
      await checking.stop();
    }
  });

  it('refuses (and resume refuses) a task a worker holds a live lease on', async () => {
    expect((await cli('run', 'approval.mjs', '--task', 'sg_leased')).code).toBe(0);
    const files = createFileStore({ directory: join(dir, 'store') });
    const { lease } = await files.claimLease('sg_leased', 'worker-9', 60_000);
    try {
      const until = new Date(lease.expiresAt).toISOString();
      for (const args of [
        ['send', 'sg_leased', 'approve', '--file', 'approval.mjs'],
        ['resume', 'sg_leased', '--file', 'approval.mjs'],
      ]) {
        const refused = await cli(...args);
        expect(refused.code).toBe(1);
        expect(refused.stdout).toBe('');
        expect(refused.stderr).toBe(
          `mcp-orch: Task sg_leased is leased to worker-9 until ${until}: it runs there (TASK_LEASED)\n`,
        );
      }
    } finally {
      await files.releaseLease('sg_leased', 'worker-9');
      await files.close();
    }
    const sent = await cli(
      'send',
      'sg_leased',
      'approve',
      '--file',
      'approval.mjs',
      '--data',
      '{"by":"x"}',
    );
    expect(sent.code).toBe(0);
  });
});

describe('mcp-orch and a hand-written machine without a `suspended` tag', {
  timeout: 120_000,
}, () => {
  it('run, resume and send end once it is idle, saying what it waits for (exit 0)', async () => {
    const run = await cli('run', 'review.mjs', '--task', 'sg_idle');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(
      `Task sg_idle is idle, waiting for edit, submit (its machine has no \`suspended\` tag, so the task stays running). Go on with:\n  mcp-orch send sg_idle EVENT --file review.mjs --store ${store} [--data JSON]\n`,
    );
    expect(await status('sg_idle')).toMatchObject({ status: 'running', currentStepId: 'drafting' });

    const resumed = await cli('resume', 'sg_idle', '--file', 'review.mjs', '--json');
    expect(resumed.stderr).toBe('');
    expect(resumed.code).toBe(0);
    expect(JSON.parse(resumed.stdout)).toEqual({
      taskId: 'sg_idle',
      status: 'running',
      idle: true,
      waitingFor: ['edit', 'submit'],
    });

    // Idle, nothing in flight: send takes it on.
    const submitted = await cli('send', 'sg_idle', 'submit', '--file', 'review.mjs');
    expect(submitted.stderr).toBe('');
    expect(submitted.code).toBe(0);
    expect(submitted.stdout).toContain('Task sg_idle is idle, waiting for approve');
    expect(await status('sg_idle')).toMatchObject({ currentStepId: 'reviewing' });

    const approved = await cli('send', 'sg_idle', 'approve', '--file', 'review.mjs', '--json');
    expect(approved.code).toBe(0);
    expect(JSON.parse(approved.stdout)).toMatchObject({ taskId: 'sg_idle', status: 'completed' });
  });

  it('a run at rest that waits for no event ends as stalled (exit 1), not silently', async () => {
    const run = await cli('run', 'hangs.mjs', '--task', 'sg_hangs');
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('step forever started');
    expect(run.stderr).toBe(
      'mcp-orch: Task sg_hangs stalled at step forever: nothing is left to run in this process and it waits for no event; it stays running as its last checkpoint says (RUN_STALLED)\n',
    );
  });
});
