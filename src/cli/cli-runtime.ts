import { hostname } from 'node:os';
import {
  type CheckpointStore,
  createRuntime,
  type Runtime,
  type RuntimeWorkflow,
} from 'mcp-orchestration';

/**
 * How long the lease on a task `run`, `resume` or `send` runs lasts without renewal, ms (the
 * runtime renews it every third of that): how long a task whose `mcp-orch` was killed waits
 * before another `mcp-orch resume` may take it on. The library's default.
 */
export const CLI_LEASE_TTL_MS = 30_000;

/**
 * The lease owner of this `mcp-orch` process, as `status` and `tasks` show it:
 * `mcp-orch.<host>.<pid>`, one per process, so that two processes on one host exclude each other.
 */
export function cliLeaseOwner(): string {
  const host =
    hostname()
      .replace(/[^A-Za-z0-9_.-]/g, '_')
      .slice(0, 80) || 'host';
  return `mcp-orch.${host}.${process.pid}`;
}

/**
 * The runtime `run`, `resume` and `send` run a task under: it takes the task's lease (see
 * {@link CLI_LEASE_TTL_MS}) before running anything, so a second process that starts or resumes
 * the task meanwhile is refused at once (`TASK_LEASED`), instead of running the step in flight
 * again and losing at its checkpoint (`CHECKPOINT_CONFLICT`). The lease is released when the run
 * ends, suspends, comes to rest or is paused (Ctrl-C, closed output), as the runtime closes.
 * With `lease: false` (`resume` of a finished task, which runs nothing), it takes none, so that
 * reading a result writes nothing.
 */
export function createCliRuntime(
  store: CheckpointStore,
  workflows: readonly RuntimeWorkflow[],
  options: { readonly lease?: boolean } = {},
): Runtime {
  if (options.lease === false) return createRuntime({ store, workflows });
  return createRuntime({
    store,
    workflows,
    lease: { owner: cliLeaseOwner(), ttlMs: CLI_LEASE_TTL_MS },
  });
}
