import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  type CallToolResult,
  ListToolsResultSchema,
  McpError,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import type { Context } from '../../src/context/context.js';
import { createContext } from '../../src/context/create-context.js';
import { InvalidIdError, ToolCallError, ToolInputError } from '../../src/errors.js';
import { assertValidId, isValidId, MAX_ID_LENGTH } from '../../src/ids.js';
import { assertJson, type JsonObject, type JsonValue } from '../../src/json.js';
import type { TargetCallHelpers, ToolTarget } from '../../src/router/routing-target.js';
import { assertTimerDelay, MAX_TIMER_DELAY_MS } from '../../src/timer-delay.js';
import { compileJsonSchemaCheck, type JsonSchemaCheck } from './json-schema-check.js';
import { assertTargetOptionsOf } from './option-keys.js';

/** Options of {@link mcpToolTarget} (and of each target of `connectMcpTools`). */
export interface McpToolTargetOptions {
  /**
   * The target's id, a valid storage id (`A-Z a-z 0-9 _ . -`, at most 200 characters). Default:
   * the tool's name, so a tool named e.g. `fs/read` needs one.
   */
  readonly targetId?: string;
  /**
   * Type name of the result contexts. Default: `` `${toolName}.result` ``, or
   * `` `${targetId}.result` `` when that is not a valid id (e.g. for a tool named `fs/read`, or
   * one of 194 to 200 characters, whose name and `.result` pass the 200 an id may have). When
   * neither is a valid id (no `targetId` of at most 193 characters), give one.
   */
  readonly resultContextType?: string;
  /**
   * Longest a call may wait for its answer, in ms; then it fails with `ToolCallError`
   * (`reason: 'timeout'`) and the server is told to cancel. From 1 to 2 147 483 647 (about 24.8
   * days, the longest timer delay), or `Infinity` for no practical limit (that longest delay);
   * anything else is a `TypeError`. Default: 60 000 (the SDK's).
   */
  readonly timeoutMs?: number;
  /**
   * Builds the tool's arguments from the context (issue paths then start at `$.arguments`).
   * Default: the context's data, which must be a JSON object (paths start at `$.data`).
   */
  readonly toArguments?: (context: Context) => JsonObject;
  /** Check the arguments against the tool's input schema before sending. Default: true. */
  readonly validateInput?: boolean;
  /**
   * Check the structured content of an answer against the tool's output schema, when it has
   * one. Default: true.
   */
  readonly validateOutput?: boolean;
}

/** A {@link ToolTarget} that calls one tool of an MCP server. */
export interface McpToolTarget extends ToolTarget {
  /** The tool's name on the server. */
  readonly toolName: string;
  /**
   * The tool as the server lists it (name, description, input and output schemas…); after a
   * reconnection, as the server lists it then.
   */
  readonly tool: Tool;
}

/**
 * What targets call through: an SDK client, and the tools its server lists on the current
 * connection. @internal
 */
export interface McpToolSource {
  /** The client the calls go through. */
  readonly client: Client;
  /**
   * The tools the server lists, by name, once the client is connected (connected again first
   * when the connection was lost and the source can make a new one). Rejects with the signal's
   * reason once it is aborted, or with `ToolCallError` (`reason: 'disconnected'`) when there is
   * no connection to call over.
   */
  ready(target: McpToolTarget, signal: AbortSignal): Promise<ReadonlyMap<string, Tool>>;
}

/** The tools by name; the first of a name wins, as `tools/list` lists them. @internal */
export function toolsByName(tools: readonly Tool[]): ReadonlyMap<string, Tool> {
  const byName = new Map<string, Tool>();
  for (const tool of tools) if (!byName.has(tool.name)) byName.set(tool.name, tool);
  return byName;
}

/** A `ToolCallError` (`reason: 'disconnected'`) of a target. @internal */
export function disconnectedError(
  target: McpToolTarget,
  message: string,
  cause?: unknown,
): ToolCallError {
  return new ToolCallError(
    target.targetId,
    target.toolName,
    'disconnected',
    message,
    cause === undefined ? undefined : { cause },
  );
}

/**
 * A source over a client that is never connected again (an injected client, or a set made over
 * one transport): the tools listed once; no connection, no call. @internal
 */
export function fixedToolSource(client: Client, tools: readonly Tool[]): McpToolSource {
  const byName = toolsByName(tools);
  return {
    client,
    async ready(target, signal) {
      signal.throwIfAborted();
      if (client.transport === undefined) {
        throw disconnectedError(target, 'the client is not connected to the MCP server');
      }
      return byName;
    },
  };
}

/**
 * `timeoutMs` as a timer delay: `Infinity` is the longest; a value out of 1..2^31 − 1 (or not
 * a number) is a `TypeError`, where Node would fire the timer at once.
 */
function timeoutOf(timeoutMs: number | undefined, toolName: string): number | undefined {
  if (timeoutMs === undefined) return undefined;
  assertTimerDelay(`timeoutMs of tool ${toolName}`, timeoutMs, 'no practical limit');
  return Math.min(timeoutMs, MAX_TIMER_DELAY_MS);
}

/** What `assertJson` says of a value that is not JSON, or `undefined` when it is. */
function notJsonReason(value: unknown, path: string): string | undefined {
  try {
    assertJson(value, { path });
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** A tool's name as messages show it: JSON-quoted, cut after 80 characters. */
function shownName(tool: Tool): string {
  return tool.name.length > 80
    ? `${JSON.stringify(tool.name.slice(0, 80))}…`
    : JSON.stringify(tool.name);
}

/**
 * The target's id: the given one, else the tool's name, which must then be a valid id; an
 * invalid name is an `InvalidIdError` that says how to get past it.
 */
function targetIdOf(tool: Tool, options: McpToolTargetOptions): string {
  const targetId = options.targetId ?? tool.name;
  try {
    assertValidId('target', targetId);
  } catch (error) {
    if (options.targetId !== undefined || !(error instanceof InvalidIdError)) throw error;
    const suggested = tool.name
      .replace(/[^A-Za-z0-9_.-]/g, '_')
      .replace(/^[.-]+/, '')
      .slice(0, 64);
    const example = JSON.stringify(isValidId(suggested) ? suggested : 'my_tool');
    const name = shownName(tool);
    throw new InvalidIdError(
      'target',
      targetId,
      `${error.reason}; the tool's name is not a valid target id: give its target one (perTool: { ${name}: { targetId: ${example} } }, or targetId with mcpToolTarget), or leave the tool out with the tools option`,
    );
  }
  return targetId;
}

/**
 * The type of the target's result contexts: the given one, else `<tool name>.result`, else
 * `<target id>.result`. When neither fits in an id (a name or target id of 194 to 200
 * characters), an `InvalidIdError` naming the tool and the options that fix it, rather than a
 * type the documentation does not predict (and two long names could share).
 */
function resultTypeOf(tool: Tool, targetId: string, options: McpToolTargetOptions): string {
  if (options.resultContextType !== undefined) {
    assertValidId('context type', options.resultContextType);
    return options.resultContextType;
  }
  const byName = `${tool.name}.result`;
  if (isValidId(byName)) return byName;
  const byId = `${targetId}.result`;
  if (isValidId(byId)) return byId;
  const name = shownName(tool);
  const suggested = `${targetId.slice(0, 64)}.result`;
  const example = JSON.stringify(isValidId(suggested) ? suggested : 'my_tool.result');
  const from = options.targetId === undefined ? "the tool's name" : 'its target id';
  throw new InvalidIdError(
    'context type',
    byId,
    `it is longer than ${MAX_ID_LENGTH} characters; the default result type of tool ${name} is ${from} and ".result": give its target a resultContextType (perTool: { ${name}: { resultContextType: ${example} } }, or resultContextType with mcpToolTarget), or a targetId of at most ${MAX_ID_LENGTH - '.result'.length} characters (the result type is then its target id and ".result")`,
  );
}

/** The checks of a tool's arguments and answers, compiled from its schemas. */
interface ToolChecks {
  readonly tool: Tool;
  readonly input: JsonSchemaCheck | undefined;
  readonly output: JsonSchemaCheck | undefined;
}

/**
 * Compiles the checks of a tool (as `options` ask); throws `ToolCallError` (`protocol`) naming
 * the way out when a schema cannot be compiled. Reuses `previous` checks whose schema is the same.
 */
function checksOf(
  tool: Tool,
  targetId: string,
  options: McpToolTargetOptions,
  previous?: ToolChecks,
): ToolChecks {
  const compile = (which: 'input' | 'output', schema: Tool['inputSchema']): JsonSchemaCheck => {
    try {
      return compileJsonSchemaCheck(schema);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new ToolCallError(
        targetId,
        tool.name,
        'protocol',
        `its ${which} schema cannot be compiled: ${reason} (pass validate${which === 'input' ? 'Input' : 'Output'}: false to skip the check, or leave the tool out with the tools option)`,
        { cause: error },
      );
    }
  };
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  const input =
    options.validateInput === false
      ? undefined
      : previous?.input !== undefined && same(previous.tool.inputSchema, tool.inputSchema)
        ? previous.input
        : compile('input', tool.inputSchema);
  const output =
    options.validateOutput === false || tool.outputSchema === undefined
      ? undefined
      : previous?.output !== undefined && same(previous.tool.outputSchema, tool.outputSchema)
        ? previous.output
        : compile('output', tool.outputSchema);
  return { tool, input, output };
}

/** The text of an answer's text blocks, one per line. */
function textOf(result: CallToolResult): string {
  return result.content.flatMap((block) => (block.type === 'text' ? [block.text] : [])).join('\n');
}

/** An answer's other blocks (images, audio, resources, resource links), as the server sent them. */
function otherBlocksOf(result: CallToolResult): unknown[] {
  return result.content.filter((block) => block.type !== 'text');
}

/**
 * Whether the SDK threw a JSON-RPC error (`McpError`, by class or by name should two copies of
 * the SDK meet); its `StreamableHTTPError` also has a numeric `code`, an HTTP status.
 */
function isRpcError(error: unknown): error is McpError {
  return (
    error instanceof McpError ||
    (error instanceof Error &&
      error.name === 'McpError' &&
      typeof (error as { code?: unknown }).code === 'number')
  );
}

/**
 * Turns what the SDK threw into a {@link ToolCallError}. Once the caller's signal is aborted the
 * call fails with the signal's reason, whatever the SDK threw: it rejects an aborted request
 * with the reason wrapped in an `McpError` -32001 (its timeout code, unless the reason is an
 * `McpError` already), which would otherwise read as a timeout.
 */
function callFailure(error: unknown, target: McpToolTarget, signal: AbortSignal): unknown {
  if (signal.aborted) return signal.reason;
  const { targetId, toolName } = target;
  if (!isRpcError(error)) {
    const message = error instanceof Error ? error.message : String(error);
    return new ToolCallError(targetId, toolName, 'transport', message, { cause: error });
  }
  const reason =
    error.code === -32001 ? 'timeout' : error.code === -32000 ? 'disconnected' : 'protocol';
  return new ToolCallError(targetId, toolName, reason, error.message, {
    cause: error,
    rpcCode: error.code,
  });
}

/** The tool's arguments from the context, or the issues that stop the call. */
function argumentsOf(
  context: Context,
  options: McpToolTargetOptions,
  check: JsonSchemaCheck | undefined,
  target: McpToolTarget,
): JsonObject {
  const prefix = options.toArguments ? '$.arguments' : '$.data';
  const args: unknown = options.toArguments ? options.toArguments(context) : context.data;
  if (args === null || typeof args !== 'object' || Array.isArray(args)) {
    throw new ToolInputError(target.targetId, target.toolName, [
      { path: prefix, message: "is not a JSON object (a tool's arguments are one)" },
    ]);
  }
  const issues = check?.(args, prefix) ?? [];
  if (issues.length > 0) throw new ToolInputError(target.targetId, target.toolName, issues);
  return args as JsonObject;
}

/**
 * The result context of a successful answer: its structured content (checked against the
 * tool's output schema, if any), else `{ text }` with its text blocks, plus `content` with its
 * other blocks (images, audio, resources, links) when it has any, so nothing it sent is dropped.
 */
function resultContext(
  result: CallToolResult,
  context: Context,
  target: McpToolTarget,
  contextType: string,
  outputCheck: JsonSchemaCheck | undefined,
): Context {
  const structured = result.structuredContent;
  const fail = (message: string) =>
    new ToolCallError(target.targetId, target.toolName, 'protocol', message);
  const notJson =
    structured === undefined ? undefined : notJsonReason(structured, '$.structuredContent');
  if (notJson !== undefined) throw fail(`the structured content is not JSON: ${notJson}`);
  if (outputCheck !== undefined) {
    // The SDK checks too when it listed the tools itself (its listTools), only for the last
    // page: the sets list without it (it compiles every output schema, wanted or not).
    if (structured === undefined) {
      throw fail('the tool has an output schema but no structured content');
    }
    const issue = outputCheck(structured, '$.structuredContent')[0];
    if (issue) {
      const where = `${issue.path}: ${issue.message}`;
      throw fail(`the structured content does not match the output schema: ${where}`);
    }
  }
  // Checked above: JSON.
  let data = structured as JsonValue;
  let resultKind = 'structured';
  if (structured === undefined) {
    const others = otherBlocksOf(result);
    if (others.length === 0) {
      data = { text: textOf(result) };
      resultKind = 'text';
    } else {
      const blocksNotJson = notJsonReason(result.content, '$.content');
      if (blocksNotJson !== undefined) throw fail(`a content block is not JSON: ${blocksNotJson}`);
      data = { text: textOf(result), content: others as JsonValue[] };
      resultKind = 'content';
    }
  }
  return createContext(contextType, data, {
    metadata: {
      tool: target.toolName,
      targetId: target.targetId,
      inputContextId: context.contextId,
      resultKind,
    },
  });
}

/**
 * Builds the target of a tool the server listed (`connectMcpTools` lists once for all tools),
 * calling through `source`. Checks the options, the target id and the tool's schemas now.
 * @internal
 */
export function toolTargetOf(
  source: McpToolSource,
  tool: Tool,
  options: McpToolTargetOptions = {},
): McpToolTarget {
  const targetId = targetIdOf(tool, options);
  const contextType = resultTypeOf(tool, targetId, options);
  const timeout = timeoutOf(options.timeoutMs, tool.name);
  let checks = checksOf(tool, targetId, options);
  const target: McpToolTarget = {
    targetType: 'tool',
    targetId,
    toolName: tool.name,
    get tool() {
      return checks.tool;
    },
    ...(tool.description === undefined ? {} : { description: tool.description }),
    async call(context: Context, helpers: TargetCallHelpers): Promise<Context> {
      const { signal } = helpers;
      signal.throwIfAborted();
      const listed = (await source.ready(target, signal)).get(tool.name);
      if (listed === undefined) {
        throw new ToolCallError(
          targetId,
          tool.name,
          'unknown-tool',
          'the server no longer lists this tool (it did when the set connected)',
        );
      }
      // Listed again after a reconnection: the checks follow the schemas it has now.
      if (listed !== checks.tool) checks = checksOf(listed, targetId, options, checks);
      const args = argumentsOf(context, options, checks.input, target);
      if (listed.execution?.taskSupport === 'required') {
        throw new ToolCallError(
          targetId,
          tool.name,
          'protocol',
          'the tool requires task-based execution, which these targets do not use',
        );
      }
      let result: CallToolResult;
      try {
        result = (await source.client.callTool({ name: tool.name, arguments: args }, undefined, {
          signal,
          ...(timeout === undefined ? {} : { timeout }),
        })) as CallToolResult;
      } catch (error) {
        throw callFailure(error, target, signal);
      }
      if (result.isError === true) {
        throw new ToolCallError(targetId, tool.name, 'tool-error', textOf(result) || 'no message');
      }
      return resultContext(result, context, target, contextType, checks.output);
    },
  };
  return target;
}

/**
 * Every tool the server lists, following pagination. Sends `tools/list` itself rather than
 * through the client's `listTools`, which compiles the output schema of every tool listed (a
 * schema it cannot compile would fail the listing, even of a tool not wanted). @internal
 */
export async function listAllTools(
  client: Client,
  signal?: AbortSignal,
  timeout?: number,
): Promise<Tool[]> {
  const tools: Tool[] = [];
  let cursor: string | undefined;
  do {
    const page = await client.request(
      { method: 'tools/list', params: cursor === undefined ? {} : { cursor } },
      ListToolsResultSchema,
      timeout === undefined ? { signal } : { signal, timeout },
    );
    tools.push(...page.tools);
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return tools;
}

/**
 * A {@link ToolTarget} for one tool of an MCP server, through a connected SDK `Client` (yours:
 * the target never closes it). Lists the server's tools to find the tool's input schema, so
 * that each call checks its arguments first. A call sends the context's data as the tool's
 * arguments and turns the answer into the result context: its `structuredContent` (checked
 * against the tool's output schema) when present, else `{ text }`, the text blocks one
 * per line. Failures: arguments the schema refuses → {@link ToolInputError} (nothing sent); an
 * error result (`isError`), a timeout, a closed connection → {@link ToolCallError}; an abort of
 * `helpers.signal` rejects with the signal's reason (the server is told to cancel).
 *
 * Throws `ToolCallError` (`reason: 'unknown-tool'`) when the server has no such tool, and
 * `TypeError` for a key the options do not take.
 *
 * @example
 * ```ts
 * const client = new Client({ name: 'my-app', version: '1.0.0' });
 * await client.connect(new StreamableHTTPClientTransport(new URL('http://127.0.0.1:3000/mcp')));
 * const wordCount = await mcpToolTarget(client, 'word_count');
 * const result = await wordCount.call(createContext('Doc', { text: 'Hello world' }), helpers);
 * result.data; // { words: 2, characters: 11, sentences: 1 }
 * ```
 */
export async function mcpToolTarget(
  client: Client,
  toolName: string,
  options: McpToolTargetOptions = {},
): Promise<McpToolTarget> {
  assertTargetOptionsOf(options);
  const tool = (await listAllTools(client)).find((candidate) => candidate.name === toolName);
  if (tool === undefined) {
    throw new ToolCallError(
      options.targetId ?? toolName,
      toolName,
      'unknown-tool',
      'the server lists no tool of this name',
    );
  }
  return toolTargetOf(fixedToolSource(client, [tool]), tool, options);
}
