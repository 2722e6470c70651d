import { RecordTooLargeError } from './errors.js';

/** UTF-8 length of a string, without allocating an encoded copy (a lone surrogate counts 3). */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

/** Throws {@link RecordTooLargeError} when `text` is over `limit` UTF-8 bytes. */
export function assertWithinLimit(what: string, text: string, limit: number): void {
  // Every UTF-16 unit is 1 to 3 bytes: most texts are decided without counting.
  if (text.length * 3 <= limit) return;
  const bytes = utf8Length(text);
  if (bytes > limit) throw new RecordTooLargeError(what, bytes, limit);
}
