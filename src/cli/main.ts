#!/usr/bin/env node
/**
 * `mcp-orch`: the command line of mcp-orchestration (the package's `bin`). Run, resume and
 * inspect durable workflows over any persistent store (`--store file:DIR`, `redis://…`).
 *
 * This folder is Node-only and its own entry point: it is the one part of `src/` that may
 * import Node built-ins, and nothing in the library (`src/index.ts`) imports it, so browser
 * bundles never see it. It uses the package through its public entry points only.
 */
import { guardOutput } from './guarded-output.js';
import { runCli } from './run-cli.js';

const stdout = guardOutput(process.stdout);
const code = await runCli(process.argv.slice(2), {
  stdout: stdout.stream,
  // Errors and hints on a closed stderr (`2>&1 | head -1`) are dropped just the same.
  stderr: guardOutput(process.stderr).stream,
  env: process.env,
  outputClosed: stdout.closed,
});
// Exit now: a step that ignores its abort signal must not keep a finished command alive.
process.exit(code);
