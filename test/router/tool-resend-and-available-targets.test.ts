import {
  type Context,
  ContextRouter,
  createContext,
  createRuntime,
  defineTool,
  defineWorkerPool,
  defineWorkflow,
  isOrchestrationError,
  type RouteStepOptions,
} from 'mcp-orchestration';
import { createMemoryStore } from 'mcp-orchestration/memory';
import { describe, expect, it } from 'vitest';
import { gate } from '../support/gate.js';

let counter = 0;
const newTaskId = (prefix: string) => `${prefix}-${++counter}`;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** One routed step, sent to the tool `fetch` by the fallback. */
const fetcher = defineWorkflow({
  id: 'resend-fetcher',
  version: '1',
  steps: [{ stepId: 'fetch', route: true }],
});
const toFetch = () =>
  new ContextRouter({ fallback: { targetType: 'tool', targetId: 'fetch', priority: 0 } });

describe('a tool call withdrawn and sent again under the same request id (pause, resume)', () => {
  it('is answered by the new call, not by the first one failing after its abort', async () => {
    const log: string[] = [];
    const cleanupDone = gate();
    const secondGo = gate();
    let calls = 0;
    const tool = defineTool({
      id: 'fetch',
      call: async (_context, { signal, idempotencyKey }) => {
        const me = ++calls;
        log.push(`start #${me} ${idempotencyKey}`);
        if (me === 1) {
          // A well-behaved handler: it winds down once its signal aborts, then rejects.
          await new Promise<never>((_resolve, reject) => {
            signal.addEventListener('abort', () => {
              void cleanupDone.opened.then(() => {
                log.push('#1 rejects');
                reject(new DOMException('The operation was aborted', 'AbortError'));
              });
            });
          });
        }
        await secondGo.opened;
        return createContext('Fetched', { by: me });
      },
    });
    const runtime = createRuntime({
      store: createMemoryStore(),
      router: toFetch(),
      targets: [tool],
      workflows: [fetcher],
    });
    const taskId = newTaskId('resend-reject');
    const first = await runtime.start(fetcher, { url: 'x' }, { taskId });
    first.result.catch(() => {});
    await expect.poll(() => log).toEqual([`start #1 ${taskId}:fetch:1`]);

    await runtime.pause(taskId);
    const resumed = await runtime.resume(taskId);
    await expect.poll(() => log).toContain(`start #2 ${taskId}:fetch:1`); // same request id
    cleanupDone.open();
    await expect.poll(() => log).toContain('#1 rejects');
    await sleep(30); // room for the first call's outcome to (wrongly) reach the router
    secondGo.open();

    const output = await resumed.result;
    expect(output.data).toEqual({ by: 2 });
    expect((await runtime.status(taskId))?.status).toBe('completed');
    await runtime.close();
  });

  it('is answered by the new call when the first ignores its abort, and the new call can be withdrawn', async () => {
    const log: string[] = [];
    const firstGo = gate();
    const aborted: number[] = [];
    let calls = 0;
    const tool = defineTool({
      id: 'fetch',
      call: async (_context, { signal }) => {
        const me = ++calls;
        log.push(`start #${me}`);
        signal.addEventListener('abort', () => aborted.push(me));
        if (me === 1) {
          await firstGo.opened; // finishes anyway, aborted or not
          log.push('#1 resolves');
          return createContext('Fetched', { by: me });
        }
        if (me === 2) return new Promise<Context>(() => {}); // runs until withdrawn
        return createContext('Fetched', { by: me });
      },
    });
    const runtime = createRuntime({
      store: createMemoryStore(),
      router: toFetch(),
      targets: [tool],
      workflows: [fetcher],
    });
    const taskId = newTaskId('resend-ignore');
    (await runtime.start(fetcher, { url: 'x' }, { taskId })).result.catch(() => {});
    await expect.poll(() => log).toEqual(['start #1']);

    await runtime.pause(taskId);
    expect(aborted).toEqual([1]);
    const resumed = await runtime.resume(taskId);
    resumed.result.catch(() => {});
    await expect.poll(() => log).toEqual(['start #1', 'start #2']);
    firstGo.open();
    await expect.poll(() => log).toContain('#1 resolves');
    await sleep(30);
    // The first call's result did not finish the resumed step.
    expect((await runtime.status(taskId))?.status).toBe('running');

    // Paused again: the call in flight now is the second one, and it is withdrawn.
    await runtime.pause(taskId);
    await expect.poll(() => aborted).toEqual([1, 2]);
    const again = await runtime.resume(taskId);
    const output = await again.result;
    expect(output.data).toEqual({ by: 3 });
    expect((await runtime.status(taskId))?.status).toBe('completed');
    await runtime.close();
  });
});

describe("a routed step's route.availableTargets", () => {
  /** A rule per target on `data.x`, each of lower priority than the one before it. */
  function rulesFor(...targets: { targetType: 'tool' | 'worker_pool'; targetId: string }[]) {
    const router = new ContextRouter();
    targets.forEach((target, i) => {
      router.addRule({
        id: `to_${target.targetType}_${target.targetId}`,
        priority: 10 - i,
        when: { path: 'data.x', exists: true },
        target,
      });
    });
    return router;
  }
  const byTool = (id: string) =>
    defineTool({ id, call: () => createContext('Done', { by: `tool:${id}` }) });
  const routed = (id: string, availableTargets: RouteStepOptions['availableTargets']) =>
    defineWorkflow({
      id,
      version: '1',
      steps: [{ stepId: 's', route: { availableTargets }, retry: { attempts: 2 } }],
    });

  it('is narrowed to the targets the runtime registers: a rule for another one falls through', async () => {
    const router = rulesFor(
      { targetType: 'tool', targetId: 'a' },
      { targetType: 'tool', targetId: 'b' },
    );
    const runtime = createRuntime({ store: createMemoryStore(), router, targets: [byTool('b')] });
    const all = defineWorkflow({ id: 'all', version: '1', steps: [{ stepId: 's', route: true }] });
    expect(
      (await (await runtime.start(all, { x: 1 }, { taskId: newTaskId('all') })).result).data,
    ).toEqual({ by: 'tool:b' });

    const listed = routed('listed', ['a', 'b']);
    const taskId = newTaskId('listed');
    const output = await (await runtime.start(listed, { x: 1 }, { taskId })).result;
    expect(output.data).toEqual({ by: 'tool:b' });
    const [made] = (await runtime.lineage(taskId)).getContextHistory(output.contextId);
    expect(made?.metadata.route).toMatchObject({ targetId: 'b', ruleId: 'to_tool_b' });

    const typed = routed('typed', [{ targetType: 'tool', targetId: 'a' }, 'b']);
    expect(
      (await (await runtime.start(typed, { x: 1 }, { taskId: newTaskId('typed') })).result).data,
    ).toEqual({ by: 'tool:b' });
    await runtime.close();
  });

  it('keeps a bare id to the registered targets with that id, whatever their type', async () => {
    // The tool `a` is not registered; the pool `a` is, and its rule comes after the tool's.
    const router = rulesFor(
      { targetType: 'tool', targetId: 'a' },
      { targetType: 'worker_pool', targetId: 'a' },
    );
    const pool = defineWorkerPool({
      id: 'a',
      size: 1,
      handler: () => createContext('Done', { by: 'worker_pool:a' }),
    });
    const runtime = createRuntime({ store: createMemoryStore(), router, targets: [pool] });
    const output = await (
      await runtime.start(routed('bare', ['a']), { x: 1 }, { taskId: newTaskId('bare') })
    ).result;
    expect(output.data).toEqual({ by: 'worker_pool:a' });
    await runtime.close();
  });

  it('naming no registered target fails with NoRouteError saying so, not with a target the runtime lacks', async () => {
    const router = rulesFor({ targetType: 'tool', targetId: 'a' });
    // A fallback the runtime has, but the step does not list: not a candidate either.
    router.fallback = { targetType: 'tool', targetId: 'b', priority: 0 };
    const runtime = createRuntime({ store: createMemoryStore(), router, targets: [byTool('b')] });
    const taskId = newTaskId('none');
    const workflow = routed('none', ['a', { targetType: 'tool', targetId: 'c' }]);
    const run = await runtime.start(workflow, { x: 1 }, { taskId });
    const error = await run.result.catch((caught: unknown) => caught);
    expect(isOrchestrationError(error, 'WORKFLOW_FAILED')).toBe(true);
    if (!isOrchestrationError(error, 'WORKFLOW_FAILED')) return;
    expect(error.failure).toMatchObject({ stepId: 's', code: 'NO_ROUTE', name: 'NoRouteError' });
    expect(error.failure.message).toMatch(
      /^No route for context .+ of type InputContext: 2 rules tried, .*; none of step s's route\.availableTargets \("a", "tool:c"\) is registered in this runtime$/,
    );
    expect((await runtime.status(taskId))?.status).toBe('error');
    await runtime.close();

    // Some registered, and no rule for them matches: the message names those that are not.
    const noFallback = createRuntime({
      store: createMemoryStore(),
      router: rulesFor({ targetType: 'tool', targetId: 'a' }),
      targets: [byTool('b')],
    });
    const some = routed('some', ['a', 'b']);
    const noMatch = await (
      await noFallback.start(some, { x: 1 }, { taskId: newTaskId('some') })
    ).result.catch((c: unknown) => c);
    expect(isOrchestrationError(noMatch, 'WORKFLOW_FAILED') && noMatch.failure).toMatchObject({
      code: 'NO_ROUTE',
      message: expect.stringMatching(
        /; step s's route\.availableTargets "a" is not registered in this runtime$/,
      ),
    });
    await noFallback.close();
  });
});
