import { assertJson, isOrchestrationError } from 'mcp-orchestration';
import { describe, expect, it } from 'vitest';

describe('assertJson', () => {
  it('resolves the package by name', () => {
    expect(() => assertJson({ a: new Date() })).toThrow(/\$\.a is a Date/);
    try {
      assertJson([1, undefined]);
    } catch (e) {
      expect(isOrchestrationError(e, 'NON_JSON_VALUE')).toBe(true);
    }
  });
});
