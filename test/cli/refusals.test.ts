import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createFileStore } from 'mcp-orchestration/file';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliResult, cliCommand, makeCliDir, runCli } from './cli-harness.js';

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

function expectRefused(result: CliResult, code: number, stderr: string | RegExp): void {
  expect(result.stdout).toBe('');
  if (typeof stderr === 'string') expect(result.stderr).toBe(stderr);
  else expect(result.stderr).toMatch(stderr);
  expect(result.code).toBe(code);
}

describe('mcp-orch run of a task id the store has', { timeout: 120_000 }, () => {
  it('another mcp-orch runs it: TASK_LEASED, saying who holds it, as resume does', async () => {
    const running = await startCli(
      ['run', 'words.mjs', '--task', 'rf_live'],
      'step split started',
      { STEP_MS: '3000' },
    );
    try {
      const leased =
        /^mcp-orch: Task rf_live is leased to mcp-orch\.[\w.-]+\.\d+ until \S+Z: it runs there \(TASK_LEASED\)\n$/;
      const [run, resume] = await Promise.all([
        cli('run', 'words.mjs', '--task', 'rf_live'),
        cli('resume', 'rf_live', '--file', 'words.mjs'),
      ]);
      expectRefused(run, 1, leased);
      expectRefused(resume, 1, leased);
      // The same holder and the same time in both.
      expect(run.stderr).toBe(resume.stderr);
    } finally {
      expect(await running.stop()).toBe(130);
    }
  });

  it('a worker leases it: TASK_LEASED, with or without checkpoints, before "Running…"', async () => {
    expect((await cli('run', 'approval.mjs', '--task', 'rf_worker')).code).toBe(0);
    const files = createFileStore({ directory: join(dir, 'store') });
    try {
      for (const taskId of ['rf_worker', 'rf_fresh']) {
        const { lease } = await files.claimLease(taskId, 'worker-9', 60_000);
        try {
          const until = new Date(lease.expiresAt).toISOString();
          expectRefused(
            await cli('run', 'approval.mjs', '--task', taskId),
            1,
            `mcp-orch: Task ${taskId} is leased to worker-9 until ${until}: it runs there (TASK_LEASED)\n`,
          );
        } finally {
          await files.releaseLease(taskId, 'worker-9');
        }
      }
    } finally {
      await files.close();
    }
    // Its lease released, the suspended task is one to continue.
    expectRefused(
      await cli('run', 'approval.mjs', '--task', 'rf_worker'),
      1,
      `mcp-orch: Task rf_worker already has checkpoints: continue it with \`mcp-orch resume rf_worker --file approval.mjs --store ${store}\`, or pick another --task (TASK_EXISTS)\n`,
    );
  });

  it('a finished task is not one to continue: TASK_EXISTS says how to see or delete it', async () => {
    expect((await cli('run', 'echo.mjs', '--task', 'rf_done')).code).toBe(0);
    expectRefused(
      await cli('run', 'echo.mjs', '--task', 'rf_done'),
      1,
      `mcp-orch: Task rf_done has finished (completed): see it with \`mcp-orch status rf_done --store ${store}\`, delete it with \`mcp-orch checkpoints delete rf_done --all --store ${store}\`, or pick another --task (TASK_EXISTS)\n`,
    );
  });
});

describe('mcp-orch send of an event the task does not wait for', { timeout: 120_000 }, () => {
  it('prints no progress, only the refusal; an accepted event shows its progress', async () => {
    expect((await cli('run', 'approval.mjs', '--task', 'rf_send')).code).toBe(0);
    const refused = await cli('send', 'rf_send', 'reject', '--file', 'approval.mjs');
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('Sending reject to task rf_send\n');
    expect(refused.stderr).toMatch(
      /^mcp-orch: Task rf_send does not accept event "reject" now .+ \(EVENT_NOT_ACCEPTED\)\n$/,
    );

    const sent = await cli(
      'send',
      'rf_send',
      'approve',
      '--file',
      'approval.mjs',
      '--data',
      '{"by":"ana"}',
    );
    expect(sent.stderr).toBe('');
    expect(sent.code).toBe(0);
    expect(sent.stdout).toMatch(
      /^Sending approve to task rf_send\nstep review started\nstep review completed\ncheckpoint 4 saved \(running\) /,
    );
    expect(sent.stdout).toContain('step publish completed\n');
    expect(sent.stdout).toContain('Task rf_send completed: Published rf_send_published\n');
  });

  it.skipIf(!existsSync('/usr/bin/script'))(
    'on a terminal, draws no progress block for a refused event',
    async () => {
      expect((await cli('run', 'approval.mjs', '--task', 'rf_tty')).code).toBe(0);
      const [node, args] = cliCommand([
        'send',
        'rf_tty',
        'reject',
        '--file',
        'approval.mjs',
        '--store',
        store,
      ]);
      const line = [node, ...args].map((a) => `'${a}'`).join(' ');
      // `script` runs it on a pseudo-terminal (stdout and stderr both), and fails as it does.
      const output = await promisify(execFile)('/usr/bin/script', ['-qec', line, '/dev/null'], {
        cwd: dir,
      }).then(
        ({ stdout }) => stdout,
        (error: { stdout: string }) => error.stdout,
      );
      const text = output.replaceAll('\r', '');
      expect(text).toMatch(
        /^Sending reject to task rf_tty\nmcp-orch: Task rf_tty does not accept event "reject" now .+ \(EVENT_NOT_ACCEPTED\)\n$/,
      );
    },
  );
});

describe('mcp-orch numeric options state their one range', { timeout: 120_000 }, () => {
  it('whatever the bad value, each option says the same range', async () => {
    expect((await cli('run', 'echo.mjs', '--task', 'rf_nums')).code).toBe(0);
    const cases: [string[], string][] = [
      [['tasks', '--limit', 'abc'], '--limit must be an integer from 1 to 10000, got "abc"'],
      // `--limit -1` is refused by parseArgs as ambiguous (an option?); `--limit=-1` reaches it.
      [['tasks', '--limit=-1'], '--limit must be an integer from 1 to 10000, got "-1"'],
      [['tasks', '--limit', '0'], '--limit must be an integer from 1 to 10000, got "0"'],
      [['tasks', '--limit', '10001'], '--limit must be an integer from 1 to 10000, got "10001"'],
      [['tasks', '--limit', '1.5'], '--limit must be an integer from 1 to 10000, got "1.5"'],
      [
        ['checkpoints', 'list', 'rf_nums', '--limit', 'abc'],
        '--limit must be an integer ≥ 0 (0: all), got "abc"',
      ],
      [
        ['checkpoints', 'list', 'rf_nums', '--limit=-1'],
        '--limit must be an integer ≥ 0 (0: all), got "-1"',
      ],
      [
        ['checkpoints', 'prune', 'rf_nums', '--keep', 'abc'],
        '--keep must be an integer ≥ 1 (checkpoints delete TASK --all deletes the whole task), got "abc"',
      ],
      [
        ['checkpoints', 'prune', 'rf_nums', '--keep', '0'],
        '--keep must be an integer ≥ 1 (checkpoints delete TASK --all deletes the whole task), got "0"',
      ],
      [
        ['checkpoints', 'prune', 'rf_nums', '--keep=-2'],
        '--keep must be an integer ≥ 1 (checkpoints delete TASK --all deletes the whole task), got "-2"',
      ],
    ];
    const results = await Promise.all(cases.map(([args]) => cli(...args)));
    for (const [i, result] of results.entries()) {
      expectRefused(result, 2, `mcp-orch: ${cases[i]?.[1]} (USAGE)\n`);
    }
    // The bounds themselves are taken.
    for (const args of [
      ['tasks', '--limit', '1'],
      ['tasks', '--limit', '10000'],
      ['checkpoints', 'list', 'rf_nums', '--limit', '0'],
      ['checkpoints', 'prune', 'rf_nums', '--keep', '1'],
    ]) {
      const result = await cli(...args);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
    }
  });
});

describe('a command that needs the workflow module and is not given it', {
  timeout: 120_000,
}, () => {
  it('resume of an unfinished task without --file is a usage error (2), before anything', async () => {
    expect((await cli('run', 'approval.mjs', '--task', 'rf_blind')).code).toBe(0);
    expectRefused(
      await cli('resume', 'rf_blind'),
      2,
      'mcp-orch: Task rf_blind is suspended, and resuming it runs workflow approval: pass its module with --file FILE (USAGE)\n',
    );
    expectRefused(
      await cli('resume', 'rf_blind', '--json'),
      2,
      'mcp-orch: Task rf_blind is suspended, and resuming it runs workflow approval: pass its module with --file FILE (USAGE)\n',
    );
    // send and export of a task need it too, and say so the same way.
    expectRefused(
      await cli('send', 'rf_blind', 'approve'),
      2,
      'mcp-orch: send needs the workflow module: --file FILE (USAGE)\n',
    );
    expectRefused(
      await cli('export', 'rf_blind'),
      2,
      /^mcp-orch: rf_blind is a task.*: pass the module it runs with --file FILE \(USAGE\)\n$/,
    );
    // A finished task needs none.
    expect((await cli('run', 'echo.mjs', '--task', 'rf_blind_done')).code).toBe(0);
    const done = await cli('resume', 'rf_blind_done');
    expect(done.stderr).toBe('');
    expect(done.code).toBe(0);
  });
});
