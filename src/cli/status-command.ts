import { createRuntime, getCheckpointManager, UnknownTaskError } from 'mcp-orchestration';
import { ExitCode } from './cli-error.js';
import { type Command, isoTime, taskIdArgument, writeJson, writeLines } from './command.js';
import { taskWorkflow } from './export-command.js';
import { taskPlan } from './task-plan.js';

/** `mcp-orch status TASK`: where a task is, from its latest checkpoint. */
export const statusCommand: Command = {
  name: 'status',
  usage: 'status TASK [--file FILE] [--json]',
  summary: "a task's status, current step and plan, from its latest checkpoint",
  details: [
    "JSON: the runtime's RunStatus (taskId, workflowId, workflowVersion, status, currentStepIndex,",
    'currentStepId, checkpointId, seq, waitingFor, error?, lease?) plus updatedAt and the plan',
    '(stepId, name, stepIndex, isComplete).',
    'Checkpoints of a plan over 20 steps, between the first and the final one, leave the plan out:',
    "it is then read from --file (the task's workflow module) or the task's first checkpoint, its",
    'steps before the current one shown done, and JSON says so in planOmitted { steps, source,',
    'completion }.',
  ].join('\n'),
  options: {
    file: {
      type: 'string',
      value: 'FILE',
      description: "the task's workflow module (for the plan a checkpoint leaves out)",
    },
  },
  positionals: { min: 1, max: 1 },
  async run(invocation) {
    const taskId = taskIdArgument(invocation.positionals[0]);
    const file = invocation.string('file');
    const { store } = await invocation.store();
    const status = await createRuntime({ store }).status(taskId);
    const manager = await getCheckpointManager(store);
    const latest = await manager.loadLatestCheckpoint(taskId, { snapshot: false });
    if (status === undefined || latest === undefined) throw new UnknownTaskError(taskId);
    const workflow = file === undefined ? undefined : await taskWorkflow(latest, file);
    const { plan: steps, omitted } = await taskPlan(manager, latest, workflow?.plan);
    const { live: _live, ...rest } = status;
    const plan = steps.map(({ stepId, name, stepIndex, isComplete }) => ({
      stepId,
      name,
      stepIndex,
      isComplete,
    }));
    const updatedAt = isoTime(latest.checkpoint?.createdAt);
    if (invocation.flag('json')) {
      writeJson(invocation.io, {
        ...rest,
        updatedAt,
        plan,
        ...(omitted === undefined ? {} : { planOmitted: omitted }),
      });
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
    if (omitted?.source === 'none') {
      lines.push(
        `Plan: ${omitted.steps} steps, left out of this checkpoint and of the oldest one (pass the workflow module with --file FILE to list them)`,
      );
    }
    if (plan.length > 0) {
      const done = plan.filter((step) => step.isComplete).length;
      const from =
        omitted === undefined
          ? ''
          : `; left out of this checkpoint, read from ${omitted.source === 'workflow' ? 'the workflow module' : "the task's first checkpoint"}, done ${omitted.completion}`;
      lines.push(`Plan (${done}/${plan.length} steps done${from}):`);
      for (const step of plan) {
        const name = step.name === step.stepId ? '' : `  ${step.name}`;
        lines.push(`  ${step.isComplete ? '✓' : '·'} ${step.stepId}${name}`);
      }
    }
    writeLines(invocation.io, lines);
    return ExitCode.Ok;
  },
};
