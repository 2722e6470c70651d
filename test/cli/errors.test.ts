import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliResult, makeCliDir, runCli } from './cli-harness.js';

let dir = '';
let remove = async () => {};
const cli = (...args: string[]) =>
  runCli([...args, '--store', `file:${join(dir, 'store')}`], { cwd: dir });

beforeAll(async () => {
  ({ dir, remove } = await makeCliDir());
  await writeFile(join(dir, 'no-workflow.mjs'), 'export const answer = 42;\n');
});
afterAll(async () => {
  await remove();
});

/** The error contract: nothing on stdout, exactly one `mcp-orch: … (CODE)` line on stderr. */
function expectOneLineError(result: CliResult, exitCode: number, code: string): void {
  expect(result.code).toBe(exitCode);
  expect(result.stdout).toBe('');
  const lines = result.stderr.split('\n');
  expect(lines).toHaveLength(2);
  expect(lines[1]).toBe('');
  expect(lines[0]).toMatch(new RegExp(`^mcp-orch: .+ \\(${code}\\)$`));
}

describe('mcp-orch errors: one line on stderr, and an exit code by kind', {
  timeout: 60_000,
}, () => {
  it('a bad task id is a usage error (2, INVALID_ID), for every command that takes one', async () => {
    const results = await Promise.all(
      [
        ['status', '../etc'],
        ['checkpoints', 'list', 'a b'],
        ['lineage', '.hidden'],
        ['run', 'words.mjs', '--task', 'no/slash'],
      ].map((args) => cli(...args)),
    );
    for (const result of results) expectOneLineError(result, 2, 'INVALID_ID');
  });

  it('an unknown task is "not found" (3, TASK_NOT_FOUND)', async () => {
    const results = await Promise.all(
      [
        ['status', 'nobody'],
        ['checkpoints', 'list', 'nobody'],
        ['lineage', 'nobody'],
      ].map((args) => cli(...args)),
    );
    for (const result of results) {
      expectOneLineError(result, 3, 'TASK_NOT_FOUND');
      expect(result.stderr).toBe(
        'mcp-orch: Task nobody is unknown: it has no checkpoint and is not running (TASK_NOT_FOUND)\n',
      );
    }
  });

  it('a wrong command line is a usage error (2)', async () => {
    const cases: [string[], string][] = [
      [['frobnicate', 'x'], 'USAGE'],
      [['status', 'x', '--keep', '3'], 'USAGE'],
      [['status'], 'USAGE'],
      [['checkpoints', 'explode', 'x'], 'USAGE'],
      [['checkpoints', 'prune', 'x', '--keep', 'many'], 'USAGE'],
      [['checkpoints', 'list', 'x', '--limit', '-1'], 'USAGE'],
      [['checkpoints', 'show', 'x', '--limit', '2'], 'USAGE'],
      [['run', 'words.mjs', '--input', '{nope'], 'BAD_JSON'],
      [['run', 'missing.mjs'], 'FILE_NOT_FOUND'],
      [['run', 'no-workflow.mjs'], 'BAD_WORKFLOW_FILE'],
    ];
    const results = await Promise.all(cases.map(([args]) => cli(...args)));
    for (const [i, result] of results.entries()) {
      expectOneLineError(result, 2, cases[i]?.[1] as string);
    }
    const stores = await Promise.all(
      ['memory', 'ftp://x'].map((store) => runCli(['status', 'x', '--store', store], { cwd: dir })),
    );
    for (const result of stores) expectOneLineError(result, 2, 'BAD_STORE');
    expect(stores[0]?.stderr).toContain('--store memory keeps nothing once mcp-orch exits');
  });

  it('a failing workflow is a failure (1, WORKFLOW_FAILED) after its progress', async () => {
    const result = await cli('run', 'fails.mjs', '--task', 'broken');
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('step explode started');
    expect(result.stderr).toBe(
      'mcp-orch: Task broken failed at step explode: the tool is down (WORKFLOW_FAILED)\n',
    );
    const status = JSON.parse((await cli('status', 'broken', '--json')).stdout);
    expect(status).toMatchObject({
      status: 'error',
      error: { stepId: 'explode', message: 'the tool is down' },
    });
  });

  it('run refuses a task id that exists; resume needs the workflow module', async () => {
    expect((await cli('run', 'words.mjs', '--task', 'taken')).code).toBe(0);
    const again = await cli('run', 'words.mjs', '--task', 'taken');
    expectOneLineError(again, 1, 'TASK_EXISTS');
    // The command line's way on, not the library's (`{ ifExists: 'resume' }`); a finished task
    // is not one to continue.
    const store = `--store file:${join(dir, 'store')}`;
    expect(again.stderr).toBe(
      `mcp-orch: Task taken has finished (completed): see it with \`mcp-orch status taken ${store}\`, delete it with \`mcp-orch checkpoints delete taken --all ${store}\`, or pick another --task (TASK_EXISTS)\n`,
    );
    // Resuming a failed task gives its failure again, from its final checkpoint.
    const resumed = await cli('resume', 'broken');
    expectOneLineError(resumed, 1, 'WORKFLOW_FAILED');
  });

  it('run on a task whose checkpoints were all deleted says how to delete what is left', async () => {
    expect((await cli('run', 'words.mjs', '--task', 'emptied')).code).toBe(0);
    const list = JSON.parse(
      (await cli('checkpoints', 'list', 'emptied', '--json')).stdout,
    ).checkpoints;
    for (const { checkpointId } of list) {
      expect((await cli('checkpoints', 'delete', 'emptied', checkpointId)).code).toBe(0);
    }
    const again = await cli('run', 'words.mjs', '--task', 'emptied');
    expectOneLineError(again, 1, 'TASK_EXISTS');
    const remove = `mcp-orch checkpoints delete emptied --all --store file:${join(dir, 'store')}`;
    expect(again.stderr).toBe(
      `mcp-orch: Task emptied has no checkpoint left to resume, but its lineage remains: delete it with \`${remove}\`, or pick another --task (TASK_EXISTS)\n`,
    );
    expect((await cli('checkpoints', 'delete', 'emptied', '--all')).code).toBe(0);
    expect((await cli('run', 'words.mjs', '--task', 'emptied')).code).toBe(0);
  });

  it('resume refuses a module that exports another workflow than the task runs (2), before anything', async () => {
    expect((await cli('run', 'approval.mjs', '--task', 'other_file')).code).toBe(0);
    const resumed = await cli('resume', 'other_file', '--file', 'words.mjs');
    expectOneLineError(resumed, 2, 'BAD_WORKFLOW_FILE');
    expect(resumed.stderr).toBe(
      'mcp-orch: Task other_file runs workflow approval, but words.mjs exports words (BAD_WORKFLOW_FILE)\n',
    );
    // The task is as it was: still waiting for its event.
    const status = JSON.parse((await cli('status', 'other_file', '--json')).stdout);
    expect(status).toMatchObject({ status: 'suspended', seq: 3 });
  });

  it('a redis:// URL with a wrong db path, an unknown parameter or a bad timeout is BAD_STORE (2)', async () => {
    // Refused before connecting: nothing listens on port 1.
    const redis = 'redis://127.0.0.1:1';
    const cases: [string, string][] = [
      [
        `${redis}/abc`,
        `The Redis URL's path is a database number, as in redis://host:port/1, got "/abc"`,
      ],
      [`${redis}/-1`, 'got "/-1"'],
      [`${redis}/1/2`, 'got "/1/2"'],
      [
        `${redis}?prefx=typo`,
        'The Redis URL takes no "prefx": its parameters are prefix=, timeout=',
      ],
      [`${redis}?prefix=p:&keyPrefix=nested:`, 'The Redis URL takes no "keyPrefix"'],
      [`${redis}?timeout=0s`, "The Redis URL's timeout takes a duration such as 500ms, 10s or 2m"],
      [`${redis}?timeout=soon`, 'got "soon"'],
      // Longer than a timer takes: it would fire at once, so the connect would fail at once.
      [`${redis}?timeout=2147483648ms`, 'at most 2147483647ms (about 24.8 days)'],
      [`${redis}?timeout=35792m`, 'got "35792m"'],
    ];
    const results = await Promise.all(
      cases.map(([store]) => runCli(['tasks', '--store', store], { cwd: dir })),
    );
    for (const [i, result] of results.entries()) {
      expectOneLineError(result, 2, 'BAD_STORE');
      expect(result.stderr).toContain(cases[i]?.[1]);
    }
  });

  it('--help is per command and exits 0; a bare mcp-orch prints the help on stderr and exits 2', async () => {
    const help = await cli('checkpoints', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: mcp-orch checkpoints list|show|delete|prune TASK');
    expect(help.stdout).toContain('--keep N');
    const version = await runCli(['--version'], { cwd: dir });
    expect(version.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
    const bare = await runCli([], { cwd: dir });
    expect(bare.code).toBe(2);
    expect(bare.stdout).toBe('');
    expect(bare.stderr).toContain('Commands:');
  });
});
