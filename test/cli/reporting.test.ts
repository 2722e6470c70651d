import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCliDir, runCli } from './cli-harness.js';

let dir = '';
let remove = async () => {};
let store = '';
const cli = (...args: string[]) => runCli([...args, '--store', store], { cwd: dir });

/**
 * `ansi.mjs`: a step named with terminal control sequences whose error carries more of them: a
 * screen clear, colours, a bell, a C1 CSI (U+009B) and a right-to-left override.
 */
const ANSI = `
import { defineWorkflow } from 'mcp-orchestration';
export default defineWorkflow({ id: 'ansi', version: '1', steps: [
  { stepId: 'boom', name: 'Boom \\u001b]0;pwned\\u0007', run: () => {
    throw new Error('upstream said: \\u001b[2J\\u001b[31mALL GOOD\\u001b[0m\\u0007 \\u009b2J \\u202egnp.exe');
  } },
] });
`;

/** Control characters a terminal acts on: none may reach it from stored data. */
const CONTROL = /[^\P{Cc}\n]|\u202e/u;

beforeAll(async () => {
  ({ dir, remove } = await makeCliDir());
  store = `file:${join(dir, 'store')}`;
  await writeFile(join(dir, 'ansi.mjs'), ANSI);
});
afterAll(async () => {
  await remove();
});

describe('what mcp-orch prints from stored data', { timeout: 120_000 }, () => {
  it('escapes terminal control characters of step errors and names, on stderr and in status', async () => {
    const run = await cli('run', 'ansi.mjs', '--task', 'ansi_1');
    expect(run.code).toBe(1);
    expect(run.stderr).not.toMatch(CONTROL);
    expect(run.stderr).toBe(
      'mcp-orch: Task ansi_1 failed at step boom: upstream said: \\u001b[2J\\u001b[31mALL GOOD\\u001b[0m\\u0007 \\u009b2J \\u202egnp.exe (WORKFLOW_FAILED)\n',
    );
    const status = await cli('status', 'ansi_1');
    expect(status.code).toBe(0);
    expect(status.stdout).not.toMatch(CONTROL);
    expect(status.stdout).toContain(
      '  error       step boom failed after 1 attempt(s): upstream said: \\u001b[2J\\u001b[31mALL GOOD\\u001b[0m\\u0007 \\u009b2J \\u202egnp.exe\n',
    );
    expect(status.stdout).toContain('  · boom  Boom \\u001b]0;pwned\\u0007\n');
    // JSON stays the same value, written with escapes only.
    const json = await cli('status', 'ansi_1', '--json');
    expect(json.stdout).not.toMatch(CONTROL);
    expect(JSON.parse(json.stdout).error.message).toBe(
      'upstream said: \u001b[2J\u001b[31mALL GOOD\u001b[0m\u0007 \u009b2J \u202egnp.exe',
    );
    const tasks = await cli('tasks');
    expect(tasks.stdout).not.toMatch(CONTROL);
  });
});

describe('pause and cancel', { timeout: 120_000 }, () => {
  it('report what they wrote, exit 0, even when reading the task back would fail', async () => {
    expect((await cli('run', 'approval.mjs', '--task', 'stop_1')).code).toBe(0);
    // A damaged lease file: the status read after the write fails on it.
    await writeFile(join(dir, 'store', 'tasks', 'stop_1', 'lease.json'), '{bad');
    const paused = await cli('pause', 'stop_1');
    expect(paused.stderr).toBe('');
    expect(paused.code).toBe(0);
    expect(paused.stdout).toBe('Task stop_1: paused (checkpoint 4)\n');
    const cancelled = await cli('cancel', 'stop_1', '--json');
    expect(cancelled.stderr).toBe('');
    expect(cancelled.code).toBe(0);
    expect(JSON.parse(cancelled.stdout)).toMatchObject({
      taskId: 'stop_1',
      status: 'cancelled',
      seq: 5,
    });
  });
});

describe('export TASK --file FILE', { timeout: 120_000 }, () => {
  it('takes a task id that looks like a file name (report.js) as the task', async () => {
    expect((await cli('run', 'echo.mjs', '--task', 'report.js')).code).toBe(0);
    const exported = await cli('export', 'report.js', '--file', 'echo.mjs', '--mermaid');
    expect(exported.stderr).toBe('');
    expect(exported.code).toBe(0);
    expect(exported.stdout).toMatch(/^stateDiagram-v2\n/);
    expect(exported.stdout).toContain('class s_done current');
    // A module given twice is still a usage error.
    const twice = await cli('export', './echo.mjs', '--file', 'echo.mjs');
    expect(twice.code).toBe(2);
    expect(twice.stderr).toBe('mcp-orch: give the workflow module once: FILE or --file (USAGE)\n');
  });
});

describe('usage and errors', { timeout: 120_000 }, () => {
  it('purge without --older-than says the option is required', async () => {
    const purge = await cli('purge');
    expect(purge.code).toBe(2);
    expect(purge.stderr).toBe(
      'mcp-orch: purge needs --older-than DURATION, a duration such as 30d, 12h, 90m or 0s (0s: every finished task) (USAGE)\n',
    );
  });

  it('a command help lines its option descriptions up after the longest flag', async () => {
    const help = await runCli(['purge', '--help'], { cwd: dir });
    const options = help.stdout.slice(help.stdout.indexOf('Options:\n') + 9).trimEnd();
    const lines = options.split('\n');
    expect(lines[0]).toMatch(/^ {6}--older-than DURATION {2}how old/);
    const column = lines[0]?.indexOf('how old');
    for (const line of lines) {
      expect(line.slice(0, column)).toMatch(/ {2}$/);
      expect(line[column as number]).not.toBe(' ');
    }
  });

  it('inspect --out in a missing folder is FILE_NOT_FOUND naming the path', async () => {
    expect((await cli('run', 'echo.mjs', '--task', 'insp_1')).code).toBe(0);
    const missing = join(dir, 'no-such-folder', 'page.html');
    const inspect = await cli('inspect', 'insp_1', '--out', missing);
    expect(inspect.code).toBe(2);
    expect(inspect.stderr).toBe(
      `mcp-orch: --out ${missing}: there is no folder ${join(dir, 'no-such-folder')} to write it in (FILE_NOT_FOUND)\n`,
    );
  });

  it('resume of an unfinished task without --file fails before saying it resumes', async () => {
    expect((await cli('run', 'approval.mjs', '--task', 'blind_1')).code).toBe(0);
    const resumed = await cli('resume', 'blind_1');
    expect(resumed.code).toBe(2);
    expect(resumed.stdout).toBe('');
    expect(resumed.stderr).toBe(
      'mcp-orch: Task blind_1 is suspended, and resuming it runs workflow approval: pass its module with --file FILE (USAGE)\n',
    );
  });

  it('tasks counts the unreadable tasks it lists; --json says next: null on the last page', async () => {
    const own = `file:${join(dir, 'tasks-store')}`;
    const tasks = (...args: string[]) => runCli([...args, '--store', own], { cwd: dir });
    expect((await tasks('run', 'echo.mjs', '--task', 'broken')).code).toBe(0);
    const records = join(dir, 'tasks-store', 'tasks', 'broken', 'records');
    for (const name of await readdir(records)) await writeFile(join(records, name), 'garbage');
    const listed = await tasks('tasks');
    expect(listed.code).toBe(0);
    const lines = listed.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('Tasks (1, 1 unreadable):');
    expect(lines[1]).toMatch(/^ {2}broken {2}unreadable: /);
    const json = JSON.parse((await tasks('tasks', '--json')).stdout);
    expect(json.next).toBeNull();
    expect(json.unreadable.map((u: { taskId: string }) => u.taskId)).toEqual(['broken']);
  });
});
