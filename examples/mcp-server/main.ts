/**
 * The example MCP server as a program. Over stdio by default (what an MCP client spawns):
 *
 *   npx tsx examples/mcp-server/main.ts
 *
 * Over Streamable HTTP on 127.0.0.1 with `--http [port]` (port 0 or none: a free port); it
 * prints `listening on <url>`. `--test-tools` adds the `sleep` tool the tests use. A port that is
 * not an integer from 0 to 65535 prints the usage and exits with code 2.
 */
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { createTextToolsServer } from './create-text-tools-server.js';
import { startHttpServer } from './start-http-server.js';

const args = process.argv.slice(2);
const testTools = args.includes('--test-tools');
const httpAt = args.indexOf('--http');

const USAGE = 'usage: main.ts [--http [port]] [--test-tools]  (port: an integer from 0 to 65535)';

/** The port after `--http`: 0 when none is given; exits with the usage when it is not one. */
function portArgument(value: string | undefined): number {
  if (value === undefined || value.startsWith('--')) return 0;
  const port = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!(port >= 0 && port <= 65_535)) {
    console.error(`Invalid port ${JSON.stringify(value)}\n${USAGE}`);
    process.exit(2);
  }
  return port;
}

if (httpAt >= 0) {
  const port = portArgument(args[httpAt + 1]);
  const server = await startHttpServer({ port, testTools });
  console.log(`listening on ${server.url.href}`);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void server.close().then(() => process.exit(0)));
  }
} else {
  const server = createTextToolsServer({ testTools });
  await server.connect(new StdioServerTransport());
  // The client closes stdin to stop the server: exit then, even if a call is still running.
  process.stdin.once('end', () => void server.close().then(() => process.exit(0)));
}
