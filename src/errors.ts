/**
 * Every error this package throws on purpose is an {@link OrchestrationError} with a stable
 * `code`. Test for one with {@link isOrchestrationError}, which narrows by code:
 *
 * @example
 * ```ts
 * try {
 *   await manager.saveCheckpoint(state, { expectedSeq: 4 });
 * } catch (error) {
 *   if (isOrchestrationError(error, 'CHECKPOINT_CONFLICT')) console.log(error.actualSeq);
 *   else throw error;
 * }
 * ```
 */
export class OrchestrationError extends Error {
  /** A stable, machine-readable code; see {@link OrchestrationErrorCode}. */
  readonly code: OrchestrationErrorCode;

  constructor(code: OrchestrationErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A value that JSON cannot carry exactly (function, `undefined`, `BigInt`, `Date`, `Map`, cycle…). */
export class NonJsonValueError extends OrchestrationError {
  /** Where the bad value is, as a JSON path such as `$.data.items[3]`. */
  readonly path: string;
  constructor(path: string, what: string) {
    super('NON_JSON_VALUE', `${path} is ${what}, which JSON cannot carry exactly`);
    this.path = path;
  }
}

/** A value nested deeper than the documented limit ({@link MAX_JSON_DEPTH} by default). */
export class DepthLimitError extends OrchestrationError {
  readonly path: string;
  readonly limit: number;
  constructor(path: string, limit: number) {
    super('DEPTH_LIMIT', `${path} is nested deeper than the limit of ${limit} levels`);
    this.path = path;
    this.limit = limit;
  }
}

/** One problem found while validating data, with the path where it was found. */
export interface ValidationIssue {
  readonly path: string;
  readonly message: string;
}

/** A context (or event) whose data does not satisfy its type's schema or shape. */
export class ContextValidationError extends OrchestrationError {
  readonly contextType: string;
  readonly issues: readonly ValidationIssue[];
  constructor(
    contextType: string,
    issues: readonly ValidationIssue[],
    options?: { cause?: unknown },
  ) {
    const first = issues[0];
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
    super(
      'CONTEXT_VALIDATION',
      `Invalid ${contextType}: ${first ? `${first.path}: ${first.message}` : 'rejected'}${more}`,
      options,
    );
    this.contextType = contextType;
    this.issues = issues;
  }
}

/** A merge that cannot be carried out (e.g. `Custom` without a function, a failing custom function). */
export class MergeError extends OrchestrationError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('MERGE_FAILED', message, options);
  }
}

/** An id that would be unsafe in a storage key (empty, too long, or with forbidden characters). */
export class InvalidIdError extends OrchestrationError {
  readonly kind: string;
  readonly id: string;
  constructor(kind: string, id: string, reason: string) {
    super('INVALID_ID', `Invalid ${kind} ${JSON.stringify(id.slice(0, 80))}: ${reason}`);
    this.kind = kind;
    this.id = id;
  }
}

/** A conditional write lost: another writer saved first. Nothing was written. */
export class CheckpointConflictError extends OrchestrationError {
  readonly taskId: string;
  readonly expectedSeq: number;
  readonly actualSeq: number;
  constructor(taskId: string, expectedSeq: number, actualSeq: number) {
    super(
      'CHECKPOINT_CONFLICT',
      `Checkpoint conflict on task ${taskId}: expected sequence ${expectedSeq}, but it is at ${actualSeq}; nothing was written`,
    );
    this.taskId = taskId;
    this.expectedSeq = expectedSeq;
    this.actualSeq = actualSeq;
  }
}

/** A checkpoint id that already exists for the task; nothing was overwritten. */
export class CheckpointExistsError extends OrchestrationError {
  readonly taskId: string;
  readonly checkpointId: string;
  constructor(taskId: string, checkpointId: string) {
    super('CHECKPOINT_EXISTS', `Checkpoint ${checkpointId} of task ${taskId} already exists`);
    this.taskId = taskId;
    this.checkpointId = checkpointId;
  }
}

/** A stored record that cannot be read back (not JSON, wrong shape, wrong format version). */
export class CorruptRecordError extends OrchestrationError {
  readonly taskId: string;
  readonly recordId: string;
  constructor(taskId: string, recordId: string, reason: string, options?: { cause?: unknown }) {
    super('CORRUPT_RECORD', `Record ${recordId} of task ${taskId} is corrupt: ${reason}`, options);
    this.taskId = taskId;
    this.recordId = recordId;
  }
}

/** A record larger than the store's bound, refused on write and on read. */
export class RecordTooLargeError extends OrchestrationError {
  readonly bytes: number;
  readonly limit: number;
  constructor(what: string, bytes: number, limit: number) {
    super('RECORD_TOO_LARGE', `${what} is ${bytes} bytes, over the limit of ${limit} bytes`);
    this.bytes = bytes;
    this.limit = limit;
  }
}

/** The storage backend failed (connection lost, I/O error). The operation may not have happened. */
export class StorageError extends OrchestrationError {
  readonly store: string;
  constructor(store: string, message: string, options?: { cause?: unknown }) {
    super('STORAGE_FAILED', `${store} store: ${message}`, options);
    this.store = store;
  }
}

/** A workflow step attempt that ran longer than its `timeoutMs`; its abort signal was fired. */
export class StepTimeoutError extends OrchestrationError {
  readonly stepId: string;
  readonly timeoutMs: number;
  constructor(stepId: string, timeoutMs: number) {
    super('STEP_TIMEOUT', `Step ${stepId} timed out after ${timeoutMs} ms`);
    this.stepId = stepId;
    this.timeoutMs = timeoutMs;
  }
}

/**
 * A checkpoint written in a format version this code cannot read: a newer one (upgrade the
 * reader), or an older one with no `migrate` to upgrade it. Nothing is wrong with the record.
 */
export class CheckpointVersionError extends OrchestrationError {
  readonly taskId: string;
  readonly checkpointId: string;
  /** The record's format version (0 when it carries none). */
  readonly version: number;
  /** The format version this code reads and writes. */
  readonly supportedVersion: number;
  constructor(taskId: string, checkpointId: string, version: number, supportedVersion: number) {
    const hint =
      version > supportedVersion
        ? 'it was written by a newer version of mcp-orchestration; upgrade to read it'
        : 'pass a `migrate` function to upgrade it';
    super(
      'CHECKPOINT_VERSION',
      `Checkpoint ${checkpointId} of task ${taskId} has format version ${version}, but this code reads version ${supportedVersion}: ${hint}`,
    );
    this.taskId = taskId;
    this.checkpointId = checkpointId;
    this.version = version;
    this.supportedVersion = supportedVersion;
  }
}

/** Maps each code to the class that carries it. */
export interface OrchestrationErrorByCode {
  NON_JSON_VALUE: NonJsonValueError;
  DEPTH_LIMIT: DepthLimitError;
  CONTEXT_VALIDATION: ContextValidationError;
  MERGE_FAILED: MergeError;
  INVALID_ID: InvalidIdError;
  CHECKPOINT_CONFLICT: CheckpointConflictError;
  CHECKPOINT_EXISTS: CheckpointExistsError;
  CORRUPT_RECORD: CorruptRecordError;
  RECORD_TOO_LARGE: RecordTooLargeError;
  STORAGE_FAILED: StorageError;
  STEP_TIMEOUT: StepTimeoutError;
  CHECKPOINT_VERSION: CheckpointVersionError;
}

/** Every code an {@link OrchestrationError} can carry. */
export type OrchestrationErrorCode = keyof OrchestrationErrorByCode;

/**
 * Whether `error` is an {@link OrchestrationError}, optionally with the given code (and then
 * narrowed to that code's class).
 */
export function isOrchestrationError(error: unknown): error is OrchestrationError;
export function isOrchestrationError<C extends OrchestrationErrorCode>(
  error: unknown,
  code: C,
): error is OrchestrationErrorByCode[C];
export function isOrchestrationError(error: unknown, code?: OrchestrationErrorCode): boolean {
  return error instanceof OrchestrationError && (code === undefined || error.code === code);
}
