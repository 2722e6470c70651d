import type { Workflow } from 'mcp-orchestration';
import { chainWorkflow } from './chain-workflow.js';

/**
 * The workflow of the kill-and-resume test: 50 task steps, 20 in sequence, a parallel group of
 * three regions of 6 steps, 12 more in sequence. Steps take 3–12 ms (fixed per step). Items are
 * 110 characters, so the group's input (20 of them, 2.3 KB) is stored once in the first
 * checkpoint written while the regions hold it (format 2), then appended to the task's contexts
 * log and named by the checkpoints after it (format 3).
 */
export function killResumeWorkflow(onRun: (stepId: string) => void): Workflow {
  return chainWorkflow({
    before: 20,
    regions: 3,
    perRegion: 6,
    after: 12,
    onRun,
    itemPad: 110,
    ms: (stepId) => 3 + ((stepId.charCodeAt(stepId.length - 1) * 7) % 10),
  });
}
