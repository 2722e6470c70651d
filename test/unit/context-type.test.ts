import {
  type Context,
  type ContextOf,
  type ContextType,
  defineContextType,
  isOrchestrationError,
  type ValidationIssue,
} from 'mcp-orchestration';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { thrownBy } from '../support/rejection.js';

const TaskContext = defineContextType(
  'TaskContext',
  z.object({
    goal: z.string().min(1),
    items: z.array(z.object({ name: z.string() })),
    priority: z.number().int().default(1),
  }),
);

function issuesOf(run: () => unknown): readonly ValidationIssue[] {
  const error = thrownBy(run);
  if (isOrchestrationError(error, 'CONTEXT_VALIDATION')) return error.issues;
  throw error;
}

describe('defineContextType with a schema', () => {
  it('creates typed, validated, frozen contexts that store the schema output', () => {
    const task = TaskContext.create({ goal: 'summarize', items: [{ name: 'a' }] });
    expect(task.contextType).toBe('TaskContext');
    expect(task.data).toEqual({ goal: 'summarize', items: [{ name: 'a' }], priority: 1 });
    expect(Object.isFrozen(task.data.items[0])).toBe(true);
    expectTypeOf(task).toEqualTypeOf<
      Context<'TaskContext', { goal: string; items: { name: string }[]; priority: number }>
    >();
    expectTypeOf(TaskContext.name).toEqualTypeOf<'TaskContext'>();
  });

  it('names the bad path in the data', () => {
    const items = [{ name: 'a' }, { name: 'b' }, { name: 3 }];
    expect(issuesOf(() => TaskContext.create({ goal: '', items } as never))).toEqual([
      { path: '$.data.goal', message: expect.any(String) },
      { path: '$.data.items[2].name', message: expect.any(String) },
    ]);
  });

  it('refuses values JSON cannot carry before the schema sees them', () => {
    try {
      TaskContext.create({ goal: 'x', items: [], when: new Date() } as never);
      expect.unreachable();
    } catch (error) {
      expect(isOrchestrationError(error, 'NON_JSON_VALUE')).toBe(true);
    }
  });

  it('is() checks shape, name and schema', () => {
    const task = TaskContext.create({ goal: 'g', items: [] });
    expect(TaskContext.is(task)).toBe(true);
    expect(TaskContext.is({ ...task })).toBe(true);
    expect(TaskContext.is({ ...task, contextType: 'OtherContext' })).toBe(false);
    expect(TaskContext.is({ ...task, data: { goal: 'g', items: 'nope', priority: 1 } })).toBe(
      false,
    );
    expect(
      TaskContext.is({ ...task, data: { goal: 'g', items: [], priority: 1, f: () => 1 } }),
    ).toBe(false);
    expect(TaskContext.is('TaskContext')).toBe(false);
    const value: unknown = task;
    if (TaskContext.is(value)) expectTypeOf(value.data.goal).toEqualTypeOf<string>();
  });

  it('parse() validates and returns a frozen copy with the same id', () => {
    const raw = {
      contextId: 't1',
      contextType: 'TaskContext',
      data: { goal: 'g', items: [{ name: 'x' }], priority: 2 },
      metadata: { by: 'test' },
    };
    const task = TaskContext.parse(raw);
    expect(task).toEqual(raw);
    expect(Object.isFrozen(task.data.items)).toBe(true);
    expect(issuesOf(() => TaskContext.parse({ ...raw, contextType: 'Other' }))).toEqual([
      { path: '$.contextType', message: 'is "Other", expected "TaskContext"' },
    ]);
    expect(
      issuesOf(() => TaskContext.parse({ ...raw, data: { ...raw.data, items: [{}] } })),
    ).toEqual([{ path: '$.data.items[0].name', message: expect.any(String) }]);
  });

  it('exposes its name and schema, and ContextOf gives its context type', () => {
    expect(TaskContext.schema).toBeDefined();
    expectTypeOf<ContextOf<typeof TaskContext>>().toEqualTypeOf<
      Context<'TaskContext', { goal: string; items: { name: string }[]; priority: number }>
    >();
    // The input type allows what the schema defaults.
    expectTypeOf(TaskContext.create).parameter(0).toEqualTypeOf<{
      goal: string;
      items: { name: string }[];
      priority?: number | undefined;
    }>();
  });
});

describe('defineContextType without a schema', () => {
  const Note = defineContextType<'Note', { text: string }>('Note');

  it('types the data from the type argument and checks only JSON at runtime', () => {
    const note = Note.create({ text: 'hi' }, { contextId: 'note-1', metadata: { by: 'ana' } });
    expectTypeOf(note).toEqualTypeOf<Context<'Note', { text: string }>>();
    expect(note).toEqual({
      contextId: 'note-1',
      contextType: 'Note',
      data: { text: 'hi' },
      metadata: { by: 'ana' },
    });
    expect(Note.schema).toBeUndefined();
    expect(Note.is(note)).toBe(true);
    expect(Note.is({ ...note, contextType: 'Other' })).toBe(false);
    // @ts-expect-error the data type is checked at compile time
    Note.create({ text: 1 });
  });

  it('refuses a type name that is unsafe in a storage key', () => {
    expect(() => defineContextType('not a name')).toThrow(/Invalid context type/);
  });

  it('cannot be given a schema whose output JSON cannot carry', () => {
    // @ts-expect-error a Date is not JSON
    defineContextType('Dated', z.object({ at: z.date() }));
  });

  it('is assignable to ContextType for code that takes any context type', () => {
    expectTypeOf(Note).toExtend<ContextType<'Note', { text: string }>>();
  });
});
