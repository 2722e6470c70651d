import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliCommand, makeCliDir, runCli } from './cli-harness.js';

let dir = '';
let remove = async () => {};
let store = '';

beforeAll(async () => {
  ({ dir, remove } = await makeCliDir());
  store = `file:${join(dir, 'store')}`;
});
afterAll(async () => {
  await remove();
});

/** What a `mcp-orch` process whose stdout reader went away did. */
interface ClosedRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `mcp-orch args…` with its stdout on a pipe that this side closes (as `| head -1` does):
 * after the first chunk, or at once with `closeAt: 'start'`; with `closeStderr`, its stderr too.
 */
function runClosing(
  args: readonly string[],
  options: { closeAt: 'first chunk' | 'start'; closeStderr?: boolean },
): Promise<ClosedRun> {
  const [command, argv] = cliCommand([...args, '--store', store]);
  const child = spawn(command, argv, { cwd: dir, env: { ...process.env, STEP_MS: '1000' } });
  let stdout = '';
  let stderr = '';
  if (options.closeAt === 'start') child.stdout.destroy();
  else {
    child.stdout.once('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      child.stdout.destroy();
    });
  }
  if (options.closeStderr) child.stderr.destroy();
  else {
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
  }
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function statusOf(taskId: string) {
  const status = await runCli(['status', taskId, '--store', store, '--json'], { cwd: dir });
  return JSON.parse(status.stdout);
}

describe('mcp-orch with its output closed by the reader (| head -1)', { timeout: 90_000 }, () => {
  it('run stops quietly as on Ctrl-C: task paused, exit code 141, resume finishes it', async () => {
    const closed = await runClosing(['run', 'words.mjs', '--task', 'pipe_1'], {
      closeAt: 'first chunk',
    });
    expect(closed.stdout).toMatch(/^Running words@1 as task pipe_1 /);
    // No EPIPE stack trace: the resume command, as after Ctrl-C, and nothing else.
    const resumeLine = `mcp-orch resume pipe_1 --file words.mjs --store ${store}`;
    expect(closed.stderr).toBe(
      `Output closed. Task pipe_1 is paused; resume it with:\n  ${resumeLine}\n`,
    );
    expect(closed.code).toBe(141);
    const status = await statusOf('pipe_1');
    expect(status.status).toBe('paused');
    expect(status.plan.at(-1).isComplete).toBe(false);

    const resumed = await runCli(
      ['resume', 'pipe_1', '--file', 'words.mjs', '--store', store, '--json'],
      { cwd: dir },
    );
    expect(resumed.stderr).toBe('');
    expect(resumed.code).toBe(0);
    expect(JSON.parse(resumed.stdout)).toMatchObject({
      status: 'completed',
      result: { data: { report: '4 words' } },
    });
  });

  it('a run whose stdout and stderr are closed from the start still pauses its task', async () => {
    const closed = await runClosing(['run', 'words.mjs', '--task', 'pipe_2'], {
      closeAt: 'start',
      closeStderr: true,
    });
    expect(closed.code).toBe(141);
    expect(await statusOf('pipe_2')).toMatchObject({ status: 'paused' });
  });

  it('a read command drops what it cannot write and keeps its exit code', async () => {
    const closed = await runClosing(['status', 'pipe_1'], { closeAt: 'start' });
    expect(closed.stderr).toBe('');
    expect(closed.code).toBe(0);
  });
});
