import {
  defineContextType,
  deserializeContextAsync,
  isOrchestrationError,
  issuePathToJsonPath,
  type StandardSchemaV1,
  serializeContext,
  type ValidationIssue,
} from 'mcp-orchestration';
import * as v from 'valibot';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { rejectionOf } from '../support/rejection.js';

async function issuesOf(run: () => unknown): Promise<readonly ValidationIssue[]> {
  // Through a promise: a synchronous throw of `run` rejects it too.
  const error = await rejectionOf(Promise.resolve().then(run));
  if (isOrchestrationError(error, 'CONTEXT_VALIDATION')) return error.issues;
  throw error;
}

/** A hand-written Standard Schema: a list of positive numbers, validated sync or async. */
function positives(mode: 'sync' | 'async'): StandardSchemaV1<number[], number[]> {
  const check = (value: unknown): StandardSchemaV1.Result<number[]> => {
    if (!Array.isArray(value)) return { issues: [{ message: 'expected a list' }] };
    const issues = value.flatMap((item, index) =>
      typeof item === 'number' && item > 0
        ? []
        : [{ message: 'expected a positive number', path: [{ key: index }] }],
    );
    return issues.length > 0 ? { issues } : { value: value as number[] };
  };
  return {
    '~standard': {
      version: 1,
      vendor: 'test',
      validate: (value) => (mode === 'sync' ? check(value) : Promise.resolve(check(value))),
    },
  };
}

describe('any Standard Schema v1 validator', () => {
  it('works with zod', async () => {
    const T = defineContextType('ZodContext', z.object({ tags: z.array(z.string()) }));
    expect(T.create({ tags: ['a'] }).data).toEqual({ tags: ['a'] });
    expect(await issuesOf(() => T.create({ tags: ['a', 1] } as never))).toEqual([
      { path: '$.data.tags[1]', message: expect.stringMatching(/string/i) },
    ]);
  });

  it('works with valibot, whose paths are segment objects', async () => {
    const T = defineContextType(
      'ValibotContext',
      v.object({ user: v.object({ emails: v.array(v.pipe(v.string(), v.email())) }) }),
    );
    expectTypeOf(T.create).parameter(0).toEqualTypeOf<{ user: { emails: string[] } }>();
    expect(T.create({ user: { emails: ['a@b.co'] } }).data.user.emails).toEqual(['a@b.co']);
    expect(await issuesOf(() => T.create({ user: { emails: ['a@b.co', 'nope'] } }))).toEqual([
      { path: '$.data.user.emails[1]', message: expect.any(String) },
    ]);
  });

  it('works with a hand-written schema', async () => {
    const T = defineContextType('Positives', positives('sync'));
    expectTypeOf(T.create([1]).data).toEqualTypeOf<number[]>();
    expect(await issuesOf(() => T.create([1, -2, 3, 0]))).toEqual([
      { path: '$.data[1]', message: 'expected a positive number' },
      { path: '$.data[3]', message: 'expected a positive number' },
    ]);
  });

  it('reports a schema that throws as a validation failure with the cause', () => {
    const boom = new Error('boom');
    const T = defineContextType('Throwing', {
      '~standard': {
        version: 1,
        vendor: 'test',
        validate: () => {
          throw boom;
        },
      },
    } satisfies StandardSchemaV1<number>);
    try {
      T.create(1);
      expect.unreachable();
    } catch (error) {
      if (!isOrchestrationError(error, 'CONTEXT_VALIDATION')) throw error;
      expect(error.cause).toBe(boom);
      expect(error.issues).toEqual([{ path: '$.data', message: 'the schema threw: boom' }]);
    }
    expect(T.is({ contextId: 'a', contextType: 'Throwing', data: 1, metadata: {} })).toBe(false);
  });
});

describe('schemas that validate asynchronously', () => {
  const Async = defineContextType('AsyncPositives', positives('async'));

  it('are refused by the sync create/parse/is with a clear typed error', async () => {
    const issues = await issuesOf(() => Async.create([1]));
    expect(issues).toEqual([{ path: '$.data', message: expect.stringMatching(/createAsync/) }]);
    const raw = { contextId: 'a1', contextType: 'AsyncPositives', data: [1], metadata: {} };
    expect(await issuesOf(() => Async.parse(raw))).toEqual(issues);
    expect(await issuesOf(() => Async.is(raw))).toEqual(issues);
  });

  it('work with createAsync, parseAsync and deserializeContextAsync', async () => {
    const context = await Async.createAsync([1, 2]);
    expect(context.data).toEqual([1, 2]);
    expect(await Async.parseAsync({ ...context })).toEqual(context);
    expect(await deserializeContextAsync(serializeContext(context), Async)).toEqual(context);
    expect(await issuesOf(() => Async.createAsync([1, -1]))).toEqual([
      { path: '$.data[1]', message: 'expected a positive number' },
    ]);
    expect(await issuesOf(() => Async.parseAsync({ ...context, data: [0] }))).toEqual([
      { path: '$.data[0]', message: 'expected a positive number' },
    ]);
  });

  it('a rejected Promise from a schema used synchronously never surfaces as unhandled', async () => {
    const Rejecting = defineContextType('Rejecting', {
      '~standard': {
        version: 1,
        vendor: 'test',
        validate: () => Promise.reject(new Error('offline')),
      },
    } satisfies StandardSchemaV1<number>);
    expect(await issuesOf(() => Rejecting.create(1))).toHaveLength(1);
    // vitest fails the run on an unhandled rejection; give it a chance to surface.
    await new Promise((resolve) => setTimeout(resolve, 10));
    const issues = await issuesOf(() => Rejecting.createAsync(1));
    expect(issues).toEqual([{ path: '$.data', message: 'the schema threw: offline' }]);
  });

  it('createAsync also accepts a sync schema', async () => {
    const Sync = defineContextType('SyncPositives', positives('sync'));
    expect((await Sync.createAsync([3])).data).toEqual([3]);
  });
});

describe('issuePathToJsonPath', () => {
  it('writes identifiers with dots, indexes with brackets and quotes other keys', () => {
    expect(issuePathToJsonPath(['a', 0, { key: 'b' }, 'c d', '0x'], '$.data')).toBe(
      '$.data.a[0].b["c d"]["0x"]',
    );
    expect(issuePathToJsonPath(undefined)).toBe('$');
    expect(issuePathToJsonPath([Symbol('s')])).toBe('$[Symbol(s)]');
  });

  it('writes a numeric string key as an index when the value there is an array', () => {
    const value = { list: [{ x: 1 }], obj: { '2': 1 } };
    expect(issuePathToJsonPath(['list', '0', 'x'], '$', value)).toBe('$.list[0].x');
    expect(issuePathToJsonPath(['obj', '2'], '$', value)).toBe('$.obj["2"]');
  });
});
