import type { ContextRef } from '../context/context.js';
import { isValidatedJson, markValidatedJson } from '../context/validated-json.js';
import { ContextValidationError } from '../errors.js';
import { assertValidId } from '../ids.js';
import type { JsonObject } from '../json.js';
import { isPlainObject } from '../objects.js';
import { frozenJsonCopy } from './context-flow-snapshot.js';
import type { ContextTransition } from './context-transition.js';

/** What {@link ContextFlowManager.logTransition} records (the seed's `log_transition` arguments). */
export interface LogTransitionInput {
  /** The resulting context (a full context or a `{ contextId, contextType }` ref). Required. */
  toContext: ContextRef;
  /** The component that produced it, e.g. `'TextProcessor'`. Required. */
  componentName: string;
  /** The operation performed, e.g. `'summarize'`. Default: none. */
  operation?: string | undefined;
  /** The context(s) it was made from; several for a merge. Default: none (an origin). */
  fromContext?: ContextRef | readonly ContextRef[] | undefined;
  /** JSON metadata, copied and frozen. Default: `{}`. */
  metadata?: JsonObject | undefined;
}

const NO_STRINGS: readonly string[] = Object.freeze([]);
const NO_METADATA: JsonObject = Object.freeze({});

function invalid(path: string, message: string): never {
  throw new ContextValidationError('ContextTransition', [{ path, message }]);
}

function checkRef(value: unknown, path: string): ContextRef {
  if (typeof value !== 'object' || value === null) invalid(path, 'is not a context');
  const { contextId, contextType } = value as Partial<ContextRef>;
  assertValidId('context id', contextId);
  if (typeof contextType !== 'string' || contextType.length === 0) {
    invalid(`${path}.contextType`, 'is not a non-empty string');
  }
  return { contextId, contextType };
}

/**
 * Checks a {@link LogTransitionInput} and builds the frozen transition it describes (internal to
 * `ContextFlowManager.logTransition`). Everything is checked before the clock is read: a bad
 * context id is an `InvalidIdError`, a missing or mistyped field a `ContextValidationError`,
 * non-JSON metadata a `NonJsonValueError` naming its path (`$.metadata.when`).
 */
export function buildContextTransition(
  input: LogTransitionInput,
  at: { seq: number; workflowId: string; now: () => number },
): ContextTransition {
  if (typeof input !== 'object' || input === null) invalid('$', 'is not an object');
  const to = checkRef(input.toContext, '$.toContext');
  const { componentName, operation, fromContext, metadata } = input;
  if (typeof componentName !== 'string' || componentName.length === 0) {
    invalid('$.componentName', 'is not a non-empty string');
  }
  if (operation !== undefined && typeof operation !== 'string') {
    invalid('$.operation', 'is not a string');
  }
  const many = Array.isArray(fromContext);
  const fromList: readonly unknown[] =
    fromContext === undefined ? [] : many ? (fromContext as readonly unknown[]) : [fromContext];
  const parents = fromList.map((ref, i) =>
    checkRef(ref, many ? `$.fromContext[${i}]` : '$.fromContext'),
  );
  let frozenMetadata = NO_METADATA;
  if (metadata !== undefined) {
    if (!isPlainObject(metadata)) invalid('$.metadata', 'is not a plain object');
    // Metadata checked and deep-frozen before (e.g. by the runtime) is taken as it is.
    frozenMetadata = isValidatedJson(metadata) ? metadata : frozenJsonCopy(metadata, '$.metadata');
  }
  const timestamp = at.now();
  if (typeof timestamp !== 'number' || !Number.isFinite(timestamp)) {
    invalid('$.timestamp', 'is not a finite number (from the clock)');
  }
  const fields: { -readonly [K in keyof ContextTransition]?: ContextTransition[K] } = {
    seq: at.seq,
    workflowId: at.workflowId,
    toContextId: to.contextId,
    toContextType: to.contextType,
    fromContextIds:
      parents.length === 0 ? NO_STRINGS : Object.freeze(parents.map((p) => p.contextId)),
    fromContextTypes:
      parents.length === 0 ? NO_STRINGS : Object.freeze(parents.map((p) => p.contextType)),
    componentName,
  };
  // Added in this order (the JSON's), rather than by a conditional spread per transition.
  if (operation !== undefined) fields.operation = operation;
  fields.timestamp = timestamp;
  fields.metadata = frozenMetadata;
  const transition = Object.freeze(fields) as ContextTransition;
  // Deep-frozen JSON: a checkpoint carrying it (pending lineage) need not check it again.
  markValidatedJson(transition as unknown as JsonObject);
  return transition;
}
