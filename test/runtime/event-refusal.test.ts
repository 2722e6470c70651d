import {
  createRuntime,
  defineWorkflow,
  EventNotAcceptedError,
  getCheckpointManager,
  isOrchestrationError,
  type StandardSchemaV1,
  type Step,
} from 'mcp-orchestration';
import { createMemoryStore } from 'mcp-orchestration/memory';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { reviewMachineWorkflow } from './custom-machine.js';
import { newTaskId, reviewWorkflow } from './helpers.js';

/** A Standard Schema whose `validate` is the given function (no library behind it). */
function schemaOf(
  validate: (value: unknown) => StandardSchemaV1.Result<unknown>,
): StandardSchemaV1<unknown, unknown> {
  return { '~standard': { version: 1, vendor: 'test', validate } };
}

/** Starts a one-step workflow that waits for `approval` with `schema`, until it is suspended. */
async function waitingWith(schema: StandardSchemaV1<unknown, unknown>) {
  const store = createMemoryStore();
  const steps: Step[] = [{ stepId: 'approve', waitFor: { event: 'approval', schema } }];
  const workflow = defineWorkflow({ id: 'gate', version: '1', steps });
  const runtime = createRuntime({ store, workflows: [workflow] });
  const taskId = newTaskId('gate');
  const run = await runtime.start(workflow, null, { taskId });
  await expect.poll(() => run.status().status).toBe('suspended');
  return { store, runtime, taskId, run };
}

async function refusal(promise: Promise<unknown>): Promise<EventNotAcceptedError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isOrchestrationError(error, 'EVENT_NOT_ACCEPTED')).toBe(true);
  return error as EventNotAcceptedError;
}

describe('send: an awaited event whose data is refused says why', () => {
  it("names the schema's issues, and the run still waits and takes a valid event", async () => {
    const store = createMemoryStore();
    const workflow = reviewWorkflow();
    const runtime = createRuntime({ store, workflows: [workflow] });
    const taskId = newTaskId('review');
    const run = await runtime.start(workflow, 'the report', { taskId });
    await expect.poll(() => run.status().status).toBe('suspended');
    const seq = run.status().seq;

    const error = await refusal(runtime.send(taskId, { type: 'approval', data: { ok: 'yes' } }));
    expect(error).toBeInstanceOf(EventNotAcceptedError);
    expect(error).toMatchObject({ taskId, eventType: 'approval', expected: ['approval'] });
    expect(error.issues.map((issue) => issue.path)).toEqual(['$.data.ok', '$.data.reviewer']);
    for (const issue of error.issues) expect(issue.message).toMatch(/expected (boolean|string)/);
    expect(error.message).toBe(
      `Task ${taskId} waits for event "approval", but refused its data: ` +
        `$.data.ok: ${error.issues[0]?.message}; $.data.reviewer: ${error.issues[1]?.message}`,
    );
    // The schema's own error, as the cause.
    expect(isOrchestrationError(error.cause, 'CONTEXT_VALIDATION')).toBe(true);

    // A bare event (no data): what the schema says of `undefined`.
    const bare = await refusal(runtime.send(taskId, { type: 'approval' }));
    expect(bare.issues).toHaveLength(1);
    expect(bare.issues[0]?.path).toBe('$.data');
    expect(bare.message).toContain('refused its data: $.data: ');

    // Nothing changed: same status, no new checkpoint, and a valid event takes it on.
    expect(run.status()).toMatchObject({ status: 'suspended', seq, waitingFor: ['approval'] });
    const manager = await getCheckpointManager(store);
    expect(await manager.listCheckpoints(taskId)).toHaveLength(seq ?? 0);
    await runtime.send(taskId, { type: 'approval', data: { ok: true, reviewer: 'ana' } });
    expect((await run.result).data).toEqual({ published: true, reviewer: 'ana' });
  });

  it('an event type it does not wait for keeps the old message and has no issues', async () => {
    const { runtime, taskId, run } = await waitingWith(z.object({ ok: z.boolean() }));
    const error = await refusal(runtime.send(taskId, { type: 'rejection', data: { ok: 'x' } }));
    expect(error.message).toBe(
      `Task ${taskId} does not accept event "rejection" now (it waits for approval, with data its step's schema accepts, if it has one)`,
    );
    expect(error.issues).toEqual([]);
    expect(error.cause).toBeUndefined();
    const reserved = await refusal(runtime.send(taskId, { type: 'workflow.committed' }));
    expect(reserved.issues).toEqual([]);
    await runtime.send(taskId, { type: 'approval', data: { ok: true } });
    expect((await run.result).data).toEqual({ ok: true });
  });

  it('names at most three issues in the message, each cut short; all are in issues', async () => {
    const long = 'x'.repeat(5000);
    const schema = schemaOf(() => ({
      issues: [
        { message: long, path: ['a'] },
        { message: 'line one\nline two', path: ['b', 0] },
        { message: 'third', path: [{ key: 'c d' }] },
        { message: 'fourth', path: ['e'] },
        { message: 'fifth' },
      ],
    }));
    const { runtime, taskId } = await waitingWith(schema);
    const error = await refusal(runtime.send(taskId, { type: 'approval', data: { a: 1 } }));
    expect(error.issues).toEqual([
      { path: '$.data.a', message: long },
      { path: '$.data.b[0]', message: 'line one\nline two' },
      { path: '$.data["c d"]', message: 'third' },
      { path: '$.data.e', message: 'fourth' },
      { path: '$.data', message: 'fifth' },
    ]);
    expect(error.message.length).toBeLessThan(500);
    expect(error.message).toContain(`$.data.a: ${'x'.repeat(100)}`);
    expect(error.message).toContain('…; $.data.b[0]: line one line two; $.data["c d"]: third');
    expect(error.message).toMatch(/ \(and 2 more\)$/);
    expect(error.message).not.toContain('fourth');
  });

  it('a schema that throws or answers asynchronously is named as such', async () => {
    const throwing = await waitingWith(
      schemaOf(() => {
        throw new Error('boom');
      }),
    );
    const threw = await refusal(throwing.runtime.send(throwing.taskId, { type: 'approval' }));
    expect(threw.issues).toEqual([{ path: '$.data', message: 'the schema threw: boom' }]);
    expect(threw.message).toContain('refused its data: $.data: the schema threw: boom');

    const pending = await waitingWith(schemaOf(() => Promise.resolve({ value: 1 }) as never));
    const async = await refusal(pending.runtime.send(pending.taskId, { type: 'approval' }));
    expect(async.issues[0]?.message).toMatch(/validates asynchronously/);
  });

  it('a schema whose output JSON cannot carry names the JSON problem', async () => {
    const dated = z.object({ at: z.string().transform((text) => new Date(text)) });
    const { runtime, taskId, run } = await waitingWith(dated);
    const error = await refusal(
      runtime.send(taskId, { type: 'approval', data: { at: '2024-01-01T00:00:00Z' } }),
    );
    expect(error.issues).toEqual([
      {
        path: '$.data.at',
        message:
          "the schema's output is not JSON ($.data.at is a Date, which JSON cannot carry exactly)",
      },
    ]);
    expect(isOrchestrationError(error.cause, 'NON_JSON_VALUE')).toBe(true);
    expect(error.message).toContain("refused its data: $.data.at: the schema's output is not JSON");
    expect(run.status().status).toBe('suspended');
  });

  it('data JSON cannot carry is still a NonJsonValueError, before any schema runs', async () => {
    const { runtime, taskId } = await waitingWith(z.object({ ok: z.boolean() }));
    const error = await runtime
      .send(taskId, { type: 'approval', data: { ok: true, at: new Date() } as never })
      .catch((e: unknown) => e);
    expect(isOrchestrationError(error, 'NON_JSON_VALUE')).toBe(true);
  });

  it('two waits for the same event in parallel regions: the issues of the first', async () => {
    const store = createMemoryStore();
    const workflow = defineWorkflow({
      id: 'two-gates',
      version: '1',
      steps: [
        {
          stepId: 'both',
          parallel: {
            left: [{ stepId: 'l', waitFor: { event: 'go', schema: z.object({ l: z.number() }) } }],
            right: [{ stepId: 'r', waitFor: { event: 'go', schema: z.object({ r: z.number() }) } }],
          },
        },
      ],
    });
    const runtime = createRuntime({ store, workflows: [workflow] });
    const taskId = newTaskId('two');
    const run = await runtime.start(workflow, null, { taskId });
    await expect.poll(() => run.status().status).toBe('suspended');
    const error = await refusal(runtime.send(taskId, { type: 'go', data: {} }));
    expect(error.issues.map((issue) => issue.path)).toEqual(['$.data.l']);
    // Data one region accepts is taken (by that region).
    await runtime.send(taskId, { type: 'go', data: { l: 1 } });
    expect(run.status().waitingFor).toEqual(['go']);
  });

  it('a hand-written machine refusing an event has no issues', async () => {
    const store = createMemoryStore();
    const workflow = reviewMachineWorkflow({}, 20);
    const runtime = createRuntime({ store, workflows: [workflow] });
    const taskId = newTaskId('machine');
    await runtime.start(workflow, { text: 'doc' }, { taskId });
    const error = await refusal(runtime.send(taskId, { type: 'approve' }));
    expect(error.issues).toEqual([]);
    await runtime.cancel(taskId);
  });
});
