import { describe, expect, it } from 'vitest';
import { applySplice, spliceBetween } from '../../src/checkpoint/text-splice.js';

describe('spliceBetween and applySplice', () => {
  const long = (n: number) =>
    Array.from({ length: n }, (_, i) => String.fromCharCode(97 + (i % 26))).join('');

  it('make the next text from the base with the one splice between them', () => {
    const base = long(5_000);
    const cases: [string, string][] = [
      [`{"items":[${base}]}`, `{"items":[${base},"more"]}`],
      [base, `${base}tail`],
      [base, `head${base}`],
      [base, `${base.slice(0, 2_500)}MIDDLE${base.slice(2_600)}`],
      [base, base],
      ['', base],
      [base, ''],
      ['abc', 'xyz'],
      [long(1_024), long(2_048)], // the prefix ends right at a chunk's end
    ];
    for (const [from, to] of cases) {
      const splice = spliceBetween(from, to);
      expect(applySplice(from, splice)).toBe(to);
      expect(splice.p + splice.s).toBeLessThanOrEqual(Math.min(from.length, to.length));
    }
    const appended = spliceBetween(`{"items":[${base}]}`, `{"items":[${base},"more"]}`);
    expect(appended.mid).toBe(',"more"');
  });

  it('never cut a surrogate pair in two', () => {
    // The same high surrogate, then different low ones: the common prefix stops before the pair.
    const from = `ab\u{1F600}cd`;
    const to = `ab\u{1F601}cd`;
    const splice = spliceBetween(from, to);
    expect(splice.mid).toBe('\u{1F601}');
    expect(applySplice(from, splice)).toBe(to);
    const tail = spliceBetween('x\u{1F600}', 'y\u{1F600}');
    expect(applySplice('x\u{1F600}', tail)).toBe('y\u{1F600}');
    expect(tail.mid).toBe('y');
    const lows = spliceBetween('\u{1F600}z', '\u{1F680}z'); // high surrogates differ, lows alike
    expect(lows.mid).toBe('\u{1F680}');
  });

  it('refuse a splice that does not fit the base', () => {
    for (const bad of [
      null,
      'splice',
      { p: -1, s: 0, mid: '' },
      { p: 0, s: -1, mid: '' },
      { p: 2, s: 2, mid: '' }, // more than the base's 3 characters
      { p: 0.5, s: 0, mid: '' },
      { p: 0, s: 0, mid: 7 },
      { p: 0, s: 0 },
    ]) {
      expect(applySplice('abc', bad)).toBeUndefined();
    }
    expect(applySplice('abc', { p: 1, s: 1, mid: 'X' })).toBe('aXc');
  });
});
