import { readdir, readFile, writeFile } from 'node:fs/promises';
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
  await writeFile(join(dir, 'syntax.mjs'), 'export default {{ oops\n');
});
afterAll(async () => {
  await remove();
});

/** The file of a task's checkpoint `seq` in the file store (a lower-case task id). */
async function recordFile(taskId: string, seq: number): Promise<string> {
  const records = join(dir, 'store', 'tasks', taskId, 'records');
  const name = (await readdir(records)).find((file) =>
    file.startsWith(`${String(seq).padStart(16, '0')}~`),
  );
  if (name === undefined) throw new Error(`no checkpoint ${seq} of ${taskId}`);
  return join(records, name);
}

describe('mcp-orch checkpoints', { timeout: 120_000 }, () => {
  it('prune --keep 0 is a usage error: it would leave a task with no checkpoint', async () => {
    expect((await cli('run', 'words.mjs', '--task', 'ec_prune')).code).toBe(0);
    const pruned = await cli('checkpoints', 'prune', 'ec_prune', '--keep', '0');
    expect(pruned.code).toBe(2);
    expect(pruned.stdout).toBe('');
    expect(pruned.stderr).toBe(
      'mcp-orch: --keep must be an integer ≥ 1 (checkpoints delete TASK --all deletes the whole task), got "0" (USAGE)\n',
    );
    const listed = JSON.parse(
      (await cli('checkpoints', 'list', 'ec_prune', '--json')).stdout,
    ).checkpoints;
    expect(listed).toHaveLength(5);
    expect((await cli('checkpoints', 'prune', 'ec_prune', '--keep', '1')).code).toBe(0);
    expect((await cli('status', 'ec_prune')).code).toBe(0);
  });

  it('list shows a checkpoint it cannot read as unreadable, and still lists the others', async () => {
    expect((await cli('run', 'words.mjs', '--task', 'ec_corrupt')).code).toBe(0);
    await writeFile(await recordFile('ec_corrupt', 2), 'not a checkpoint');

    const text = await cli('checkpoints', 'list', 'ec_corrupt');
    expect(text.stderr).toBe('');
    expect(text.code).toBe(0);
    const lines = text.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(6);
    expect(lines[1]).toMatch(/^ {5}5 {2}checkpoint-\S+ {2}\S+Z {2}completed {2}report$/);
    expect(lines[4]).toMatch(
      /^ {5}2 {2}checkpoint-\S+ {2}\S+Z {2}unreadable: Record checkpoint-\S+ of task ec_corrupt is corrupt: .+ \(CORRUPT_RECORD\)$/,
    );

    const json = JSON.parse(
      (await cli('checkpoints', 'list', 'ec_corrupt', '--json')).stdout,
    ).checkpoints;
    expect(json.map((e: { seq: number; status: string }) => [e.seq, e.status])).toEqual([
      [5, 'completed'],
      [4, 'running'],
      [3, 'running'],
      [2, 'unreadable'],
      [1, 'running'],
    ]);
    expect(json[3].error.code).toBe('CORRUPT_RECORD');
    expect(json[3].checkpointId).toMatch(/^checkpoint-/);
  });
});

describe('mcp-orch status and inspect of a plan longer than a checkpoint holds', {
  timeout: 120_000,
}, () => {
  it('read the plan from the first checkpoint or the module, done steps derived, and say so', async () => {
    expect((await cli('run', 'long.mjs', '--task', 'ec_long')).code).toBe(0);
    const text = await cli('status', 'ec_long');
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('  step        12 gate\n');
    expect(text.stdout).toContain(
      "Plan (12/25 steps done; left out of this checkpoint, read from the task's first checkpoint, done derived from the current step):\n",
    );
    expect(text.stdout).toContain('  ✓ s11  Step 11\n  · gate  Wait for go\n  · s13  Step 13\n');

    const json = JSON.parse((await cli('status', 'ec_long', '--json')).stdout);
    expect(json.plan).toHaveLength(25);
    expect(json.planOmitted).toEqual({
      steps: 25,
      source: 'first checkpoint',
      completion: 'derived from the current step',
    });
    const withFile = JSON.parse(
      (await cli('status', 'ec_long', '--file', 'long.mjs', '--json')).stdout,
    );
    expect(withFile.planOmitted.source).toBe('workflow');
    expect(withFile.plan.filter((s: { isComplete: boolean }) => s.isComplete)).toHaveLength(12);

    const out = join(dir, 'long.html');
    expect((await cli('inspect', 'ec_long', '--out', out)).code).toBe(0);
    const html = await readFile(out, 'utf8');
    expect(html).toContain('<th>Current step</th><td>gate (Wait for go)</td>');
    expect(html).toContain(
      'This checkpoint leaves out its plan of 25 steps: the steps before the current one are shown done.',
    );
    expect(html).toContain('<li class="now"><span class="mark">▶</span> <code>gate</code>');

    // Without its first checkpoint, and no module: the plan's size, and how to list it.
    const first = JSON.parse(
      (await cli('checkpoints', 'list', 'ec_long', '--json')).stdout,
    ).checkpoints.at(-1);
    expect((await cli('checkpoints', 'delete', 'ec_long', first.checkpointId)).code).toBe(0);
    expect((await cli('status', 'ec_long')).stdout).toContain(
      'Plan: 25 steps, left out of this checkpoint and of the oldest one (pass the workflow module with --file FILE to list them)\n',
    );
  });
});

describe('mcp-orch run --input', { timeout: 60_000 }, () => {
  it('--input null is the input: the module’s input stands in only without --input', async () => {
    const nullInput = await cli(
      'run',
      'echo.mjs',
      '--task',
      'ec_null',
      '--input',
      'null',
      '--json',
    );
    expect(nullInput.code).toBe(0);
    expect(JSON.parse(nullInput.stdout).result.data).toEqual({ got: null });
    const moduleInput = await cli('run', 'echo.mjs', '--task', 'ec_module', '--json');
    expect(JSON.parse(moduleInput.stdout).result.data).toEqual({ got: { from: 'module' } });
  });
});

describe('mcp-orch: smaller things', { timeout: 60_000 }, () => {
  it('the `More:` line of tasks keeps --store', async () => {
    const listed = await cli('tasks', '--limit', '1');
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/\nMore: mcp-orch tasks --after \S+ --limit 1 --store \S+\n$/);
    expect(listed.stdout).toContain(` --store ${store}\n`);
  });

  it('a module that fails to load is named in the error', async () => {
    const result = await cli('run', 'syntax.mjs');
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `mcp-orch: Cannot load workflow module ${join(dir, 'syntax.mjs')}: Unexpected token '{' (BAD_WORKFLOW_FILE)\n`,
    );
  });

  it('inspect --out must name a file', async () => {
    for (const out of ['', dir]) {
      const result = await cli('inspect', 'ec_prune', '--out', out);
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(/^mcp-orch: --out .+ \(USAGE\)\n$/);
    }
  });
});
