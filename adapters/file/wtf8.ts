/**
 * WTF-8: UTF-8 extended to lone surrogates, each encoded like any other 3-byte code unit. Record
 * bodies that are not well-formed UTF-16 are stored this way, so every JavaScript string round-trips
 * exactly, and the stored size equals the `utf8Length` the size bound was checked with.
 */

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Whether `text` has a lone surrogate (which plain UTF-8 would replace with U+FFFD). */
export function hasLoneSurrogate(text: string): boolean {
  const wellFormed = (text as { isWellFormed?: () => boolean }).isWellFormed;
  return wellFormed ? !wellFormed.call(text) : LONE_SURROGATE.test(text);
}

/** Encodes `text` as WTF-8. */
export function encodeWtf8(text: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    let code = text.charCodeAt(i);
    if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        code = 0x10000 + ((code - 0xd800) << 10) + (next - 0xdc00);
        i++;
      }
    }
    if (code < 0x80) out.push(code);
    else if (code < 0x800) out.push(0xc0 | (code >> 6), 0x80 | (code & 63));
    else if (code < 0x10000) {
      out.push(0xe0 | (code >> 12), 0x80 | ((code >> 6) & 63), 0x80 | (code & 63));
    } else {
      out.push(
        0xf0 | (code >> 18),
        0x80 | ((code >> 12) & 63),
        0x80 | ((code >> 6) & 63),
        0x80 | (code & 63),
      );
    }
  }
  return Uint8Array.from(out);
}

/** Decodes WTF-8; throws `TypeError` on a malformed sequence. */
export function decodeWtf8(bytes: Uint8Array): string {
  const units: number[] = [];
  let text = '';
  const continuation = (index: number): number => {
    const byte = bytes[index];
    if (byte === undefined || (byte & 0xc0) !== 0x80) throw new TypeError('malformed WTF-8');
    return byte & 63;
  };
  for (let i = 0; i < bytes.length; ) {
    const lead = bytes[i] as number;
    let code: number;
    if (lead < 0x80) {
      code = lead;
      i += 1;
    } else if (lead >= 0xc2 && lead < 0xe0) {
      code = ((lead & 31) << 6) | continuation(i + 1);
      i += 2;
    } else if (lead >= 0xe0 && lead < 0xf0) {
      code = ((lead & 15) << 12) | (continuation(i + 1) << 6) | continuation(i + 2);
      if (code < 0x800) throw new TypeError('malformed WTF-8');
      i += 3;
    } else if (lead >= 0xf0 && lead < 0xf5) {
      code =
        ((lead & 7) << 18) |
        (continuation(i + 1) << 12) |
        (continuation(i + 2) << 6) |
        continuation(i + 3);
      if (code < 0x10000 || code > 0x10ffff) throw new TypeError('malformed WTF-8');
      i += 4;
    } else throw new TypeError('malformed WTF-8');
    if (code >= 0x10000) {
      code -= 0x10000;
      units.push(0xd800 + (code >> 10), 0xdc00 + (code & 1023));
    } else units.push(code);
    if (units.length >= 8192) {
      text += String.fromCharCode(...units);
      units.length = 0;
    }
  }
  return text + String.fromCharCode(...units);
}
