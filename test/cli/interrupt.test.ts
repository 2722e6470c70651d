import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCliDir, runCli, runWordsUntilCheckpointed } from './cli-harness.js';

let dir = '';
let remove = async () => {};

beforeAll(async () => {
  ({ dir, remove } = await makeCliDir());
});
afterAll(async () => {
  await remove();
});

describe('mcp-orch run, interrupted by Ctrl-C', { timeout: 90_000 }, () => {
  it('leaves the task resumable, prints the resume command, and that command finishes it', async () => {
    const store = `file:${join(dir, 'store')}`;
    // Press Ctrl-C once the first step's completion is checkpointed (the second step runs).
    const { code, stdout, stderr } = await runWordsUntilCheckpointed(dir, 'int_1', store, (child) =>
      child.kill('SIGINT'),
    );
    expect(code).toBe(130);
    expect(stdout).not.toContain('step count completed');
    const resumeLine = `mcp-orch resume int_1 --file words.mjs --store ${store}`;
    expect(stderr).toBe(`Interrupted. Task int_1 is paused; resume it with:\n  ${resumeLine}\n`);

    const status = JSON.parse(
      (await runCli(['status', 'int_1', '--store', store, '--json'], { cwd: dir })).stdout,
    );
    expect(status.status).toBe('paused');
    expect(status.plan.map((s: { isComplete: boolean }) => s.isComplete)).toEqual([
      true,
      false,
      false,
    ]);

    // Its workflow must be given to go on: a missing argument (2).
    const blind = await runCli(['resume', 'int_1', '--store', store], { cwd: dir });
    expect(blind.code).toBe(2);
    expect(blind.stderr).toBe(
      'mcp-orch: Task int_1 is paused, and resuming it runs workflow words: pass its module with --file FILE (USAGE)\n',
    );

    const resumed = await runCli(resumeLine.split(' ').slice(1), { cwd: dir });
    expect(resumed.stderr).toBe('');
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toContain(
      'Resuming task int_1 from checkpoint 3 (paused; 1/3 steps done)',
    );
    expect(resumed.stdout).not.toContain('step split started');
    expect(resumed.stdout).toContain(
      'Task int_1 completed: Report int_1_report\n{\n  "report": "4 words"\n}',
    );
    // split ran once; count ran again after the interruption (steps are at least once).
    const steps = (await readFile(join(dir, 'steps.log'), 'utf8')).trim().split('\n');
    expect(steps).toEqual(['split', 'count', 'count', 'report']);
  });
});
