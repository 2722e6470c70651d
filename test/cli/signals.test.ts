import { join } from 'node:path';
import { createRuntime, defineWorkflow } from 'mcp-orchestration';
import { createMemoryStore } from 'mcp-orchestration/memory';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Invocation } from '../../src/cli/command.js';
import { watchRun } from '../../src/cli/watch-run.js';
import { makeCliDir, runCli, runWordsUntilCheckpointed } from './cli-harness.js';

let dir = '';
let remove = async () => {};

beforeAll(async () => {
  ({ dir, remove } = await makeCliDir());
});
afterAll(async () => {
  await remove();
});

describe('mcp-orch run, stopped by SIGTERM or SIGHUP', { timeout: 90_000 }, () => {
  for (const [signal, code, why] of [
    ['SIGTERM', 143, 'Terminated (SIGTERM)'],
    ['SIGHUP', 129, 'Hung up (SIGHUP)'],
  ] as const) {
    it(`${signal} pauses the task as Ctrl-C does, exit code ${code}, and resume takes it on at once`, async () => {
      const task = `sig_${signal.toLowerCase()}`;
      const store = `file:${join(dir, `store-${signal}`)}`;
      const run = await runWordsUntilCheckpointed(dir, task, store, (child) => child.kill(signal));
      expect(run.code).toBe(code);
      const resumeLine = `mcp-orch resume ${task} --file words.mjs --store ${store}`;
      expect(run.stderr).toBe(`${why}. Task ${task} is paused; resume it with:\n  ${resumeLine}\n`);

      const status = JSON.parse(
        (await runCli(['status', task, '--store', store, '--json'], { cwd: dir })).stdout,
      );
      expect(status.status).toBe('paused');
      expect(status.lease).toBeUndefined(); // released, not left to a dead process for 30 s
      const resumed = await runCli(resumeLine.split(' ').slice(1), { cwd: dir });
      expect(resumed.stderr).toBe('');
      expect(resumed.code).toBe(0);
      expect(resumed.stdout).toContain(`Task ${task} completed: Report ${task}_report`);
    });
  }
});

describe('mcp-orch run of a task paused from another terminal', { timeout: 90_000 }, () => {
  it('fails with WORKFLOW_PAUSED (exit 1) and says the resume command', async () => {
    const store = `file:${join(dir, 'store-paused')}`;
    const run = await runWordsUntilCheckpointed(dir, 'elsewhere', store, async () => {
      const paused = await runCli(['pause', 'elsewhere', '--store', store], { cwd: dir });
      expect(paused.code).toBe(0);
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      `mcp-orch: Task elsewhere was paused by another process; resume it with \`mcp-orch resume elsewhere --file words.mjs --store ${store}\` (WORKFLOW_PAUSED)\n`,
    );
  });
});

describe('watchRun, interrupted while the run starts', () => {
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  const listenersBefore = new Map(signals.map((s) => [s, new Set(process.listeners(s))]));
  afterEach(() => {
    // The watch leaves "a second signal exits at once" listeners behind: not in this worker.
    for (const signal of signals) {
      for (const listener of process.listeners(signal)) {
        if (!listenersBefore.get(signal)?.has(listener)) process.off(signal, listener);
      }
    }
  });

  it('lets the run start (bounded), then pauses it, as a Ctrl-C later does', async () => {
    const workflow = defineWorkflow({
      id: 'slow',
      version: '1',
      steps: [
        {
          stepId: 'hang',
          run: (_context, _step, { signal }) =>
            new Promise((_resolve, reject) => {
              signal.addEventListener('abort', () => reject(signal.reason));
            }),
        },
      ],
    });
    const store = createMemoryStore();
    const runtime = createRuntime({ store, workflows: [workflow] });
    let stderr = '';
    const invocation: Invocation = {
      positionals: [],
      io: {
        stdout: { write: () => true },
        stderr: {
          write: (text: string) => {
            stderr += text;
            return true;
          },
        },
        env: {},
      },
      string: () => undefined,
      flag: () => false,
      store: () => Promise.reject(new Error('not used')),
    };
    const code = await watchRun(invocation, {
      runtime,
      taskId: 'early',
      plan: workflow.plan,
      begin: async () => {
        // Ctrl-C before start() has returned.
        process.emit('SIGINT', 'SIGINT');
        await new Promise((resolve) => setTimeout(resolve, 50));
        return runtime.start(workflow, {}, { taskId: 'early' });
      },
      file: 'slow.mjs',
      store: { spec: 'memory:', isDefault: false },
    });
    expect(code).toBe(130);
    expect(stderr).toBe(
      'Interrupted. Task early is paused; resume it with:\n  mcp-orch resume early --file slow.mjs --store memory:\n',
    );
    expect((await createRuntime({ store }).status('early'))?.status).toBe('paused');
  });
});
