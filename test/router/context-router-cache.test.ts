import fc from 'fast-check';
import {
  type AvailableTarget,
  type ContentRule,
  type Context,
  ContextRouter,
  createContext,
  type JsonObject,
  type RoutingTarget,
} from 'mcp-orchestration';
import { describe, expect, it } from 'vitest';

const planner: RoutingTarget = { targetType: 'agent_type', targetId: 'planner', priority: 1 };
const task = (data: JsonObject = {}) => createContext('TaskContext', data);

describe('ContextRouter: the decision cache', () => {
  it('answers a repeated decision from the cache, with the same target', () => {
    const router = new ContextRouter({ typeBasedRules: { TaskContext: planner } });
    const first = router.decide(task());
    const second = router.decide(task());
    expect(first).toMatchObject({ target: planner, cached: false });
    expect(second).toMatchObject({ target: planner, ruleId: 'type:TaskContext', cached: true });
    expect(router.cacheStats()).toEqual({ size: 1, hits: 1, misses: 1 });
  });

  it('also caches "no route"', () => {
    const router = new ContextRouter();
    expect(router.decide(task())).toBeUndefined();
    expect(router.decide(task())).toBeUndefined();
    expect(router.cacheStats()).toMatchObject({ hits: 1, misses: 1 });
  });

  it('every kind of rule change bumps rulesVersion and empties the cache', () => {
    const router = new ContextRouter();
    const changes: [string, () => void, string | undefined][] = [
      [
        'set a type rule',
        () => {
          router.typeBasedRules.TaskContext = planner;
        },
        'planner',
      ],
      [
        'replace it',
        () => {
          router.typeBasedRules.TaskContext = { ...planner, targetId: 'p2' };
        },
        'p2',
      ],
      [
        'add a content rule',
        () =>
          router.addRule({
            id: 'c',
            priority: 9,
            when: { path: 'contextType', exists: true },
            target: { targetType: 'tool', targetId: 'c' },
          }),
        'c',
      ],
      ['remove it', () => router.removeRule('c'), 'p2'],
      [
        'delete the type rule',
        () => {
          delete router.typeBasedRules.TaskContext;
        },
        undefined,
      ],
      [
        'set a fallback',
        () => {
          router.fallback = { targetType: 'worker_pool', targetId: 'fb', priority: 0 };
        },
        'fb',
      ],
      [
        'unset it',
        () => {
          router.fallback = undefined;
        },
        undefined,
      ],
    ];
    const context = task();
    router.decide(context);
    for (const [what, change, expected] of changes) {
      const version = router.rulesVersion;
      expect(router.decide(context)?.cached ?? 'cached', what).not.toBe(false);
      change();
      expect(router.rulesVersion, what).toBe(version + 1);
      expect(router.cacheStats().size, what).toBe(0);
      const made = router.decide(context);
      expect(made?.target.targetId, what).toBe(expected);
      expect(router.decide(context)?.cached, what).toBe(expected === undefined ? undefined : true);
    }
  });

  it('only type rules apply: keyed by type, so new contexts of that type hit', () => {
    const router = new ContextRouter({ typeBasedRules: { TaskContext: planner } });
    router.decide(task({ a: 1 }));
    expect(router.decide(task({ b: 2 }))?.cached).toBe(true);
    expect(router.decide(createContext('NoteContext', {}))?.cached).toBeUndefined();
  });

  it('declarative rules apply: keyed by the values they read, not the rest of the data', () => {
    const router = new ContextRouter({
      typeBasedRules: { TaskContext: planner },
      rules: [
        {
          id: 'vip',
          priority: 5,
          when: { path: 'data.customer.tier', equals: 'gold' },
          target: { targetType: 'worker_pool', targetId: 'vip' },
        },
      ],
    });
    expect(router.decide(task({ customer: { tier: 'gold' }, n: 1 }))).toMatchObject({
      ruleId: 'vip',
      cached: false,
    });
    expect(router.decide(task({ customer: { tier: 'gold' }, n: 2 }))).toMatchObject({
      ruleId: 'vip',
      cached: true,
    });
    expect(router.decide(task({ customer: { tier: 'tin' } }))).toMatchObject({
      ruleId: 'type:TaskContext',
      cached: false,
    });
    expect(router.decide(task({}))).toMatchObject({ ruleId: 'type:TaskContext', cached: false });
    expect(router.decide(task({ n: 3 }))).toMatchObject({
      ruleId: 'type:TaskContext',
      cached: true,
    });
    // "missing" and the string "\u0003" are different values.
    expect(router.decide(task({ customer: { tier: '\u0003' } }))?.cached).toBe(false);
  });

  it('a predicate rule applies: keyed by context, answered only for the very same context', () => {
    let calls = 0;
    const router = new ContextRouter({
      rules: [
        {
          id: 'p',
          when: (context) => {
            calls += 1;
            return (context.data as { go?: boolean }).go === true;
          },
          target: { targetType: 'tool', targetId: 't' },
        },
      ],
    });
    const context = createContext('TaskContext', { go: true }, { contextId: 'ctx_1' });
    router.decide(context);
    expect(router.decide(context)?.cached).toBe(true);
    expect(calls).toBe(1);
    // Another context that reuses the id is decided afresh, never given the first one's answer.
    const impostor = createContext('TaskContext', { go: false }, { contextId: 'ctx_1' });
    expect(router.decide(impostor)).toBeUndefined();
    expect(calls).toBe(2);
  });

  it('the available targets are part of the key', () => {
    const router = new ContextRouter({
      typeBasedRules: { TaskContext: planner },
      fallback: { targetType: 'worker_pool', targetId: 'fb', priority: 0 },
    });
    const context = task();
    expect(router.decide(context, { availableTargets: ['planner'] })?.target.targetId).toBe(
      'planner',
    );
    expect(router.decide(context, { availableTargets: ['fb'] })).toMatchObject({
      ruleId: 'fallback',
      cached: false,
    });
    expect(router.decide(context, { availableTargets: [] })).toBeUndefined();
    expect(router.decide(context)).toMatchObject({ ruleId: 'type:TaskContext', cached: false });
    expect(router.decide(context, { availableTargets: ['fb'] })).toMatchObject({
      ruleId: 'fallback',
      cached: true,
    });
  });

  it('a changed availableTargets array is seen, even the same array object', () => {
    const router = new ContextRouter({ typeBasedRules: { TaskContext: planner } });
    const available: string[] = [];
    expect(router.decide(task(), { availableTargets: available })).toBeUndefined();
    available.push('planner');
    expect(router.decide(task(), { availableTargets: available })?.target).toEqual(planner);
    // Ids are compared whole: one odd id never stands for two.
    const router2 = new ContextRouter({ typeBasedRules: { TaskContext: planner } });
    expect(router2.decide(task(), { availableTargets: ['planner\u0001*x'] })).toBeUndefined();
    expect(router2.decide(task(), { availableTargets: ['planner', 'x'] })?.cached).toBe(false);
    // A frozen array is read once (it cannot change) and still answers right.
    const frozen = Object.freeze(['planner']);
    router.decide(task(), { availableTargets: frozen });
    expect(router.decide(task(), { availableTargets: frozen })).toMatchObject({
      target: planner,
      cached: true,
    });
  });

  it('a call with currentSystemState neither reads nor fills the cache', () => {
    const router = new ContextRouter({ typeBasedRules: { TaskContext: planner } });
    router.decide(task(), { currentSystemState: { load: 1 } });
    expect(router.cacheStats()).toEqual({ size: 0, hits: 0, misses: 0 });
    router.decide(task());
    expect(router.decide(task(), { currentSystemState: { load: 1 } })?.cached).toBe(false);
  });

  it('is bounded: the least recently used decision goes first', () => {
    const router = new ContextRouter({
      cacheSize: 2,
      typeBasedRules: { A: planner, B: planner, C: planner },
    });
    const of = (type: string) => createContext(type, {});
    router.decide(of('A'));
    router.decide(of('B'));
    router.decide(of('A')); // A is now the most recent
    router.decide(of('C')); // evicts B
    expect(router.cacheStats().size).toBe(2);
    expect(router.decide(of('A'))?.cached).toBe(true);
    expect(router.decide(of('B'))?.cached).toBe(false);
  });

  it('cacheSize 0 turns it off; clearCache empties it', () => {
    const off = new ContextRouter({ cacheSize: 0, typeBasedRules: { TaskContext: planner } });
    off.decide(task());
    expect(off.decide(task())?.cached).toBe(false);
    const on = new ContextRouter({ typeBasedRules: { TaskContext: planner } });
    on.decide(task());
    on.clearCache();
    expect(on.decide(task())?.cached).toBe(false);
    expect(() => new ContextRouter({ cacheSize: -1 })).toThrow(RangeError);
  });
});

describe('ContextRouter: cached and uncached answers agree (fast-check)', () => {
  const ids = ['a', 'b', 'c'] as const;
  const types = ['TaskContext', 'NoteContext'] as const;
  const targetRef = fc.record({
    targetType: fc.constantFrom('agent_type' as const, 'tool' as const, 'worker_pool' as const),
    targetId: fc.constantFrom(...ids),
  });
  // Strings that look like other values or like the key's own encoding, on purpose.
  const value = fc.constantFrom('x', 'y', 1, '1', 'n1;', 'u', 'z', true, 'true', null, 'null');
  const when = fc.oneof(
    fc.record({ path: fc.constantFrom('data.k', 'data.m.n', 'metadata.s'), equals: value }),
    fc.record({
      path: fc.constantFrom('data.k', 'data.m.n'),
      in: fc.array(value, { maxLength: 3 }),
    }),
    fc.record({ path: fc.constantFrom('data.k', 'data.m'), exists: fc.boolean() }),
    fc.record({ path: fc.constant('data.k'), matches: fc.constantFrom('^x', 'y$', '.') }),
    fc.constant((context: Context) => JSON.stringify(context.data).length % 2 === 0),
  );
  const rule = (n: number) =>
    fc.record({
      id: fc.constant(`r${n}`),
      priority: fc.integer({ min: 0, max: 3 }),
      when,
      target: targetRef,
      contextType: fc.option(fc.constantFrom(...types), { nil: undefined }),
    }) as fc.Arbitrary<ContentRule>;
  const routingTarget = fc.record({
    targetType: fc.constantFrom('agent_type' as const, 'tool' as const),
    targetId: fc.constantFrom(...ids),
    priority: fc.integer({ min: 0, max: 3 }),
  });
  const context = fc
    .record({
      type: fc.constantFrom(...types),
      data: fc.record(
        { k: value, m: fc.option(fc.record({ n: value }), { nil: undefined }) },
        { requiredKeys: [] },
      ),
      s: value,
    })
    .map(({ type, data, s }) =>
      createContext(type, JSON.parse(JSON.stringify(data)) as JsonObject, { metadata: { s } }),
    );
  const available = fc.option(
    fc.array(fc.oneof(fc.constantFrom<AvailableTarget>(...ids), targetRef), { maxLength: 3 }),
    { nil: undefined },
  );
  const step = fc.oneof(
    fc.record({ kind: fc.constant('decide' as const), context, available }),
    fc.record({ kind: fc.constant('add' as const), rule: fc.nat(20).chain(rule) }),
    fc.record({ kind: fc.constant('remove' as const), id: fc.nat(20).map((n) => `r${n}`) }),
    fc.record({
      kind: fc.constant('type' as const),
      type: fc.constantFrom(...types),
      target: fc.option(routingTarget, { nil: undefined }),
    }),
    fc.record({
      kind: fc.constant('fallback' as const),
      target: fc.option(routingTarget, { nil: undefined }),
    }),
  );

  it('over random rules, changes and contexts, a cached router answers as an uncached one', () => {
    let hits = 0;
    fc.assert(
      fc.property(fc.array(step, { maxLength: 40 }), (steps) => {
        const cached = new ContextRouter();
        const uncached = new ContextRouter({ cacheSize: 0 });
        const seen: Context[] = [];
        for (const s of steps) {
          for (const router of [cached, uncached]) {
            if (s.kind === 'add' && !router.rules.some((r) => r.id === s.rule.id))
              router.addRule(s.rule);
            if (s.kind === 'remove') router.removeRule(s.id);
            if (s.kind === 'type') {
              if (s.target === undefined) delete router.typeBasedRules[s.type];
              else router.typeBasedRules[s.type] = s.target;
            }
            if (s.kind === 'fallback') router.fallback = s.target;
          }
          if (s.kind !== 'decide') continue;
          seen.push(s.context);
          // Each context seen so far, twice: many answers come from the cache, some filled by
          // other contexts with the same type or the same values where the rules look.
          for (const ctx of [...seen, ...seen]) {
            const options = { availableTargets: s.available };
            const a = cached.decide(ctx, options);
            const b = uncached.decide(ctx, options);
            expect(a && { ...a, cached: false }).toEqual(b);
            expect(cached.explain(ctx, options).decision).toEqual(b);
          }
        }
        hits += cached.cacheStats().hits;
      }),
      { numRuns: 300 },
    );
    expect(hits).toBeGreaterThan(300); // the cache did answer, so the comparison means something
  });
});
