/**
 * The keys each argument of the MCP functions takes, and the checks that refuse the others with
 * a `TypeError` naming them (and, when a key belongs to another argument or another function,
 * where it goes): `connectMcpTools({ transport, tools })` would otherwise ignore `tools`.
 * @internal
 */
import { assertKnownKeys, isRecord } from '../../src/objects.js';

/** The keys of `McpConnection` (the first argument of `connectMcpTools`). */
const CONNECTION_KEYS: ReadonlySet<string> = new Set(['client', 'transport', 'newTransport']);

/** The keys of `ConnectMcpToolsOptions`. */
const SET_KEYS: ReadonlySet<string> = new Set([
  'tools',
  'targetOptions',
  'perTool',
  'clientInfo',
  'signal',
  'connectTimeoutMs',
]);

/** The keys of `McpToolTargetOptions`. */
const TARGET_KEYS: ReadonlySet<string> = new Set([
  'targetId',
  'resultContextType',
  'timeoutMs',
  'toArguments',
  'validateInput',
  'validateOutput',
]);

/** The keys of `targetOptions`: those of a target but its id (each target needs its own). */
const SHARED_TARGET_KEYS: ReadonlySet<string> = new Set(
  [...TARGET_KEYS].filter((key) => key !== 'targetId'),
);

/** The keys `connectMcpStdio` takes besides the set's. */
export const STDIO_KEYS: ReadonlySet<string> = new Set(['command', 'args', 'env', 'cwd', 'stderr']);

/** The keys `connectMcpHttp` takes besides the set's. */
export const HTTP_KEYS: ReadonlySet<string> = new Set(['url', 'requestInit']);

/** Where a key of one of the other arguments or functions goes, by key. */
type Hints = (key: string) => string | undefined;

/**
 * Throws `TypeError` when `value` is not an object, or has keys outside `known`: the message of
 * `assertKnownKeys`, then for each key `hints` knows, where it goes.
 */
function assertKeys(
  value: unknown,
  known: ReadonlySet<string>,
  where: string,
  hints: Hints = () => undefined,
): asserts value is Record<string, unknown> {
  assertObject(value, where);
  try {
    assertKnownKeys(value, known, where);
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    const notes = Object.keys(value)
      .filter((key) => !known.has(key))
      .map(hints)
      .filter((note): note is string => note !== undefined);
    if (notes.length === 0) throw error;
    throw new TypeError(`${error.message}; ${notes.join('; ')}`);
  }
}

/** Where a key of another function's options goes (`command` to `connectMcpStdio`…). */
function connectorHint(key: string, self: string): string | undefined {
  if (STDIO_KEYS.has(key) && self !== 'connectMcpStdio') {
    return `${JSON.stringify(key)} is an option of connectMcpStdio({ command, args, … })`;
  }
  if (HTTP_KEYS.has(key) && self !== 'connectMcpHttp') {
    return `${JSON.stringify(key)} is an option of connectMcpHttp({ url, … })`;
  }
  return undefined;
}

/** Where an option of a target goes when given to a set: `targetOptions` or `perTool`. */
function targetHint(key: string): string | undefined {
  if (!TARGET_KEYS.has(key)) return undefined;
  const perTool = `{ perTool: { 'tool name': { ${key} } } }`;
  if (key === 'targetId') return `"targetId" is an option of one tool's target: ${perTool}`;
  return `${JSON.stringify(key)} is an option of the targets: { targetOptions: { ${key} } } for all of them, ${perTool} for one`;
}

/** Throws `TypeError` when `value` is not an object. */
function assertObject(value: unknown, where: string): asserts value is Record<string, unknown> {
  if (!isRecord(value)) {
    throw new TypeError(
      `${where} must be an object; got ${value === null ? 'null' : typeof value}`,
    );
  }
}

/**
 * Checks `targetOptions` and the entries of `perTool` (the keys of the options object itself
 * were checked by the caller). `fn` names the function in messages.
 */
function assertTargetOptions(options: Record<string, unknown>, fn: string): void {
  const { targetOptions, perTool } = options;
  if (targetOptions !== undefined) {
    assertKeys(targetOptions, SHARED_TARGET_KEYS, `${fn}: targetOptions`, (key) =>
      key === 'targetId'
        ? `"targetId" is one tool's: perTool: { 'tool name': { targetId } } (targets of one set need ids of their own)`
        : SET_KEYS.has(key)
          ? `${JSON.stringify(key)} is an option of ${fn} itself, next to targetOptions`
          : undefined,
    );
  }
  if (perTool !== undefined) {
    assertObject(perTool, `${fn}: perTool`);
    for (const [name, entry] of Object.entries(perTool)) {
      assertKeys(entry, TARGET_KEYS, `${fn}: perTool[${JSON.stringify(name)}]`, (key) =>
        SET_KEYS.has(key)
          ? `${JSON.stringify(key)} is an option of ${fn} itself, next to perTool`
          : undefined,
      );
    }
  }
}

/**
 * Checks the arguments of `connectMcpTools(connection, options)`: the connection takes one of
 * `client`, `transport` and `newTransport`, the options the set's; nothing else. @internal
 */
export function assertConnectArguments(connection: unknown, options: unknown): void {
  assertKeys(
    connection,
    CONNECTION_KEYS,
    'connectMcpTools: the connection (first argument)',
    (key) => {
      const given = isRecord(connection)
        ? (Object.keys(connection).find((k) => CONNECTION_KEYS.has(k)) ?? 'transport')
        : 'transport';
      if (SET_KEYS.has(key)) {
        return `${JSON.stringify(key)} is an option, in the second argument: connectMcpTools({ ${given} }, { ${key} })`;
      }
      return targetHint(key) ?? connectorHint(key, 'connectMcpTools');
    },
  );
  const given = Object.keys(connection).filter((key) => CONNECTION_KEYS.has(key));
  if (given.length !== 1) {
    throw new TypeError(
      `connectMcpTools: the connection (first argument) takes one of client, transport and newTransport; got ${given.length === 0 ? 'none' : given.join(' and ')}`,
    );
  }
  assertKeys(options, SET_KEYS, 'connectMcpTools: the options (second argument)', (key) => {
    if (CONNECTION_KEYS.has(key)) {
      return `${JSON.stringify(key)} goes in the first argument: connectMcpTools({ ${key} }, options)`;
    }
    return targetHint(key) ?? connectorHint(key, 'connectMcpTools');
  });
  assertTargetOptions(options, 'connectMcpTools');
}

/**
 * Checks the options of a connector (`connectMcpStdio`, `connectMcpHttp`): its own keys and the
 * set's; nothing else. @internal
 */
export function assertConnectorOptions(
  options: unknown,
  fn: 'connectMcpStdio' | 'connectMcpHttp',
  own: ReadonlySet<string>,
): void {
  const known = new Set([...own, ...SET_KEYS]);
  assertKeys(options, known, `${fn}: options`, (key) => {
    if (CONNECTION_KEYS.has(key)) {
      return `${JSON.stringify(key)} is for a connection of your own: connectMcpTools({ ${key} }, options)`;
    }
    return targetHint(key) ?? connectorHint(key, fn);
  });
  assertTargetOptions(options, fn);
}

/** Checks the options of `mcpToolTarget`: a target's; nothing else. @internal */
export function assertTargetOptionsOf(options: unknown): void {
  assertKeys(options, TARGET_KEYS, 'mcpToolTarget: options', (key) =>
    SET_KEYS.has(key) || CONNECTION_KEYS.has(key)
      ? `${JSON.stringify(key)} is an option of connectMcpTools`
      : connectorHint(key, 'mcpToolTarget'),
  );
}
