import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const tsx = join(process.cwd(), 'node_modules', '.bin', 'tsx');
let directory = '';

/** Runs an example the way `npm start` does, with the default store in a temp directory. */
async function runExample(file: string, env: Record<string, string> = {}): Promise<string> {
  const { stdout } = await run(tsx, ['--conditions=source', join('examples', file)], {
    env: { ...process.env, MCP_ORCHESTRATION_DIR: directory, ...env },
    timeout: 60_000,
  });
  return stdout;
}

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'mcp-examples-'));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe('examples', () => {
  it("checkpoint-restore (the README's example) restores the actor and finishes it", async () => {
    expect(await runExample('checkpoint-restore.ts')).toContain('published { edits: 1 }');
  });

  it('parallel-processing merges, checkpoints and reads its lineage back, twice', async () => {
    for (let i = 0; i < 2; i++) {
      const out = await runExample('parallel-processing.ts');
      expect(out).toContain('longest words per chunk: messages, checkpoint, lineage');
      expect(out).toContain(
        'merged from: ["parallel_demo_result_0","parallel_demo_result_1","parallel_demo_result_2"]',
      );
      expect(out).toContain('latest: completed, seq 2');
      expect(out).toContain('Lineage (8 transitions, read back from the store)');
      expect(out).toContain('Origin of parallel_demo_merged: parallel_demo_input');
      expect(out).toContain('flowchart TD');
    }
  });

  it('fault-tolerance dies mid-run, then resumes without re-running checkpointed steps', async () => {
    const crashed = await runExample('fault-tolerance.ts', { SIMULATE_CRASH: '1' }).then(
      () => expect.unreachable('the process should have died'),
      (error: { code?: number; stdout?: string }) => error,
    );
    expect(crashed.code).toBe(137);
    expect(crashed.stdout).toContain('running parse');
    expect(crashed.stdout).toContain('(simulated crash: the process dies here)');

    const resumed = await runExample('fault-tolerance.ts');
    expect(resumed).toContain(
      'Resuming workflow fault_demo from checkpoint 2, saved at parse (step 0)',
    );
    expect(resumed).not.toContain('running parse');
    expect(resumed).toContain('running enrich');
    expect(resumed).toContain('checkpoint 6: completed');
    expect(resumed).toContain('Completed: 9 words; tags: checkpoints, recovery');
  });

  it('recover-tasks dies with orders in flight; the next worker recovers them without their ids', async () => {
    const crashed = await runExample('recover-tasks.ts', { SIMULATE_CRASH: '1' }).then(
      () => expect.unreachable('the process should have died'),
      (error: { code?: number; stdout?: string }) => error,
    );
    expect(crashed.code).toBe(137);
    expect(crashed.stdout).toContain('order_1: ship');
    expect(crashed.stdout).not.toContain('order_2: charge');

    const recovered = await runExample('recover-tasks.ts');
    expect(recovered).toContain('order_1: completed at ship');
    expect(recovered).toMatch(/order_2: running at \w+/);
    // Its leases outlived the crash, but the worker came back under the same owner.
    expect(recovered).toContain('Recovered 2: order_2, order_3');
    expect(recovered).not.toContain('left to it');
    expect(recovered).not.toContain('order_2: reserve'); // checkpointed before the crash
    expect(recovered).toContain('order_3 done: reserve → charge → ship');
    expect(recovered).toContain('Purged 3 finished: order_1, order_2, order_3');
  });

  it('research-workflow (npm start) is interrupted by Ctrl-C, resumes, and ends like an uninterrupted run', async () => {
    const env = { RESEARCH_STEP_MS: '300' };
    const uninterrupted = await runExample('research-workflow.ts', env);
    expect(uninterrupted).toContain('checkpoint 8 saved (completed)');
    const report = uninterrupted.slice(
      uninterrupted.indexOf('# How do durable'),
      uninterrupted.indexOf('Checkpoints,'),
    );
    expect(report).toContain('## analyst');

    // Run it afresh and press Ctrl-C (SIGINT) once the parallel agents are running.
    const child = spawn(tsx, ['--conditions=source', join('examples', 'research-workflow.ts')], {
      env: { ...process.env, MCP_ORCHESTRATION_DIR: directory, ...env },
    });
    let out = '';
    const exited = new Promise<number | null>((resolve) =>
      child.on('exit', (code) => resolve(code)),
    );
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('+ historian done')) resolve();
      });
    });
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(out).toContain('Paused. Run `npm start` again');
    expect(out).not.toContain('checkpoint 8 saved (completed)');

    const resumed = await runExample('research-workflow.ts', env);
    expect(resumed).toMatch(/Resuming research_demo after checkpoint \d+/);
    expect(resumed).not.toContain('> plan'); // checkpointed before the interrupt: never runs again
    expect(resumed).not.toContain('> historian');
    expect(resumed).toContain('+ write done');
    expect(resumed).toContain(report);
    expect(resumed).toContain('Origin of the report: research_demo_input');
  }, 60_000);

  it('mcp-workflow calls the tools of the example MCP server over stdio, one of them routed', async () => {
    const out = await runExample('mcp-workflow.ts');
    expect(out).toContain('MCP server tools: word_count, extract_keywords, first_sentence');
    expect(out).toContain('Lead: Durable workflows keep their state in checkpoints.');
    expect(out).toContain('Size: 33 words, 224 characters, 3 sentences');
    expect(out).toContain('Keywords: checkpoints (2), durable (2), mcp (2), tools (2)');
    expect(out).toContain('[extract_keywords: routed tools/call]');
    expect(out).toMatch(/ \+ .+ \+ .+ -> mcp_text_demo\.analyze\.merged/);
    expect(out).toContain('MCP server closed');
  }, 60_000);

  it("basic-workflow routes the seed's three steps to a tool, a worker pool and an agent", async () => {
    const out = await runExample('basic-workflow.ts');
    expect(out).toContain("Result: the ×3, and ×2, bat ×1 (the planner's task 1)");
    // Each target kind made one context; the lineage names it and says why it was chosen.
    expect(out).toContain('task_123_input -> task_123_parse (tool_input_parser): fallback');
    expect(out).toContain(
      'task_123_parse -> task_123_process (worker_pool_data_processor): content rule count_words',
    );
    expect(out).toContain(
      'task_123_process -> task_123_generate (agent_type_planner): type TaskContext',
    );
    // A checkpoint holds each decision before its target runs, another one the step's result.
    expect(out).toContain('2. running, step 0, [], tool input_parser');
    expect(out).toContain('5. running, step 1, [parse, process], worker_pool data_processor');
    expect(out).toContain('8. completed, step 2, [parse, process, generate]');
    // By hand: the content rule outranks the type rule; the planner remembers the first task.
    expect(out).toContain(
      'process -> worker_pool data_processor [count_words chosen, type:TaskContext outranked',
    );
    expect(out).toContain('the ×2, cat ×1, hat ×1; planner task 2, new words: hat, on');
  });
});
