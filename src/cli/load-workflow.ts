import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Context, JsonValue, RuntimeWorkflow } from 'mcp-orchestration';
import { CliError } from './cli-error.js';

/** What a workflow module gives the command line. */
export interface LoadedWorkflow {
  /** The module's default export, else its `workflow` export. */
  readonly workflow: RuntimeWorkflow;
  /** The module's `input` export (the run's input when `--input` is not given), if any. */
  readonly input: Context | JsonValue | undefined;
  /** The module's absolute path. */
  readonly path: string;
}

const TYPESCRIPT = /\.[cm]?tsx?$/;

function isWorkflow(value: unknown): value is RuntimeWorkflow {
  const candidate = value as { id?: unknown; version?: unknown; machine?: unknown } | null;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.id === 'string' &&
    typeof candidate.version === 'string' &&
    typeof candidate.machine === 'object' &&
    candidate.machine !== null
  );
}

/** Imports a module; a TypeScript one through tsx when Node cannot load it by itself. */
async function importModule(path: string): Promise<Record<string, unknown>> {
  const url = pathToFileURL(path).href;
  try {
    return (await import(url)) as Record<string, unknown>;
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    if (code !== 'ERR_UNKNOWN_FILE_EXTENSION' || !TYPESCRIPT.test(path))
      throw loadError(path, error);
  }
  let api: typeof import('tsx/esm/api');
  try {
    api = await import('tsx/esm/api');
  } catch (error) {
    throw new CliError(
      'MISSING_DEPENDENCY',
      `${path} is TypeScript: install tsx (npm install -D tsx) or compile it to JavaScript`,
      { cause: error },
    );
  }
  try {
    // A scoped import: Node keeps the failed attempt above cached under the plain URL.
    return (await api.tsImport(url, import.meta.url)) as Record<string, unknown>;
  } catch (error) {
    throw loadError(path, error);
  }
}

/**
 * Why a module failed to load (a syntax error, a missing import, a throw at its top level), as
 * a `BAD_WORKFLOW_FILE` error naming the module: the error alone rarely says which file.
 */
function loadError(path: string, error: unknown): CliError {
  const reason = error instanceof Error ? error.message : String(error);
  return new CliError('BAD_WORKFLOW_FILE', `Cannot load workflow module ${path}: ${reason}`, {
    cause: error,
  });
}

/**
 * Imports a workflow module: its default export (or named `workflow`) must be a workflow made by
 * `defineWorkflow` or `defineMachineWorkflow`; an optional `input` export is the default input.
 * TypeScript modules load through tsx when it is installed.
 */
export async function loadWorkflowModule(file: string): Promise<LoadedWorkflow> {
  const path = resolve(file);
  const found = await stat(path).catch(() => undefined);
  if (found === undefined || !found.isFile()) {
    throw new CliError('FILE_NOT_FOUND', `No workflow module at ${path}`);
  }
  const imported = await importModule(path);
  // A module Node loaded as CommonJS (e.g. TypeScript outside a "type": "module" package) has
  // its exports under `default`.
  const nested = imported.default as Record<string, unknown> | null | undefined;
  const module =
    isWorkflow(imported.default) || isWorkflow(imported.workflow) || typeof nested !== 'object'
      ? imported
      : (nested ?? imported);
  const workflow = isWorkflow(module.default) ? module.default : module.workflow;
  if (!isWorkflow(workflow)) {
    throw new CliError(
      'BAD_WORKFLOW_FILE',
      `${path} exports no workflow: export default (or export const workflow =) a defineWorkflow(...) or defineMachineWorkflow(...)`,
    );
  }
  return { workflow, input: module.input as Context | JsonValue | undefined, path };
}
