import { describe, expect, it } from 'vitest';
import { freezeContextsIn } from '../../src/context/freeze-contexts.js';

const context = <T>(id: string, data: T) => ({
  contextId: id,
  contextType: 'Doc',
  data,
  metadata: { by: { who: 'ana' } },
});

describe('freezeContextsIn', () => {
  it('deep-freezes every context of a JSON value and leaves the rest as it was', () => {
    const shared = context('c1', { items: [{ n: 1 }] });
    const value = {
      lanes: { main: shared, other: shared },
      children: [{ snapshot: { input: { context: context('c2', ['x', { y: [2] }]) } } }],
      count: 3,
    };
    expect(freezeContextsIn(value)).toBe(value);
    const inner = value.children[0]!.snapshot.input.context;
    for (const part of [
      shared,
      shared.data,
      shared.data.items,
      shared.data.items[0],
      shared.metadata,
      shared.metadata.by,
      inner,
      inner.data,
      (inner.data as unknown[])[1],
    ]) {
      expect(Object.isFrozen(part)).toBe(true);
    }
    // Not contexts: still changeable (a machine or router updates them in place).
    for (const part of [value, value.lanes, value.children, value.children[0]]) {
      expect(Object.isFrozen(part)).toBe(false);
    }
  });

  it('enters neither class instances nor frozen objects, and takes any value', () => {
    class Holder {
      held = context('c3', { a: [1] });
    }
    const holder = new Holder();
    const frozenBox = Object.freeze({ held: context('c4', { a: [1] }) });
    freezeContextsIn({ holder, frozenBox });
    expect(Object.isFrozen(holder.held)).toBe(false);
    expect(Object.isFrozen(frozenBox.held)).toBe(false);
    for (const value of [undefined, null, 1, 'text', [], {}]) {
      expect(freezeContextsIn(value)).toBe(value);
    }
    // Not a context: no metadata object.
    const almost = { contextId: 'c5', contextType: 'Doc', data: {}, metadata: null };
    freezeContextsIn([almost]);
    expect(Object.isFrozen(almost)).toBe(false);
  });
});
