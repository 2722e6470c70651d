/**
 * The seed's "Parallel Processing with Context Merging" example in TypeScript: split an input into
 * chunks, process the chunks concurrently, merge the results with the AppendList strategy, and
 * print the merged context and its lineage (as a tree and as a Mermaid flowchart). The run is
 * checkpointed with its lineage in the default store (in Node, the embedded file store in
 * `.mcp-orchestration/`), then read back from there.
 *
 * Run it with `npm start`.
 */
import {
  type Context,
  ContextFlowManager,
  ContextMergeStrategy,
  createWorkflowState,
  defineContextType,
  getCheckpointManager,
  getContextMerger,
} from 'mcp-orchestration';

const InputContext = defineContextType<'InputContext', { text: string }>('InputContext');
const ChunkContext = defineContextType<'ChunkContext', { index: number; text: string }>(
  'ChunkContext',
);
const ResultContext = defineContextType<'ResultContext', { words: string[]; longest: string[] }>(
  'ResultContext',
);

/** Splits a text into `size`-sentence chunks. */
function splitIntoChunks(text: string, size: number): string[] {
  const sentences = text.split(/(?<=\.)\s+/).filter(Boolean);
  const chunks: string[] = [];
  for (let i = 0; i < sentences.length; i += size)
    chunks.push(sentences.slice(i, i + size).join(' '));
  return chunks;
}

/** A deterministic stand-in for an agent: finds the words of a chunk and its longest word. */
async function processChunk(
  taskId: string,
  chunk: Context<'ChunkContext', { index: number; text: string }>,
) {
  await new Promise((resolve) => setTimeout(resolve, 5 * (3 - chunk.data.index)));
  const words = chunk.data.text.toLowerCase().match(/[a-z]+/g) ?? [];
  const longest = words.reduce((a, b) => (b.length > a.length ? b : a), '');
  return ResultContext.create(
    { words, longest: [longest] },
    { contextId: `${taskId}_result_${chunk.data.index}`, metadata: { chunk: chunk.data.index } },
  );
}

export async function parallelProcessingWorkflow(taskId: string, inputText: string) {
  const flowManager = new ContextFlowManager({ workflowId: taskId });
  const merger = await getContextMerger();

  const initialContext = InputContext.create({ text: inputText }, { contextId: `${taskId}_input` });
  flowManager.logTransition({
    toContext: initialContext,
    componentName: 'Input',
    operation: 'receive',
  });

  const results = await Promise.all(
    splitIntoChunks(inputText, 2).map(async (text, index) => {
      const chunkContext = ChunkContext.create(
        { index, text },
        { contextId: `${taskId}_chunk_${index}` },
      );
      flowManager.logTransition({
        toContext: chunkContext,
        componentName: 'DataSplitter',
        operation: 'split',
        fromContext: initialContext,
      });
      const result = await processChunk(taskId, chunkContext);
      flowManager.logTransition({
        toContext: result,
        componentName: 'ChunkProcessor',
        operation: 'process',
        fromContext: chunkContext,
      });
      return result;
    }),
  );

  const merged = await merger.mergeContexts(results, {
    targetContextType: ResultContext,
    strategy: ContextMergeStrategy.AppendList,
    contextId: `${taskId}_merged`,
  });
  flowManager.logTransition({
    toContext: merged,
    componentName: 'ResultMerger',
    operation: 'merge',
    fromContext: results,
  });
  return { merged, flowManager };
}

const text =
  'Actors keep their own state. Messages move between them. A checkpoint freezes a run. ' +
  'Restoring it continues the run. Lineage tells where every context came from.';

const taskId = 'parallel_demo';
const checkpointManager = await getCheckpointManager();
await checkpointManager.deleteTask(taskId); // every run of the example starts afresh
await checkpointManager.saveCheckpoint(createWorkflowState({ taskId, status: 'running' }));

const { merged, flowManager } = await parallelProcessingWorkflow(taskId, text);
await checkpointManager.saveCheckpoint(
  createWorkflowState({ taskId, status: 'completed', metadata: { result: merged.contextId } }),
);
await checkpointManager.saveLineage(taskId, flowManager);

console.log('Merged context:', merged.contextId);
console.log('  longest words per chunk:', merged.data.longest.join(', '));
console.log('  words in total:', merged.data.words.length);
console.log('  merged from:', JSON.stringify(merged.metadata.mergedFrom));

// Everything below is read back from the store, as a later process would.
const latest = await checkpointManager.loadLatestCheckpoint(taskId);
console.log(`\nCheckpoints of ${taskId}, newest first:`);
for (const id of await checkpointManager.listCheckpoints(taskId)) console.log(`  ${id}`);
console.log(`  latest: ${latest?.status}, seq ${latest?.checkpoint?.seq}`);

const lineage = ContextFlowManager.fromTransitions(
  taskId,
  await checkpointManager.loadLineage(taskId),
);
console.log(`\nLineage (${lineage.size} transitions, read back from the store):`);
for (const t of lineage.getFullTransitionLog()) {
  const from = t.fromContextIds.length > 0 ? t.fromContextIds.join(' + ') : '(origin)';
  console.log(`  ${from} --${t.componentName}.${t.operation ?? ''}--> ${t.toContextId}`);
}
console.log(`\nOrigin of ${merged.contextId}: ${lineage.findOriginatingContext(merged.contextId)}`);
console.log(`\nMermaid:\n${lineage.toMermaid()}`);
