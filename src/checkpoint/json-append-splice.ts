import { isJsonObject } from '../context/own-property.js';
import type { JsonValue } from '../json.js';
import type { TextSplice } from './text-splice.js';

/**
 * The text splice between `JSON.stringify(base)` (given as `baseJson`) and
 * `JSON.stringify(next)`, found from the values' structure instead of their text, for the way a
 * value usually grows: `next` is `base` with items appended to one array, or characters to one
 * string, along one path, everything else the same values (`===`: what `createContext` shares
 * with the context it was made from). Costs the path's length plus a comparison per item of that
 * array, not the size of the JSON. `undefined` when `next` did not grow that way (the caller
 * compares the texts then). `baseJson` must be exactly `JSON.stringify(base)`.
 */
export function appendSplice(
  base: JsonValue,
  baseJson: string,
  next: JsonValue,
): TextSplice | undefined {
  // Characters of `baseJson` after the value being descended into.
  let after = 0;
  let from: JsonValue = base;
  let to: JsonValue = next;
  for (;;) {
    if (from === to) return { p: baseJson.length - after, s: after, mid: '' };
    if (typeof from === 'string' && typeof to === 'string') {
      return stringGrew(from, to, baseJson, after);
    }
    if (Array.isArray(from) && Array.isArray(to)) {
      const grew = arrayGrew(from, to, baseJson, after);
      if (grew !== 'last') return grew;
      // Only the last item changed: into it, behind the array's closing bracket.
      after += 1;
      from = from[from.length - 1] as JsonValue;
      to = to[to.length - 1] as JsonValue;
      continue;
    }
    if (!isJsonObject(from) || !isJsonObject(to)) return undefined;
    const keys = Object.keys(from);
    const nextKeys = Object.keys(to);
    if (keys.length !== nextKeys.length || keys.length === 0) return undefined;
    let changed = -1;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as string;
      if (nextKeys[i] !== key) return undefined;
      if (from[key] === to[key]) continue;
      if (changed >= 0) return undefined; // two values changed
      changed = i;
    }
    if (changed < 0) return { p: baseJson.length - after, s: after, mid: '' };
    // What follows the changed value in the base: `,"key":value` for each later member, then
    // the closing brace.
    after += 1;
    for (let i = changed + 1; i < keys.length; i++) {
      const later = keys[i] as string;
      after += 2 + JSON.stringify(later).length + JSON.stringify(from[later]).length;
    }
    const key = keys[changed] as string;
    from = from[key] as JsonValue;
    to = to[key] as JsonValue;
  }
}

/** `to` is `from` with characters appended: the splice inside the string's quotes. */
function stringGrew(
  from: string,
  to: string,
  baseJson: string,
  after: number,
): TextSplice | undefined {
  if (!to.startsWith(from)) return undefined;
  const added = to.slice(from.length);
  // A surrogate pair split between the two parts is escaped differently once it is whole.
  const last = from.charCodeAt(from.length - 1);
  const first = added.charCodeAt(0);
  if ((last >= 0xd800 && last <= 0xdbff) || (first >= 0xdc00 && first <= 0xdfff)) return undefined;
  const s = after + 1; // the closing quote
  return { p: baseJson.length - s, s, mid: JSON.stringify(added).slice(1, -1) };
}

/**
 * `to` is `from` with items appended (the splice before the closing bracket), or with only its
 * last item changed (`'last'`), or neither (`undefined`).
 */
function arrayGrew(
  from: readonly JsonValue[],
  to: readonly JsonValue[],
  baseJson: string,
  after: number,
): TextSplice | 'last' | undefined {
  if (to.length < from.length) return undefined;
  for (let i = 0; i < from.length - 1; i++) if (from[i] !== to[i]) return undefined;
  if (from.length > 0 && from[from.length - 1] !== to[from.length - 1]) {
    return to.length === from.length ? 'last' : undefined;
  }
  const items: string[] = [];
  for (let i = from.length; i < to.length; i++) items.push(JSON.stringify(to[i]));
  const mid = (from.length > 0 && items.length > 0 ? ',' : '') + items.join(',');
  const s = after + 1; // the closing bracket
  return { p: baseJson.length - s, s, mid };
}
