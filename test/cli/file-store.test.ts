import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type CheckpointStore, getCheckpointManager } from 'mcp-orchestration';
import { createFileStore } from 'mcp-orchestration/file';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCliDir, runCli } from './cli-harness.js';

let dir = '';
let remove = async () => {};
let storeDir = '';
let store: CheckpointStore;
const cli = (...args: string[]) => runCli([...args, '--store', `file:${storeDir}`], { cwd: dir });

beforeAll(async () => {
  ({ dir, remove } = await makeCliDir());
  storeDir = join(dir, 'store');
  store = createFileStore({ directory: storeDir });
  // One real run that the read commands below look at.
  const run = await cli('run', 'words.mjs', '--task', 'doc_1');
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
}, 60_000);
afterAll(async () => {
  await store.close();
  await remove();
});

// Each test starts real Node processes (1-3 s each on a loaded 2-core machine).
describe('mcp-orch over a file store', { timeout: 60_000 }, () => {
  it('run prints one plain line per step and checkpoint (stdout is not a TTY), then the result', async () => {
    const { code, stdout } = await cli(
      'run',
      'words.mjs',
      '--task',
      'doc_2',
      '--input',
      '{"text":"a b"}',
    );
    expect(code).toBe(0);
    // Each step boundary is checkpointed before the next step starts.
    expect(stdout.replace(/ checkpoint-[0-9A-Z]{26}$/gm, ' <id>')).toBe(
      [
        `Running words@1 as task doc_2 (file:${storeDir})`,
        'checkpoint 1 saved (running) <id>',
        'step split started',
        'step split completed',
        'checkpoint 2 saved (running) <id>',
        'step count started',
        'step count completed',
        'checkpoint 3 saved (running) <id>',
        'step report started',
        'step report completed',
        'checkpoint 4 saved (running) <id>',
        'checkpoint 5 saved (completed) <id>',
        'Task doc_2 completed: Report doc_2_report',
        '{',
        '  "report": "2 words"',
        '}',
        '',
      ].join('\n'),
    );
  });

  it('run --json prints only the outcome, as JSON', async () => {
    const { code, stdout } = await cli('run', 'words.mjs', '--task', 'doc_3', '--json');
    expect(code).toBe(0);
    const outcome = JSON.parse(stdout);
    expect(outcome).toMatchObject({
      taskId: 'doc_3',
      status: 'completed',
      workflowId: 'words',
      seq: 5,
    });
    expect(outcome.result).toMatchObject({ contextType: 'Report', data: { report: '4 words' } });
  });

  it('status --json is the RunStatus of the latest checkpoint, with the plan', async () => {
    const { code, stdout } = await cli('status', 'doc_1', '--json');
    expect(code).toBe(0);
    const status = JSON.parse(stdout);
    const latest = await (await getCheckpointManager(store)).loadLatestCheckpoint('doc_1');
    expect(status).toMatchObject({
      taskId: 'doc_1',
      workflowId: 'words',
      workflowVersion: '1',
      status: 'completed',
      checkpointId: latest?.checkpoint?.checkpointId,
      seq: 5,
      waitingFor: [],
    });
    expect(
      status.plan.map((s: { stepId: string; isComplete: boolean }) => [s.stepId, s.isComplete]),
    ).toEqual([
      ['split', true],
      ['count', true],
      ['report', true],
    ]);
    const text = await cli('status', 'doc_1');
    expect(text.stdout).toContain('Task doc_1: completed');
    expect(text.stdout).toContain('Plan (3/3 steps done):');
  });

  it('checkpoints list --json lists what the store holds, newest first', async () => {
    const { code, stdout } = await cli('checkpoints', 'list', 'doc_1', '--json');
    expect(code).toBe(0);
    const listing = JSON.parse(stdout) as {
      taskId: string;
      checkpoints: { checkpointId: string; seq: number; status: string }[];
      omitted: number;
    };
    expect(listing.taskId).toBe('doc_1');
    expect(listing.omitted).toBe(0);
    const entries = listing.checkpoints;
    const ids = await (await getCheckpointManager(store)).listCheckpoints('doc_1');
    expect(entries.map((e) => e.checkpointId)).toEqual(ids);
    expect(entries.map((e) => e.seq)).toEqual([5, 4, 3, 2, 1]);
    expect(entries.map((e) => e.status)).toEqual([
      'completed',
      'running',
      'running',
      'running',
      'running',
    ]);
  });

  it('checkpoints list --limit shows the newest N and says how many it left out', async () => {
    const two = JSON.parse(
      (await cli('checkpoints', 'list', 'doc_1', '--limit', '2', '--json')).stdout,
    );
    expect(two.checkpoints.map((e: { seq: number }) => e.seq)).toEqual([5, 4]);
    expect(two.omitted).toBe(3); // as the text says
    const text = await cli('checkpoints', 'list', 'doc_1', '--limit', '2');
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('  … and 3 older (--limit 0 lists all)');
    const all = JSON.parse(
      (await cli('checkpoints', 'list', 'doc_1', '--limit', '0', '--json')).stdout,
    );
    expect(all.checkpoints.map((e: { seq: number }) => e.seq)).toEqual([5, 4, 3, 2, 1]);
    expect(all.omitted).toBe(0);
    expect((await cli('checkpoints', 'list', 'doc_1')).stdout).not.toContain('older');
  });

  it('checkpoints show prints one checkpoint; --json the whole state with its snapshot', async () => {
    const manager = await getCheckpointManager(store);
    const [, second] = await manager.listCheckpoints('doc_1');
    const { code, stdout } = await cli('checkpoints', 'show', 'doc_1', second as string, '--json');
    expect(code).toBe(0);
    const state = JSON.parse(stdout);
    expect(state).toEqual(
      JSON.parse(JSON.stringify(await manager.loadCheckpoint('doc_1', second as string))),
    );
    expect(state.snapshot.status).toBe('active');
    const latest = await cli('checkpoints', 'show', 'doc_1');
    expect(latest.stdout).toContain('  status      completed');
    expect(latest.stdout).toContain('  done        split, count, report');
  });

  it('lineage --json, --mermaid and as lines', async () => {
    const json = JSON.parse((await cli('lineage', 'doc_1', '--json')).stdout);
    expect(json.workflowId).toBe('doc_1');
    expect(json.transitions.map((t: { toContextId: string }) => t.toContextId)).toEqual([
      'doc_1_input',
      'doc_1_split',
      'doc_1_count',
      'doc_1_report',
    ]);
    const mermaid = await cli('lineage', 'doc_1', '--mermaid');
    expect(mermaid.stdout.startsWith('flowchart TD\n')).toBe(true);
    expect(mermaid.stdout).toContain('-->|"count: task"|');
    const lines = await cli('lineage', 'doc_1');
    expect(lines.stdout).toContain('doc_1_split -> doc_1_count (Count)  [count: task]');
  });

  it('checkpoints prune --keep and delete change the store', async () => {
    const manager = await getCheckpointManager(store);
    await cli('run', 'words.mjs', '--task', 'doc_prune');
    const before = await manager.listCheckpoints('doc_prune');
    expect(before).toHaveLength(5);

    const pruned = await cli('checkpoints', 'prune', 'doc_prune', '--keep', '2', '--json');
    expect(JSON.parse(pruned.stdout)).toEqual({ taskId: 'doc_prune', deleted: 3, kept: 2 });
    expect(await manager.listCheckpoints('doc_prune')).toEqual(before.slice(0, 2));

    const deleted = await cli('checkpoints', 'delete', 'doc_prune', before[1] as string);
    expect(deleted.stdout).toBe(`Deleted checkpoint ${before[1]} of task doc_prune\n`);
    expect(await manager.listCheckpoints('doc_prune')).toEqual(before.slice(0, 1));

    const again = await cli('checkpoints', 'delete', 'doc_prune', before[1] as string);
    expect(again.code).toBe(3);
    expect(again.stderr).toBe(
      `mcp-orch: Task doc_prune has no checkpoint ${before[1]} (CHECKPOINT_NOT_FOUND)\n`,
    );

    const all = await cli('checkpoints', 'delete', 'doc_prune', '--all');
    expect(all.code).toBe(0);
    expect(await manager.store.head('doc_prune')).toBe(0);
    expect(await manager.loadLineage('doc_prune')).toEqual([]);
  });

  it('resume of a finished task prints its result without the workflow module', async () => {
    const { code, stdout } = await cli('resume', 'doc_1');
    expect(code).toBe(0);
    expect(stdout).toContain('Task doc_1 completed: Report doc_1_report');
  });

  it('without --store it uses MCP_ORCHESTRATION_DIR', async () => {
    const env = { MCP_ORCHESTRATION_DIR: join(dir, 'env-store') };
    expect((await runCli(['run', 'words.mjs', '--task', 'env_1'], { cwd: dir, env })).code).toBe(0);
    const status = await runCli(['status', 'env_1', '--json'], { cwd: dir, env });
    expect(JSON.parse(status.stdout).status).toBe('completed');
    expect((await cli('status', 'env_1')).code).toBe(3); // not in the other store
    const steps = await readFile(join(dir, 'steps.log'), 'utf8');
    expect(steps).toContain('report');
  });
});
