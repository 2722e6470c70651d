import { open } from 'node:fs/promises';
import type {
  CheckpointRecord,
  CheckpointRecordMeta,
} from '../../src/checkpoint/checkpoint-store.js';
import { CorruptRecordError, RecordTooLargeError } from '../../src/errors.js';
import { isNotFound, readExactly } from './fs-utils.js';
import { decodeWtf8, encodeWtf8, hasLoneSurrogate } from './wtf8.js';

/**
 * One checkpoint record = one immutable file in the task's `records/` folder.
 *
 * - **Name**: `<seq, 16 digits>~<createdAt>~<expiresAt or "never">~<checkpointId>`. Everything
 *   `list` needs is in the name, so listing never opens a record, and a damaged body never hides
 *   a record's metadata. `~` never occurs in an id, so the name parses unambiguously, and the
 *   longest name (200-character id, negative 16-digit times) is 253 characters.
 * - **Content**: one JSON header line `{"v":1,"taskId",…,"bytes","encoding"}` then the body,
 *   `bytes` long, in UTF-8 (or WTF-8 when it has lone surrogates, see `wtf8.ts`). On read the
 *   header must repeat the name's metadata and the length must match, or the record is corrupt.
 */

/** Longest header line accepted on read (ids are at most 200 characters). */
export const MAX_HEADER_BYTES = 2048;

const FORMAT_VERSION = 1;
const SEQ_DIGITS = 16;
const NAME_PATTERN = /^(\d{16})~(-?\d{1,16})~(-?\d{1,16}|never)~([A-Za-z0-9_][A-Za-z0-9_.-]*)$/;

/** A record as its file name describes it. */
export interface RecordEntry {
  readonly seq: number;
  readonly createdAt: number;
  readonly expiresAt: number | undefined;
  readonly checkpointId: string;
  /** The file name in `records/`. */
  readonly fileName: string;
}

/** The file name of a record. */
export function recordFileName(meta: Omit<RecordEntry, 'fileName'>): string {
  const seq = String(meta.seq).padStart(SEQ_DIGITS, '0');
  const expires = meta.expiresAt === undefined ? 'never' : String(meta.expiresAt);
  return `${seq}~${meta.createdAt}~${expires}~${meta.checkpointId}`;
}

/** Parses a name from `records/`; `undefined` for anything else (temp files, strangers). */
export function parseRecordFileName(fileName: string): RecordEntry | undefined {
  const match = NAME_PATTERN.exec(fileName);
  if (!match) return undefined;
  const [, seq, createdAt, expiresAt, checkpointId] = match as unknown as [
    string,
    string,
    string,
    string,
    string,
  ];
  const entry: RecordEntry = {
    seq: Number(seq),
    createdAt: Number(createdAt),
    expiresAt: expiresAt === 'never' ? undefined : Number(expiresAt),
    checkpointId,
    fileName,
  };
  const numbers = [entry.seq, entry.createdAt, entry.expiresAt ?? 0];
  return numbers.every(Number.isSafeInteger) && entry.seq > 0 ? entry : undefined;
}

/** The metadata a store returns for an entry of `taskId`. */
export function entryMeta(taskId: string, entry: RecordEntry): CheckpointRecordMeta {
  const meta = {
    taskId,
    checkpointId: entry.checkpointId,
    seq: entry.seq,
    createdAt: entry.createdAt,
  };
  return entry.expiresAt === undefined ? meta : { ...meta, expiresAt: entry.expiresAt };
}

interface RecordHeader {
  v: number;
  taskId: string;
  checkpointId: string;
  seq: number;
  createdAt: number;
  expiresAt: number | null;
  bytes: number;
  encoding: 'utf8' | 'wtf8';
}

/** The bytes of a record file: its header line, then its body. */
export function encodeRecordFile(taskId: string, entry: RecordEntry, body: string): Uint8Array[] {
  const wtf8 = hasLoneSurrogate(body);
  const bodyBytes = wtf8 ? encodeWtf8(body) : Buffer.from(body, 'utf8');
  const header: RecordHeader = {
    v: FORMAT_VERSION,
    taskId,
    checkpointId: entry.checkpointId,
    seq: entry.seq,
    createdAt: entry.createdAt,
    expiresAt: entry.expiresAt ?? null,
    bytes: bodyBytes.length,
    encoding: wtf8 ? 'wtf8' : 'utf8',
  };
  return [Buffer.from(`${JSON.stringify(header)}\n`, 'utf8'), bodyBytes];
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads and checks a record file. The size is taken from the open handle before anything is read:
 * a file larger than `maxRecordBytes` plus {@link MAX_HEADER_BYTES} is refused unread. Returns
 * `undefined` when the file is gone (deleted meanwhile).
 */
export async function readRecordFile(
  path: string,
  taskId: string,
  entry: RecordEntry,
  maxRecordBytes: number,
): Promise<CheckpointRecord | undefined> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
  const what = `Checkpoint ${entry.checkpointId}`;
  const corrupt = (reason: string, cause?: unknown) =>
    new CorruptRecordError(taskId, entry.checkpointId, reason, { cause });
  try {
    const { size } = await handle.stat();
    if (size > maxRecordBytes + MAX_HEADER_BYTES) {
      throw new RecordTooLargeError(what, size, maxRecordBytes);
    }
    const bytes = Buffer.allocUnsafe(size);
    if (!(await readExactly(handle, bytes, 0))) throw corrupt('the file shrank while reading');
    const newline = bytes.subarray(0, MAX_HEADER_BYTES).indexOf(0x0a);
    if (newline < 0) throw corrupt('no header line');
    let header: RecordHeader;
    try {
      header = JSON.parse(utf8.decode(bytes.subarray(0, newline))) as RecordHeader;
    } catch (error) {
      throw corrupt('unreadable header', error);
    }
    if (
      typeof header !== 'object' ||
      header === null ||
      header.v !== FORMAT_VERSION ||
      header.taskId !== taskId ||
      header.checkpointId !== entry.checkpointId ||
      header.seq !== entry.seq ||
      header.createdAt !== entry.createdAt ||
      header.expiresAt !== (entry.expiresAt ?? null) ||
      !Number.isSafeInteger(header.bytes) ||
      (header.encoding !== 'utf8' && header.encoding !== 'wtf8')
    ) {
      throw corrupt('the header does not match the record');
    }
    if (header.bytes > maxRecordBytes) {
      throw new RecordTooLargeError(what, header.bytes, maxRecordBytes);
    }
    const bodyBytes = bytes.subarray(newline + 1);
    if (bodyBytes.length !== header.bytes) {
      throw corrupt(`the body is ${bodyBytes.length} bytes, the header says ${header.bytes}`);
    }
    let body: string;
    try {
      body = header.encoding === 'utf8' ? utf8.decode(bodyBytes) : decodeWtf8(bodyBytes);
    } catch (error) {
      throw corrupt(`the body is not valid ${header.encoding}`, error);
    }
    return { ...entryMeta(taskId, entry), body };
  } finally {
    await handle.close();
  }
}
