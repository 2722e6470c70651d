import { InvalidIdError } from './errors.js';

/** Longest id accepted for a task, checkpoint, log or context. */
export const MAX_ID_LENGTH = 200;

const ID_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/**
 * Checks an id that becomes part of a storage key (a Redis key, a file name, an IndexedDB key):
 * 1 to {@link MAX_ID_LENGTH} characters of `A-Z a-z 0-9 _ . -`, not starting with `.` or `-`.
 * So no separators (`:`, `/`, `\`), no `..`, no whitespace or control characters.
 * Throws {@link InvalidIdError}.
 */
export function assertValidId(kind: string, id: unknown): asserts id is string {
  if (typeof id !== 'string') throw new InvalidIdError(kind, String(id), 'it is not a string');
  if (id.length === 0) throw new InvalidIdError(kind, id, 'it is empty');
  if (id.length > MAX_ID_LENGTH) {
    throw new InvalidIdError(kind, id, `it is longer than ${MAX_ID_LENGTH} characters`);
  }
  if (!ID_PATTERN.test(id)) {
    throw new InvalidIdError(kind, id, 'only A-Z a-z 0-9 _ . - are allowed, and not . or - first');
  }
}

/** Whether {@link assertValidId} accepts `id` (for filtering names found in a backend). */
export function isValidId(id: unknown): id is string {
  return (
    typeof id === 'string' && id.length > 0 && id.length <= MAX_ID_LENGTH && ID_PATTERN.test(id)
  );
}

// Crockford's base32: sorts the same as the numbers it encodes.
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const TIME_CHARS = 10; // 48 bits of milliseconds
const RANDOM_CHARS = 16; // 80 bits

let lastTime = -1;
let lastRandom: number[] = [];
/** The time part of ids made in millisecond `encodedTime`. */
let encodedTime = -1;
/** The character codes of an id: the encoded time of {@link encodedTime}, then random digits. */
const idCodes = new Array<number>(TIME_CHARS + RANDOM_CHARS).fill(0);

/** Random bytes drawn 16 at a time from a pool refilled by one crypto call per 64 ids. */
const POOL_BYTES = RANDOM_CHARS * 64;
const pool = new Uint8Array(POOL_BYTES);
let poolAt = POOL_BYTES;

function randomDigits(): number[] {
  if (poolAt + RANDOM_CHARS > POOL_BYTES) {
    globalThis.crypto.getRandomValues(pool);
    poolAt = 0;
  }
  const digits = new Array<number>(RANDOM_CHARS);
  for (let i = 0; i < RANDOM_CHARS; i++) digits[i] = (pool[poolAt + i] as number) & 31;
  poolAt += RANDOM_CHARS;
  return digits;
}

/** Adds one to a base-32 digit array in place; false when it overflowed. */
function increment(digits: number[]): boolean {
  for (let i = digits.length - 1; i >= 0; i--) {
    const d = digits[i] as number;
    if (d < 31) {
      digits[i] = d + 1;
      return true;
    }
    digits[i] = 0;
  }
  return false;
}

/** Writes the character codes of `time` (base 32, most significant first) into {@link idCodes}. */
function encodeTime(time: number): void {
  let t = time;
  for (let i = TIME_CHARS - 1; i >= 0; i--) {
    idCodes[i] = ALPHABET.charCodeAt(t % 32);
    t = Math.floor(t / 32);
  }
}

/**
 * A new checkpoint id: 26 characters, a ULID (48-bit millisecond time, then 80 random bits).
 * Ids sort by creation time as strings; within one millisecond in one process they are strictly
 * increasing (the random part is incremented), and across processes the 80 random bits make a
 * collision practically impossible.
 */
export function createCheckpointId(now: number = Date.now()): string {
  if (now > lastTime) {
    lastTime = now;
    lastRandom = randomDigits();
  } else if (!increment(lastRandom)) {
    // 2^80 ids in one millisecond: move into the next millisecond instead of repeating.
    lastTime += 1;
    lastRandom = randomDigits();
  }
  if (encodedTime !== lastTime) {
    encodedTime = lastTime;
    encodeTime(lastTime);
  }
  for (let i = 0; i < RANDOM_CHARS; i++) {
    idCodes[TIME_CHARS + i] = ALPHABET.charCodeAt(lastRandom[i] as number);
  }
  // One flat string: appending the 16 random characters one at a time made a chain of pieces
  // that V8 copied again the first time the id was hashed (as a map key) or compared.
  return String.fromCharCode.apply(null, idCodes);
}

/** The creation time (ms since the epoch) encoded in an id made by {@link createCheckpointId}. */
export function checkpointIdTime(id: string): number | undefined {
  if (id.length !== TIME_CHARS + RANDOM_CHARS) return undefined;
  let time = 0;
  for (const char of id.slice(0, TIME_CHARS)) {
    const digit = ALPHABET.indexOf(char);
    if (digit < 0) return undefined;
    time = time * 32 + digit;
  }
  return time;
}
