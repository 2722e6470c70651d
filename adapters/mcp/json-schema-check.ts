import type { ErrorObject, ValidateFunction } from 'ajv';
import { Ajv } from 'ajv';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import ajvFormats from 'ajv-formats';
import { issuePathToJsonPath } from '../../src/context/schema-validation.js';
import type { ValidationIssue } from '../../src/errors.js';

/**
 * Checks a value against a JSON Schema (a tool's input or output schema): `[]` when it passes,
 * else one issue per problem, with paths under the given prefix (e.g. `$.data.text`).
 */
export type JsonSchemaCheck = (value: unknown, prefix: string) => readonly ValidationIssue[];

type AnyAjv = Ajv | Ajv2019 | Ajv2020;

// ajv-formats is CommonJS: under NodeNext its default import is the module object.
const addFormats = ((ajvFormats as unknown as { default?: unknown }).default ??
  ajvFormats) as unknown as (ajv: AnyAjv) => AnyAjv;

/**
 * How many schemas one ajv instance compiles before it is replaced. ajv keeps every schema it
 * compiles, and the function compiled from it, in the instance's scope for good (`removeSchema`
 * only drops its cache entry): without a fresh instance now and then, each tool set opened (or
 * schema changed) would grow it for the life of the process. An instance costs about 36 KB and
 * under a millisecond to make, a compiled schema about 3.4 KB and half a millisecond.
 */
const COMPILES_PER_INSTANCE = 128;

type Dialect = '07' | '2019' | '2020';

/** One dialect's current ajv instance, and the checks it compiled, by the schema's JSON text. */
interface Compiler {
  readonly ajv: AnyAjv;
  /** Schemas compiled (or tried) by this instance, up to {@link COMPILES_PER_INSTANCE}. */
  compiles: number;
  readonly checks: Map<string, ValidateFunction>;
}

const compilers = new Map<Dialect, Compiler>();

/**
 * The dialect of a schema's `$schema`: draft-07 (and older) with `Ajv`, 2019-09 with `Ajv2019`,
 * anything else (2020-12, the default dialect of MCP, or none) with `Ajv2020`.
 */
function dialectOf(dialect: unknown): Dialect {
  const uri = typeof dialect === 'string' ? dialect : '';
  return /draft-0[4-7]/.test(uri) ? '07' : uri.includes('2019-09') ? '2019' : '2020';
}

/**
 * The compiler for a dialect, a new one (a fresh ajv instance, no checks) once the current one
 * has compiled {@link COMPILES_PER_INSTANCE} schemas. Set up like the SDK's own validator
 * (`strict: false`, formats checked, all errors).
 */
function compilerFor(kind: Dialect): Compiler {
  const current = compilers.get(kind);
  if (current !== undefined && current.compiles < COMPILES_PER_INSTANCE) return current;
  const options = {
    strict: false,
    validateSchema: false,
    allErrors: true,
    logger: false,
  } as const;
  const ajv =
    kind === '07'
      ? new Ajv(options)
      : kind === '2019'
        ? new Ajv2019(options)
        : new Ajv2020(options);
  addFormats(ajv);
  const compiler: Compiler = { ajv, compiles: 0, checks: new Map() };
  compilers.set(kind, compiler);
  return compiler;
}

/** Schemas compiled since the module was loaded (by every instance, cached checks not counted). */
let compiledTotal = 0;

/**
 * What the module holds, for tests: the schemas compiled since it was loaded and, per dialect
 * with an instance, the checks it keeps and the schemas its current ajv instance compiled.
 * @internal
 */
export function jsonSchemaCheckHoldings(): {
  readonly compiled: number;
  readonly dialects: Readonly<
    Record<string, { readonly checks: number; readonly compiles: number }>
  >;
} {
  const dialects: Record<string, { checks: number; compiles: number }> = {};
  for (const [kind, compiler] of compilers) {
    dialects[kind] = { checks: compiler.checks.size, compiles: compiler.compiles };
  }
  return { compiled: compiledTotal, dialects };
}

/** The most schemas one ajv instance compiles before it is replaced. @internal */
export const JSON_SCHEMA_COMPILES_PER_INSTANCE = COMPILES_PER_INSTANCE;

/** `/items/0/a~1b` → `['items', '0', 'a/b']`. */
function pointerSegments(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function toIssue(error: ErrorObject, prefix: string, value: unknown): ValidationIssue {
  const segments = pointerSegments(error.instancePath);
  const params = error.params as { missingProperty?: unknown; additionalProperty?: unknown };
  if (error.keyword === 'required' && typeof params.missingProperty === 'string') {
    segments.push(params.missingProperty);
    return { path: issuePathToJsonPath(segments, prefix, value), message: 'is required' };
  }
  if (error.keyword === 'additionalProperties' && typeof params.additionalProperty === 'string') {
    segments.push(params.additionalProperty);
    return { path: issuePathToJsonPath(segments, prefix, value), message: 'is not allowed' };
  }
  return {
    path: issuePathToJsonPath(segments, prefix, value),
    message: error.message ?? `fails ${error.keyword}`,
  };
}

/** The schema's JSON text (its key for compiled checks), or `undefined` when it has none. */
function jsonOf(schema: Readonly<Record<string, unknown>>): string | undefined {
  try {
    return JSON.stringify(schema);
  } catch {
    return undefined;
  }
}

/**
 * Compiles a tool's schema, with ajv (a dependency of the MCP SDK). A schema with the same JSON
 * text as one compiled lately (the same tool listed again at a reconnection or by another tool
 * set) gets the function compiled then. What this keeps is bounded: each ajv instance compiles at
 * most {@link COMPILES_PER_INSTANCE} schemas, then a fresh one takes its place (with no checks
 * kept), and the old one is freed once no check compiled by it is in use. Throws ajv's error when
 * the schema cannot be compiled (e.g. a `$ref` it cannot resolve).
 */
export function compileJsonSchemaCheck(schema: Readonly<Record<string, unknown>>): JsonSchemaCheck {
  const compiler = compilerFor(dialectOf(schema.$schema));
  const key = jsonOf(schema);
  let validate = key === undefined ? undefined : compiler.checks.get(key);
  if (validate === undefined) {
    compiler.compiles++;
    compiledTotal++;
    try {
      validate = compiler.ajv.compile(schema);
    } finally {
      // Out of ajv's cache and ids (a later schema may reuse this one's `$id`); its scope keeps
      // the schema and the function until the instance is replaced.
      compiler.ajv.removeSchema(schema);
    }
    if (key !== undefined) compiler.checks.set(key, validate);
  }
  const check = validate;
  return (value, prefix) => {
    if (check(value)) return [];
    return (check.errors ?? []).map((error) => toIssue(error, prefix, value));
  };
}
