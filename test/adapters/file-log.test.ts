import { appendFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type CheckpointStore, isOrchestrationError, RecordTooLargeError } from 'mcp-orchestration';
import { createFileStore } from 'mcp-orchestration/file';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LogScanner, type LogScanOptions } from '../../adapters/file/log-scanner.js';
import { utf8Length } from '../../src/utf8.js';
import { makeTempDir } from '../support/file-temp-dir.js';

// The file store's logs are read in chunks, never a line at a time (adapters/file/log-scanner.ts):
// what it reads back is bounded by the size of one entry, whatever the size of a line.

class Corrupt extends Error {}

function scanner(options: Partial<LogScanOptions> = {}): LogScanner {
  return new LogScanner({
    corrupt: (reason) => new Corrupt(reason),
    wants: () => true,
    maxEntryBytes: Number.POSITIVE_INFINITY,
    tooLarge: (index, bytes) => new RecordTooLargeError(`entry ${index}`, bytes, 0),
    ...options,
  });
}

/** The lines `appendLogLine` writes for these appends. */
function logText(appends: readonly (readonly string[])[]): string {
  let length = 0;
  let text = '';
  for (const entries of appends) {
    text += `${JSON.stringify([length, ...entries])}\n`;
    length += entries.length;
  }
  return text;
}

/**
 * Feeds `bytes` in chunks of `size` through one reused buffer, as the file store reads, and
 * returns the wanted entries of complete lines.
 */
function scanAll(scan: LogScanner, bytes: Uint8Array, size: number): string[] {
  const result: string[] = [];
  const chunk = Buffer.alloc(size);
  for (let at = 0; at < bytes.length; at += size) {
    const part = bytes.subarray(at, at + size);
    chunk.set(part);
    scan.push(chunk, part.length);
    chunk.fill(0);
    result.push(...scan.take());
  }
  return result;
}

const encode = (text: string) => new TextEncoder().encode(text);

// Entries whose JSON has every kind of escape, multi-byte UTF-8, pairs and lone surrogates.
const TRICKY = [
  '',
  'plain',
  'quote " backslash \\ slash / tab \t newline \n nul \u0000 bell \u0007',
  'é ü ß — € 漢字',
  '😀 pair',
  'lone high \ud83d here',
  'lone low \ude00 here',
  'high then low escaped apart \ud83d\u0041\ude00',
  `${'x'.repeat(5000)}€`,
];

describe('LogScanner', () => {
  it('reads every entry back, whatever the chunk boundaries', () => {
    const appends = [TRICKY.slice(0, 3), TRICKY.slice(3, 4), TRICKY.slice(4)];
    const bytes = encode(logText(appends));
    for (const size of [1, 2, 3, 5, 7, 64, 4096, bytes.length]) {
      expect(scanAll(scanner(), bytes, size)).toEqual(TRICKY);
    }
  });

  it('keeps only the wanted entries and counts the others', () => {
    const bytes = encode(logText([['a', 'b', 'c'], ['d'], ['e', 'f']]));
    const scan = scanner({ wants: (index) => index >= 2 && index < 5 });
    expect(scanAll(scan, bytes, 3)).toEqual(['c', 'd', 'e']);
    expect(scan.count).toBe(6);
    expect(scan.lineEnd).toBe(bytes.length);
  });

  it('measures an entry as utf8Length does, escapes and lone surrogates included', () => {
    for (const [index, entry] of TRICKY.entries()) {
      const bytes = encode(logText([[entry]]));
      const bound = utf8Length(entry) - 1;
      if (bound < 0) continue;
      let error: unknown;
      try {
        scanAll(scanner({ maxEntryBytes: bound }), bytes, 2);
      } catch (caught) {
        error = caught;
      }
      expect(error, `entry ${index}`).toBeInstanceOf(RecordTooLargeError);
      expect((error as RecordTooLargeError).bytes, `entry ${index}`).toBe(utf8Length(entry));
      // At the exact size it passes.
      expect(scanAll(scanner({ maxEntryBytes: bound + 1 }), bytes, 2)).toEqual([entry]);
    }
  });

  it('measures an escaped surrogate pair as 4 bytes (JSON.stringify writes it raw, others may not)', () => {
    const bytes = encode('[0,"\\ud83d\\ude00!"]\n');
    expect(scanAll(scanner({ maxEntryBytes: 5 }), bytes, 1)).toEqual(['😀!']);
    expect(() => scanAll(scanner({ maxEntryBytes: 4 }), bytes, 1)).toThrow(
      expect.objectContaining({ bytes: 5 }),
    );
  });

  it('holds none of an oversized entry while reading it, and none of an unwanted one', () => {
    const huge = 'y'.repeat(1024 * 1024);
    const bytes = encode(logText([['small', huge, 'after']]));
    const chunk = 4096;
    const over = scanner({ maxEntryBytes: 1000 });
    let most = 0;
    const unwanted = scanner({ wants: (index) => index !== 1 });
    let mostUnwanted = 0;
    for (let at = 0; at + chunk < bytes.length - 20; at += chunk) {
      over.push(bytes.subarray(at, at + chunk));
      unwanted.push(bytes.subarray(at, at + chunk));
      most = Math.max(most, over.heldBytes);
      mostUnwanted = Math.max(mostUnwanted, unwanted.heldBytes);
    }
    expect(most).toBeLessThanOrEqual(1000 + chunk);
    expect(mostUnwanted).toBe(0);
    // A wanted entry within the bound is held while it is read, of course.
    const wanted = scanner();
    wanted.push(bytes.subarray(0, 500_000));
    expect(wanted.heldBytes).toBeGreaterThan(400_000);
  });

  it('reports what is damaged, but only once its line is complete', () => {
    const damaged = [
      '"a"\n',
      '[]\n',
      '[01,"a"]\n',
      '[0,"a",1]\n',
      '[0,"bad \\q escape"]\n',
      '[0,"bad \\u12G4"]\n',
      '[0,"raw \u0001 control"]\n',
      '[0,"a"] trailing\n',
      '[0,"a"\n',
      '[1,"starts late"]\n',
    ];
    for (const text of damaged) {
      const bytes = encode(text);
      expect(() => scanAll(scanner(), bytes, 2), text).toThrow(Corrupt);
      // The same without its \n is a torn last line: nothing to report, nothing counted.
      const torn = scanner();
      expect(scanAll(torn, bytes.subarray(0, bytes.length - 1), 2), text).toEqual([]);
      expect(torn.count).toBe(0);
    }
    expect(() => scanAll(scanner(), encode('[0,"a"]\n[0,"b"]\n'), 3)).toThrow(
      'a line starts at 0, not 1',
    );
    const badUtf8 = new Uint8Array([...encode('[0,"'), 0xc3, 0x28, ...encode('"]\n')]);
    expect(() => scanAll(scanner(), badUtf8, 1)).toThrow(Corrupt);
  });

  it('takes the first line at its own index when reading from the middle (anyStart)', () => {
    const bytes = encode('[7,"h","i"]\n');
    const scan = scanner({ anyStart: true, wants: () => false });
    scan.push(bytes);
    expect(scan.count).toBe(9);
    expect(scan.atLineEnd).toBe(true);
  });
});

describe('file store logs, read in chunks', () => {
  let temp: Awaited<ReturnType<typeof makeTempDir>>;
  let store: CheckpointStore;
  const logFile = () => join(temp.dir, 'tasks', 'task-1', 'logs', 'lineage.log');

  beforeEach(async () => {
    temp = await makeTempDir('file-log');
    store = createFileStore({ directory: temp.dir, maxRecordBytes: 200_000 });
  });

  afterEach(async () => {
    await store.close();
    await temp.remove();
  });

  it('reads ranges of a line longer than a read chunk, and appends after it', async () => {
    // 25 entries of 120 KB in one append: a 3 MB line, over the 1 MB read chunk.
    const entries = Array.from({ length: 25 }, (_, i) => `${i}:`.padEnd(60_000, 'é'));
    expect(await store.appendLog('task-1', 'lineage', entries)).toBe(25);
    expect(await store.readLog('task-1', 'lineage', { from: 20, limit: 2 })).toEqual(
      entries.slice(20, 22),
    );
    // Entries 8 and 16 cross the read chunks' boundaries (1 MB and 2 MB).
    expect(await store.readLog('task-1', 'lineage')).toEqual(entries);
    expect(await store.appendLog('task-1', 'lineage', [])).toBe(25);
    expect(await store.appendLog('task-1', 'lineage', ['next'])).toBe(26);
    expect(await store.readLog('task-1', 'lineage', { from: 24 })).toEqual([entries[24], 'next']);
  });

  it('refuses an oversized entry in the range only, naming it and its size', async () => {
    await store.appendLog('task-1', 'lineage', ['a']);
    const big = 'z'.repeat(300_000);
    await appendFile(logFile(), `[1,${JSON.stringify(big)},"b"]\n`);
    expect(await store.readLog('task-1', 'lineage', { limit: 1 })).toEqual(['a']);
    const error = await store.readLog('task-1', 'lineage').catch((caught: unknown) => caught);
    expect(isOrchestrationError(error, 'RECORD_TOO_LARGE')).toBe(true);
    expect(error).toMatchObject({ bytes: 300_000, limit: 200_000 });
    expect((error as Error).message).toContain('Log lineage entry 1');
    expect(await store.readLog('task-1', 'lineage', { from: 2 })).toEqual(['b']);
  });

  it('ignores a torn tail of zero bytes (a crash mid-write) and cuts it at the next append', async () => {
    await store.appendLog('task-1', 'lineage', ['a']);
    await appendFile(logFile(), Buffer.alloc(100));
    expect(await store.readLog('task-1', 'lineage')).toEqual(['a']);
    expect(await store.appendLog('task-1', 'lineage', ['b'])).toBe(2);
    expect(await readFile(logFile(), 'utf8')).toBe('[0,"a"]\n[1,"b"]\n');
  });

  it('reports a damaged last line at append time', async () => {
    await store.appendLog('task-1', 'lineage', ['a']);
    await appendFile(logFile(), '[1,"b",2]\n');
    const error = await store
      .appendLog('task-1', 'lineage', ['c'])
      .catch((caught: unknown) => caught);
    expect(isOrchestrationError(error, 'CORRUPT_RECORD')).toBe(true);
    expect(await readFile(logFile(), 'utf8')).toBe('[0,"a"]\n[1,"b",2]\n');
  });
});
