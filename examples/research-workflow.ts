/**
 * The flagship example (`npm start`): a small multi-agent research workflow on the durable
 * runtime, checkpointed in the embedded file store (`.mcp-orchestration/`, or
 * `MCP_ORCHESTRATION_DIR`). A planner splits the question, three agents research in parallel
 * (a parallel state), their findings are merged when the last one finishes, and a writer turns
 * them into a report. The agents are deterministic local functions: no network, no API key.
 *
 * Press Ctrl-C while it runs and start it again: it resumes from its last checkpoint, and steps
 * whose completion was checkpointed do not run again. A finished run starts afresh next time.
 * `RESEARCH_STEP_MS` sets how long each agent works (default 700 ms).
 */
import {
  type Context,
  createContext,
  createRuntime,
  defineWorkflow,
  getCheckpointManager,
  isOrchestrationError,
  type TaskStep,
} from 'mcp-orchestration';

type Note = { agent: string; subtopic: string; text: string };
type Research = {
  question: string;
  subtopics?: Record<string, string>;
  findings?: Record<string, Note[]>;
  report?: string;
};

const stepMs = Number(process.env.RESEARCH_STEP_MS ?? 700);
const taskId = 'research_demo';

/** What each agent "knows": a tiny local corpus standing in for tools and models. */
const corpus: Record<string, string[]> = {
  history: [
    'Databases have logged intent before acting since the 1970s (write-ahead logging).',
    'Sagas (1987) split long transactions into steps with compensations.',
  ],
  mechanics: [
    "A checkpoint here is the workflow actor's persisted XState snapshot.",
    'Steps are at least once; an idempotency key (task:step:attempt) makes retries safe.',
    'Timers survive a restart only as deadlines stored in the snapshot.',
  ],
  risks: [
    'Two writers on one workflow fork its history unless writes are conditional.',
    'Checkpoints that re-serialize all data every step cost more as the run grows.',
  ],
};

/** Waits `ms`, or rejects when the step is aborted (timeout, cancel, shutdown). */
function work(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(signal.reason);
    });
  });
}

/** The step's result: a new immutable context, its id derived from the task and step. */
function next(stepId: string, data: Research): Context {
  return createContext('ResearchContext', data, { contextId: `${taskId}.${stepId}` });
}

const plan: TaskStep = {
  stepId: 'plan',
  name: 'Plan the research',
  run: async (context, _step, { signal }) => {
    await work(stepMs / 2, signal);
    const { question } = context.data as Research;
    const subtopics = { historian: 'history', analyst: 'mechanics', critic: 'risks' };
    return next('plan', { question, subtopics });
  },
};

function agent(name: string, factor: number): TaskStep {
  return {
    stepId: name,
    name: `${name} researches`,
    retry: { attempts: 3, backoff: { initialMs: 100, maxMs: 1000 } },
    run: async (context, _step, { signal }) => {
      await work(stepMs * factor, signal);
      const data = context.data as Research;
      const subtopic = data.subtopics?.[name] ?? 'history';
      const notes = (corpus[subtopic] ?? []).map((text) => ({ agent: name, subtopic, text }));
      return next(name, { question: data.question, findings: { [name]: notes } });
    },
  };
}

const write: TaskStep = {
  stepId: 'write',
  name: 'Write the report',
  run: async (context, _step, { signal }) => {
    await work(stepMs / 2, signal);
    const { question, findings = {} } = context.data as Research;
    const sections = Object.entries(findings).map(
      ([who, notes]) => `## ${who}\n${notes.map((n) => `- ${n.text}`).join('\n')}`,
    );
    const report = `# ${question}\n\n${sections.join('\n\n')}`;
    return next('write', { question, findings, report });
  },
};

const research = defineWorkflow({
  id: 'research',
  version: '1',
  description: 'Plan, research in parallel with three agents, merge, write.',
  steps: [
    plan,
    // Three regions of one parallel state; their contexts are merged (recursive dictionary merge:
    // `findings.historian`, `findings.analyst`, `findings.critic`) when the last one is done.
    {
      stepId: 'fanout',
      name: 'Research in parallel',
      parallel: {
        historian: [agent('historian', 1)],
        analyst: [agent('analyst', 1.6)],
        critic: [agent('critic', 1.3)],
      },
    },
    write,
  ],
});

const runtime = createRuntime({ workflows: [research] });
const manager = await getCheckpointManager();

runtime.subscribe((event) => {
  if (event.type === 'step.started') console.log(`  > ${event.stepId}`);
  else if (event.type === 'step.completed') console.log(`  + ${event.stepId} done`);
  else if (event.type === 'checkpoint.saved') {
    console.log(`    checkpoint ${event.seq} saved (${event.status})`);
  }
});
process.once('SIGINT', () => {
  // Paused: the agent call in flight is aborted and runs again on resume.
  void runtime
    .pause(taskId)
    .then(
      () => '\nPaused. Run `npm start` again to resume from the last checkpoint.',
      // Not started yet, or already finished: nothing to pause.
      () => '\nStopped before anything was left to resume.',
    )
    .then(async (message) => {
      await runtime.close();
      // What the store holds now (a run that was just finishing may have completed after all).
      const latest = await manager.loadLatestCheckpoint(taskId, { snapshot: false });
      console.log(latest?.status === 'completed' ? '\nStopped; the run had completed.' : message);
      process.exit(130);
    });
});

const previous = await runtime.status(taskId);
const unfinished = ['running', 'suspended', 'paused'].includes(previous?.status ?? '');
if (previous !== undefined && !unfinished) {
  await manager.deleteTask(taskId); // the last run finished: start afresh
}
if (unfinished) {
  console.log(
    `Resuming ${taskId} after checkpoint ${previous?.seq} (at ${previous?.currentStepId})`,
  );
} else {
  console.log(`Starting ${taskId}`);
}
const run = await runtime.start(
  research,
  { question: 'How do durable workflows survive crashes?' },
  { taskId, ifExists: 'resume' },
);
// Ctrl-C pauses the run, which rejects the result with WORKFLOW_PAUSED (or TASK_NOT_RUNNING once
// the runtime is closed): the SIGINT handler then reports and exits, so wait for it instead.
const result = await run.result.catch(async (error: unknown) => {
  if (
    isOrchestrationError(error, 'WORKFLOW_PAUSED') ||
    isOrchestrationError(error, 'TASK_NOT_RUNNING')
  ) {
    return new Promise<never>(() => {});
  }
  // Another process ran this task at the same time (two `npm start`s on one store): it deleted
  // the finished task and started again, or saved first. Conditional writes stopped this run.
  if (
    isOrchestrationError(error, 'CHECKPOINT_CONFLICT') ||
    isOrchestrationError(error, 'TASK_NOT_FOUND')
  ) {
    console.error(
      `\nAnother process ran ${taskId} meanwhile; this run stopped (${error.message}).`,
    );
    await runtime.close();
    process.exit(1);
  }
  throw error;
});

console.log(`\n${(result.data as Research).report}\n`);
console.log('Checkpoints, newest first:');
for (const info of await manager.listCheckpointInfo(taskId)) {
  const state = await manager.loadCheckpoint(taskId, info.checkpointId);
  console.log(`  ${info.seq}  ${info.checkpointId}  ${state?.status}`);
}
const lineage = await runtime.lineage(taskId);
console.log('\nLineage:');
for (const t of lineage.getFullTransitionLog()) {
  const from = t.fromContextIds.length > 0 ? t.fromContextIds.join(' + ') : '(input)';
  console.log(
    `  ${from} -> ${t.toContextId}  [${t.componentName}${t.operation ? `: ${t.operation}` : ''}]`,
  );
}
console.log(`\nOrigin of the report: ${lineage.findOriginatingContext(result.contextId)}`);
