import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

/** A child process running one of the `test/support/file-*-writer.ts` scripts. */
export interface WriterProcess {
  readonly child: ChildProcess;
  /** Lines the child printed on stdout so far. */
  readonly lines: string[];
  /** Resolves with the first line that satisfies `match`. */
  waitFor(match: (line: string) => boolean): Promise<string>;
  /** Tells the child to start (it waits for a line on stdin after printing `ready`). */
  go(): void;
  /** Resolves with the exit code and signal once the child has exited (and been reaped). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Spawns `node --conditions=source --import tsx test/support/<script>` with `args`: a real Node
 * process (no tsx wrapper process in between, so `kill('SIGKILL')` hits the writer itself).
 */
export function spawnWriter(script: string, args: readonly string[]): WriterProcess {
  const path = fileURLToPath(new URL(script, import.meta.url));
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', path, ...args], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const waiters: Array<{ match: (line: string) => boolean; resolve: (line: string) => void }> = [];
  let stderr = '';
  let buffered = '';
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => {
    buffered += chunk;
    let newline = buffered.indexOf('\n');
    while (newline >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      lines.push(line);
      for (const waiter of [...waiters]) {
        if (waiter.match(line)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(line);
        }
      }
      newline = buffered.indexOf('\n');
    }
  });
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr += chunk;
  });
  child.stdin?.on('error', () => undefined); // the child may be killed before it reads
  const exited = once(child, 'exit').then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
  }));
  return {
    child,
    lines,
    exited,
    go: () => void child.stdin?.end('go\n'),
    waitFor(match) {
      const seen = lines.find(match);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        waiters.push({ match, resolve });
        exited.then(({ code, signal }) =>
          reject(
            new Error(`${script} exited (${code ?? signal}) before the line; stderr: ${stderr}`),
          ),
        );
      });
    },
  };
}

/** Resolves when a line arrives on stdin (the parent's `go`). */
export function waitForGo(): Promise<void> {
  return new Promise((resolve) => {
    process.stdin.setEncoding('utf8');
    process.stdin.once('data', () => {
      process.stdin.destroy(); // nothing more to read; let the process exit when it is done
      resolve();
    });
  });
}
