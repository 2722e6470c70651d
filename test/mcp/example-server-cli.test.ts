/** The example server as a program: a bad `--http` port is a usage error, not a crash. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

describe('examples/mcp-server/main.ts --http <port>', () => {
  it('a port that is not an integer from 0 to 65535 prints the usage and exits with code 2', () => {
    for (const port of ['abc', '70000', '-1', '80.5']) {
      const run = spawnSync(
        process.execPath,
        ['--import', 'tsx', join('examples', 'mcp-server', 'main.ts'), '--http', port],
        { encoding: 'utf8', timeout: 15_000 },
      );
      expect(run.status).toBe(2);
      expect(run.stderr).toContain(`Invalid port "${port}"`);
      expect(run.stderr).toContain('usage: main.ts [--http [port]] [--test-tools]');
      expect(run.stderr).not.toContain('RangeError');
    }
  });
});
