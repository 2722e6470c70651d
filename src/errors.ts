/**
 * Every error about the data, the store or a run is an {@link OrchestrationError} with a stable
 * `code` (a wrong argument in code is the platform's `TypeError` or `RangeError`). Test for one
 * with {@link isOrchestrationError}, which narrows by code:
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

/**
 * `path` as a message shows it: a path longer than 160 characters (a value nested 100 levels
 * deep, say) keeps its first and last 60 around an ellipsis, so that a message written into an
 * error checkpoint stays short. The error's `path` field keeps all of it.
 */
function shownPath(path: string): string {
  if (path.length <= 160) return path;
  return `${path.slice(0, 60)}…(${path.length - 120} more characters)…${path.slice(-60)}`;
}

/** A value that JSON cannot carry exactly (function, `undefined`, `BigInt`, `Date`, `Map`, cycle…). */
export class NonJsonValueError extends OrchestrationError {
  /** Where the bad value is, as a JSON path such as `$.data.items[3]`. */
  readonly path: string;
  constructor(path: string, what: string) {
    super('NON_JSON_VALUE', `${shownPath(path)} is ${what}, which JSON cannot carry exactly`);
    this.path = path;
  }
}

/** A value nested deeper than the documented limit ({@link MAX_JSON_DEPTH} by default). */
export class DepthLimitError extends OrchestrationError {
  readonly path: string;
  readonly limit: number;
  constructor(path: string, limit: number) {
    super('DEPTH_LIMIT', `${shownPath(path)} is nested deeper than the limit of ${limit} levels`);
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
  /** What is wrong with it (the message's end). */
  readonly reason: string;
  constructor(kind: string, id: string, reason: string) {
    super('INVALID_ID', `Invalid ${kind} ${JSON.stringify(id.slice(0, 80))}: ${reason}`);
    this.kind = kind;
    this.id = id;
    this.reason = reason;
  }
}

/**
 * A conditional write lost: another writer saved first, or (with `expectedId`, then `actualSeq`
 * equals `expectedSeq`) the task's checkpoint at the expected seq is not the one the writer knew:
 * the task was deleted and started again meanwhile. Nothing was written.
 */
export class CheckpointConflictError extends OrchestrationError {
  readonly taskId: string;
  readonly expectedSeq: number;
  readonly actualSeq: number;
  constructor(taskId: string, expectedSeq: number, actualSeq: number) {
    super(
      'CHECKPOINT_CONFLICT',
      `Checkpoint conflict on task ${taskId}: expected sequence ${expectedSeq}, but ${conflictState(expectedSeq, actualSeq)}; nothing was written`,
    );
    this.taskId = taskId;
    this.expectedSeq = expectedSeq;
    this.actualSeq = actualSeq;
  }
}

/** What a conflict found: another writer ahead, or the task's checkpoints gone. */
function conflictState(expectedSeq: number, actualSeq: number): string {
  if (actualSeq === 0 && expectedSeq > 0) {
    return 'the task has no checkpoints any more (deleted, expired, or the storage was cleared)';
  }
  if (actualSeq > expectedSeq) return `it is at ${actualSeq} (another writer saved first)`;
  if (actualSeq === expectedSeq) {
    // Only `expectedId` refuses a save at the expected seq.
    return `its checkpoint at ${actualSeq} is another one (the task was deleted and started again)`;
  }
  return `it is at ${actualSeq}`;
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

/**
 * A task id that has no checkpoint in the store and no run in the runtime; or, for a run whose
 * task was deleted and started again elsewhere (`replaced`), a task this run is no longer of.
 */
export class UnknownTaskError extends OrchestrationError {
  readonly taskId: string;
  constructor(taskId: string, options?: { cause?: unknown; replaced?: boolean }) {
    super(
      'TASK_NOT_FOUND',
      options?.replaced === true
        ? `Task ${taskId} was deleted and started again elsewhere: this run of the deleted task ended`
        : `Task ${taskId} is unknown: it has no checkpoint and is not running`,
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
    this.taskId = taskId;
  }
}

/** Starting a task id that already has checkpoints or is already running (`ifExists: 'fail'`). */
export class TaskExistsError extends OrchestrationError {
  readonly taskId: string;
  /** Whether it is running in this runtime (else: it has records in the store). */
  readonly running: boolean;
  /**
   * Whether it has checkpoints. A task whose checkpoints were all deleted (one by one, or by
   * `deleteOldCheckpoints` with `keepLatest: 0`) keeps its sequence and lineage, and one whose
   * checkpoints all expired keeps its lineage (logs have no TTL), so it can be neither resumed
   * nor started again until it is deleted (`CheckpointManager.deleteTask`).
   */
  readonly hasCheckpoints: boolean;
  constructor(taskId: string, running: boolean, hasCheckpoints = true) {
    super(
      'TASK_EXISTS',
      running
        ? `Task ${taskId} is already running in this runtime; resume it, or start with { ifExists: 'resume' }`
        : hasCheckpoints
          ? `Task ${taskId} already has checkpoints; resume it, or start with { ifExists: 'resume' }`
          : `Task ${taskId} has no checkpoint left to resume (deleted or expired), but its records remain (its lineage or sequence); delete the task (CheckpointManager.deleteTask) to start it again, or use another task id`,
    );
    this.taskId = taskId;
    this.running = running;
    this.hasCheckpoints = hasCheckpoints;
  }
}

/**
 * Starting or resuming a task that another runtime holds a live lease on (it runs there, or did
 * until less than a lease's TTL ago): wait for the lease to lapse, or ask that runtime.
 */
export class TaskLeasedError extends OrchestrationError {
  readonly taskId: string;
  /** The lease's holder. */
  readonly owner: string;
  /** When the lease lapses unless its holder renews it, ms since the epoch. */
  readonly expiresAt: number;
  constructor(taskId: string, owner: string, expiresAt: number) {
    super(
      'TASK_LEASED',
      `Task ${taskId} is leased to ${owner} until ${new Date(expiresAt).toISOString()}: it runs there`,
    );
    this.taskId = taskId;
    this.owner = owner;
    this.expiresAt = expiresAt;
  }
}

/**
 * A run that no longer holds its task's lease, so it stopped here (a checkpoint in flight may
 * still land; none is started after): another runtime took the lease, or this one could not
 * renew it before it lapsed (a stalled process, an unreachable store), after which another
 * runtime may take the task at any moment.
 */
export class LeaseLostError extends OrchestrationError {
  readonly taskId: string;
  /** The runtime that holds the lease now; `undefined` when it lapsed unrenewed. */
  readonly owner: string | undefined;
  constructor(taskId: string, owner: string | undefined) {
    const why =
      owner === undefined
        ? 'could not renew its lease before it lapsed'
        : `lost its lease to ${owner}`;
    super('LEASE_LOST', `Task ${taskId} ${why}: it stopped running here`);
    this.taskId = taskId;
    this.owner = owner;
  }
}

/** An operation that needs a live run (e.g. `send`) on a task that is not running here. */
export class TaskNotRunningError extends OrchestrationError {
  readonly taskId: string;
  constructor(taskId: string, reason: string) {
    super('TASK_NOT_RUNNING', `Task ${taskId} is not running in this runtime: ${reason}`);
    this.taskId = taskId;
  }
}

/** A checkpoint whose workflow (machine id) is not registered with the runtime. */
export class UnknownWorkflowError extends OrchestrationError {
  readonly taskId: string;
  /** The machine id the checkpoint names, if any. */
  readonly workflowId: string | undefined;
  constructor(taskId: string, workflowId: string | undefined) {
    super(
      'WORKFLOW_NOT_FOUND',
      workflowId === undefined
        ? `Task ${taskId}: its checkpoint names no workflow machine`
        : `Task ${taskId}: workflow ${workflowId} is not registered with the runtime`,
    );
    this.taskId = taskId;
    this.workflowId = workflowId;
  }
}

/** A checkpoint written by another version of the workflow, and no `migrate` hook upgraded it. */
export class WorkflowVersionError extends OrchestrationError {
  readonly taskId: string;
  readonly workflowId: string;
  /** The version the checkpoint was written by (`undefined`: none recorded). */
  readonly checkpointVersion: string | undefined;
  /** The version of the registered workflow. */
  readonly workflowVersion: string;
  constructor(
    taskId: string,
    workflowId: string,
    checkpointVersion: string | undefined,
    workflowVersion: string,
  ) {
    super(
      'WORKFLOW_VERSION',
      `Task ${taskId}: its checkpoint was written by workflow ${workflowId} version ${checkpointVersion ?? '(none)'}, but version ${workflowVersion} is registered; pass a migrate hook to upgrade it`,
    );
    this.taskId = taskId;
    this.workflowId = workflowId;
    this.checkpointVersion = checkpointVersion;
    this.workflowVersion = workflowVersion;
  }
}

/**
 * A checkpoint whose snapshot the registered workflow's machine cannot restore (its state was
 * removed or renamed, an invoked or spawned child's `src` is no longer registered, say): the
 * definition changed without a new version, or the `migrate` hook did not carry the snapshot
 * over (it threw, or left no snapshot). Nothing ran and nothing was written. `reason`, when
 * given, says why in the message (else the `cause`'s message does).
 */
export class WorkflowMismatchError extends OrchestrationError {
  readonly taskId: string;
  readonly workflowId: string;
  readonly workflowVersion: string;
  constructor(
    taskId: string,
    workflowId: string,
    workflowVersion: string,
    options?: { cause?: unknown; reason?: string },
  ) {
    const cause = options?.cause;
    const reason = options?.reason ?? (cause instanceof Error ? cause.message : undefined);
    const why = reason === undefined ? '' : `: ${reason}`;
    super(
      'WORKFLOW_MISMATCH',
      `Task ${taskId}: its checkpoint does not fit workflow ${workflowId} version ${workflowVersion}${why}. A changed definition needs a new version and a migrate hook that carries the snapshot over`,
      cause === undefined ? undefined : { cause },
    );
    this.taskId = taskId;
    this.workflowId = workflowId;
    this.workflowVersion = workflowVersion;
  }
}

/** How many issues an {@link EventNotAcceptedError}'s message names, and how long each may be. */
const SHOWN_ISSUES = 3;
const SHOWN_ISSUE_LENGTH = 160;

/** Issues as a message shows them: the first few, one line each, cut short. */
function shownIssues(issues: readonly ValidationIssue[]): string {
  const shown = issues.slice(0, SHOWN_ISSUES).map((issue) => {
    const message = issue.message.replace(/\s+/g, ' ').trim();
    const cut =
      message.length > SHOWN_ISSUE_LENGTH ? `${message.slice(0, SHOWN_ISSUE_LENGTH)}…` : message;
    return `${shownPath(issue.path)}: ${cut}`;
  });
  const more = issues.length > SHOWN_ISSUES ? ` (and ${issues.length - SHOWN_ISSUES} more)` : '';
  return `${shown.join('; ')}${more}`;
}

/**
 * An event the workflow is not waiting for, or whose data its step refuses. Nothing changed.
 * When the type is awaited but the data was refused, `issues` says why and the message names
 * the first few.
 */
export class EventNotAcceptedError extends OrchestrationError {
  readonly taskId: string;
  readonly eventType: string;
  /** The event types the workflow waits for now (`[]`: none). */
  readonly expected: readonly string[];
  /**
   * Why a step waiting for this event type refused its data, with paths under `$.data`: the
   * schema's issues (its `ContextValidationError` is the `cause`), or what of the schema's output
   * JSON cannot carry (the `NonJsonValueError` is the `cause`). `[]` when the event type is not
   * awaited (or a hand-written machine refused it: it tells no reason).
   */
  readonly issues: readonly ValidationIssue[];
  constructor(
    taskId: string,
    eventType: string,
    expected: readonly string[],
    refusal?: { readonly issues: readonly ValidationIssue[]; readonly cause?: unknown },
  ) {
    const issues = refusal?.issues ?? [];
    const waiting =
      expected.length > 0 ? `it waits for ${expected.join(', ')}` : 'it waits for no event';
    super(
      'EVENT_NOT_ACCEPTED',
      issues.length > 0
        ? `Task ${taskId} waits for event ${JSON.stringify(eventType)}, but refused its data: ${shownIssues(issues)}`
        : `Task ${taskId} does not accept event ${JSON.stringify(eventType)} now (${waiting}, with data its step's schema accepts, if it has one)`,
      refusal?.cause === undefined ? undefined : { cause: refusal.cause },
    );
    this.taskId = taskId;
    this.eventType = eventType;
    this.expected = expected;
    this.issues = issues;
  }
}

/** Why a workflow failed: the JSON failure of its step (the machine's `StepFailure`). */
export interface WorkflowFailureInfo {
  readonly stepId: string;
  readonly message: string;
  readonly name: string;
  readonly attempts: number;
  readonly code?: string;
}

/**
 * A workflow run that ended in its `failed` state; `failure` says which step and why. A live
 * run's error has the thrown value as its `cause` (one read back from a checkpoint has only
 * `failure`).
 */
export class WorkflowFailedError extends OrchestrationError {
  readonly taskId: string;
  readonly failure: WorkflowFailureInfo;
  constructor(taskId: string, failure: WorkflowFailureInfo, options?: { cause?: unknown }) {
    super(
      'WORKFLOW_FAILED',
      `Task ${taskId} failed at step ${failure.stepId}: ${failure.message}`,
      options,
    );
    this.taskId = taskId;
    this.failure = failure;
  }
}

/** A workflow run that was cancelled. */
export class WorkflowCancelledError extends OrchestrationError {
  readonly taskId: string;
  constructor(taskId: string) {
    super('WORKFLOW_CANCELLED', `Task ${taskId} was cancelled`);
    this.taskId = taskId;
  }
}

/** A workflow run that was paused (`runtime.pause`); `runtime.resume` continues the task. */
export class WorkflowPausedError extends OrchestrationError {
  readonly taskId: string;
  constructor(taskId: string) {
    super('WORKFLOW_PAUSED', `Task ${taskId} was paused; resume it to continue`);
    this.taskId = taskId;
  }
}

/**
 * A machine whose actor logic is inline (not registered by name in `setup({ actors })`): XState
 * cannot persist it (`An inline child actor cannot be persisted.`), so it cannot be checkpointed.
 * Thrown when a hand-written machine is defined with inline `invoke` logic, and at the save of a
 * snapshot holding an inline spawned child (nothing is written).
 */
export class InlineActorError extends OrchestrationError {
  readonly workflowId: string;
  /** Where the inline logic is: state node ids (invoke) or child actor ids (spawn). */
  readonly actorIds: readonly string[];
  constructor(workflowId: string, actorIds: readonly string[], options?: { cause?: unknown }) {
    const where = actorIds.join(', ') || 'a child actor';
    super(
      'INLINE_ACTOR',
      `Workflow ${workflowId} uses inline actor logic (${where}), which cannot be persisted: ` +
        'register it by name in setup({ actors }) and refer to it by name',
      options,
    );
    this.workflowId = workflowId;
    this.actorIds = actorIds;
  }
}

/**
 * A context the router cannot send anywhere: no rule matched an available target and there is
 * no (available) fallback. Thrown by `ContextRouter.route`; `determineRoute` and `decide` answer
 * `undefined` instead.
 */
export class NoRouteError extends OrchestrationError {
  readonly contextType: string;
  readonly contextId: string;
  /** How many rules were considered (the ones that apply to the type, plus the fallback). */
  readonly rulesTried: number;
  constructor(contextType: string, contextId: string, rulesTried: number) {
    super(
      'NO_ROUTE',
      `No route for context ${contextId} of type ${contextType}: ${rulesTried} rule${rulesTried === 1 ? '' : 's'} tried, none matched an available target, and there is no available fallback`,
    );
    this.contextType = contextType;
    this.contextId = contextId;
    this.rulesTried = rulesTried;
  }
}

/**
 * A routing rule that cannot be used: refused when it is added (bad id, target, priority, path
 * or pattern; a duplicate id), or a content predicate that threw while routing (`cause`).
 */
export class RoutingRuleError extends OrchestrationError {
  /** The rule's id (`type:<ContextType>` for a type rule, `fallback` for the fallback). */
  readonly ruleId: string;
  constructor(ruleId: string, reason: string, options?: { cause?: unknown }) {
    super('ROUTING_RULE', `Routing rule ${ruleId}: ${reason}`, options);
    this.ruleId = ruleId;
  }
}

/**
 * Arguments a tool would refuse: the context's data (the tool's arguments) does not match the
 * tool's input JSON Schema. Nothing was sent to the tool.
 */
export class ToolInputError extends OrchestrationError {
  readonly targetId: string;
  readonly toolName: string;
  /** What is wrong, with paths such as `$.data.text`. */
  readonly issues: readonly ValidationIssue[];
  constructor(targetId: string, toolName: string, issues: readonly ValidationIssue[]) {
    const first = issues[0];
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
    super(
      'TOOL_INPUT_INVALID',
      `Invalid arguments for tool ${toolName}: ${first ? `${first.path}: ${first.message}` : 'rejected'}${more}; nothing was sent`,
    );
    this.targetId = targetId;
    this.toolName = toolName;
    this.issues = issues;
  }
}

/**
 * Why a tool call failed: the tool answered with an error result (`tool-error`), the tool does
 * not exist (`unknown-tool`), the call timed out (`timeout`), the connection closed before the
 * answer (`disconnected`), the transport failed (`transport`), or the answer broke the protocol
 * (`protocol`, e.g. structured output that does not match the tool's output schema).
 */
export type ToolCallFailureReason =
  | 'tool-error'
  | 'unknown-tool'
  | 'timeout'
  | 'disconnected'
  | 'transport'
  | 'protocol';

/** A tool call that did not produce a result. The tool may have run (except `unknown-tool`). */
export class ToolCallError extends OrchestrationError {
  readonly targetId: string;
  readonly toolName: string;
  readonly reason: ToolCallFailureReason;
  /** What the server (or the transport) said, e.g. the text of an error result. */
  readonly serverMessage: string;
  /** The JSON-RPC error code, when the failure was a JSON-RPC error. Default: none. */
  readonly rpcCode: number | undefined;
  constructor(
    targetId: string,
    toolName: string,
    reason: ToolCallFailureReason,
    serverMessage: string,
    options?: { cause?: unknown; rpcCode?: number },
  ) {
    super('TOOL_CALL_FAILED', `Tool ${toolName} failed (${reason}): ${serverMessage}`, options);
    this.targetId = targetId;
    this.toolName = toolName;
    this.reason = reason;
    this.serverMessage = serverMessage;
    this.rpcCode = options?.rpcCode;
  }
}

/**
 * Why connecting to an MCP server failed: its command does not exist (`not-found`, `ENOENT`) or
 * could not be started (`spawn-failed`, e.g. not executable); nothing answered at its URL
 * (`unreachable`: connection refused, unknown host, connection cut); the URL answered with an HTTP
 * error status (`http-status`: 404, 401…); its process exited, or closed the connection, before
 * the tools were listed (`exited`); it did not finish within the connect timeout (`timeout`); it
 * answered, but not as an MCP server (`protocol`: not JSON-RPC, an unsupported protocol version,
 * a JSON-RPC error to `initialize` or `tools/list`); or another failure of the transport
 * (`transport`).
 */
export type McpConnectFailureReason =
  | 'not-found'
  | 'spawn-failed'
  | 'unreachable'
  | 'http-status'
  | 'exited'
  | 'timeout'
  | 'protocol'
  | 'transport';

/**
 * A connection to an MCP server that could not be made (`connectMcpStdio`, `connectMcpHttp`,
 * `connectMcpTools` over a transport): at the first connect, or at a reconnection (then it is
 * the `cause` of the call's `ToolCallError`, `reason: 'disconnected'`). Nothing is left running:
 * a process it started has ended and a request in flight was aborted. `cause` is the error the
 * SDK, `fetch` or the process gave.
 */
export class McpConnectError extends OrchestrationError {
  /**
   * Which server: its command line (stdio), its URL with any credentials masked (HTTP), or
   * `over <transport class>`.
   */
  readonly server: string;
  readonly reason: McpConnectFailureReason;
  /** What went wrong (the message's end). */
  readonly detail: string;
  /** The HTTP status the URL answered (`reason: 'http-status'`); else `undefined`. */
  readonly httpStatus: number | undefined;
  /**
   * The server process's exit code (`reason: 'exited'`; `null` when a signal ended it); else
   * `undefined`.
   */
  readonly exitCode: number | null | undefined;
  constructor(
    server: string,
    reason: McpConnectFailureReason,
    detail: string,
    options?: { cause?: unknown; httpStatus?: number; exitCode?: number | null },
  ) {
    super(
      'MCP_CONNECT_FAILED',
      `Cannot connect to MCP server ${server} (${reason}): ${detail}`,
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
    this.server = server;
    this.reason = reason;
    this.detail = detail;
    this.httpStatus = options?.httpStatus;
    this.exitCode = options?.exitCode;
  }
}

/**
 * A request for a target the router does not have: no tool, agent or worker pool registered
 * under that type and id (`startRouter({ targets })`, `createRuntime({ targets })`).
 */
export class UnknownTargetError extends OrchestrationError {
  readonly targetType: string;
  readonly targetId: string;
  /** On resume: the task and the routed step whose checkpointed decision named the target. */
  readonly routedStep?: { readonly taskId: string; readonly stepId: string };
  constructor(
    targetType: string,
    targetId: string,
    routedStep?: { readonly taskId: string; readonly stepId: string },
  ) {
    const missing = `${targetType} target ${JSON.stringify(targetId)}`;
    super(
      'TARGET_NOT_FOUND',
      routedStep === undefined
        ? `No ${missing} is registered`
        : `Task ${routedStep.taskId} cannot resume: its step ${routedStep.stepId} was routed to the ${missing}, which is not registered; register it to resume (nothing was written)`,
    );
    this.targetType = targetType;
    this.targetId = targetId;
    if (routedStep !== undefined) this.routedStep = routedStep;
  }
}

/**
 * A worker pool whose queue is full refused a context (back-pressure): `queueLimit` contexts
 * already wait for a worker. Nothing was run; send it again later (a routed step retries per its
 * `retry` policy).
 */
export class PoolSaturatedError extends OrchestrationError {
  readonly poolId: string;
  readonly queueLimit: number;
  constructor(poolId: string, queueLimit: number) {
    super(
      'POOL_SATURATED',
      `Worker pool ${poolId} is saturated: ${queueLimit === 1 ? '1 context already waits' : `${queueLimit} contexts already wait`} for a worker`,
    );
    this.poolId = poolId;
    this.queueLimit = queueLimit;
  }
}

/**
 * A routed step (a task step with `route` instead of `run`) in a workflow that runs without a
 * router: run it with `createRuntime({ router, targets })`, or `withRouting(workflow, …)`.
 */
export class NoRouterError extends OrchestrationError {
  readonly stepId: string;
  constructor(stepId: string) {
    super(
      'NO_ROUTER',
      `Step ${stepId} is routed, but the workflow runs without a router: ` +
        'run it under createRuntime({ router, targets }) or withRouting(workflow, options)',
    );
    this.stepId = stepId;
  }
}

/** A call through a router actor that was stopped (`router.stop()`, or the runtime closed). */
export class RouterStoppedError extends OrchestrationError {
  /** The call's request id; `undefined` for a call made after the stop. */
  readonly requestId: string | undefined;
  constructor(requestId?: string) {
    super(
      'ROUTER_STOPPED',
      requestId === undefined
        ? 'The router is stopped'
        : `The router stopped before answering ${requestId}`,
    );
    this.requestId = requestId;
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
  TASK_NOT_FOUND: UnknownTaskError;
  TASK_EXISTS: TaskExistsError;
  TASK_NOT_RUNNING: TaskNotRunningError;
  TASK_LEASED: TaskLeasedError;
  LEASE_LOST: LeaseLostError;
  WORKFLOW_NOT_FOUND: UnknownWorkflowError;
  WORKFLOW_VERSION: WorkflowVersionError;
  WORKFLOW_MISMATCH: WorkflowMismatchError;
  EVENT_NOT_ACCEPTED: EventNotAcceptedError;
  WORKFLOW_FAILED: WorkflowFailedError;
  WORKFLOW_CANCELLED: WorkflowCancelledError;
  WORKFLOW_PAUSED: WorkflowPausedError;
  INLINE_ACTOR: InlineActorError;
  NO_ROUTE: NoRouteError;
  ROUTING_RULE: RoutingRuleError;
  TARGET_NOT_FOUND: UnknownTargetError;
  POOL_SATURATED: PoolSaturatedError;
  NO_ROUTER: NoRouterError;
  ROUTER_STOPPED: RouterStoppedError;
  TOOL_INPUT_INVALID: ToolInputError;
  TOOL_CALL_FAILED: ToolCallError;
  MCP_CONNECT_FAILED: McpConnectError;
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
