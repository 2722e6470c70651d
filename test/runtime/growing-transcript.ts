import {
  type Context,
  createContext,
  defineWorkflow,
  type Runtime,
  type Workflow,
} from 'mcp-orchestration';

/** Characters of each line a step adds. */
export const LINE_CHARS = 1_000;

/** The line step `i` adds. */
export function lineOf(i: number): string {
  return `line ${i}: `.padEnd(LINE_CHARS, 'abcdefghij');
}

/** The data of the transcript after `n` steps. */
export function transcriptAfter(n: number): { lines: string[] } {
  return { lines: Array.from({ length: n }, (_, i) => lineOf(i)) };
}

/**
 * A workflow of `steps` steps, each returning a new `Transcript` context: its input's lines and
 * one more (the pattern of an agent's conversation, which grows at every step). `onRun` sees
 * each step's id first.
 */
export function growingTranscript(steps: number, onRun: (stepId: string) => void): Workflow {
  return defineWorkflow({
    id: 'growing-transcript',
    version: '1',
    steps: Array.from({ length: steps }, (_, i) => ({
      stepId: `s${i}`,
      run: (context: Context) => {
        onRun(`s${i}`);
        const lines = (context.data as { lines?: string[] }).lines ?? [];
        return createContext('Transcript', { lines: [...lines, lineOf(i)] });
      },
    })),
  });
}

/**
 * Starts `workflow` as `taskId` on `runtime` from an empty transcript, and closes the runtime (as
 * a crash would) right after checkpoint `seq` is saved; settles once it is closed and the run
 * has ended with `TASK_NOT_RUNNING` (else rejects).
 */
export async function runUntilCheckpoint(
  runtime: Runtime,
  workflow: Workflow,
  taskId: string,
  seq: number,
): Promise<void> {
  let closing: Promise<void> | undefined;
  runtime.subscribe((event) => {
    if (event.type === 'checkpoint.saved' && event.seq === seq && closing === undefined) {
      closing = runtime.close();
    }
  });
  const run = await runtime.start(workflow, createContext('Transcript', { lines: [] }), { taskId });
  const ended = await run.result.then(
    () => undefined,
    (error: unknown) => error,
  );
  if ((ended as { code?: unknown } | undefined)?.code !== 'TASK_NOT_RUNNING') {
    throw new Error(`the run did not stop at checkpoint ${seq}`, { cause: ended });
  }
  await closing;
}
