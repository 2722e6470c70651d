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
const stderr = guardOutput(process.stderr);
const code = await runCli(process.argv.slice(2), {
  stdout: stdout.stream,
  // Errors and hints on a closed stderr (`2>&1 | head -1`) are dropped just the same.
  stderr: stderr.stream,
  env: process.env,
  outputClosed: stdout.closed,
});
// What a slow reader of a pipe has not read yet is still queued here: let it out first (a reader
// that never reads keeps the command waiting, as it would keep any other writer).
await Promise.all([stdout.flush(), stderr.flush()]);
// Then exit: a step that ignores its abort signal must not keep a finished command alive.
process.exit(code);
