import type { WorkflowStep } from '../checkpoint/workflow-state.js';
import type { JsonObject, JsonValue } from '../json.js';
import { isPlainObject } from '../objects.js';
import type { InspectableWorkflow } from './inspectable-workflow.js';
import { nameOf } from './state-chart.js';

/** What {@link exportStatelyMachine} returns. */
export interface StatelyMachineExport {
  /** The machine id (the workflow id). */
  readonly id: string;
  /**
   * The machine config as JSON: states, transitions, tags, descriptions and meta; guards,
   * actions and actors as their names (`'isUngated'`, `{ type: 'completeStep', params }`,
   * `src: 'runStep'`); functions (context, invoke input, output) left out.
   */
  readonly config: JsonObject;
  /** `config` as JSON text (2-space indent). */
  readonly json: string;
  /** `import { createMachine } from 'xstate'; export const machine = createMachine({…});` */
  readonly code: string;
}

/** Keys whose function values compute data (left out: the chart does not need them). */
const DATA_FUNCTIONS = new Set(['context', 'input', 'output', 'params']);

function stepState(step: WorkflowStep): JsonObject {
  const description = step.description ? `${step.name}: ${step.description}` : step.name;
  const planned: JsonObject = { stepId: step.stepId, name: step.name, stepIndex: step.stepIndex };
  if (step.description) planned.description = step.description;
  if (step.toolName) planned.toolName = step.toolName;
  if (step.action) planned.action = step.action;
  return { description, meta: { step: planned } };
}

/** A JSON copy of a config value: names for guards, actions and actors; data functions out. */
function toJson(
  value: unknown,
  plan: ReadonlyMap<string, WorkflowStep>,
  key: string,
  seen: Set<object>,
): JsonValue | undefined {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (typeof value === 'function') return DATA_FUNCTIONS.has(key) ? undefined : nameOf(value);
  if (typeof value !== 'object') return undefined;
  if (seen.has(value)) return undefined;
  if (Array.isArray(value)) {
    seen.add(value);
    const list = value.flatMap((item) => {
      const json = toJson(item, plan, key, seen);
      return json === undefined ? [] : [json];
    });
    seen.delete(value);
    return list;
  }
  // Actor logic (`fromPromise(…)`) and other class instances become their name.
  if (!isPlainObject(value)) return nameOf(value);
  seen.add(value);
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(value)) {
    const json = k === 'states' ? statesJson(v, plan, seen) : toJson(v, plan, k, seen);
    if (json !== undefined) out[k] = json;
  }
  seen.delete(value);
  return out;
}

/** The `states` map; a state keyed by a plan step id gets the step's description and meta. */
function statesJson(
  states: unknown,
  plan: ReadonlyMap<string, WorkflowStep>,
  seen: Set<object>,
): JsonValue | undefined {
  if (typeof states !== 'object' || states === null) return undefined;
  const out: JsonObject = {};
  for (const [key, state] of Object.entries(states)) {
    const json = toJson(state, plan, key, seen);
    if (typeof json !== 'object' || json === null || Array.isArray(json)) continue;
    const step = plan.get(key);
    if (step !== undefined) {
      const named = stepState(step);
      json.description ??= named.description as string;
      const meta = (json.meta ?? {}) as JsonObject;
      const known = (meta.step ?? {}) as JsonObject;
      json.meta = { ...meta, step: { ...(named.meta as { step: JsonObject }).step, ...known } };
    }
    out[key] = json;
  }
  return out;
}

/**
 * A machine config as JSON (internal): guards, actions and actors by name, data functions left
 * out, states keyed by a plan step id named after the step.
 */
export function machineConfigJson(config: unknown, plan: readonly WorkflowStep[] = []): JsonObject {
  const json = toJson(config, new Map(plan.map((step) => [step.stepId, step])), '', new Set());
  return typeof json === 'object' && json !== null && !Array.isArray(json) ? json : {};
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** JSON as a JS object literal: identifier keys unquoted, 2-space indent. */
function toLiteral(value: JsonValue, indent: string): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[\n${value.map((v) => `${inner}${toLiteral(v, inner)}`).join(',\n')},\n${indent}]`;
  }
  const entries = Object.entries(value);
  if (entries.length === 0) return '{}';
  const lines = entries.map(([k, v]) => {
    const name = IDENTIFIER.test(k) ? k : JSON.stringify(k);
    return `${inner}${name}: ${toLiteral(v, inner)}`;
  });
  return `{\n${lines.join(',\n')},\n${indent}}`;
}

function oneLine(text: string): string {
  return text.replace(/[\r\n\u2028\u2029]+/g, ' ');
}

/**
 * A workflow's machine in the form Stately Studio imports: `createMachine({…})` code (paste it
 * into Studio's import, or open it with the XState VS Code extension) and the JSON config. The
 * diagram reads like the plan: each step's state carries its `description` (`name: description`)
 * and `meta.step` (step id, index, kind, tool); guards, actions and actors appear by name. For a
 * hand-written machine (`defineMachineWorkflow`), states keyed by a plan step id get the step's
 * description and meta when they have none.
 *
 * @example
 * ```ts
 * const { code, json } = exportStatelyMachine(workflow);
 * await writeFile('workflow.machine.ts', code);
 * ```
 */
export function exportStatelyMachine(workflow: InspectableWorkflow): StatelyMachineExport {
  const config = machineConfigJson(workflow.machine.config, workflow.plan);
  const { id: _id, description: configured, ...rest } = config;
  const description = configured ?? workflow.description ?? workflow.name;
  const ordered: JsonObject = {
    id: workflow.id,
    ...(description === undefined ? {} : { description }),
    ...rest,
  };
  const title = [workflow.name ?? workflow.id, workflow.version && `v${workflow.version}`]
    .filter(Boolean)
    .join(' ');
  const code = [
    `// ${oneLine(title)}: exported from mcp-orchestration for Stately Studio.`,
    `// Guards, actions and actors are referenced by name; provide them with machine.provide().`,
    `import { createMachine } from 'xstate';`,
    '',
    `export const machine = createMachine(${toLiteral(ordered, '')});`,
    '',
  ].join('\n');
  return { id: workflow.id, config: ordered, json: JSON.stringify(ordered, null, 2), code };
}
