import { createRuntime, getCheckpointManager, UnknownTaskError } from 'mcp-orchestration';
import { ExitCode } from './cli-error.js';
import { type Command, isoTime, taskIdArgument, writeJson, writeLines } from './command.js';

/** `mcp-orch status TASK`: where a task is, from its latest checkpoint. */
export const statusCommand: Command = {
  name: 'status',
  usage: 'status TASK [--json]',
  summary: "a task's status, current step and plan, from its latest checkpoint",
  details: [
    "JSON: the runtime's RunStatus (taskId, workflowId, workflowVersion, status, currentStepIndex,",
    'currentStepId, checkpointId, seq, waitingFor, error?, lease?) plus updatedAt and the plan',
    '(stepId, name, stepIndex, isComplete).',
  ].join('\n'),
  options: {},
  positionals: { min: 1, max: 1 },
  async run(invocation) {
    const taskId = taskIdArgument(invocation.positionals[0]);
    const { store } = await invocation.store();
    const status = await createRuntime({ store }).status(taskId);
    const latest = await (await getCheckpointManager(store)).loadLatestCheckpoint(taskId, {
      snapshot: false,
    });
    if (status === undefined || latest === undefined) throw new UnknownTaskError(taskId);
    const { live: _live, ...rest } = status;
    const plan = latest.plan.map(({ stepId, name, stepIndex, isComplete }) => ({
      stepId,
      name,
      stepIndex,
      isComplete,
    }));
    const updatedAt = isoTime(latest.checkpoint?.createdAt);
    if (invocation.flag('json')) {
      writeJson(invocation.io, { ...rest, updatedAt, plan });
      return ExitCode.Ok;
    }
    const lines = [
      `Task ${taskId}: ${status.status}`,
      `  workflow    ${status.workflowId ?? '(none)'}@${status.workflowVersion ?? '(none)'}`,
      `  step        ${status.currentStepIndex} ${status.currentStepId ?? ''}`.trimEnd(),
      `  checkpoint  ${status.seq} ${status.checkpointId} at ${updatedAt}`,
    ];
    if (status.waitingFor.length > 0) lines.push(`  waiting for ${status.waitingFor.join(', ')}`);
    if (status.lease !== undefined) {
      const { owner, expiresAt } = status.lease;
      lines.push(`  leased to   ${owner} until ${isoTime(expiresAt)}`);
    }
    if (status.error !== undefined) {
      const { stepId, message, attempts } = status.error;
      lines.push(`  error       step ${stepId} failed after ${attempts} attempt(s): ${message}`);
    }
    if (plan.length > 0) {
      const done = plan.filter((step) => step.isComplete).length;
      lines.push(`Plan (${done}/${plan.length} steps done):`);
      for (const step of plan) {
        const name = step.name === step.stepId ? '' : `  ${step.name}`;
        lines.push(`  ${step.isComplete ? '✓' : '·'} ${step.stepId}${name}`);
      }
    }
    writeLines(invocation.io, lines);
    return ExitCode.Ok;
  },
};
