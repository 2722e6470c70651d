import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliCommand, makeCliDir, runCli } from './cli-harness.js';

/**
 * `region.mjs`: a group whose region `a` runs three steps of `STEP_MS` each (logging `start a1`,
 * `end a1` or `abort a1`… to `region-<task>.log`) while region `h` waits for `approve`.
 */
const REGION = `
import { appendFileSync } from 'node:fs';
import { createContext, defineWorkflow } from 'mcp-orchestration';

const ms = Number(process.env.STEP_MS ?? 300);
const slow = (stepId) => ({
  stepId,
  run: (context, _step, { taskId, signal }) => {
    const log = new URL('./region-' + taskId + '.log', import.meta.url);
    appendFileSync(log, 'start ' + stepId + '\\n');
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        appendFileSync(log, 'end ' + stepId + '\\n');
        resolve(createContext('R', { ...context.data, [stepId]: true }));
      }, ms);
      signal.addEventListener('abort', () => {
        clearTimeout(timer);
        appendFileSync(log, 'abort ' + stepId + '\\n');
        reject(signal.reason);
      });
    });
  },
});

export default defineWorkflow({
  id: 'region',
  version: '1',
  steps: [
    { stepId: 'g', parallel: {
      a: [slow('a1'), slow('a2'), slow('a3')],
      h: [{ stepId: 'approve', waitFor: { event: 'approve' } }],
    } },
  ],
});

export const input = { x: 1 };
`;

let dir = '';
let remove = async () => {};
let store = '';
const cli = (...args: string[]) => runCli([...args, '--store', store], { cwd: dir });
const stepsOf = async (taskId: string) =>
  (await readFile(join(dir, `region-${taskId}.log`), 'utf8')).trim().split('\n');

beforeAll(async () => {
  ({ dir, remove } = await makeCliDir());
  await writeFile(join(dir, 'region.mjs'), REGION);
  store = `file:${join(dir, 'store')}`;
});
afterAll(async () => {
  await remove();
});

describe('mcp-orch: a wait beside a region that still works', { timeout: 120_000 }, () => {
  it('run goes on until the region is done, then stops suspended; send finishes it', async () => {
    const run = await cli('run', 'region.mjs', '--task', 'rw_1');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const lines = run.stdout.split('\n');
    const suspendedAt = lines.findIndex((line) => / saved \(suspended\)/.test(line));
    expect(suspendedAt).toBeGreaterThan(lines.indexOf('step a3 completed'));
    expect(run.stdout.match(/ saved \(suspended\)/g)).toHaveLength(1);
    expect(run.stdout).toContain('Task rw_1 is suspended, waiting for approve.');
    // Every step ran once, to its end: none was cut by the run stopping.
    expect(await stepsOf('rw_1')).toEqual([
      'start a1',
      'end a1',
      'start a2',
      'end a2',
      'start a3',
      'end a3',
    ]);
    const sent = await cli(
      'send',
      'rw_1',
      'approve',
      '--file',
      'region.mjs',
      '--data',
      '{"ok":true}',
      '--json',
    );
    expect(sent.stderr).toBe('');
    expect(JSON.parse(sent.stdout)).toMatchObject({
      status: 'completed',
      result: { data: { x: 1, a1: true, a2: true, a3: true, ok: true } },
    });
  });

  it('resume of a task paused mid-region runs the region on before it stops suspended', async () => {
    const [command, argv] = cliCommand(['run', 'region.mjs', '--task', 'rw_2', '--store', store]);
    const child = spawn(command, argv, { cwd: dir, env: { ...process.env, STEP_MS: '1000' } });
    let stdout = '';
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (stdout.includes('step a1 started')) resolve();
      });
    });
    child.kill('SIGINT'); // Ctrl-C while a1 runs: the task is paused, a1 cut
    expect(await exited).toBe(130);
    expect(stdout).not.toContain('(suspended)');

    const resumed = await cli('resume', 'rw_2', '--file', 'region.mjs');
    expect(resumed.stderr).toBe('');
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toContain('Task rw_2 is suspended, waiting for approve.');
    expect(resumed.stdout.indexOf('(suspended)')).toBeGreaterThan(
      resumed.stdout.indexOf('step a3 completed'),
    );
    expect(await stepsOf('rw_2')).toEqual([
      'start a1',
      'abort a1',
      'start a1',
      'end a1',
      'start a2',
      'end a2',
      'start a3',
      'end a3',
    ]);
    // Resumed again at rest, it stops at once, as it was.
    const again = await cli('resume', 'rw_2', '--file', 'region.mjs', '--json');
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toEqual({
      taskId: 'rw_2',
      status: 'suspended',
      waitingFor: ['approve'],
    });
    expect(await stepsOf('rw_2')).toHaveLength(8);
  });
});
