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

const instances = new Map<string, AnyAjv>();

/**
 * The ajv instance for a schema's `$schema`: draft-07 (and older) with `Ajv`, 2019-09 with
 * `Ajv2019`, anything else (2020-12, the default dialect of MCP, or none) with `Ajv2020`. Set up
 * like the SDK's own validator (`strict: false`, formats checked, all errors).
 */
function ajvFor(dialect: unknown): AnyAjv {
  const uri = typeof dialect === 'string' ? dialect : '';
  const kind = /draft-0[4-7]/.test(uri) ? '07' : uri.includes('2019-09') ? '2019' : '2020';
  let ajv = instances.get(kind);
  if (!ajv) {
    const options = {
      strict: false,
      validateSchema: false,
      allErrors: true,
      logger: false,
    } as const;
    ajv =
      kind === '07'
        ? new Ajv(options)
        : kind === '2019'
          ? new Ajv2019(options)
          : new Ajv2020(options);
    addFormats(ajv);
    instances.set(kind, ajv);
  }
  return ajv;
}

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

/**
 * Compiles a tool's schema once, with ajv (a dependency of the MCP SDK); the schema is not kept
 * in ajv's cache, so reconnecting does not grow it. Throws ajv's error when the schema cannot be
 * compiled (e.g. a `$ref` it cannot resolve).
 */
export function compileJsonSchemaCheck(schema: Readonly<Record<string, unknown>>): JsonSchemaCheck {
  const ajv = ajvFor(schema.$schema);
  let validate: ValidateFunction;
  try {
    validate = ajv.compile(schema);
  } finally {
    ajv.removeSchema(schema);
  }
  return (value, prefix) => {
    if (validate(value)) return [];
    return (validate.errors ?? []).map((error) => toIssue(error, prefix, value));
  };
}
