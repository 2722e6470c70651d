import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliCommand, makeCliDir } from './cli-harness.js';

const exec = promisify(execFile);
// util-linux's `script` runs a command on a real pseudo-terminal.
const script = '/usr/bin/script';
let dir = '';
let remove = async () => {};

beforeAll(async () => {
  ({ dir, remove } = await makeCliDir());
});
afterAll(async () => {
  await remove();
});

describe.skipIf(!existsSync(script))('mcp-orch run on a terminal', { timeout: 60_000 }, () => {
  it('redraws one live block: the plan with ✓ done steps, the last checkpoint, steps done', async () => {
    const store = `file:${join(dir, 'store')}`;
    const [node, args] = cliCommand(['run', 'words.mjs', '--task', 'tty_1', '--store', store]);
    const line = [node, ...args].map((a) => `'${a}'`).join(' ');
    const { stdout } = await exec(script, ['-qec', line, '/dev/null'], {
      cwd: dir,
      env: { ...process.env, STEP_MS: '200' },
    });
    const text = stdout.replaceAll('\r', '');
    // Each redraw moves up over the previous block (3 steps + 1 summary line) and clears it.
    expect(text).toContain('\x1b[4F\x1b[J');
    expect(text).not.toContain('step split started'); // no plain lines on a terminal
    const last = text.slice(text.lastIndexOf('\x1b[J') + 3);
    expect(last).toMatch(
      /^ {2}✓ split {2}Split the text\n {2}✓ count {2}Count the words\n {2}✓ report {2}Write the report\n {2}completed · checkpoint 5 saved · 3\/3 steps done · [\d.]+ s\nTask tty_1 completed: Report tty_1_report\n/,
    );
  });
});
