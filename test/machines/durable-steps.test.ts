import { describe, expect, it } from 'vitest';
import { waitFor } from 'xstate';
import { z } from 'zod';
import { type Context, defineWorkflow } from '../../src/index.js';
import { ctx, finished, newTaskId, start } from './helpers.js';

describe('defineWorkflow: durable sleep', () => {
  it('sleeps for ms, passing the context on unchanged', async () => {
    const input = ctx('In', { x: 1 });
    const workflow = defineWorkflow({
      id: 'nap',
      version: '1',
      steps: [{ stepId: 'nap', sleep: { ms: 30 } }],
    });
    const started = Date.now();
    const actor = start(workflow.machine, { taskId: newTaskId(), input });
    const deadline = actor.getSnapshot().context.deadlines.nap as number;
    expect(deadline).toBeGreaterThanOrEqual(started + 30);
    expect(actor.getSnapshot().value).toEqual({ nap: 'sleeping' });
    const snapshot = await finished(actor);
    expect(Date.now() - started).toBeGreaterThanOrEqual(29);
    expect(snapshot.output).toEqual(input);
    expect(snapshot.context.deadlines).toEqual({});
  });

  it('sleeps until a time computed from the context', async () => {
    const at = Date.now() + 25;
    const workflow = defineWorkflow({
      id: 'alarm',
      version: '1',
      steps: [{ stepId: 'alarm', sleepUntil: (context) => (context.data as { at: number }).at }],
    });
    const actor = start(workflow.machine, { taskId: newTaskId(), input: ctx('In', { at }) });
    expect(actor.getSnapshot().context.deadlines.alarm).toBe(at);
    await finished(actor);
    expect(Date.now()).toBeGreaterThanOrEqual(at - 1);
  });

  it('fails the workflow when sleepUntil does not return a time', async () => {
    const workflow = defineWorkflow({
      id: 'bad-alarm',
      version: '1',
      steps: [{ stepId: 'alarm', sleepUntil: () => Number.NaN }],
    });
    const snapshot = await finished(
      start(workflow.machine, { taskId: newTaskId(), input: ctx('In', {}) }),
    );
    expect(snapshot.value).toBe('failed');
    expect(snapshot.context.error).toMatchObject({ stepId: 'alarm', name: 'TypeError' });
  });
});

describe('defineWorkflow: waiting for an external event', () => {
  const approvalWorkflow = () =>
    defineWorkflow({
      id: 'approval',
      version: '1',
      steps: [
        { stepId: 'draft', run: () => ctx('Draft', { text: 'v1' }) },
        {
          stepId: 'review',
          waitFor: {
            event: 'approval',
            schema: z.object({ approved: z.boolean(), by: z.string() }),
            contextType: 'Approval',
          },
        },
        { stepId: 'publish', run: (c) => ctx('Published', { approval: c.data }) },
      ],
    });

  it('suspends, refuses a wrong event or bad data, and resumes with valid data as the next context', async () => {
    const workflow = approvalWorkflow();
    const taskId = newTaskId('hitl');
    const actor = start(workflow.machine, { taskId, input: ctx('In', {}) });
    const suspended = await waitFor(actor, (s) => s.hasTag('suspended'));
    expect(suspended.value).toEqual({ review: 'waiting' });
    expect(suspended.can({ type: 'approval', data: { approved: 'yes', by: 'ana' } })).toBe(false);
    expect(suspended.can({ type: 'approval' })).toBe(false);
    expect(suspended.can({ type: 'rejection', data: { approved: true, by: 'ana' } })).toBe(false);
    expect(suspended.can({ type: 'approval', data: { approved: true, by: 'ana' } })).toBe(true);

    actor.send({ type: 'approval', data: { approved: 1, by: 'ana' } });
    expect(actor.getSnapshot().hasTag('suspended')).toBe(true);
    actor.send({ type: 'approval', data: { approved: true, by: 'ana' } });
    const snapshot = await finished(actor);
    expect(snapshot.value).toBe('done');
    expect((snapshot.output as Context).data).toEqual({ approval: { approved: true, by: 'ana' } });
  });

  it('makes the event data a context of the given type with a deterministic id', async () => {
    const workflow = defineWorkflow({
      id: 'wait-any',
      version: '1',
      steps: [{ stepId: 'wait', waitFor: { event: 'input.received' } }],
    });
    const taskId = newTaskId('wait');
    const input = ctx('In', {});
    const actor = start(workflow.machine, { taskId, input });
    expect(actor.getSnapshot().can({ type: 'input.received', data: { bad: () => 1 } })).toBe(false);
    actor.send({ type: 'input.received', data: ['a', 1] });
    const snapshot = await finished(actor);
    expect(snapshot.output).toEqual({
      contextId: `${taskId}.wait.event`,
      contextType: 'input.received',
      data: ['a', 1],
      metadata: { stepId: 'wait', event: 'input.received', from: input.contextId },
    });
  });
  it('takes an event without data as null, unless the schema refuses a missing value', async () => {
    const noPayload = (schema?: z.ZodType) =>
      defineWorkflow({
        id: 'bare-approval',
        version: '1',
        steps: [{ stepId: 'wait', waitFor: { event: 'approved', ...(schema ? { schema } : {}) } }],
      });
    const input = ctx('In', {});
    const anyJson = start(noPayload().machine, { taskId: newTaskId('bare'), input });
    expect(anyJson.getSnapshot().can({ type: 'approved' })).toBe(true);
    anyJson.send({ type: 'approved' });
    expect(((await finished(anyJson)).output as Context).data).toBeNull();

    const optional = start(noPayload(z.object({ note: z.string() }).optional()).machine, {
      taskId: newTaskId('bare'),
      input,
    });
    optional.send({ type: 'approved' });
    expect(((await finished(optional)).output as Context).data).toBeNull();

    const required = start(noPayload(z.object({ note: z.string() })).machine, {
      taskId: newTaskId('bare'),
      input,
    });
    expect(required.getSnapshot().can({ type: 'approved' })).toBe(false);
    expect(required.getSnapshot().can({ type: 'approved', data: { note: 'ok' } })).toBe(true);
    required.stop();
  });
});

describe('defineWorkflow: commit gates', () => {
  it('passes straight through when not gated, and waits for workflow.committed when gated', async () => {
    const calls: string[] = [];
    const workflow = defineWorkflow({
      id: 'gates',
      version: '1',
      steps: [
        {
          stepId: 'one',
          run: (c) => {
            calls.push('one');
            return c;
          },
        },
        {
          stepId: 'two',
          run: (c) => {
            calls.push('two');
            return c;
          },
        },
      ],
    });
    const actor = start(workflow.machine, {
      taskId: newTaskId(),
      input: ctx('In', {}),
      gated: true,
    });
    const atOne = await waitFor(actor, (s) => s.hasTag('checkpoint'));
    expect(atOne.value).toEqual({ one: 'commit' });
    expect(atOne.can({ type: 'workflow.committed' })).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(calls).toEqual(['one']); // still held at the gate
    actor.send({ type: 'workflow.committed' });
    const atTwo = await waitFor(actor, (s) => s.matches({ two: 'commit' }));
    expect(atTwo.hasTag('checkpoint')).toBe(true);
    actor.send({ type: 'workflow.committed' });
    expect((await finished(actor)).value).toBe('done');
    expect(calls).toEqual(['one', 'two']);
  });

  it('one workflow.committed releases every region waiting at a gate', async () => {
    const workflow = defineWorkflow({
      id: 'gated-regions',
      version: '1',
      steps: [
        {
          stepId: 'fan',
          parallel: { a: [{ stepId: 'a', run: (c) => c }], b: [{ stepId: 'b', run: (c) => c }] },
        },
      ],
    });
    const actor = start(workflow.machine, {
      taskId: newTaskId(),
      input: ctx('In', {}),
      gated: true,
    });
    const both = await waitFor(actor, (s) =>
      s.matches({ fan: { regions: { a: { a: 'commit' }, b: { b: 'commit' } } } }),
    );
    expect(both.hasTag('checkpoint')).toBe(true);
    actor.send({ type: 'workflow.committed' });
    // Both regions are done, so the group merged and waits at its own gate.
    expect(actor.getSnapshot().value).toEqual({ fan: 'commit' });
    actor.send({ type: 'workflow.committed' });
    expect(actor.getSnapshot().value).toBe('done');
  });
});
