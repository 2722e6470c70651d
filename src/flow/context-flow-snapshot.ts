import type { ContextRef } from '../context/context.js';
import { CorruptRecordError, isOrchestrationError } from '../errors.js';
import { assertValidId } from '../ids.js';
import { assertJson, cloneJson, type JsonObject } from '../json.js';
import { isPlainObject, isRecord } from '../objects.js';
import type { ContextTransition } from './context-transition.js';
import type { LineageBasis } from './lineage-graph.js';
import type { PrunedAncestry } from './lineage-node.js';

/** The `format` tag of a {@link ContextFlowSnapshot}. */
export const CONTEXT_FLOW_FORMAT = 'mcp-orchestration/context-flow';

/** Lineage that pruning kept for one context (see `ContextFlowManager.prune`). JSON-safe. */
export interface ContextLineageRecord {
  readonly contextId: string;
  readonly contextType: string;
  /** Parents recorded by transitions that were pruned, in order. */
  readonly parents: readonly string[];
  /** Where ancestry that was pruned away continues (first-parent chain, all chains). */
  readonly pruned?: { readonly origin: ContextRef; readonly origins: readonly ContextRef[] };
}

/**
 * A JSON-safe snapshot of a `ContextFlowManager` (from `toJSON()`, read by `fromJSON()`):
 * the retained transitions plus the compact lineage that pruning kept. Versioned by `v`.
 */
export interface ContextFlowSnapshot {
  readonly format: typeof CONTEXT_FLOW_FORMAT;
  readonly v: 1;
  readonly workflowId: string;
  /** The `seq` the next logged transition gets. */
  readonly nextSeq: number;
  readonly transitions: readonly ContextTransition[];
  readonly lineage: readonly ContextLineageRecord[];
}

/** A problem found at a path while parsing; turned into a {@link CorruptRecordError}. */
class Problem extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path}: ${reason}`);
  }
}

function record(value: unknown, path: string): Record<string, unknown> {
  if (!isRecord(value)) throw new Problem(path, 'is not an object');
  return value;
}

function array(value: unknown, path: string): readonly unknown[] {
  if (!Array.isArray(value)) throw new Problem(path, 'is not an array');
  return value;
}

function text(value: unknown, path: string): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new Problem(path, 'is not a non-empty string');
  }
  return value;
}

function id(value: unknown, path: string): string {
  try {
    assertValidId('context id', value);
  } catch (error) {
    if (isOrchestrationError(error, 'INVALID_ID')) throw new Problem(path, error.message);
    throw error;
  }
  return value;
}

function seqNumber(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new Problem(path, 'is not a non-negative integer');
  }
  return value;
}

/** Deep-freezes a JSON value without recursion. */
export function deepFreezeJson<T>(value: T): T {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const current = stack.pop();
    if (typeof current !== 'object' || current === null || Object.isFrozen(current)) continue;
    Object.freeze(current);
    for (const child of Object.values(current)) stack.push(child);
  }
  return value;
}

/** A copy of a JSON object, deep-frozen; throws like `assertJson` (paths start at `path`). */
export function frozenJsonCopy(value: Record<string, unknown>, path: string): JsonObject {
  assertJson(value, { path });
  return deepFreezeJson(cloneJson(value as JsonObject));
}

function ref(value: unknown, path: string): ContextRef {
  const r = record(value, path);
  return Object.freeze({
    contextId: id(r.contextId, `${path}.contextId`),
    contextType: text(r.contextType, `${path}.contextType`),
  });
}

function transitionAt(value: unknown, path: string, workflowId: string): ContextTransition {
  const r = record(value, path);
  const wf = id(r.workflowId, `${path}.workflowId`);
  if (wf !== workflowId) throw new Problem(`${path}.workflowId`, `is not ${workflowId}`);
  const fromIds = array(r.fromContextIds, `${path}.fromContextIds`).map((v, i) =>
    id(v, `${path}.fromContextIds[${i}]`),
  );
  const fromTypes = array(r.fromContextTypes, `${path}.fromContextTypes`).map((v, i) =>
    text(v, `${path}.fromContextTypes[${i}]`),
  );
  if (fromTypes.length !== fromIds.length) {
    throw new Problem(`${path}.fromContextTypes`, 'is not as long as fromContextIds');
  }
  if (r.operation !== undefined && typeof r.operation !== 'string') {
    throw new Problem(`${path}.operation`, 'is not a string');
  }
  if (typeof r.timestamp !== 'number' || !Number.isFinite(r.timestamp)) {
    throw new Problem(`${path}.timestamp`, 'is not a finite number');
  }
  if (!isPlainObject(r.metadata)) throw new Problem(`${path}.metadata`, 'is not a plain object');
  let metadata: JsonObject;
  try {
    metadata = frozenJsonCopy(r.metadata, `${path}.metadata`);
  } catch (error) {
    if (
      isOrchestrationError(error, 'NON_JSON_VALUE') ||
      isOrchestrationError(error, 'DEPTH_LIMIT')
    ) {
      throw new Problem(error.path, error.message);
    }
    throw error;
  }
  return Object.freeze({
    seq: seqNumber(r.seq, `${path}.seq`),
    workflowId: wf,
    toContextId: id(r.toContextId, `${path}.toContextId`),
    toContextType: text(r.toContextType, `${path}.toContextType`),
    fromContextIds: Object.freeze(fromIds),
    fromContextTypes: Object.freeze(fromTypes),
    componentName: text(r.componentName, `${path}.componentName`),
    ...(r.operation !== undefined ? { operation: r.operation } : {}),
    timestamp: r.timestamp,
    metadata,
  });
}

function corrupt(workflowId: string, error: unknown): never {
  if (error instanceof Problem) {
    throw new CorruptRecordError(workflowId, 'context-flow', `${error.path} ${error.reason}`);
  }
  throw error;
}

/**
 * Validates transitions read back from storage (in `seq` order, strictly increasing, all of
 * `workflowId`) and returns frozen copies. Throws {@link CorruptRecordError} naming the first
 * bad path, such as `$[3].metadata.when`.
 */
export function parseContextTransitions(
  workflowId: string,
  values: unknown,
  path = '$',
): ContextTransition[] {
  try {
    const list = array(values, path);
    const out: ContextTransition[] = [];
    let previous = -1;
    for (let i = 0; i < list.length; i++) {
      const t = transitionAt(list[i], `${path}[${i}]`, workflowId);
      if (t.seq <= previous) throw new Problem(`${path}[${i}].seq`, 'is not increasing');
      previous = t.seq;
      out.push(t);
    }
    return out;
  } catch (error) {
    return corrupt(workflowId, error);
  }
}

/**
 * Validates the transitions of a task's lineage log as {@link parseContextTransitions} does, but
 * leaves out an entry that repeats an earlier `seq` with the same content: an append that a
 * stalled writer made again after another writer had appended the same transitions (a log
 * written before appends were conditional, or by a store without `appendLogAt`). A repeated
 * `seq` with other content, or a `seq` below the last one that no earlier entry has, is a
 * {@link CorruptRecordError} as before.
 */
export function parseLoggedTransitions(
  workflowId: string,
  values: readonly unknown[],
): ContextTransition[] {
  try {
    const out: ContextTransition[] = [];
    let previous = -1;
    for (let i = 0; i < values.length; i++) {
      const path = `$[${i}]`;
      const t = transitionAt(values[i], path, workflowId);
      if (t.seq <= previous) {
        const earlier = transitionWithSeq(out, t.seq);
        if (earlier === undefined) throw new Problem(`${path}.seq`, 'is not increasing');
        if (!sameJson(earlier, t)) {
          throw new Problem(`${path}.seq`, `repeats seq ${t.seq} with other content`);
        }
        continue;
      }
      previous = t.seq;
      out.push(t);
    }
    return out;
  } catch (error) {
    return corrupt(workflowId, error);
  }
}

/** The transition with `seq` in `sorted` (strictly increasing seqs), found by bisection. */
function transitionWithSeq(
  sorted: readonly ContextTransition[],
  seq: number,
): ContextTransition | undefined {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((sorted[mid] as ContextTransition).seq < seq) low = mid + 1;
    else high = mid;
  }
  const found = sorted[low];
  return found?.seq === seq ? found : undefined;
}

/** Whether two JSON values are equal (objects compared by their keys, in any order). */
function sameJson(a: unknown, b: unknown): boolean {
  const stack: [unknown, unknown][] = [[a, b]];
  while (stack.length > 0) {
    const [x, y] = stack.pop() as [unknown, unknown];
    if (x === y) continue;
    if (typeof x !== 'object' || typeof y !== 'object' || x === null || y === null) return false;
    if (Array.isArray(x) !== Array.isArray(y)) return false;
    const xKeys = Object.keys(x);
    if (xKeys.length !== Object.keys(y).length) return false;
    for (const key of xKeys) {
      if (!Object.hasOwn(y, key)) return false;
      stack.push([(x as Record<string, unknown>)[key], (y as Record<string, unknown>)[key]]);
    }
  }
  return true;
}

/** The parsed content of a {@link ContextFlowSnapshot} (internal). */
export interface ParsedContextFlow {
  readonly workflowId: string;
  readonly nextSeq: number;
  readonly transitions: ContextTransition[];
  readonly lineage: LineageBasis[];
}

/** Validates a {@link ContextFlowSnapshot}; throws {@link CorruptRecordError} naming the path. */
export function parseContextFlowSnapshot(value: unknown): ParsedContextFlow {
  let workflowId = '?';
  try {
    const r = record(value, '$');
    if (r.format !== CONTEXT_FLOW_FORMAT) throw new Problem('$.format', 'is not a context flow');
    if (r.v !== 1) throw new Problem('$.v', 'is not a supported version (1)');
    workflowId = id(r.workflowId, '$.workflowId');
    const nextSeq = seqNumber(r.nextSeq, '$.nextSeq');
    const transitions = parseContextTransitions(workflowId, r.transitions, '$.transitions');
    const last = transitions[transitions.length - 1];
    if (last !== undefined && last.seq >= nextSeq) {
      throw new Problem('$.nextSeq', `is not above the last transition's seq ${last.seq}`);
    }
    const lineage = array(r.lineage, '$.lineage').map((v, i): LineageBasis => {
      const path = `$.lineage[${i}]`;
      const e = record(v, path);
      const parents = array(e.parents, `${path}.parents`).map((p, j) =>
        id(p, `${path}.parents[${j}]`),
      );
      let pruned: PrunedAncestry | undefined;
      if (e.pruned !== undefined) {
        const p = record(e.pruned, `${path}.pruned`);
        pruned = Object.freeze({
          origin: ref(p.origin, `${path}.pruned.origin`),
          origins: Object.freeze(
            array(p.origins, `${path}.pruned.origins`).map((o, j) =>
              ref(o, `${path}.pruned.origins[${j}]`),
            ),
          ),
        });
      }
      return {
        contextId: id(e.contextId, `${path}.contextId`),
        contextType: text(e.contextType, `${path}.contextType`),
        parents,
        pruned,
      };
    });
    return { workflowId, nextSeq, transitions, lineage };
  } catch (error) {
    return corrupt(workflowId, error);
  }
}
