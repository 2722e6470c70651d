import {
  type Context,
  ContextMerger,
  ContextMergeStrategy,
  createContext,
  defineContextType,
  getContextMerger,
  isOrchestrationError,
  MERGED_CONTEXT_TYPE,
  type StandardSchemaV1,
} from 'mcp-orchestration';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';

async function rejectionOf(promise: Promise<unknown>) {
  try {
    await promise;
  } catch (error) {
    if (isOrchestrationError(error)) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

describe('getContextMerger', () => {
  it('resolves to one shared instance, even for concurrent first calls', async () => {
    const mergers = await Promise.all([getContextMerger(), getContextMerger(), getContextMerger()]);
    expect(mergers[0]).toBeInstanceOf(ContextMerger);
    expect(new Set(mergers).size).toBe(1);
    expect(await getContextMerger()).toBe(mergers[0]);
  });
});

describe('ContextMerger.mergeContexts', () => {
  const a = createContext(
    'Partial',
    { o: { x: 1 }, tags: ['a'] },
    { contextId: 'a', metadata: { by: 'A' } },
  );
  const b = createContext(
    'Other',
    { o: { y: 2 }, tags: ['b'] },
    { contextId: 'b', metadata: { by: 'B' } },
  );

  it('merges recursively by default into a new context of the first input’s type', async () => {
    const merger = new ContextMerger();
    const merged = await merger.mergeContexts([a, b]);
    expect(merged.contextType).toBe('Partial');
    expect(merged.data).toEqual({ o: { x: 1, y: 2 }, tags: ['b'] });
    expect(merged.contextId).not.toBe('a');
    expect(Object.isFrozen(merged.data)).toBe(true);
    expect(a.data).toEqual({ o: { x: 1 }, tags: ['a'] });
  });

  it('records the merge in metadata: ids and types in order, strategy, each input’s metadata', async () => {
    const merger = await getContextMerger();
    const merged = await merger.mergeContexts([b, a], {
      strategy: ContextMergeStrategy.AppendList,
      metadata: { step: 'join', mergedFrom: 'mine' },
      contextId: 'merged-1',
    });
    expect(merged.contextId).toBe('merged-1');
    expect(merged.metadata).toEqual({
      step: 'join',
      mergedFrom: ['b', 'a'],
      mergedTypes: ['Other', 'Partial'],
      mergeStrategy: 'append_list',
      mergedMetadata: [{ by: 'B' }, { by: 'A' }],
    });
    expect(merged.data).toEqual({ o: [{ y: 2 }, { x: 1 }], tags: ['b', 'a'] });
  });

  it('keeps metadata bounded along a chain of merges (accumulator + next chunk, 1,000 times)', async () => {
    const merger = await getContextMerger();
    const id = (n: number) => String(n).padStart(4, '0'); // ids of one length: sizes compare
    let acc: Context = createContext('Acc', { items: [] as number[] }, { contextId: 'acc_0000' });
    const sizes: number[] = [];
    for (let i = 1; i <= 1000; i++) {
      const chunk = createContext('Chunk', { items: [i] }, { contextId: `chunk_${id(i)}` });
      acc = await merger.mergeContexts([acc, chunk], {
        strategy: ContextMergeStrategy.AppendList,
        targetContextType: 'Acc',
        contextId: `acc_${id(i)}`,
      });
      sizes.push(JSON.stringify(acc.metadata).length);
    }
    expect((acc.data as { items: number[] }).items).toHaveLength(1000);
    // The same size after the 10th merge as after the 1,000th: it does not grow with the chain.
    expect(sizes[999]).toBe(sizes[9]);
    expect(sizes[999]).toBeLessThan(400);
    // The previous merge is still there by id, without its own mergedMetadata.
    expect(acc.metadata).toEqual({
      mergedFrom: ['acc_0999', 'chunk_1000'],
      mergedTypes: ['Acc', 'Chunk'],
      mergeStrategy: 'append_list',
      mergedMetadata: [
        {
          mergedFrom: ['acc_0998', 'chunk_0999'],
          mergedTypes: ['Acc', 'Chunk'],
          mergeStrategy: 'append_list',
        },
        {},
      ],
    });
  });

  it('creates the target type, validated against its schema', async () => {
    const Summary = defineContextType(
      'Summary',
      z.object({ o: z.object({ x: z.number(), y: z.number() }), tags: z.array(z.string()) }),
    );
    const merger = await getContextMerger();
    const merged = await merger.mergeContexts([a, b], { targetContextType: Summary });
    expectTypeOf(merged).toEqualTypeOf<
      Context<'Summary', { o: { x: number; y: number }; tags: string[] }>
    >();
    expect(merged.contextType).toBe('Summary');
    expect(Summary.is(merged)).toBe(true);

    const error = await rejectionOf(
      merger.mergeContexts([a, b], { targetContextType: Summary, strategy: 'overwrite' }),
    );
    if (!isOrchestrationError(error, 'CONTEXT_VALIDATION')) throw error;
    expect(error.issues).toEqual([{ path: '$.data.o.x', message: expect.any(String) }]);
  });

  it('accepts a target type whose schema validates asynchronously', async () => {
    const schema: StandardSchemaV1<{ n: number }> = {
      '~standard': {
        version: 1,
        vendor: 'test',
        validate: async (value) =>
          typeof (value as { n?: unknown }).n === 'number'
            ? { value: value as { n: number } }
            : { issues: [{ message: 'n must be a number', path: ['n'] }] },
      },
    };
    const Counted = defineContextType('Counted', schema);
    const merger = await getContextMerger();
    const one = createContext('N', { n: 1 });
    expect((await merger.mergeContexts([one], { targetContextType: Counted })).data).toEqual({
      n: 1,
    });
    const error = await rejectionOf(
      merger.mergeContexts([createContext('N', { n: 'x' })], { targetContextType: Counted }),
    );
    expect(error.message).toBe('Invalid Counted: $.data.n: n must be a number');
  });

  it('takes a type name as target, and defaults to MergedContext without inputs', async () => {
    const merger = await getContextMerger();
    const named = await merger.mergeContexts([a], { targetContextType: 'Named' });
    expectTypeOf(named.contextType).toEqualTypeOf<'Named'>();
    expect(named.contextType).toBe('Named');
    const empty = await merger.mergeContexts([], { initialContextData: { start: true } });
    expect(MERGED_CONTEXT_TYPE).toBe('MergedContext');
    expect(empty.contextType).toBe('MergedContext');
    expect(empty.data).toEqual({ start: true });
    expect(empty.metadata.mergedFrom).toEqual([]);
  });

  it('rejects with MergeError for Custom without a function or with a failing one', async () => {
    const merger = await getContextMerger();
    const missing = await rejectionOf(
      merger.mergeContexts([a, b], { strategy: ContextMergeStrategy.Custom }),
    );
    expect(missing.code).toBe('MERGE_FAILED');
    const boom = new TypeError('bad');
    const failing = await rejectionOf(
      merger.mergeContexts([a, b], {
        strategy: ContextMergeStrategy.Custom,
        customMergeFunc: () => {
          throw boom;
        },
      }),
    );
    expect(failing.code).toBe('MERGE_FAILED');
    expect(failing.cause).toBe(boom);
  });

  it('merges with a custom function', async () => {
    const merger = await getContextMerger();
    const counts = [1, 2, 3].map((n) => createContext('Count', { n }));
    const merged = await merger.mergeContexts(counts, {
      strategy: ContextMergeStrategy.Custom,
      customMergeFunc: (base, next) => ({
        n: (base as { n: number }).n + (next as { n: number }).n,
      }),
    });
    expect(merged.data).toEqual({ n: 6 });
    expect(merged.metadata.mergeStrategy).toBe('custom');
  });

  it('never freezes or keeps what a custom function returns', async () => {
    const merger = await getContextMerger();
    const shared = { total: 0, seen: [] as string[] };
    const merged = await merger.mergeContexts([a, b], {
      strategy: ContextMergeStrategy.Custom,
      customMergeFunc: () => shared,
    });
    expect(merged.data).toEqual({ total: 0, seen: [] });
    expect(Object.isFrozen(shared)).toBe(false);
    shared.seen.push('later');
    expect(merged.data).toEqual({ total: 0, seen: [] });
  });

  it('refuses an input that is not a context, naming it', async () => {
    const merger = await getContextMerger();
    const error = await rejectionOf(
      merger.mergeContexts([a, { contextId: 'x y' } as unknown as Context]),
    );
    if (!isOrchestrationError(error, 'CONTEXT_VALIDATION')) throw error;
    expect(error.issues.map((issue) => issue.path)).toEqual([
      '$[1].contextId',
      '$[1].contextType',
      '$[1].data',
      '$[1].metadata',
    ]);
  });

  it('refuses contexts that are not an array, and a separator that is not a string', async () => {
    const merger = await getContextMerger();
    await expect(merger.mergeContexts(a as unknown as Context[])).rejects.toThrow(
      new TypeError('contexts must be an array of contexts, not object'),
    );
    await expect(
      merger.mergeContexts([a, b], {
        strategy: ContextMergeStrategy.ConcatenateString,
        separator: 5 as never,
      }),
    ).rejects.toThrow(new TypeError('separator must be a string, not number'));
  });

  it('never lets a __proto__ key pollute a prototype', async () => {
    const merger = await getContextMerger();
    const hostile = createContext('Hostile', JSON.parse('{"__proto__": {"polluted": 1}}'));
    const plain = createContext('Plain', { ok: true });
    for (const strategy of Object.values(ContextMergeStrategy).filter((s) => s !== 'custom')) {
      const merged = await merger.mergeContexts([plain, hostile], { strategy });
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(Object.hasOwn(merged.data as object, '__proto__')).toBe(true);
      expect(JSON.stringify(merged.data)).toContain('"__proto__":{"polluted":1}');
    }
  });
});

describe('the seed’s "Parallel Processing with Context Merging", in TypeScript', () => {
  const InputContext = defineContextType(
    'InputContext',
    z.object({ content: z.array(z.number()) }),
  );
  const ResultContext = defineContextType(
    'ResultContext',
    z.object({ results: z.array(z.number()), chunks: z.array(z.number()) }),
  );

  function splitIntoChunks(data: readonly number[], size: number): number[][] {
    const chunks: number[][] = [];
    for (let i = 0; i < data.length; i += size) chunks.push(data.slice(i, i + size));
    return chunks;
  }

  /** A stand-in processor: squares a chunk's numbers, finishing in reverse order. */
  async function processChunk(
    chunk: Context<'InputContext', { content: number[] }>,
    index: number,
  ) {
    await new Promise((resolve) => setTimeout(resolve, 3 * (3 - index)));
    return ResultContext.create(
      { results: chunk.data.content.map((n) => n * n), chunks: [index] },
      { contextId: `${chunk.contextId}_result`, metadata: { chunk: index } },
    );
  }

  async function parallelProcessingWorkflow(taskId: string, inputData: number[]) {
    const merger = await getContextMerger();
    const initial = InputContext.create({ content: inputData }, { contextId: `${taskId}_input` });
    const parallelResults = await Promise.all(
      splitIntoChunks(initial.data.content, 3).map((content, index) =>
        processChunk(
          InputContext.create({ content }, { contextId: `${taskId}_chunk_${index}` }),
          index,
        ),
      ),
    );
    return merger.mergeContexts(parallelResults, {
      targetContextType: ResultContext,
      strategy: ContextMergeStrategy.AppendList,
    });
  }

  it('splits, processes chunks concurrently, and merges the results in input order', async () => {
    const merged = await parallelProcessingWorkflow('task-7', [1, 2, 3, 4, 5, 6, 7, 8]);
    expect(merged.contextType).toBe('ResultContext');
    expect(merged.data).toEqual({ results: [1, 4, 9, 16, 25, 36, 49, 64], chunks: [0, 1, 2] });
    expect(merged.metadata.mergedFrom).toEqual([
      'task-7_chunk_0_result',
      'task-7_chunk_1_result',
      'task-7_chunk_2_result',
    ]);
    expect(merged.metadata.mergedMetadata).toEqual([{ chunk: 0 }, { chunk: 1 }, { chunk: 2 }]);
    expect(ResultContext.is(merged)).toBe(true);
  });
});
