#!/usr/bin/env node
/**
 * `mcp-orch`: the command line of mcp-orchestration (the package's `bin`). Run, resume and
 * inspect durable workflows over any persistent store (`--store file:DIR`, `redis://…`).
 *
 * This folder is Node-only and its own entry point: it is the one part of `src/` that may
 * import Node built-ins, and nothing in the library (`src/index.ts`) imports it, so browser
 * bundles never see it. It uses the package through its public entry points only.
 */
import { runCli } from './run-cli.js';

const code = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
});
// Exit now: a step that ignores its abort signal must not keep a finished command alive.
process.exit(code);
