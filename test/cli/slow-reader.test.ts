import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliCommand, makeCliDir } from './cli-harness.js';

let dir = '';
let remove = async () => {};
let store = '';

/** `big.mjs`: one step whose result holds 2 MB, so `run --json` prints more than a pipe holds. */
const BIG = `
import { createContext, defineWorkflow } from 'mcp-orchestration';

export default defineWorkflow({
  id: 'big',
  version: '1',
  steps: [{ stepId: 'fill', run: (_context, _step, { taskId }) =>
    createContext('Big', { lines: Array.from({ length: 20000 }, (_, i) => i + ' ' + 'x'.repeat(96)) }, { contextId: taskId + '_fill' }) }],
});
`;

beforeAll(async () => {
  ({ dir, remove } = await makeCliDir());
  store = `file:${join(dir, 'store')}`;
  await writeFile(join(dir, 'big.mjs'), BIG);
});
afterAll(async () => {
  await remove();
});

/**
 * Runs `mcp-orch args…` with its stdout on a pipe this side reads only once the process has
 * exited, or after `readAfterMs` (a process that waits for its output to be read never exits
 * first), as `mcp-orch … | (sleep 1; wc -c)` does.
 */
function runReadingLate(
  args: readonly string[],
  readAfterMs: number,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const [command, argv] = cliCommand([...args, '--store', store]);
  const child = spawn(command, argv, { cwd: dir });
  child.stdout.pause();
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const startReading = () => {
    clearTimeout(timer);
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stdout.resume();
  };
  const timer = setTimeout(startReading, readAfterMs);
  child.once('exit', startReading);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('mcp-orch writing to a pipe whose reader is slow', { timeout: 30_000 }, () => {
  it('prints its whole output before it exits, not what the pipe held', async () => {
    const result = await runReadingLate(['run', 'big.mjs', '--task', 'big_1', '--json'], 4_000);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout.length).toBeGreaterThan(128 * 1024);
    const printed = JSON.parse(result.stdout);
    expect(printed).toMatchObject({ taskId: 'big_1', status: 'completed' });
    expect(printed.result.data.lines).toHaveLength(20000);
  });
});
