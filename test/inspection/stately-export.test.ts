import {
  defineMachineWorkflow,
  exportStatelyMachine,
  type StatelyMachineExport,
} from 'mcp-orchestration';
import { describe, expect, it } from 'vitest';
import { type AnyStateMachine, createMachine, setup } from 'xstate';
import { documentWorkflow } from './helpers.js';

/** The value at `path` inside a JSON config. */
function dig(value: unknown, ...path: (string | number)[]): unknown {
  let at = value;
  for (const key of path) at = (at as Record<string | number, unknown> | undefined)?.[key];
  return at;
}

/** Runs the exported module's code with xstate's createMachine, as Stately Studio reads it. */
function evaluate(exported: StatelyMachineExport): AnyStateMachine {
  const body = exported.code
    .replace("import { createMachine } from 'xstate';", '')
    .replace('export const machine =', 'return');
  return new Function('createMachine', body)(createMachine) as AnyStateMachine;
}

describe('exportStatelyMachine', () => {
  it('exports createMachine code that XState parses into the same states, named after the plan', () => {
    const workflow = documentWorkflow();
    const exported = exportStatelyMachine(workflow);
    expect(exported.code).toMatch(/^\/\/ Document pipeline v2: exported from mcp-orchestration/);
    expect(exported.code).toContain("import { createMachine } from 'xstate';");

    const machine = evaluate(exported);
    expect(machine.id).toBe('document');
    const top = machine.root.states;
    expect(Object.keys(top)).toEqual(['parse', 'analyze', 'approve', 'done', 'failed']);
    expect(top.parse?.description).toBe('Parse input: Split the text into words');
    expect(top.parse?.meta).toMatchObject({
      step: {
        stepId: 'parse',
        name: 'Parse input',
        stepIndex: 0,
        kind: 'task',
        toolName: 'parser',
      },
    });
    expect(top.analyze?.description).toBe('Analyze');
    expect(Object.keys(top.analyze?.states.regions?.states ?? {})).toEqual(['words', 'tone']);
    expect(top.approve?.states.waiting?.tags).toEqual(['suspended']);
    // Each step's state, and the plan, in the same order.
    const steps = Object.values(machine.root.states).flatMap((s) =>
      s.meta?.step === undefined ? [] : [s.meta.step.stepId as string],
    );
    expect(steps).toEqual(['parse', 'analyze', 'approve']);
    expect(workflow.plan.map((s) => s.stepId)).toEqual([
      'parse',
      'analyze',
      'count',
      'tone',
      'approve',
    ]);
  });

  it('writes guards, actions and actors by name and leaves data functions out', () => {
    const { config, json } = exportStatelyMachine(documentWorkflow());
    expect(JSON.parse(json)).toEqual(config);
    const running = dig(config, 'states', 'parse', 'states', 'running');
    expect(dig(running, 'entry')).toEqual({ type: 'beginAttempt', params: { stepId: 'parse' } });
    expect(dig(running, 'invoke', 'src')).toBe('runStep');
    expect(dig(running, 'invoke')).not.toHaveProperty('input');
    expect(dig(running, 'invoke', 'onError', 0, 'guard')).toEqual({
      type: 'canRetry',
      params: { stepId: 'parse' },
    });
    const commit = dig(config, 'states', 'parse', 'states', 'commit');
    expect(dig(commit, 'always', 0, 'guard')).toBe('isUngated');
    expect(config.context).toBeUndefined();
    expect(config.output).toBeUndefined();
  });

  it('names the states of a hand-written machine after its plan', () => {
    const machine = setup({
      guards: { hasText: ({ event }) => typeof (event as { text?: unknown }).text === 'string' },
    }).createMachine({
      id: 'review',
      initial: 'drafting',
      context: { edits: 0 },
      states: {
        drafting: { on: { submit: { target: 'reviewing', guard: 'hasText' } } },
        reviewing: { description: 'Someone reads it', on: { approve: 'published' } },
        published: { type: 'final' },
      },
    });
    const workflow = defineMachineWorkflow({
      id: 'review',
      version: '1',
      machine,
      plan: [
        {
          stepId: 'drafting',
          name: 'Draft',
          description: 'Write it',
          stepIndex: 0,
          isComplete: false,
        },
        { stepId: 'reviewing', name: 'Review', stepIndex: 1, isComplete: false },
      ],
    });
    const exported = exportStatelyMachine(workflow);
    const parsed = evaluate(exported);
    expect(parsed.root.states.drafting?.description).toBe('Draft: Write it');
    expect(parsed.root.states.drafting?.meta).toEqual({
      step: { stepId: 'drafting', name: 'Draft', stepIndex: 0, description: 'Write it' },
    });
    // A description the machine has wins; the step's meta is still added.
    expect(parsed.root.states.reviewing?.description).toBe('Someone reads it');
    expect(exported.config.context).toEqual({ edits: 0 });
    expect(parsed.root.states.drafting?.on.submit?.[0]?.guard).toBe('hasText');
  });
});
