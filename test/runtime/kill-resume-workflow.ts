import type { Workflow } from 'mcp-orchestration';
import { chainWorkflow } from './chain-workflow.js';

/**
 * The workflow of the kill-and-resume test: 50 task steps, 20 in sequence, a parallel group of
 * three regions of 6 steps, 12 more in sequence. Steps take 3–12 ms (fixed per step). Items are
 * 110 characters, so the chain passes 2 KB after 19 steps: from then on checkpoints splice it
 * from a base in the task's contexts log (format 4), and contexts that outlive a checkpoint (the
 * group's input, a region's result) are appended there.
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
