import {
  type Context,
  ContextRouter,
  createContext,
  getContextRouter,
  InvalidIdError,
  isOrchestrationError,
  type JsonObject,
  NoRouteError,
  type RouteDecision,
  type RouteOptions,
  RoutingRuleError,
  type RoutingTarget,
} from 'mcp-orchestration';
import { describe, expect, expectTypeOf, it } from 'vitest';

const task = (data: Record<string, string | number | boolean | null> = {}) =>
  createContext('TaskContext', data);

describe('ContextRouter: the seed example', () => {
  it('routes a TaskContext by a type rule set at runtime, then dispatches on targetType', async () => {
    const router = await getContextRouter();
    router.typeBasedRules['TaskContext'] = {
      targetType: 'agent_type',
      targetId: 'planner',
      priority: 1,
    };
    const targets = ['planner', 'data_processor'];

    const route = await router.determineRoute(task({ goal: 'plan a trip' }), {
      availableTargets: targets,
    });

    expect(route).toEqual({ targetType: 'agent_type', targetId: 'planner', priority: 1 });
    const handled =
      route?.targetType === 'agent_type'
        ? `agent ${route.targetId} processed it`
        : route?.targetType === 'worker_pool'
          ? `pool ${route.targetId} took it`
          : 'no route';
    expect(handled).toBe('agent planner processed it');
    delete router.typeBasedRules['TaskContext'];
  });

  it('getContextRouter gives one instance, even to concurrent first calls', async () => {
    const [a, b] = await Promise.all([getContextRouter(), getContextRouter()]);
    expect(a).toBe(b);
    expect(await getContextRouter()).toBe(a);
    expect(a).toBeInstanceOf(ContextRouter);
  });
});

describe('ContextRouter: rules', () => {
  it('type rules behave like a plain object: read, list, replace, delete', () => {
    const router = new ContextRouter();
    router.typeBasedRules.TaskContext = { targetType: 'tool', targetId: 'parser', priority: 0 };
    expect(router.typeBasedRules.TaskContext).toEqual({
      targetType: 'tool',
      targetId: 'parser',
      priority: 0,
    });
    expect(Object.isFrozen(router.typeBasedRules.TaskContext)).toBe(true);
    expect(Object.keys(router.typeBasedRules)).toEqual(['TaskContext']);
    expect('TaskContext' in router.typeBasedRules).toBe(true);

    router.typeBasedRules.TaskContext = { targetType: 'tool', targetId: 'other', priority: 0 };
    expect(router.decide(task())?.target.targetId).toBe('other');

    delete router.typeBasedRules.TaskContext;
    expect(router.decide(task())).toBeUndefined();
    expect(Object.keys(router.typeBasedRules)).toEqual([]);
  });

  it('type rules can be given to the constructor, and Object.assign works too', () => {
    const router = new ContextRouter({
      typeBasedRules: {
        TaskContext: { targetType: 'agent_type', targetId: 'planner', priority: 1 },
      },
    });
    Object.assign(router.typeBasedRules, {
      NoteContext: { targetType: 'tool', targetId: 'notes', priority: 1 },
    });
    expect(router.decide(task())?.reason).toBe('type TaskContext');
    expect(router.decide(createContext('NoteContext', {}))?.target.targetId).toBe('notes');
  });

  it('refuses a bad type rule with a typed error, and keeps the old one', () => {
    const router = new ContextRouter();
    router.typeBasedRules.TaskContext = { targetType: 'tool', targetId: 'ok', priority: 1 };
    const bad = router.typeBasedRules as Record<string, unknown>;
    expect(() => {
      bad.TaskContext = { targetType: 'robot', targetId: 'x', priority: 1 };
    }).toThrow(RoutingRuleError);
    expect(() => {
      bad.TaskContext = { targetType: 'tool', targetId: 'a/b', priority: 1 };
    }).toThrow(InvalidIdError);
    expect(() => {
      bad.TaskContext = { targetType: 'tool', targetId: 'x', priority: Number.NaN };
    }).toThrow(/priority must be a finite number/);
    expect(() => {
      bad['bad type'] = { targetType: 'tool', targetId: 'x', priority: 1 };
    }).toThrow(InvalidIdError);
    expect(router.typeBasedRules.TaskContext?.targetId).toBe('ok');
  });

  it('a declarative content rule: equals, in, exists, matches, and several at once', () => {
    const router = new ContextRouter();
    const to = (targetId: string) => ({ targetType: 'worker_pool' as const, targetId });
    router.addRule({ id: 'eq', when: { path: 'data.kind', equals: 'invoice' }, target: to('eq') });
    router.addRule({
      id: 'in',
      when: { path: 'data.kind', in: ['memo', 'note'] },
      target: to('in'),
    });
    router.addRule({
      id: 'has',
      when: { path: 'data.attachment', exists: true },
      target: to('has'),
    });
    router.addRule({
      id: 're',
      when: { path: 'data.title', matches: '^urgent', flags: 'i' },
      target: to('re'),
    });
    router.addRule({
      id: 'both',
      when: [
        { path: 'data.kind', equals: 'order' },
        { path: 'metadata.source', equals: 'web' },
      ],
      target: to('both'),
    });
    const decide = (data: Record<string, string>, metadata = {}) =>
      router.decide(createContext('DocContext', data, { metadata }))?.ruleId;

    expect(decide({ kind: 'invoice' })).toBe('eq');
    expect(decide({ kind: 'note' })).toBe('in');
    expect(decide({ kind: 'x', attachment: 'a.pdf' })).toBe('has');
    expect(decide({ title: 'URGENT: reply' })).toBe('re');
    expect(decide({ title: 'not urgent' })).toBeUndefined();
    expect(decide({ kind: 'order' }, { source: 'web' })).toBe('both');
    expect(decide({ kind: 'order' }, { source: 'mail' })).toBeUndefined();
    expect(router.decide(createContext('DocContext', { kind: 'invoice' }))?.reason).toBe(
      'content rule eq: data.kind equals "invoice"',
    );
  });

  it('equals and in compare JSON deeply; exists: false matches a missing value; array paths', () => {
    const router = new ContextRouter();
    const target = { targetType: 'tool' as const, targetId: 't' };
    router.addRule({ id: 'deep', when: { path: 'data.tags', equals: ['a', 'b'] }, target });
    router.addRule({ id: 'first', when: { path: 'data.items.0', equals: 'x' }, target });
    router.addRule({ id: 'bare', when: { path: 'data.owner', exists: false }, target });

    expect(router.decide(createContext('C', { tags: ['a', 'b'], owner: 'o' }))?.ruleId).toBe(
      'deep',
    );
    expect(router.decide(createContext('C', { items: ['x'], owner: 'o' }))?.ruleId).toBe('first');
    expect(router.decide(createContext('C', { owner: null }))).toBeUndefined(); // null exists
    expect(router.decide(createContext('C', {}))?.reason).toBe(
      'content rule bare: data.owner does not exist',
    );
  });

  it('a predicate rule, with a description for its reason, and only for its contextType', () => {
    const router = new ContextRouter();
    router.addRule({
      id: 'long',
      contextType: 'TaskContext',
      description: 'the goal is longer than 10 characters',
      when: (context) => String((context.data as { goal?: string }).goal ?? '').length > 10,
      target: { targetType: 'agent_type', targetId: 'deep_thinker' },
    });
    expect(router.decide(task({ goal: 'a long, long goal' }))?.reason).toBe(
      'content rule long: the goal is longer than 10 characters',
    );
    expect(router.decide(task({ goal: 'short' }))).toBeUndefined();
    expect(
      router.decide(createContext('NoteContext', { goal: 'a long, long goal' })),
    ).toBeUndefined();
  });

  it('predicates get currentSystemState', () => {
    const router = new ContextRouter({
      rules: [
        {
          id: 'busy',
          when: (_context, state) => state?.load === 'high',
          target: { targetType: 'worker_pool', targetId: 'overflow' },
        },
      ],
      fallback: { targetType: 'agent_type', targetId: 'main', priority: 0 },
    });
    expect(router.decide(task(), { currentSystemState: { load: 'high' } })?.ruleId).toBe('busy');
    expect(router.decide(task(), { currentSystemState: { load: 'low' } })?.ruleId).toBe('fallback');
  });

  it('refuses bad content rules with typed errors', () => {
    const router = new ContextRouter();
    const target = { targetType: 'tool' as const, targetId: 't' };
    const refused = (rule: unknown) => {
      try {
        router.addRule(rule as Parameters<ContextRouter['addRule']>[0]);
      } catch (error) {
        return isOrchestrationError(error) ? error.code : 'untyped';
      }
      return 'accepted';
    };
    router.addRule({ id: 'one', when: { path: 'data.a', exists: true }, target });
    expect(refused({ id: 'one', when: { path: 'data.a', exists: true }, target })).toBe(
      'ROUTING_RULE',
    );
    expect(refused({ id: 'fallback', when: { path: 'data.a', exists: true }, target })).toBe(
      'ROUTING_RULE',
    );
    expect(refused({ id: 'x y', when: { path: 'data.a', exists: true }, target })).toBe(
      'INVALID_ID',
    );
    expect(refused({ id: 'p', when: { path: 'body.a', exists: true }, target })).toBe(
      'ROUTING_RULE',
    );
    expect(refused({ id: 'p', when: { path: 'data..a', exists: true }, target })).toBe(
      'ROUTING_RULE',
    );
    expect(refused({ id: 'p', when: { path: 'data.a' }, target })).toBe('ROUTING_RULE');
    expect(refused({ id: 'p', when: { path: 'data.a', exists: true, equals: 1 }, target })).toBe(
      'ROUTING_RULE',
    );
    expect(refused({ id: 'p', when: { path: 'data.a', matches: '(' }, target })).toBe(
      'ROUTING_RULE',
    );
    expect(refused({ id: 'p', when: { path: 'data.a', matches: 'x', flags: 'g' }, target })).toBe(
      'ROUTING_RULE',
    );
    expect(refused({ id: 'p', when: [], target })).toBe('ROUTING_RULE');
    expect(
      refused({ id: 'p', priority: Infinity, when: { path: 'data.a', exists: true }, target }),
    ).toBe('ROUTING_RULE');
    expect(
      refused({
        id: 'p',
        when: { path: 'data.a', exists: true },
        target: { targetType: 'tool', targetId: '' },
      }),
    ).toBe('INVALID_ID');
    expect(router.rules.map((rule) => rule.id)).toEqual(['one']);
  });

  it('a predicate that throws becomes a RoutingRuleError naming the rule', () => {
    const router = new ContextRouter();
    const cause = new Error('boom');
    router.addRule({
      id: 'broken',
      when: () => {
        throw cause;
      },
      target: { targetType: 'tool', targetId: 't' },
    });
    const context = task();
    expect(() => router.decide(context)).toThrow(
      expect.objectContaining({ code: 'ROUTING_RULE', ruleId: 'broken', cause }),
    );
  });

  it('removeRule removes a content rule and says whether there was one', () => {
    const router = new ContextRouter();
    router.addRule({
      id: 'r',
      when: { path: 'contextType', equals: 'TaskContext' },
      target: { targetType: 'tool', targetId: 't' },
    });
    expect(router.decide(task())?.ruleId).toBe('r');
    expect(router.removeRule('r')).toBe(true);
    expect(router.removeRule('r')).toBe(false);
    expect(router.decide(task())).toBeUndefined();
  });
});

describe('ContextRouter: priorities, ties and the fallback', () => {
  const target = (targetId: string) => ({ targetType: 'agent_type' as const, targetId });
  const always = { path: 'contextId', exists: true } as const;

  it('the higher priority wins, whatever the kind of rule or the order added', () => {
    const router = new ContextRouter();
    router.addRule({ id: 'low', priority: 1, when: always, target: target('low') });
    router.typeBasedRules.TaskContext = { ...target('type'), priority: 5 };
    router.addRule({ id: 'high', priority: 9, when: always, target: target('high') });
    expect(router.decide(task())?.ruleId).toBe('high');
    router.removeRule('high');
    expect(router.decide(task())?.ruleId).toBe('type:TaskContext');
    expect(router.decide(task())?.target).toEqual({ ...target('type'), priority: 5 });
  });

  it('ties: content rules before the type rule, then the content rule added first', () => {
    const router = new ContextRouter();
    router.typeBasedRules.TaskContext = { ...target('type'), priority: 3 };
    router.addRule({ id: 'second', priority: 3, when: always, target: target('second') });
    router.addRule({ id: 'third', priority: 3, when: always, target: target('third') });
    expect(router.decide(task())?.ruleId).toBe('second');
    expect(router.explain(task()).considered.map((v) => [v.ruleId, v.outcome])).toEqual([
      ['second', 'chosen'],
      ['third', 'outranked'],
      ['type:TaskContext', 'outranked'],
    ]);
    // Re-adding a rule puts it last among its equals.
    const [first] = router.rules;
    router.removeRule('second');
    router.addRule(first!);
    expect(router.rules.map((rule) => rule.id)).toEqual(['third', 'second']);
    expect(router.decide(task())?.ruleId).toBe('third');
  });

  it('the fallback takes what no rule sends anywhere, and comes last whatever its priority', () => {
    const router = new ContextRouter({ fallback: { ...target('generalist'), priority: 100 } });
    router.addRule({
      id: 'kind',
      priority: 0,
      when: { path: 'data.kind', equals: 'x' },
      target: target('x'),
    });
    expect(router.decide(task({ kind: 'x' }))?.ruleId).toBe('kind');
    expect(router.decide(createContext('UnknownContext', {}))).toEqual({
      target: { ...target('generalist'), priority: 100 },
      ruleId: 'fallback',
      reason: 'fallback',
      cached: false,
    });
    router.fallback = undefined;
    expect(router.decide(createContext('UnknownContext', {}))).toBeUndefined();
  });

  it('a rule whose target is not available falls through to the next rule, then the fallback', async () => {
    const router = new ContextRouter({
      typeBasedRules: { TaskContext: { ...target('planner'), priority: 1 } },
      rules: [
        {
          id: 'urgent',
          priority: 5,
          when: { path: 'data.urgent', equals: true },
          target: target('triage'),
        },
      ],
      fallback: { targetType: 'worker_pool', targetId: 'general', priority: 0 },
    });
    const urgent = task({ urgent: true });
    expect((await router.determineRoute(urgent))?.targetId).toBe('triage');
    expect((await router.determineRoute(urgent, { availableTargets: ['planner'] }))?.targetId).toBe(
      'planner',
    );
    expect((await router.determineRoute(urgent, { availableTargets: ['general'] }))?.targetId).toBe(
      'general',
    );
    expect(await router.determineRoute(urgent, { availableTargets: [] })).toBeUndefined();
    // By type and id: the same id under another target type is not the same target.
    const byRef = [
      { targetType: 'tool' as const, targetId: 'triage' },
      { targetType: 'agent_type' as const, targetId: 'planner' },
    ];
    expect(router.decide(urgent, { availableTargets: byRef })?.ruleId).toBe('type:TaskContext');
    expect(
      router.explain(urgent, { availableTargets: byRef }).considered.map((v) => v.outcome),
    ).toEqual(['unavailable', 'chosen', 'not-needed']);
  });

  it('refuses malformed availableTargets with a TypeError naming it, in every routing call', async () => {
    const router = new ContextRouter({
      fallback: { targetType: 'tool', targetId: 'fb', priority: 0 },
    });
    const context = task();
    const cases: [unknown, string][] = [
      [
        'fb',
        'availableTargets must be an array of target ids or { targetType, targetId }, not "fb"',
      ],
      [
        { 0: 'fb' },
        'availableTargets must be an array of target ids or { targetType, targetId }, not object',
      ],
      [[null], 'availableTargets[0] must be a target id or { targetType, targetId }, not null'],
      [
        ['fb', 7],
        'availableTargets[1] must be a target id or { targetType, targetId }, not number',
      ],
      [[{ targetType: 'tool' }], 'availableTargets[0].targetId must be a string, not undefined'],
      [[{ targetId: 'fb' }], 'availableTargets[0].targetType must be a string, not undefined'],
    ];
    for (const [availableTargets, message] of cases) {
      const options = { availableTargets: availableTargets as never };
      const error = new TypeError(message);
      expect(() => router.decide(context, options)).toThrow(error);
      expect(() => router.route(context, options)).toThrow(error);
      expect(() => router.explain(context, options)).toThrow(error);
      await expect(router.determineRoute(context, options)).rejects.toThrow(error);
    }
    // Ids that name no target are not malformed: they only match no rule.
    expect(
      router.decide(context, {
        availableTargets: ['no such id!', { targetType: 'tool', targetId: 'fb' }],
      })?.ruleId,
    ).toBe('fallback');
  });

  it('refuses what is not a context with a ContextValidationError, in every routing call', async () => {
    const router = new ContextRouter({
      fallback: { targetType: 'tool', targetId: 'fb', priority: 0 },
    });
    for (const notContext of [{}, null, undefined, 'TaskContext', { contextType: 'TaskContext' }]) {
      const bad = notContext as Context;
      const isValidation = expect.objectContaining({ code: 'CONTEXT_VALIDATION' });
      expect(() => router.decide(bad)).toThrow(isValidation);
      expect(() => router.route(bad)).toThrow(isValidation);
      expect(() => router.explain(bad)).toThrow(isValidation);
      await expect(router.determineRoute(bad)).rejects.toThrow(isValidation);
    }
    try {
      router.decide({} as Context);
      expect.unreachable();
    } catch (error) {
      if (!isOrchestrationError(error, 'CONTEXT_VALIDATION')) throw error;
      expect(error.issues.map((issue) => issue.path)).toEqual([
        '$.contextId',
        '$.contextType',
        '$.data',
        '$.metadata',
      ]);
    }
  });

  it('refuses options that are not an object with a TypeError naming them, in every routing call', async () => {
    const router = new ContextRouter({
      fallback: { targetType: 'tool', targetId: 'fb', priority: 0 },
    });
    for (const options of [null, 'fast', 3, ['planner']]) {
      const bad = options as unknown as RouteOptions;
      const named = /^options must be an object \(RouteOptions\) or undefined, not /;
      expect(() => router.decide(task(), bad)).toThrow(named);
      expect(() => router.route(task(), bad)).toThrow(named);
      expect(() => router.explain(task(), bad)).toThrow(named);
      await expect(router.determineRoute(task(), bad)).rejects.toThrow(named);
    }
    expect(router.decide(task(), undefined)?.ruleId).toBe('fallback');
  });

  it('route() throws NoRouteError naming the context and the rules tried', () => {
    const router = new ContextRouter({
      typeBasedRules: { TaskContext: { ...target('planner'), priority: 1 } },
      rules: [{ id: 'any', when: always, target: target('other') }],
    });
    const context = task();
    expect(router.route(context).ruleId).toBe('type:TaskContext');
    let thrown: unknown;
    try {
      router.route(context, { availableTargets: ['nobody'] });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(NoRouteError);
    expect(thrown).toMatchObject({
      code: 'NO_ROUTE',
      contextType: 'TaskContext',
      contextId: context.contextId,
      rulesTried: 2,
    });
    expect(String((thrown as Error).message)).toBe(
      `No route for context ${context.contextId} of type TaskContext: 2 rules tried, none matched an available target, and there is no available fallback`,
    );
  });
});

describe('ContextRouter: many rules', () => {
  it('rules found by value (equals/in on scalars) keep the documented order with the others', () => {
    const router = new ContextRouter();
    const to = (targetId: string) => ({ targetType: 'tool' as const, targetId });
    // Added low priority first, so the order tried is not the order added.
    router.addRule({
      id: 'by_region',
      priority: 1,
      when: { path: 'data.region', equals: 'eu' },
      target: to('a'),
    });
    router.addRule({
      id: 'by_kind',
      priority: 2,
      when: { path: 'data.kind', in: ['x', 'x', 1] },
      target: to('b'),
    });
    router.addRule({
      id: 'scan',
      priority: 3,
      when: { path: 'data.kind', matches: '^y' },
      target: to('c'),
    });
    router.addRule({
      id: 'by_kind_top',
      priority: 4,
      when: { path: 'data.kind', equals: 'yes' },
      target: to('d'),
    });
    const ruleOf = (data: JsonObject, availableTargets?: string[]) =>
      router.decide(createContext('C', data), { availableTargets })?.ruleId;

    expect(ruleOf({ kind: 'x', region: 'eu' })).toBe('by_kind');
    expect(ruleOf({ kind: 1, region: 'eu' })).toBe('by_kind');
    expect(ruleOf({ kind: '1', region: 'eu' })).toBe('by_region'); // 1 and '1' differ
    expect(ruleOf({ kind: 'yes', region: 'eu' })).toBe('by_kind_top');
    expect(ruleOf({ kind: 'yes', region: 'eu' }, ['a', 'b', 'c'])).toBe('scan');
    expect(ruleOf({ kind: 'yes', region: 'eu' }, ['a', 'b'])).toBe('by_region');
    expect(ruleOf({ kind: { x: 1 }, region: 'eu' })).toBe('by_region');
    // A rule found on one path before a rule found on another, though tried after it.
    router.addRule({
      id: 'mid_region',
      priority: 3,
      when: { path: 'data.region', equals: 'eu' },
      target: to('e'),
    });
    expect(ruleOf({ kind: 'x', region: 'eu' })).toBe('mid_region');
  });

  it('with 300 mixed rules, decide agrees with explain, which tests every rule one by one', () => {
    const router = new ContextRouter({ cacheSize: 0 });
    const kinds = ['a', 'b', 'c', 'd', 'e', 1, 2, true, null] as const;
    const pick = (i: number) => kinds[i % kinds.length] as string | number | boolean | null;
    for (let i = 0; i < 300; i++) {
      // Paths, kinds and priorities scrambled, so the rules of one path are not bunched together.
      const path = ['data.kind', 'data.sub.kind', 'metadata.source'][
        (i * 31 + (i >> 2)) % 3
      ] as string;
      const when =
        i % 5 === 0
          ? { path, in: [pick(i), pick(i * 7)] }
          : i % 5 === 1
            ? { path: 'data.extra', exists: true } // rare: a scan rule that seldom matches
            : i % 5 === 2
              ? [
                  { path, equals: pick(i) },
                  { path: 'data.n', equals: i % 4 },
                ]
              : { path, equals: pick(i) };
      router.addRule({
        id: `r${i}`,
        priority: (i * 7919) % 11,
        when,
        target: { targetType: 'tool', targetId: `t${i % 9}` },
      });
    }
    router.typeBasedRules.C = { targetType: 'agent_type', targetId: 'typed', priority: 2 };
    for (let n = 0; n < 200; n++) {
      const context = createContext(
        'C',
        {
          kind: pick(n),
          sub: { kind: pick(n * 3) },
          n: n % 4,
          ...(n % 7 === 0 ? { extra: 1 } : {}),
        },
        { metadata: { source: pick(n * 5) } },
      );
      const availableTargets = n % 3 === 0 ? undefined : [`t${n % 9}`, `t${(n * 2) % 9}`, 'typed'];
      expect(router.decide(context, { availableTargets })).toEqual(
        router.explain(context, { availableTargets }).decision,
      );
    }
  });
});

describe('ContextRouter: explain', () => {
  it('lists the rules of the type in the order tried, with what became of each', () => {
    const router = new ContextRouter({
      typeBasedRules: {
        TaskContext: { targetType: 'agent_type', targetId: 'planner', priority: 1 },
        NoteContext: { targetType: 'tool', targetId: 'notes', priority: 1 },
      },
      rules: [
        {
          id: 'urgent',
          priority: 5,
          when: { path: 'data.priority', equals: 'high' },
          target: { targetType: 'worker_pool', targetId: 'fast' },
        },
        {
          id: 'notes_only',
          contextType: 'NoteContext',
          when: () => true,
          target: { targetType: 'tool', targetId: 'x' },
        },
      ],
      fallback: { targetType: 'agent_type', targetId: 'generalist', priority: 0 },
    });
    const context = task({ priority: 'low' });
    const explanation = router.explain(context);
    expect(explanation.considered).toEqual([
      {
        ruleId: 'urgent',
        kind: 'content',
        priority: 5,
        target: { targetType: 'worker_pool', targetId: 'fast' },
        outcome: 'no-match',
        test: 'data.priority equals "high"',
      },
      {
        ruleId: 'type:TaskContext',
        kind: 'type',
        priority: 1,
        target: { targetType: 'agent_type', targetId: 'planner' },
        outcome: 'chosen',
        test: 'type TaskContext',
      },
      {
        ruleId: 'fallback',
        kind: 'fallback',
        priority: 0,
        target: { targetType: 'agent_type', targetId: 'generalist' },
        outcome: 'not-needed',
        test: 'no rule sent it anywhere',
      },
    ]);
    const decided = router.decide(context) as RouteDecision;
    expect(explanation.decision).toEqual({ ...decided, cached: false });
  });

  it('gives decide’s answer where a predicate decide never calls throws, reporting it as errored', () => {
    const kaboom = () => {
      throw new Error('kaboom');
    };
    // Below the chosen rule: decide never gets to it.
    const router = new ContextRouter();
    router.addRule({
      id: 'urgent',
      priority: 9,
      when: { path: 'data.n', equals: 3 },
      target: { targetType: 'tool', targetId: 'fast' },
    });
    router.addRule({
      id: 'flaky',
      priority: 1,
      when: kaboom,
      target: { targetType: 'tool', targetId: 'slow' },
    });
    const context = createContext('Task', { n: 3 });
    const explained = router.explain(context);
    expect(explained.decision).toEqual({ ...router.decide(context), cached: false });
    expect(explained.decision?.ruleId).toBe('urgent');
    expect(explained.considered.map((v) => [v.ruleId, v.outcome, v.error])).toEqual([
      ['urgent', 'chosen', undefined],
      ['flaky', 'errored', 'kaboom'],
    ]);
    expect(Object.hasOwn(explained.considered[0] as object, 'error')).toBe(false);
    // Its target unavailable: decide skips it without calling the predicate.
    const withFallback = new ContextRouter({
      fallback: { targetType: 'tool', targetId: 'fast', priority: 0 },
    });
    withFallback.addRule({
      id: 'flaky',
      priority: 1,
      when: kaboom,
      target: { targetType: 'tool', targetId: 'slow' },
    });
    const options = { availableTargets: ['fast'] };
    expect(withFallback.decide(context, options)?.ruleId).toBe('fallback');
    const second = withFallback.explain(context, options);
    expect(second.decision?.ruleId).toBe('fallback');
    expect(second.considered.map((v) => [v.ruleId, v.outcome, v.error])).toEqual([
      ['flaky', 'errored', 'kaboom'],
      ['fallback', 'chosen', undefined],
    ]);
    // A predicate decide does call: explain throws what decide throws.
    expect(() => withFallback.decide(context)).toThrow(RoutingRuleError);
    expect(() => withFallback.explain(context)).toThrow(
      expect.objectContaining({
        code: 'ROUTING_RULE',
        ruleId: 'flaky',
        message: `Routing rule flaky: its predicate threw while routing ${context.contextId}`,
      }),
    );
  });

  it('a decision is JSON: it can be recorded in a lineage and read back', () => {
    const router = new ContextRouter({
      typeBasedRules: {
        TaskContext: { targetType: 'agent_type', targetId: 'planner', priority: 1 },
      },
    });
    const made = router.decide(task() as Context);
    expect(JSON.parse(JSON.stringify(made))).toEqual(made);
    expect(Object.isFrozen(made)).toBe(true);
  });
});

describe('ContextRouter: types', () => {
  it('reads of typeBasedRules may be undefined; decide may be, route never is', () => {
    const router = new ContextRouter();
    expectTypeOf(router.typeBasedRules.TaskContext).toEqualTypeOf<RoutingTarget | undefined>();
    expectTypeOf(router.decide).returns.toEqualTypeOf<RouteDecision | undefined>();
    expectTypeOf(router.route).returns.toEqualTypeOf<RouteDecision>();
    expectTypeOf(router.determineRoute).returns.resolves.toEqualTypeOf<RoutingTarget | undefined>();
    const target = { targetType: 'tool', targetId: 't' } as const;
    expect(() => {
      // @ts-expect-error: not a target type
      router.typeBasedRules.X = { targetType: 'robot', targetId: 'r', priority: 1 };
    }).toThrow(RoutingRuleError);
    expect(() => {
      // @ts-expect-error: a type rule needs a priority
      router.typeBasedRules.Y = { targetType: 'tool', targetId: 'r' };
    }).toThrow(RoutingRuleError);
    // @ts-expect-error: a match needs a path
    expect(() => router.addRule({ id: 'a', when: { equals: 1 }, target })).toThrow(
      RoutingRuleError,
    );
    // @ts-expect-error: a predicate answers a boolean
    router.addRule({ id: 'b', when: () => 'yes', target });
  });
});
