import type { Workflow } from 'mcp-orchestration';
import { chainWorkflow } from './chain-workflow.js';

/**
 * The workflow of the kill-and-resume test: 50 task steps, 20 in sequence, a parallel group of
 * three regions of 6 steps, 12 more in sequence. Steps take 3–12 ms (fixed per step).
 */
export function killResumeWorkflow(onRun: (stepId: string) => void): Workflow {
  return chainWorkflow({
    before: 20,
    regions: 3,
    perRegion: 6,
    after: 12,
    onRun,
    ms: (stepId) => 3 + ((stepId.charCodeAt(stepId.length - 1) * 7) % 10),
  });
}
