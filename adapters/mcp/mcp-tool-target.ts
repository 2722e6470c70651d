import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { type CallToolResult, McpError, type Tool } from '@modelcontextprotocol/sdk/types.js';
import type { Context } from '../../src/context/context.js';
import { createContext } from '../../src/context/create-context.js';
import { ToolCallError, ToolInputError } from '../../src/errors.js';
import { assertValidId } from '../../src/ids.js';
import { isJson, type JsonObject, type JsonValue } from '../../src/json.js';
import type { TargetCallHelpers, ToolTarget } from '../../src/router/routing-target.js';
import { compileJsonSchemaCheck, type JsonSchemaCheck } from './json-schema-check.js';

/** Options of {@link mcpToolTarget} (and of each target of `connectMcpTools`). */
export interface McpToolTargetOptions {
  /** The target's id, a valid storage id. Default: the tool's name. */
  readonly targetId?: string;
  /** Type name of the result contexts. Default: `` `${toolName}.result` ``. */
  readonly resultContextType?: string;
  /**
   * Longest a call may wait for its answer, in ms; then it fails with `ToolCallError`
   * (`reason: 'timeout'`) and the server is told to cancel. Default: 60 000 (the SDK's).
   */
  readonly timeoutMs?: number;
  /**
   * Builds the tool's arguments from the context (issue paths then start at `$.arguments`).
   * Default: the context's data, which must be a JSON object (paths start at `$.data`).
   */
  readonly toArguments?: (context: Context) => JsonObject;
  /** Check the arguments against the tool's input schema before sending. Default: true. */
  readonly validateInput?: boolean;
}

/** A {@link ToolTarget} that calls one tool of an MCP server. */
export interface McpToolTarget extends ToolTarget {
  /** The tool's name on the server. */
  readonly toolName: string;
  /** The tool as the server lists it (name, description, input and output schemas…). */
  readonly tool: Tool;
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
  if (structured !== undefined && !isJson(structured)) {
    throw fail('the structured content is not JSON');
  }
  if (outputCheck !== undefined) {
    // The SDK checks too, but only for tools on the last page it listed: check here as well.
    if (structured === undefined) {
      throw fail('the tool has an output schema but no structured content');
    }
    const issue = outputCheck(structured, '$.structuredContent')[0];
    if (issue) {
      const where = `${issue.path}: ${issue.message}`;
      throw fail(`the structured content does not match the output schema: ${where}`);
    }
  }
  let data: JsonValue | undefined = structured;
  let resultKind = 'structured';
  if (data === undefined) {
    const others = otherBlocksOf(result);
    if (others.length === 0) {
      data = { text: textOf(result) };
      resultKind = 'text';
    } else {
      if (!isJson(others)) throw fail('a content block is not JSON');
      data = { text: textOf(result), content: others };
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
 * Builds the target of a tool the server listed (`connectMcpTools` lists once for all tools).
 * @internal
 */
export function toolTargetOf(
  client: Client,
  tool: Tool,
  options: McpToolTargetOptions = {},
): McpToolTarget {
  const targetId = options.targetId ?? tool.name;
  assertValidId('target', targetId);
  const contextType = options.resultContextType ?? `${tool.name}.result`;
  assertValidId('context type', contextType);
  const compile = (which: 'input' | 'output', schema: Tool['inputSchema']): JsonSchemaCheck => {
    try {
      return compileJsonSchemaCheck(schema);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      const hint = which === 'input' ? ' (pass validateInput: false to skip the check)' : '';
      throw new ToolCallError(
        targetId,
        tool.name,
        'protocol',
        `its ${which} schema cannot be compiled: ${reason}${hint}`,
        { cause: error },
      );
    }
  };
  const check = options.validateInput === false ? undefined : compile('input', tool.inputSchema);
  const outputCheck = tool.outputSchema && compile('output', tool.outputSchema);
  const target: McpToolTarget = {
    targetType: 'tool',
    targetId,
    toolName: tool.name,
    tool,
    ...(tool.description === undefined ? {} : { description: tool.description }),
    async call(context: Context, helpers: TargetCallHelpers): Promise<Context> {
      const { signal } = helpers;
      signal.throwIfAborted();
      const args = argumentsOf(context, options, check, target);
      if (client.transport === undefined) {
        throw new ToolCallError(
          targetId,
          tool.name,
          'disconnected',
          'the client is not connected to the MCP server',
        );
      }
      let result: CallToolResult;
      try {
        result = (await client.callTool({ name: tool.name, arguments: args }, undefined, {
          signal,
          ...(options.timeoutMs === undefined ? {} : { timeout: options.timeoutMs }),
        })) as CallToolResult;
      } catch (error) {
        throw callFailure(error, target, signal);
      }
      if (result.isError === true) {
        throw new ToolCallError(targetId, tool.name, 'tool-error', textOf(result) || 'no message');
      }
      return resultContext(result, context, target, contextType, outputCheck);
    },
  };
  return target;
}

/** Every tool the server lists, following pagination. @internal */
export async function listAllTools(client: Client, signal?: AbortSignal): Promise<Tool[]> {
  const tools: Tool[] = [];
  let cursor: string | undefined;
  do {
    const page = await client.listTools(cursor === undefined ? {} : { cursor }, { signal });
    tools.push(...page.tools);
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return tools;
}

/**
 * A {@link ToolTarget} for one tool of an MCP server, through a connected SDK `Client` (yours:
 * the target never closes it). Lists the server's tools to find the tool's input schema, so
 * that each call checks its arguments first. A call sends the context's data as the tool's
 * arguments and turns the answer into the result context: its `structuredContent` (checked by
 * the SDK against the tool's output schema) when present, else `{ text }`, the text blocks one
 * per line. Failures: arguments the schema refuses → {@link ToolInputError} (nothing sent); an
 * error result (`isError`), a timeout, a closed connection → {@link ToolCallError}; an abort of
 * `helpers.signal` rejects with the signal's reason (the server is told to cancel).
 *
 * Throws `ToolCallError` (`reason: 'unknown-tool'`) when the server has no such tool.
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
  const tool = (await listAllTools(client)).find((candidate) => candidate.name === toolName);
  if (tool === undefined) {
    throw new ToolCallError(
      options.targetId ?? toolName,
      toolName,
      'unknown-tool',
      'the server lists no tool of this name',
    );
  }
  return toolTargetOf(client, tool, options);
}
