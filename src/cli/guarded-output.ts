import type { ProgressStream } from './progress-display.js';

/** An output stream for the commands, and whether its reader went away. */
export interface GuardedOutput {
  /** Writes to the stream until it fails; then drops what it is given. */
  readonly stream: ProgressStream;
  /** Aborted by the first failed write (EPIPE: the reader closed the pipe). */
  readonly closed: AbortSignal;
  /**
   * Resolves once everything written so far has reached the stream's reader, or at once when
   * nothing is queued, the stream failed (`closed`) or it was destroyed. A pipe on POSIX takes
   * writes asynchronously: what a slow reader has not read yet waits in this process, and
   * `process.exit()` would drop it.
   */
  flush(): Promise<void>;
}

/**
 * Guards `process.stdout` or `process.stderr` against a reader that goes away, as in
 * `mcp-orch run … | head -1`. Node reports each write to a closed pipe as an `error` event
 * (EPIPE), a moment after the write, and an `error` event nobody listens to is thrown as an
 * uncaught exception: a stack trace instead of the command's end. Here the first error aborts
 * `closed` and later writes are dropped, as nothing can reach the reader any more. Any write error
 * counts, not only EPIPE: the output is lost either way.
 */
export function guardOutput(stream: NodeJS.WriteStream): GuardedOutput {
  const controller = new AbortController();
  const { signal } = controller;
  stream.on('error', () => {
    if (!signal.aborted) controller.abort();
  });
  return {
    closed: signal,
    stream: {
      write: (text) => !signal.aborted && stream.write(text),
      // Read through: a terminal's size changes when it is resized.
      get isTTY() {
        return stream.isTTY;
      },
      get columns() {
        return stream.columns;
      },
      get rows() {
        return stream.rows;
      },
    },
    flush: () =>
      new Promise<void>((resolve) => {
        if (signal.aborted || stream.destroyed || stream.writableLength === 0) {
          resolve();
          return;
        }
        // Writes complete in order: this empty one's callback runs once those before it did
        // (or with the error that failed them, which `closed` then reports).
        signal.addEventListener('abort', () => resolve(), { once: true });
        stream.write('', () => resolve());
      }),
  };
}
