import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const repo = process.cwd();
const tsxLoader = pathToFileURL(join(repo, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
const mainFile = join(repo, 'src', 'cli', 'main.ts');

/** What one `mcp-orch` process did. */
export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The arguments that start `mcp-orch` from source in a real Node process. */
export function cliCommand(args: readonly string[]): [string, string[]] {
  return [process.execPath, ['--import', tsxLoader, '--conditions=source', mainFile, ...args]];
}

/**
 * Starts `mcp-orch run words.mjs` in `cwd` (steps of 1.5 s) on `store` and, once its first
 * step's completion is checkpointed (the second step runs), calls `act` with the process (to
 * signal it, say); resolves with its exit code and output.
 */
export async function runWordsUntilCheckpointed(
  cwd: string,
  task: string,
  store: string,
  act: (child: ReturnType<typeof spawn>) => unknown,
): Promise<CliResult> {
  const [command, argv] = cliCommand(['run', 'words.mjs', '--task', task, '--store', store]);
  const child = spawn(command, argv, { cwd, env: { ...process.env, STEP_MS: '1500' } });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  await new Promise<void>((resolve) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('checkpoint 2 saved')) resolve();
    });
  });
  await act(child);
  return { code: await exited, stdout, stderr };
}

/** Runs `mcp-orch args…` as a subprocess in `cwd` and collects its output and exit code. */
export function runCli(
  args: readonly string[],
  options: { cwd: string; env?: Record<string, string> },
): Promise<CliResult> {
  const [command, argv] = cliCommand(args);
  const child = spawn(command, argv, {
    cwd: options.cwd,
    env: { ...process.env, MCP_ORCHESTRATION_DIR: '', ...options.env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * Workflow modules a user would write, importing the package by name: `words.mjs` (split →
 * count → report, each step appending its id to `steps.log` and waiting `STEP_MS`),
 * `fails.mjs` (a step that always throws) and `approval.mjs` (draft, wait for `approve`, publish);
 * more below.
 */
const WORDS = `
import { appendFileSync } from 'node:fs';
import { createContext, defineWorkflow } from 'mcp-orchestration';

const ms = Number(process.env.STEP_MS ?? 0);
const log = new URL('./steps.log', import.meta.url);
function work(stepId, signal) {
  appendFileSync(log, stepId + '\\n');
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => { clearTimeout(timer); reject(signal.reason); });
  });
}

export default defineWorkflow({
  id: 'words',
  version: '1',
  steps: [
    { stepId: 'split', name: 'Split the text', run: async (context, _step, { taskId, signal }) => {
      await work('split', signal);
      return createContext('Words', { words: String(context.data.text).split(' ') }, { contextId: taskId + '_split' });
    } },
    { stepId: 'count', name: 'Count the words', run: async (context, _step, { taskId, signal }) => {
      await work('count', signal);
      return createContext('Count', { count: context.data.words.length }, { contextId: taskId + '_count' });
    } },
    { stepId: 'report', name: 'Write the report', run: async (context, _step, { taskId, signal }) => {
      await work('report', signal);
      return createContext('Report', { report: context.data.count + ' words' }, { contextId: taskId + '_report' });
    } },
  ],
});

export const input = { text: 'the quick brown fox' };
`;

const FAILS = `
import { defineWorkflow } from 'mcp-orchestration';

export const workflow = defineWorkflow({
  id: 'fails',
  version: '1',
  steps: [{ stepId: 'explode', name: 'Explode', run: () => { throw new Error('the tool is down'); } }],
});
`;

const APPROVAL = `
import { createContext, defineWorkflow } from 'mcp-orchestration';

export default defineWorkflow({
  id: 'approval',
  version: '1',
  steps: [
    { stepId: 'draft', name: 'Draft', run: (context, _step, { taskId }) =>
      createContext('Draft', { text: 'v1 of ' + context.data.topic }, { contextId: taskId + '_draft' }) },
    { stepId: 'review', name: 'Wait for approval', waitFor: { event: 'approve' } },
    { stepId: 'publish', name: 'Publish', run: (context, _step, { taskId }) =>
      createContext('Published', { by: context.data.by }, { contextId: taskId + '_published' }) },
  ],
});

export const input = { topic: 'checkpoints' };
`;

/**
 * `review.mjs`: a hand-written machine (defineMachineWorkflow) with no `suspended` tag: it rests
 * in `drafting` (taking `edit` and `submit`), then in `reviewing` (taking `approve`).
 */
const REVIEW_MACHINE = `
import { defineMachineWorkflow } from 'mcp-orchestration';
import { assign, setup } from 'xstate';

const machine = setup({}).createMachine({
  id: 'review',
  initial: 'drafting',
  context: { edits: 0 },
  states: {
    drafting: {
      on: { edit: { actions: assign({ edits: ({ context }) => context.edits + 1 }) }, submit: 'reviewing' },
    },
    reviewing: { on: { approve: 'published' } },
    published: { type: 'final' },
  },
});

export default defineMachineWorkflow({
  id: 'review',
  version: '1',
  machine,
  plan: [
    { stepId: 'drafting', name: 'Draft it', stepIndex: 0, isComplete: false },
    { stepId: 'reviewing', name: 'Review it', stepIndex: 1, isComplete: false },
  ],
});
`;

/**
 * `checked.mjs`: a hand-written machine tagged `suspended` where it waits, that invokes a
 * `check` actor (waiting `CHECK_MS`) between its two waits.
 */
const CHECKED_MACHINE = `
import { defineMachineWorkflow } from 'mcp-orchestration';
import { fromPromise, setup } from 'xstate';

const ms = Number(process.env.CHECK_MS ?? 0);
const machine = setup({
  actors: { check: fromPromise(() => new Promise((resolve) => setTimeout(() => resolve(true), ms))) },
}).createMachine({
  id: 'checked',
  initial: 'drafting',
  states: {
    drafting: { tags: ['suspended'], on: { submit: 'checking' } },
    checking: { invoke: { src: 'check', onDone: 'reviewing' } },
    reviewing: { tags: ['suspended'], on: { approve: 'published' } },
    published: { type: 'final' },
  },
});

export default defineMachineWorkflow({ id: 'checked', version: '1', machine });
`;

/** `long.mjs`: 25 steps (more than a checkpoint's plan holds by default), a wait for `go` at 12. */
const LONG = `
import { createContext, defineWorkflow } from 'mcp-orchestration';

const steps = [];
for (let i = 0; i < 25; i++) {
  if (i === 12) steps.push({ stepId: 'gate', name: 'Wait for go', waitFor: { event: 'go' } });
  else steps.push({ stepId: 's' + i, name: 'Step ' + i, run: (context, _step, { taskId }) =>
    createContext('N', { i }, { contextId: taskId + '_' + i }) });
}
export default defineWorkflow({ id: 'long', version: '1', steps });
`;

/** `echo.mjs`: one step giving its input's data as `got`; its `input` is `{ from: 'module' }`. */
const ECHO = `
import { createContext, defineWorkflow } from 'mcp-orchestration';

export default defineWorkflow({
  id: 'echo',
  version: '1',
  steps: [{ stepId: 'echo', run: (context, _step, { taskId }) =>
    createContext('Echo', { got: context.data }, { contextId: taskId + '_echo' }) }],
});

export const input = { from: 'module' };
`;

/**
 * A temp folder holding the workflow modules, `node_modules/mcp-orchestration` → this repo (and
 * `node_modules/xstate` → its xstate, for the hand-written machines).
 */
export async function makeCliDir(): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'mcp-orch-cli-'));
  await mkdir(join(dir, 'node_modules'));
  await symlink(repo, join(dir, 'node_modules', 'mcp-orchestration'), 'dir');
  await symlink(join(repo, 'node_modules', 'xstate'), join(dir, 'node_modules', 'xstate'), 'dir');
  await writeFile(join(dir, 'words.mjs'), WORDS);
  await writeFile(join(dir, 'fails.mjs'), FAILS);
  await writeFile(join(dir, 'approval.mjs'), APPROVAL);
  await writeFile(join(dir, 'review.mjs'), REVIEW_MACHINE);
  await writeFile(join(dir, 'checked.mjs'), CHECKED_MACHINE);
  await writeFile(join(dir, 'long.mjs'), LONG);
  await writeFile(join(dir, 'echo.mjs'), ECHO);
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}
