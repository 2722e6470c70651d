/**
 * How the MCP tests reach the example server (`examples/mcp-server/`): the command that starts
 * it over stdio as a real child process, and the helpers a target's `call` receives.
 */
import { join } from 'node:path';
import type { TargetCallHelpers } from 'mcp-orchestration';

/** `node --import tsx examples/mcp-server/main.ts --test-tools`: one process, its pid the server's. */
export const stdioServer = {
  command: process.execPath,
  args: ['--import', 'tsx', join('examples', 'mcp-server', 'main.ts'), '--test-tools'],
  cwd: process.cwd(),
} as const;

/** Call helpers as the runtime would pass them for attempt 1 of step `step` of task `task`. */
export function helpers(signal: AbortSignal = new AbortController().signal): TargetCallHelpers {
  return { taskId: 'task', stepId: 'step', attempt: 1, idempotencyKey: 'task:step:1', signal };
}

/** Whether a process with this pid exists (signal 0 checks without sending anything). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
