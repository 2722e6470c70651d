/**
 * One splice between two texts: `next` is `base` with the characters between its first `p` and
 * its last `s` replaced by `mid`. A context that grows at every step (a transcript, a list that
 * gains an item) has JSON that differs from its previous version's in one place near its end, so
 * the splice is small while both texts are large.
 */
export interface TextSplice {
  /** Characters kept from the start of the base. */
  readonly p: number;
  /** Characters kept from the end of the base. */
  readonly s: number;
  /** What goes between them. */
  readonly mid: string;
}

/**
 * Characters compared at once while looking for where two texts part: the engine compares
 * slices, doubling their length while they agree and halving it once they do not, down to
 * {@link LEAST_CHUNK}; the last few characters are compared one at a time.
 */
const FIRST_CHUNK = 1_024;
const LEAST_CHUNK = 64;

/** Length of the longest common prefix of `a` and `b`. */
function commonPrefix(a: string, b: string): number {
  const most = Math.min(a.length, b.length);
  let i = 0;
  for (let k = FIRST_CHUNK; k >= LEAST_CHUNK; ) {
    if (i + k <= most && a.slice(i, i + k) === b.slice(i, i + k)) {
      i += k;
      k *= 2;
    } else k >>= 1;
  }
  while (i < most && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return i;
}

/** Length of the longest common suffix of `a` and `b`, at most `most`. */
function commonSuffix(a: string, b: string, most: number): number {
  const al = a.length;
  const bl = b.length;
  let i = 0;
  for (let k = FIRST_CHUNK; k >= LEAST_CHUNK; ) {
    if (i + k <= most && a.slice(al - i - k, al - i) === b.slice(bl - i - k, bl - i)) {
      i += k;
      k *= 2;
    } else k >>= 1;
  }
  while (i < most && a.charCodeAt(al - i - 1) === b.charCodeAt(bl - i - 1)) i++;
  return i;
}

/**
 * The splice that turns `base` into `next`: the longest common prefix, then the longest common
 * suffix of what is left. Never splits a surrogate pair (so `mid` is well-formed where `next`
 * is): the cut moves back one character where it would.
 */
export function spliceBetween(base: string, next: string): TextSplice {
  let p = commonPrefix(base, next);
  if (p > 0 && isHighSurrogate(next.charCodeAt(p - 1))) p -= 1;
  let s = commonSuffix(base, next, Math.min(base.length, next.length) - p);
  if (s > 0 && isLowSurrogate(next.charCodeAt(next.length - s))) s -= 1;
  return { p, s, mid: next.slice(p, next.length - s) };
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

/**
 * `base` with `splice` applied, or `undefined` when the splice does not fit it (`p` and `s` not
 * integers ≥ 0 whose sum is at most the base's length, or `mid` not a string).
 */
export function applySplice(base: string, splice: unknown): string | undefined {
  if (splice === null || typeof splice !== 'object') return undefined;
  const { p, s, mid } = splice as { p?: unknown; s?: unknown; mid?: unknown };
  if (!Number.isSafeInteger(p) || !Number.isSafeInteger(s) || typeof mid !== 'string') {
    return undefined;
  }
  const kept = p as number;
  const tail = s as number;
  if (kept < 0 || tail < 0 || kept + tail > base.length) return undefined;
  return base.slice(0, kept) + mid + base.slice(base.length - tail);
}
