// Type-level tests: contexts whose data is described with `interface`s (which have no implicit
// index signature, so they are not assignable to `JsonValue`) are accepted wherever contexts and
// JSON data are made or returned, and values JSON cannot carry are still refused at compile time.
// `npm run typecheck` checks the `@ts-expect-error` lines; vitest runs the runtime assertions.
import {
  type AgentStep,
  type AgentTarget,
  type AnyContext,
  type Context,
  ContextMergeStrategy,
  type ContextOf,
  ContextRouter,
  type CustomMergeFunction,
  cloneJson,
  createContext,
  createRuntime,
  defineAgent,
  defineContextType,
  defineTool,
  defineWorkerPool,
  defineWorkflow,
  deserializeContext,
  getContextMerger,
  type JsonData,
  type JsonShaped,
  type JsonValue,
  mergeContextData,
  NonJsonValueError,
  optimizeContext,
  type RouterTarget,
  type Runtime,
  type StandardSchemaV1,
  serializeContext,
  startRouter,
  type TaskStep,
} from 'mcp-orchestration';
import { createMemoryStore } from 'mcp-orchestration/memory';
import { describe, expect, expectTypeOf, it } from 'vitest';

interface Finding {
  title: string;
  score: number;
  tags: string[];
}

interface Report {
  findings: Finding[];
  summary?: string;
}

interface Source {
  readonly url: string;
  readonly retrievedAt: string;
}

interface Dossier {
  readonly report: Report;
  readonly sources: readonly Source[];
  readonly byTitle: Record<string, Finding>;
  readonly range: readonly [number, number];
  readonly reviewer?: { readonly name: string; readonly approved: boolean | null };
}

interface AgentMemory {
  seen: number;
  lastTitles: string[];
}

const finding: Finding = { title: 'Leak', score: 0.9, tags: ['memory'] };
const report: Report = { findings: [finding] };
const dossier: Dossier = {
  report: { findings: [finding], summary: 'one finding' },
  sources: [{ url: 'https://example.org', retrievedAt: '2025-01-01' }],
  byTitle: { Leak: finding },
  range: [0, 1],
};

// --- Positive cases: these did not compile while every constraint was `extends JsonValue`. ---

const reportContext = createContext('Report', report);
expectTypeOf(reportContext).toEqualTypeOf<Context<'Report', Report>>();
const typedReport: Context<'Report', Report> = reportContext;
const dossierContext = createContext('Dossier', dossier);
expectTypeOf(dossierContext.data.sources).toEqualTypeOf<readonly Source[]>();
expectTypeOf(dossierContext.data.range).toEqualTypeOf<readonly [number, number]>();
const findingsContext = createContext('Findings', [finding] as readonly Finding[]);
expectTypeOf(findingsContext).toEqualTypeOf<Context<'Findings', readonly Finding[]>>();
const emptySummary = createContext('Report', { findings: [], summary: 'none' } satisfies Report);

// What worked before keeps its inferred types: object literals widen (`{ count: number }`, not
// `{ count: 0 }`), a literal at the top stays literal, as with `extends JsonValue`.
expectTypeOf(createContext('Note', { text: 'hi' })).toEqualTypeOf<
  Context<'Note', { text: string }>
>();
let counter = createContext('Counter', { count: 0 });
counter = createContext('Counter', { count: counter.data.count + 1 });
expectTypeOf(createContext('Flag', true)).toEqualTypeOf<Context<'Flag', true>>();
const json = JSON.parse('{"a":[1,"b",null]}') as JsonValue;
expectTypeOf(createContext('Any', json)).toEqualTypeOf<Context<'Any', JsonValue>>();

// Generic wrappers over `JsonValue` keep compiling.
function wrap<T extends JsonValue>(data: T): Context<'Wrapped', T> {
  return createContext('Wrapped', data);
}
// …and so do wrappers over the new helper types.
function wrapData<T extends JsonData<T>>(data: T): Context<'Wrapped', T> {
  return createContext('Wrapped', data);
}
function wrapShaped<T extends JsonShaped<T>>(data: T): Context<'Wrapped', T> {
  return createContext('Wrapped', data);
}
expectTypeOf(wrapData(report)).toEqualTypeOf<Context<'Wrapped', Report>>();
expectTypeOf(wrapShaped(report)).toEqualTypeOf<Context<'Wrapped', Report>>();
expectTypeOf(cloneJson(report)).toEqualTypeOf<Report>();
expectTypeOf<Report>().toExtend<JsonShaped<Report>>();
expectTypeOf<{ at: Date }>().not.toExtend<JsonShaped<{ at: Date }>>();

// A context type with interface data.
const ReportType = defineContextType<'Report', Report>('Report');
expectTypeOf(ReportType.create(report)).toEqualTypeOf<Context<'Report', Report>>();
expectTypeOf<ContextOf<typeof ReportType>>().toEqualTypeOf<Context<'Report', Report>>();
// …and with a (hand-written) Standard Schema whose output is an interface.
const reportSchema: StandardSchemaV1<Report, Report> = {
  '~standard': { version: 1, vendor: 'test', validate: (value) => ({ value: value as Report }) },
};
const SchemaReport = defineContextType('Report', reportSchema);
expectTypeOf(SchemaReport.create(report)).toEqualTypeOf<Context<'Report', Report>>();

// Steps, tools, pools and agents may return contexts with interface data, sync or async.
const reportStep: TaskStep = {
  stepId: 'report',
  run: (context) => createContext('Report', { findings: [], summary: String(context.data) }),
};
const summarize = (r: Report): Context<'Report', Report> =>
  createContext('Report', { ...r, summary: `${r.findings.length} findings` });
const workflow = defineWorkflow({
  id: 'interface-data',
  version: '1',
  steps: [
    { stepId: 'collect', run: () => createContext('Report', report) },
    {
      stepId: 'summarize',
      run: async (context) => summarize(context.data as unknown as Report),
    },
    reportStep,
    {
      stepId: 'fanout',
      parallel: {
        a: [{ stepId: 'a1', run: () => typedReport }],
        b: [{ stepId: 'b1', run: async () => createContext('Dossier', dossier) }],
      },
      merge: {
        strategy: ContextMergeStrategy.Custom,
        // A custom merge may build its result with an interface type.
        customMergeFunc: (base, next): Report => ({
          findings: [],
          summary: `${JSON.stringify(base)} + ${JSON.stringify(next)}`,
        }),
      },
    },
  ],
});
const mergeReports: CustomMergeFunction = (): Report => report;
// @ts-expect-error a custom merge must still return something (JSON is checked at run time)
const mergeNothing: CustomMergeFunction = () => undefined;

const tool = defineTool({ id: 'report_tool', call: () => createContext('Report', report) });
const pool = defineWorkerPool({
  id: 'report_pool',
  size: 1,
  handler: async () => createContext('Report', report),
});
const analyst = defineAgent({
  id: 'analyst',
  initialState: { seen: 0, lastTitles: [] } as AgentMemory,
  process: (_context, state): AgentStep<AgentMemory> => ({
    result: createContext('Report', report),
    state: { seen: state.seen + 1, lastTitles: report.findings.map((f) => f.title) },
  }),
});
expectTypeOf(analyst).toEqualTypeOf<AgentTarget<AgentMemory>>();
// Such targets go wherever targets go.
const targets: readonly RouterTarget[] = [tool, pool, analyst];

// What takes contexts or JSON data in accepts interface-typed ones.
interface Approval {
  ok: boolean;
  reviewer: string;
}
async function takesInterfaceData(runtime: Runtime, approval: Approval): Promise<void> {
  await runtime.start(workflow, reportContext, { taskId: 'a' });
  await runtime.start(workflow, report, { taskId: 'b' });
  await runtime.send('a', { type: 'approval', data: approval });
  const anyContext: AnyContext = reportContext;
  await runtime.start(workflow, anyContext, { taskId: 'c' });
}
expectTypeOf(takesInterfaceData).toBeFunction();

// --- Negative cases: what JSON cannot carry is still refused at compile time (and, where the
// call runs, at run time). ---

interface WithUndefined {
  // A required property whose type admits undefined is refused: JSON has no undefined, and
  // createContext refuses an object value that is undefined at run time. (Make it optional.)
  value: string | undefined;
}

interface Event {
  name: string;
  at: Date;
}

class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
  norm(): number {
    return Math.hypot(this.x, this.y);
  }
}

/** Each call is refused by the compiler and throws `NonJsonValueError`. */
const refusedCalls: readonly (() => unknown)[] = [
  () =>
    // @ts-expect-error a Date is not JSON (it is a class instance with methods)
    createContext('Bad', { when: new Date() }),
  () =>
    // @ts-expect-error a Map is not JSON
    createContext('Bad', { index: new Map([['a', 1]]) }),
  () =>
    // @ts-expect-error a function is not JSON
    createContext('Bad', { callback: () => 1 }),
  () =>
    // @ts-expect-error a bigint is not JSON
    createContext('Bad', { big: 10n }),
  () =>
    // @ts-expect-error a symbol is not JSON
    createContext('Bad', { tag: Symbol('x') }),
  () =>
    // @ts-expect-error undefined alone is not JSON
    createContext('Bad', undefined),
  () => {
    const withUndefined: WithUndefined = { value: undefined };
    // @ts-expect-error a required property that may be undefined is refused
    return createContext('Bad', withUndefined);
  },
  () => {
    const events: Event[] = [{ name: 'start', at: new Date() }];
    // @ts-expect-error a Date nested in an array of interfaces is refused too
    return createContext('Bad', { events });
  },
  () =>
    // @ts-expect-error an array that may hold undefined is refused
    createContext('Bad', [1, undefined]),
  () =>
    // @ts-expect-error a class instance with methods is refused
    createContext('Bad', new Point(1, 2)),
  () =>
    defineAgent({
      id: 'bad_agent',
      // @ts-expect-error an agent's state must be JSON too
      initialState: { since: new Date() },
      process: (context, state) => ({ result: context, state }),
    }),
];

/** Refused by the compiler; never run. */
async function refusedAtCompileTime(
  runtime: Runtime,
  dateSchema: StandardSchemaV1<unknown, Event>,
): Promise<void> {
  // @ts-expect-error unknown data is not known to be JSON
  createContext('Bad', JSON.parse('1') as unknown);
  // @ts-expect-error a context type whose data holds a Date is refused
  defineContextType<'Bad', { when: Date }>('Bad');
  // @ts-expect-error so is a schema whose output holds one
  defineContextType('Bad', dateSchema);
  // @ts-expect-error a runtime's input data must be JSON
  await runtime.start(workflow, { when: new Date() }, { taskId: 'a' });
  // @ts-expect-error and so must an event's data
  await runtime.send('a', { type: 'approval', data: { when: new Date() } });
}
expectTypeOf(refusedAtCompileTime).toBeFunction();

// A class with data fields only cannot be told from a plain object by types: it compiles, and
// createContext refuses it at run time (see below).
class Pair {
  constructor(
    readonly left: number,
    readonly right: number,
  ) {}
}

describe('JSON data described with interfaces', () => {
  it('creates contexts whose data is what was given, deep-frozen', () => {
    expect(reportContext.contextType).toBe('Report');
    expect(reportContext.data).toEqual(report);
    expect(reportContext.data).not.toBe(report);
    expect(Object.isFrozen(reportContext.data.findings[0])).toBe(true);
    expect(dossierContext.data).toEqual(dossier);
    expect(findingsContext.data).toEqual([finding]);
    expect(emptySummary.data.summary).toBe('none');
    expect(wrap({ n: 1 }).data).toEqual({ n: 1 });
    expect(ReportType.create(report).data).toEqual(report);
    expect(mergeReports({}, {})).toBe(report);
    expect(mergeNothing({}, {})).toBeUndefined();
    expect(targets).toHaveLength(3);
  });

  it('refuses at run time what it refuses at compile time', () => {
    for (const call of refusedCalls) expect(call).toThrow(NonJsonValueError);
  });

  it('still refuses at run time what types cannot see', () => {
    expect(() => createContext('Pair', new Pair(1, 2))).toThrow(NonJsonValueError);
    // An optional property present with the value undefined: allowed by the type, refused here.
    const explicit: Report = { findings: [], summary: undefined };
    expect(() => createContext('Report', explicit)).toThrow(NonJsonValueError);
    // Hand-written data cast past the types is checked all the same.
    expect(() => createContext('Bad', { when: new Date() } as unknown as Report)).toThrow(
      NonJsonValueError,
    );
  });

  it('merges with a custom function typed with an interface', () => {
    const merged = mergeContextData([{ findings: [] }, { findings: [] }], {
      strategy: ContextMergeStrategy.Custom,
      customMergeFunc: (): Report => ({ findings: [finding] }),
    });
    expect(merged).toEqual({ findings: [finding] });
  });

  it('passes contexts with interface data to what takes contexts', async () => {
    const text = serializeContext(reportContext);
    expect(deserializeContext(text, ReportType)).toEqual(reportContext);
    expect(optimizeContext(reportContext, { maxTokens: 1000 }).data).toEqual(report);
    const merger = await getContextMerger();
    const merged = await merger.mergeContexts([reportContext, emptySummary], {
      strategy: ContextMergeStrategy.Overwrite,
    });
    expect(merged.data).toEqual({ findings: [], summary: 'none' });
    const rules = new ContextRouter({
      typeBasedRules: { Report: { targetType: 'tool', targetId: 'report_tool', priority: 1 } },
    });
    expect(rules.route(reportContext).target.targetId).toBe('report_tool');
    const router = startRouter({ targets });
    try {
      expect((await router.getTool('report_tool').run(dossierContext)).data).toEqual(report);
      expect((await router.getWorkerPool('report_pool').submit(reportContext)).data).toEqual(
        report,
      );
      await router.getAgent('analyst').process(reportContext);
      const second = await router.getAgent('analyst').process(reportContext);
      expect(second.data).toEqual(report);
    } finally {
      router.stop();
    }
  });

  it('runs a workflow whose steps return contexts with interface data', async () => {
    const runtime = createRuntime({ store: createMemoryStore(), targets });
    for (const [taskId, input] of [
      ['interface-data-1', reportContext],
      ['interface-data-2', report],
    ] as const) {
      const run = await runtime.start(workflow, input, { taskId });
      const result = await run.result;
      expect(result.contextType).toBe('Report');
      expect(result.data).toEqual({ findings: [], summary: expect.stringContaining(' + ') });
    }
    await runtime.close();
  });
});
