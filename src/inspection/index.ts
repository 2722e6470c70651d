export {
  exportStatelyMachine,
  type StatelyMachineExport,
} from './export-stately-machine.js';
export type { InspectableWorkflow } from './inspectable-workflow.js';
export { lineageMermaid } from './lineage-mermaid.js';
export { type Recording, type RecordingSession, readRecording } from './read-recording.js';
export {
  INSPECTION_LOG,
  RECORDING_FORMAT,
  type RecordedEvent,
  type RecordedEventType,
  type RecordedSnapshot,
  type RecordingEndEntry,
  type RecordingEntry,
  type RecordingSessionEntry,
  type RecordingTruncatedEntry,
} from './recording-format.js';
export { type InspectionHtmlOptions, renderInspectionHtml } from './render-inspection-html.js';
export {
  type RecordedIdOrigin,
  type ReplayOptions,
  replayRecording,
} from './replay-recording.js';
export { createRunRecorder, type RunRecorder, type RunRecorderOptions } from './run-recorder.js';
export {
  type WorkflowChartMermaidOptions,
  workflowChartMermaid,
} from './workflow-chart-mermaid.js';
