import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

describe('mcp-orchestration/mcp in a browser bundle', () => {
  it('bundles for the browser without Node built-ins (the stdio transport is not followed)', async () => {
    const result = await build({
      entryPoints: ['adapters/mcp.ts'],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      conditions: ['source'],
      write: false,
      logLevel: 'silent',
    });
    expect(result.errors).toEqual([]);
    const code = result.outputFiles[0]?.text ?? '';
    expect(code).toContain('StreamableHTTPClientTransport');
    expect(code).not.toMatch(/child_process|cross-spawn|node:stream/);
  });
});
