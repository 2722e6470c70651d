import type { Workflow } from 'mcp-orchestration';
import { chainWorkflow } from './chain-workflow.js';

/**
 * The workflow of the kill-and-resume test: 50 task steps, 20 in sequence, a parallel group of
 * three regions of 6 steps, 12 more in sequence. Steps take 3–12 ms (fixed per step). Items are
 * 40 characters, so the group's input (20 of them) is big enough to be stored once in the
 * checkpoints written while the regions hold it (format 2).
 */
export function killResumeWorkflow(onRun: (stepId: string) => void): Workflow {
  return chainWorkflow({
    before: 20,
    regions: 3,
    perRegion: 6,
    after: 12,
    onRun,
    itemPad: 40,
    ms: (stepId) => 3 + ((stepId.charCodeAt(stepId.length - 1) * 7) % 10),
  });
}
