import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCliDir, runCli } from './cli-harness.js';

let dir = '';
let remove = async () => {};
const cli = (...args: string[]) =>
  runCli([...args, '--store', `file:${join(dir, 'store')}`], { cwd: dir });

beforeAll(async () => {
  ({ dir, remove } = await makeCliDir());
  expect((await cli('run', 'words.mjs', '--task', 'ins_1')).code).toBe(0);
}, 60_000);
afterAll(async () => {
  await remove();
});

/** What makes a page render offline: no script, style, image or font fetched from anywhere. */
function expectSelfContained(html: string): void {
  expect(html.trimStart().toLowerCase().startsWith('<!doctype html>')).toBe(true);
  expect(html).not.toMatch(/<(script|img|link|iframe)\b[^>]*\b(src|href)=/i);
  expect(html).not.toMatch(/url\(\s*['"]?https?:/i);
}

describe('mcp-orch inspect: an HTML page of a task', { timeout: 120_000 }, () => {
  it('writes the page (status, plan, lineage, and with --file the state chart) and prints its path', async () => {
    const { code, stdout, stderr } = await cli('inspect', 'ins_1', '--file', 'words.mjs');
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const path = join(dir, 'mcp-orch-inspect-ins_1.html');
    expect(stdout).toBe(`${path}\n`);
    const html = await readFile(path, 'utf8');
    expectSelfContained(html);
    expect(html).toContain('<svg');
    for (const text of ['ins_1', 'completed', 'Write the report', 'ins_1_split', 'ins_1_report']) {
      expect(html).toContain(text);
    }
    expect(html).toContain('stateDiagram-v2'); // the chart's Mermaid text rides along
    expect(html).toContain('flowchart TD'); // and the lineage's
  });

  it('--out chooses the file; without --file the page has no state chart; --json gives the path', async () => {
    const out = join(dir, 'page.html');
    const { code, stdout } = await cli('inspect', 'ins_1', '--out', out, '--json');
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual({ taskId: 'ins_1', path: out });
    const html = await readFile(out, 'utf8');
    expectSelfContained(html);
    expect(html).toContain('ins_1_count');
    expect(html).not.toContain('stateDiagram-v2');
  });

  it('an unknown task writes nothing', async () => {
    const out = join(dir, 'never.html');
    const result = await cli('inspect', 'ghost', '--out', out);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('(TASK_NOT_FOUND)');
    await expect(readFile(out, 'utf8')).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
