import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCliDir, runCli } from './cli-harness.js';

let dir = '';
let remove = async () => {};
const cli = (...args: string[]) =>
  runCli([...args, '--store', `file:${join(dir, 'store')}`], { cwd: dir });

beforeAll(async () => {
  ({ dir, remove } = await makeCliDir());
  expect((await cli('run', 'words.mjs', '--task', 'exp_1')).code).toBe(0);
}, 60_000);
afterAll(async () => {
  await remove();
});

describe('mcp-orch export: a workflow for Stately Studio', { timeout: 120_000 }, () => {
  it('export FILE prints createMachine code with the states named after the plan', async () => {
    const { code, stdout } = await cli('export', 'words.mjs');
    expect(code).toBe(0);
    expect(stdout).toContain("import { createMachine } from 'xstate';");
    expect(stdout).toContain('export const machine = createMachine({');
    expect(stdout).toContain('description: "Count the words"');
  });

  it('export FILE --json prints the machine config', async () => {
    const config = JSON.parse((await cli('export', 'words.mjs', '--json')).stdout);
    expect(config.id).toBe('words');
    expect(config.initial).toBe('split');
    expect(Object.keys(config.states)).toEqual(['split', 'count', 'report', 'done', 'failed']);
    expect(config.states.report.meta.step).toMatchObject({
      stepId: 'report',
      name: 'Write the report',
    });
  });

  it("export TASK --file --mermaid draws the chart with the task's state highlighted", async () => {
    const { code, stdout } = await cli('export', 'exp_1', '--file', 'words.mjs', '--mermaid');
    expect(code).toBe(0);
    expect(stdout.startsWith('stateDiagram-v2\n')).toBe(true);
    expect(stdout).toContain('state "report<br/>Write the report" as s_report');
    expect(stdout).toContain('class s_done current');
  });

  it('export TASK needs the matching workflow module', async () => {
    const [bare, wrong] = await Promise.all([
      cli('export', 'exp_1'),
      cli('export', 'exp_1', '--file', 'fails.mjs'),
    ]);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toBe(
      'mcp-orch: exp_1 is a task (workflow words): pass the module it runs with --file FILE (USAGE)\n',
    );
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toBe(
      'mcp-orch: Task exp_1 runs workflow words, but fails.mjs exports fails (BAD_WORKFLOW_FILE)\n',
    );
  });
});
