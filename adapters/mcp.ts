/**
 * `mcp-orchestration/mcp`: tools of Model Context Protocol servers as router tool targets,
 * through the official `@modelcontextprotocol/sdk` client (an optional peer dependency, with
 * the `ajv` it ships, which checks arguments against each tool's input schema). Over any
 * transport (`connectMcpTools`), a child process over stdio (`connectMcpStdio`, Node only) or
 * Streamable HTTP (`connectMcpHttp`); one tool of a client you hold with `mcpToolTarget`. A set
 * that makes its own connection fails calls in flight as soon as it sees the connection lost,
 * and the connectors connect again at the next call (never sending a call twice). A connect
 * that fails rejects with `McpConnectError` (from `mcp-orchestration`), its `reason` saying why.
 */

export { connectMcpHttp, type McpHttpOptions } from './mcp/connect-mcp-http.js';
export { connectMcpStdio, type McpStdioOptions } from './mcp/connect-mcp-stdio.js';
export {
  type ConnectMcpToolsOptions,
  connectMcpTools,
  DEFAULT_MCP_CLIENT_INFO,
  type McpConnection,
  type McpToolSet,
} from './mcp/connect-mcp-tools.js';
export {
  type McpToolTarget,
  type McpToolTargetOptions,
  mcpToolTarget,
} from './mcp/mcp-tool-target.js';
