// The seed's three usage examples (basic workflow, parallel processing with merge, fault
// tolerance), translated to TypeScript with fake tools, checking the lineage they log.
import { type Context, ContextFlowManager, type JsonValue } from 'mcp-orchestration';
import { describe, expect, it } from 'vitest';

function makeContext(contextId: string, contextType: string, data: JsonValue): Context {
  return Object.freeze({ contextId, contextType, data, metadata: Object.freeze({}) });
}

const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Step {
  stepId: string;
  toolName: string;
  action: string;
  outputType: string;
}

const STEPS: Step[] = [
  { stepId: 'parse', toolName: 'input_parser', action: 'parse', outputType: 'ParsedContext' },
  { stepId: 'process', toolName: 'data_processor', action: 'process', outputType: 'DataContext' },
  {
    stepId: 'generate',
    toolName: 'result_generator',
    action: 'generate',
    outputType: 'ResultContext',
  },
];

describe('seed usage examples', () => {
  it('basic workflow: begin-step and after-step transitions', async () => {
    const taskId = 'task_basic';
    const flow = new ContextFlowManager({ workflowId: taskId });
    const runTool = async (context: Context, step: Step): Promise<Context> => {
      await tick(0);
      return makeContext(`${taskId}_${step.stepId}`, step.outputType, { from: context.contextId });
    };
    let current = makeContext(`${taskId}_input`, 'InputContext', 'raw input');
    for (const step of STEPS) {
      flow.logTransition({
        toContext: current,
        componentName: 'WorkflowExecutor',
        operation: `begin_step_${step.stepId}`,
      });
      const route = { targetType: 'tool', targetId: step.toolName };
      const result = await runTool(current, step);
      flow.logTransition({
        toContext: result,
        componentName: `${route.targetType}_${route.targetId}`,
        operation: step.action,
        fromContext: current,
      });
      current = result;
    }

    expect(current.contextId).toBe('task_basic_generate');
    expect(flow.getFullTransitionLog().map((t) => `${t.componentName}/${t.operation}`)).toEqual([
      'WorkflowExecutor/begin_step_parse',
      'tool_input_parser/parse',
      'WorkflowExecutor/begin_step_process',
      'tool_data_processor/process',
      'WorkflowExecutor/begin_step_generate',
      'tool_result_generator/generate',
    ]);
    // The parsed context was produced by the parser, then entered the next step.
    expect(flow.getContextHistory('task_basic_parse').map((t) => t.componentName)).toEqual([
      'tool_input_parser',
      'WorkflowExecutor',
    ]);
    expect(flow.findOriginatingContext('task_basic_generate')).toBe('task_basic_input');
    expect(
      flow.findOriginatingContext('task_basic_generate', { targetType: 'ParsedContext' }),
    ).toBe('task_basic_parse');
    expect(flow.findOriginatingContexts('task_basic_generate')).toEqual(['task_basic_input']);
  });

  it('parallel processing: split, process concurrently, merge with one transition per result', async () => {
    const taskId = 'task_parallel';
    const flow = new ContextFlowManager({ workflowId: taskId });
    const initial = makeContext(`${taskId}_input`, 'InputContext', [1, 2, 3, 4, 5, 6]);
    const chunks = [
      [1, 2],
      [3, 4],
      [5, 6],
    ];
    const processChunk = async (index: number, data: number[]): Promise<Context> => {
      const chunk = makeContext(`${taskId}_chunk_${index}`, 'ChunkContext', data);
      flow.logTransition({
        toContext: chunk,
        componentName: 'DataSplitter',
        operation: 'split',
        fromContext: initial,
      });
      await tick((3 - index) * 5); // later chunks finish first: the log interleaves
      const result = makeContext(
        `${taskId}_result_${index}`,
        'ChunkResultContext',
        data.map((n) => n * 10),
      );
      flow.logTransition({
        toContext: result,
        componentName: 'ChunkProcessor',
        operation: 'process',
        fromContext: chunk,
      });
      return result;
    };
    const results = await Promise.all(chunks.map((data, i) => processChunk(i, data)));
    const merged = makeContext(
      `${taskId}_merged`,
      'ResultContext',
      results.flatMap((r) => r.data as number[]),
    );
    for (const result of results) {
      flow.logTransition({
        toContext: merged,
        componentName: 'ResultMerger',
        operation: 'merge',
        fromContext: result,
      });
    }

    const log = flow.getFullTransitionLog();
    expect(log.map((t) => t.seq)).toEqual([...Array(9).keys()]);
    // Interleaved: all splits come before any processing finished, results in reverse.
    expect(log.slice(3, 6).map((t) => t.toContextId)).toEqual([
      'task_parallel_result_2',
      'task_parallel_result_1',
      'task_parallel_result_0',
    ]);
    const mergeHistory = flow.getContextHistory('task_parallel_merged');
    expect(mergeHistory.map((t) => t.fromContextIds[0])).toEqual(results.map((r) => r.contextId));
    expect(flow.findOriginatingContext('task_parallel_merged')).toBe('task_parallel_input');
    expect(flow.findOriginatingContexts('task_parallel_merged')).toEqual(['task_parallel_input']);
    // First parent: results[0], so the nearest ChunkContext on that path is chunk 0.
    expect(
      flow.findOriginatingContext('task_parallel_merged', { targetType: 'ChunkContext' }),
    ).toBe('task_parallel_chunk_0');
    expect(
      flow.findOriginatingContexts('task_parallel_merged', { targetType: 'ChunkContext' }).sort(),
    ).toEqual(['task_parallel_chunk_0', 'task_parallel_chunk_1', 'task_parallel_chunk_2']);
    const mermaid = flow.toMermaid({ contextId: 'task_parallel_merged' });
    expect(mermaid.match(/-->\|"ResultMerger: merge"\|/g)).toHaveLength(3);
    expect(mermaid.match(/-->\|"DataSplitter: split"\|/g)).toHaveLength(3);
  });

  it('fault tolerance: the lineage survives a crash when the log is persisted and restored', async () => {
    const taskId = 'task_fault';
    // What survives a crash: a checkpoint, saved contexts, and the append-only lineage log.
    const storage = {
      checkpoint: undefined as
        | { currentStepIndex: number; status: string; contextId: string; metadata: object }
        | undefined,
      contexts: new Map<string, Context>(),
      flowLog: [] as string[],
    };
    const run = async (inputData: JsonValue | undefined, failAtStep?: number): Promise<Context> => {
      const flow =
        storage.flowLog.length > 0
          ? ContextFlowManager.fromTransitions(
              taskId,
              storage.flowLog.map((line) => JSON.parse(line)),
            )
          : new ContextFlowManager({ workflowId: taskId });
      const persistFlow = () => {
        const since =
          storage.flowLog.length === 0 ? 0 : JSON.parse(storage.flowLog.at(-1)!).seq + 1;
        for (const t of flow.transitionsSince(since)) storage.flowLog.push(JSON.stringify(t));
      };
      let current: Context;
      let startAt: number;
      if (storage.checkpoint) {
        startAt = storage.checkpoint.currentStepIndex;
        current = storage.contexts.get(storage.checkpoint.contextId)!;
      } else {
        if (inputData === undefined) throw new Error('Input data required for new workflow');
        current = makeContext(`${taskId}_input`, 'InputContext', inputData);
        storage.contexts.set(current.contextId, current);
        startAt = 0;
        storage.checkpoint = {
          currentStepIndex: 0,
          status: 'running',
          contextId: current.contextId,
          metadata: {},
        };
      }
      try {
        for (let index = startAt; index < STEPS.length; index++) {
          const step = STEPS[index]!;
          await tick(0);
          if (index === failAtStep) throw new Error(`step ${step.stepId} failed`);
          const result = makeContext(`${taskId}_step_${index}`, step.outputType, { step: index });
          flow.logTransition({
            toContext: result,
            componentName: 'StepExecutor',
            operation: step.action,
            fromContext: current,
          });
          persistFlow();
          current = result;
          storage.contexts.set(current.contextId, current);
          storage.checkpoint = {
            currentStepIndex: index + 1,
            status: 'running',
            contextId: current.contextId,
            metadata: {},
          };
        }
        storage.checkpoint = { ...storage.checkpoint!, status: 'completed' };
        return current;
      } catch (error) {
        storage.checkpoint = {
          ...storage.checkpoint!,
          status: 'error',
          metadata: { error: String(error) },
        };
        throw error;
      }
    };

    await expect(run('payload', 2)).rejects.toThrow('step generate failed');
    expect(storage.checkpoint).toMatchObject({ status: 'error', currentStepIndex: 2 });
    expect(storage.flowLog).toHaveLength(2);

    const final = await run(undefined);
    expect(final.contextId).toBe('task_fault_step_2');
    expect(storage.checkpoint).toMatchObject({ status: 'completed', currentStepIndex: 3 });
    const restored = ContextFlowManager.fromTransitions(
      taskId,
      storage.flowLog.map((l) => JSON.parse(l)),
    );
    expect(restored.getFullTransitionLog().map((t) => [t.seq, t.operation])).toEqual([
      [0, 'parse'],
      [1, 'process'],
      [2, 'generate'],
    ]);
    expect(restored.findOriginatingContext('task_fault_step_2')).toBe('task_fault_input');
    expect(restored.getContextHistory('task_fault_step_2')).toHaveLength(1);
    // A fresh manager on resume, as in the seed, would lose everything before the crash.
    const fresh = new ContextFlowManager({ workflowId: taskId });
    fresh.logTransition({
      toContext: final,
      componentName: 'StepExecutor',
      fromContext: storage.contexts.get('task_fault_step_1')!,
    });
    expect(fresh.findOriginatingContext('task_fault_step_2')).toBe('task_fault_step_1');
  });
});
