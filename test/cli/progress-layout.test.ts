import type { WorkflowStep } from 'mcp-orchestration';
import { describe, expect, it } from 'vitest';
import { createProgressDisplay, progressLine } from '../../src/cli/progress-display.js';

/** Columns a line takes on a terminal, for the characters these tests use (CJK: 2). */
function columns(line: string): number {
  let width = 0;
  for (const char of line) {
    if (/[\u0300-\u036f]/.test(char)) continue; // combining marks
    width += /[\u3000-\u303f\u4e00-\u9fff\uff00-\uff60]/.test(char) ? 2 : 1;
  }
  return width;
}

/** The cursor move up a redraw starts with, at the end of what was written before. */
const MOVE_UP = new RegExp(`${String.fromCharCode(27)}\\[(\\d+)F$`);

/** What a live display wrote: the blocks it drew, each with how far it moved up first. */
function blocks(written: string): { up: number; lines: string[] }[] {
  return written
    .split('\x1b[J')
    .slice(1)
    .map((text, i, all) => {
      const before = i === 0 ? '' : (all[i - 1] as string);
      const up = MOVE_UP.exec(before)?.[1];
      const body = text.replace(MOVE_UP, '');
      return { up: up === undefined ? 0 : Number(up), lines: body.split('\n').slice(0, -1) };
    });
}

function plan(names: readonly string[]): WorkflowStep[] {
  return names.map((name, stepIndex) => ({
    stepId: `s${stepIndex}`,
    name,
    stepIndex,
    isComplete: false,
  }));
}

function display(steps: WorkflowStep[], size: { columns: number; rows?: number }) {
  let written = '';
  const stream = {
    isTTY: true,
    ...size,
    write: (text: string) => {
      written += text;
      return true;
    },
  };
  const shown = createProgressDisplay(stream, { taskId: 't', plan: steps, now: () => 0 });
  return { shown, written: () => written };
}

describe('the live progress display', () => {
  it('cuts lines by terminal columns, a CJK character taking two', () => {
    const long = '研究计划'.repeat(6); // 48 columns
    const { shown, written } = display(plan([long, `e\u0301${'x'.repeat(60)}`, 'done']), {
      columns: 40,
      rows: 20,
    });
    shown.update({ type: 'step.started', taskId: 't', stepId: 's0', stepIndex: 0 });
    shown.update({ type: 'step.completed', taskId: 't', stepId: 's0', stepIndex: 0 });
    shown.finish();
    const drawn = blocks(written());
    expect(drawn.length).toBeGreaterThan(1);
    for (const [i, block] of drawn.entries()) {
      // Each line takes one terminal line, so moving up by the lines drawn lands on the block.
      for (const line of block.lines) expect(columns(line)).toBeLessThanOrEqual(39);
      if (i > 0) expect(block.up).toBe(drawn[i - 1]?.lines.length);
    }
    const last = drawn.at(-1)?.lines ?? [];
    expect(last[0]).toBe(`  ✓ s0  ${'研究计划'.repeat(3)}研究计`); // 8 + 30 columns: 38
    // A combining mark takes no column: 8, 'é' and 30 x fill 39 columns.
    expect(last[1]).toBe(`  · s1  e\u0301${'x'.repeat(30)}`);
  });

  it('keeps its block below the terminal height, the running step shown', () => {
    const steps = plan(Array.from({ length: 16 }, (_, i) => `Step ${i}`));
    const { shown, written } = display(steps, { columns: 80, rows: 10 });
    for (let i = 0; i < 16; i++) {
      shown.update({ type: 'step.started', taskId: 't', stepId: `s${i}`, stepIndex: i });
      const block = blocks(written()).at(-1)?.lines ?? [];
      expect(block.length).toBeLessThanOrEqual(9);
      expect(block).toContain(`  ▸ s${i}  Step ${i}`);
      expect(block.at(-1)).toMatch(/^ {2}running · /);
      shown.update({ type: 'step.completed', taskId: 't', stepId: `s${i}`, stepIndex: i });
    }
    shown.finish();
    for (const block of blocks(written())) expect(block.lines.length).toBeLessThanOrEqual(9);
    const middle = display(steps, { columns: 80, rows: 10 });
    middle.shown.update({ type: 'step.started', taskId: 't', stepId: 's8', stepIndex: 8 });
    middle.shown.finish();
    expect(blocks(middle.written()).at(-1)?.lines).toEqual([
      '  … 6 more',
      '  · s6  Step 6',
      '  · s7  Step 7',
      '  ▸ s8  Step 8',
      '  · s9  Step 9',
      '  · s10  Step 10',
      '  · s11  Step 11',
      '  … 4 more',
      '  running · no checkpoint yet · 0/16 steps done · 0.0 s',
    ]);
  });

  it('writes the control characters of step ids and errors as text', () => {
    const { shown, written } = display(plan(['Boom \x1b]0;title\x07']), { columns: 80 });
    shown.finish();
    expect(written()).toContain('  · s0  Boom \\u001b]0;title\\u0007\n');
    expect(
      progressLine({
        type: 'run.aborted',
        taskId: 't',
        error: new Error('gone \x1b[2J'),
      } as Parameters<typeof progressLine>[0]),
    ).toBe('run aborted: gone \\u001b[2J');
  });
});
