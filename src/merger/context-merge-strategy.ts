/**
 * How {@link mergeContextData} and `ContextMerger.mergeContexts` combine several contexts' data
 * (the seed's `ContextMergeStrategy`). Every strategy folds left: the first input (or
 * `initialContextData`, when given) is the base, and each next input is merged into it, in order.
 * Below, `a` is the base so far and `b` the next input; "scalar" means a string, number, boolean
 * or `null`; a "missing" key is one that only one of two objects has.
 */
export const ContextMergeStrategy = {
  /**
   * Newer values replace older ones, shallowly.
   * | a + b | result |
   * |---|---|
   * | object + object | `{ ...a, ...b }`: each top-level key of `b` replaces `a`'s value whole (nested objects and lists inside are not merged); key order: `a`'s keys, then `b`'s new keys |
   * | missing key | the value of the side that has it |
   * | any other pair (list + list, list + scalar, scalar + list, object + list, list + object, string + string, string + number, `null` on either side) | `b` |
   */
  Overwrite: 'overwrite',
  /**
   * Values are gathered into lists. Let `list(v)` be `v` when `v` is a list, else `[v]`.
   * | a + b | result |
   * |---|---|
   * | object + object | per top-level key: a key both have → `[...list(a[k]), ...list(b[k])]`; a missing key → the value of the side that has it, unchanged (not wrapped) |
   * | list + list | `[...a, ...b]` |
   * | list + scalar / list + object | `[...a, b]` |
   * | scalar + list / object + list | `[a, ...b]` |
   * | scalar + scalar (string + string, string + number…) | `[a, b]` |
   * | object + scalar / scalar + object | `[a, b]` |
   * | `null` on either side | `null` is an ordinary item: `[null, ...list(b)]`, `[...list(a), null]` |
   * | nested lists inside objects | not merged: `{k: {l: [1]}}` + `{k: {l: [2]}}` → `{k: [{l: [1]}, {l: [2]}]}` |
   *
   * A list value is spliced, never nested: `{k: [1]}` + `{k: 2}` → `{k: [1, 2]}` (a list of lists
   * stays one: `{k: [[1]]}` + `{k: [[2]]}` → `{k: [[1], [2]]}`). Merging all-object inputs is
   * associative, and for objects `{}` on either side is the identity.
   */
  AppendList: 'append_list',
  /**
   * String values are concatenated, everywhere in the tree; everything else merges like
   * {@link ContextMergeStrategy.RecursiveDictMerge}.
   * | a + b | result |
   * |---|---|
   * | string + string | `a + separator + b` (`separator` option, default `''`) |
   * | object + object | merged key by key, recursively; a missing key → the value of the side that has it |
   * | any other pair (string + number, number + string, list + list, list + scalar, scalar + list, object + list, list + object, `null` on either side) | `b` |
   * | nested lists inside objects | `b`'s list replaces `a`'s |
   */
  ConcatenateString: 'concatenate_string',
  /**
   * Objects are merged deeply; anything else: the newer value wins. The default strategy.
   * | a + b | result |
   * |---|---|
   * | object + object | merged key by key, recursively; key order: `a`'s keys, then `b`'s new keys |
   * | missing key | the value of the side that has it |
   * | list + list | `b` (lists are values: the newer list replaces the older; use `AppendList` to concatenate) |
   * | any other pair (list + scalar, scalar + list, object + list, list + object, string + string, string + number, `null` on either side) | `b` (so `null` replaces an object, and an object replaces `null`) |
   * | nested lists inside objects | `b`'s list replaces `a`'s, other keys of the object are kept |
   *
   * Associative when no key holds an object in one input and a non-object in another; `{}` on
   * either side is the identity for objects.
   */
  RecursiveDictMerge: 'recursive_dict_merge',
  /**
   * `customMergeFunc(a, b)` decides: it is folded left over the inputs. It must be given (else
   * `MergeError`), must return JSON (checked after every call, else `MergeError`), and receives
   * private copies of the inputs, so changing them does not change the caller's data.
   */
  Custom: 'custom',
} as const;

/** One of the {@link ContextMergeStrategy} values: `'overwrite'`, `'append_list'`, … */
export type ContextMergeStrategy = (typeof ContextMergeStrategy)[keyof typeof ContextMergeStrategy];
