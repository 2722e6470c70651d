import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createFileStore } from 'mcp-orchestration/file';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawnWriter, type WriterProcess } from '../support/file-child-process.js';
import { crashBody } from '../support/file-crash-body.js';
import { makeTempDir } from '../support/file-temp-dir.js';

// Real child processes on one directory: kill -9 in the middle of writes, and two writers racing.

const TASK = 'task-1';
const BODY_BYTES = 1_500_000;

let temp: Awaited<ReturnType<typeof makeTempDir>>;
let children: WriterProcess[] = [];

beforeEach(async () => {
  temp = await makeTempDir('file-processes');
  children = [];
});

afterEach(async () => {
  for (const writer of children) {
    if (writer.child.exitCode === null && writer.child.signalCode === null) {
      writer.child.kill('SIGKILL');
    }
  }
  await Promise.all(children.map((writer) => writer.exited));
  await temp.remove();
});

function spawn(script: string, args: readonly string[]): WriterProcess {
  const writer = spawnWriter(script, args);
  children.push(writer);
  return writer;
}

const isReady = (line: string) => line === 'ready';

/** Lock generation files of the task that say `held` by `pid`. */
async function heldBy(pid: number | undefined): Promise<boolean> {
  const dir = join(temp.dir, 'tasks', TASK, 'lock');
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const text = await readFile(join(dir, name), 'utf8').catch(() => '');
    if (text.includes(`"pid":${pid},`) && text.includes('"state":"held"')) return true;
  }
  return false;
}

async function tempFiles(): Promise<string[]> {
  const task = join(temp.dir, 'tasks', TASK);
  const names = [...(await readdir(task)), ...(await readdir(join(task, 'records')))];
  return names.filter((name) => name.startsWith('.tmp-'));
}

describe('file store across processes', () => {
  it('survives kill -9 at random moments: records whole, logs whole, no lock left stuck', async () => {
    const rounds = 5;
    let killedHolder = 0;
    let next = spawn('file-crash-writer.ts', [temp.dir, TASK, 'w0', String(BODY_BYTES)]);
    for (let round = 0; round < rounds; round++) {
      const writer = next;
      await writer.waitFor(isReady);
      // Start the next child now, so its start-up overlaps this round.
      if (round + 1 < rounds) {
        next = spawn('file-crash-writer.ts', [temp.dir, TASK, `w${round + 1}`, String(BODY_BYTES)]);
      }
      writer.go();
      await writer.waitFor((line) => line.startsWith('saved '));
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 80));
      writer.child.kill('SIGKILL');
      expect((await writer.exited).signal).toBe('SIGKILL');
      if (await heldBy(writer.child.pid)) killedHolder++;
    }
    // Evidence that the kills landed inside writes: some child died holding the task lock.
    expect(killedHolder).toBeGreaterThan(0);

    // lockTimeoutMs far below lockStaleMs: a dead holder's lock must be seen as dead at once.
    const store = createFileStore({ directory: temp.dir, lockTimeoutMs: 2_000 });
    const listed = await store.list(TASK);
    expect(listed.length).toBeGreaterThan(0);
    const seqs = listed.map((meta) => meta.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => b - a));
    expect(new Set(seqs).size).toBe(seqs.length);
    for (const meta of listed) {
      const record = await store.load(TASK, meta.checkpointId);
      expect(record?.body === crashBody(meta.checkpointId, BODY_BYTES)).toBe(true);
    }
    const head = await store.head(TASK);
    expect(head).toBeGreaterThanOrEqual(listed[0]?.seq ?? 0);

    // The log holds whole batches, in order, each once: writer by writer, i by i.
    const log = await store.readLog(TASK, 'lineage');
    expect(log.length % 3).toBe(0);
    const batches: Array<[number, number]> = [];
    for (let i = 0; i < log.length; i += 3) {
      const id = log[i]?.slice(0, -2) ?? '';
      expect(log.slice(i, i + 3)).toEqual([`${id}:a`, `${id}:b`, `${id}:c`]);
      const [, writer, n] = /^w(\d+)-(\d+)$/.exec(id) ?? [];
      batches.push([Number(writer), Number(n)]);
    }
    for (let i = 1; i < batches.length; i++) {
      const [pw, pn] = batches[i - 1] as [number, number];
      const [w, n] = batches[i] as [number, number];
      expect(w > pw || (w === pw && n === pn + 1)).toBe(true);
    }

    // Writes go on (within lockTimeoutMs), from the head the crashed writers left; the dead
    // writers' temp files get cleaned.
    expect(
      await store.save(
        { taskId: TASK, checkpointId: 'after-crash', createdAt: Date.now(), body: 'ok' },
        { expectedSeq: head },
      ),
    ).toEqual({ seq: head + 1 });
    expect(await store.appendLog(TASK, 'lineage', ['after'])).toBe(log.length + 1);
    expect(await store.readLog(TASK, 'lineage', { from: log.length })).toEqual(['after']);
    expect(await tempFiles()).toEqual([]);
    await store.close();
  }, 60_000);

  it('two processes racing conditional saves get seqs 1..N, no gap, no duplicate', async () => {
    const target = 60;
    const writers = ['a', 'b'].map((name) =>
      spawn('file-race-writer.ts', [temp.dir, TASK, name, String(target)]),
    );
    await Promise.all(writers.map((writer) => writer.waitFor(isReady)));
    for (const writer of writers) writer.go();
    const reports = await Promise.all(
      writers.map(async (writer) => {
        const line = await writer.waitFor((text) => text.startsWith('{'));
        expect((await writer.exited).code).toBe(0);
        return JSON.parse(line) as { writer: string; won: number[]; conflicts: number };
      }),
    );
    const won = reports.flatMap((report) => report.won).sort((a, b) => a - b);
    expect(won).toEqual(Array.from({ length: target }, (_, i) => i + 1));
    // Both raced for real: each lost some conditional saves to the other.
    expect(reports.reduce((sum, report) => sum + report.conflicts, 0)).toBeGreaterThan(0);

    const store = createFileStore({ directory: temp.dir });
    const listed = await store.list(TASK);
    expect(listed.map((meta) => meta.seq)).toEqual(
      Array.from({ length: target }, (_, i) => target - i),
    );
    for (const meta of listed) {
      const owner = reports.find((report) => report.won.includes(meta.seq));
      expect(meta.checkpointId.startsWith(`${owner?.writer}-`)).toBe(true);
      // Each winner saw the head just below its seq: no write slipped in between.
      const body = JSON.parse((await store.load(TASK, meta.checkpointId))?.body ?? '{}');
      expect(body).toEqual({ by: owner?.writer, head: meta.seq - 1 });
    }
    await store.close();
  }, 60_000);
});
