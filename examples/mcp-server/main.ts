/**
 * The example MCP server as a program. Over stdio by default (what an MCP client spawns):
 *
 *   npx tsx examples/mcp-server/main.ts
 *
 * Over Streamable HTTP on 127.0.0.1 with `--http [port]` (port 0 or none: a free port); it
 * prints `listening on <url>`. `--test-tools` adds the `sleep` tool the tests use.
 */
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { createTextToolsServer } from './create-text-tools-server.js';
import { startHttpServer } from './start-http-server.js';

const args = process.argv.slice(2);
const testTools = args.includes('--test-tools');
const httpAt = args.indexOf('--http');

if (httpAt >= 0) {
  const port = Number(args[httpAt + 1]?.startsWith('--') ? 0 : (args[httpAt + 1] ?? 0));
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
