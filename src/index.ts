export * from '../machines/index.js';
export * from './checkpoint/index.js';
export * from './context/index.js';
export * from './errors.js';
export * from './flow/index.js';
export { assertValidId, checkpointIdTime, createCheckpointId, MAX_ID_LENGTH } from './ids.js';
export * from './inspection/index.js';
export {
  type AssertJsonOptions,
  assertJson,
  cloneJson,
  isJson,
  type JsonData,
  type JsonObject,
  type JsonShaped,
  type JsonValue,
  MAX_JSON_DEPTH,
} from './json.js';
export * from './merger/index.js';
export * from './router/index.js';
export * from './runtime/index.js';
