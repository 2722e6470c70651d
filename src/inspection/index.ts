export {
  exportStatelyMachine,
  type StatelyMachineExport,
} from './export-stately-machine.js';
export type { InspectableWorkflow } from './inspectable-workflow.js';
export { lineageMermaid } from './lineage-mermaid.js';
export {
  type WorkflowChartMermaidOptions,
  workflowChartMermaid,
} from './workflow-chart-mermaid.js';
