/**
 * What the MCP functions refuse before connecting: keys their arguments do not take (a typo, or
 * an option in the wrong argument, as in `connectMcpTools({ transport, tools })`), each a
 * `TypeError` naming the key and where it goes; and a tool whose default result type would not
 * fit in an id (a name of 194 to 200 characters), an `InvalidIdError` naming the options that
 * fix it.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  ListToolsRequestSchema,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import { createContext, InvalidIdError } from 'mcp-orchestration';
import {
  connectMcpHttp,
  connectMcpStdio,
  connectMcpTools,
  mcpToolTarget,
} from 'mcp-orchestration/mcp';
import { describe, expect, it } from 'vitest';
import { helpers } from './text-tools-server.js';

const textInput = { type: 'object' as const, properties: { text: { type: 'string' } } };

/** A server listing `tools`, each answering `ok`; `calls` counts the requests it got. */
function serverWith(tools: readonly Tool[]): { server: Server; requests: string[] } {
  const requests: string[] = [];
  const server = new Server({ name: 'args', version: '1.0.0' }, { capabilities: { tools: {} } });
  server.setRequestHandler(ListToolsRequestSchema, () => {
    requests.push('tools/list');
    return { tools: [...tools] };
  });
  server.setRequestHandler(CallToolRequestSchema, () => ({
    content: [{ type: 'text', text: 'ok' }],
  }));
  return { server, requests };
}

/** The client side of an in-memory pair served by a server listing `echo`. */
function transport(): { transport: InMemoryTransport; requests: string[] } {
  const { server, requests } = serverWith([{ name: 'echo', inputSchema: textInput }]);
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  void server.connect(serverSide);
  return { transport: clientSide, requests };
}

/** What `promise` rejects with, which must be a `TypeError`. */
async function typeError(promise: Promise<unknown>): Promise<TypeError> {
  const error = await promise.then(
    () => {
      throw new Error('expected a TypeError');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TypeError);
  return error as TypeError;
}

// The arguments are of the wrong shape on purpose.
// biome-ignore lint/suspicious/noExplicitAny: calls with keys the types refuse
type Loose = any;

describe('connectMcpTools refuses keys its arguments do not take', () => {
  it('an option in the connection: names it and the second argument, connects nothing', async () => {
    const { transport: t, requests } = transport();
    const error = await typeError(connectMcpTools({ transport: t, tools: ['echo'] } as Loose));
    expect(error.message).toBe(
      'connectMcpTools: the connection (first argument): unknown option "tools" (known: client, transport, newTransport); "tools" is an option, in the second argument: connectMcpTools({ transport }, { tools })',
    );
    expect(requests).toEqual([]);
    // The same with a client, and with newTransport.
    const client = new Client({ name: 'c', version: '1' });
    expect(
      (await typeError(connectMcpTools({ client, signal: undefined } as Loose))).message,
    ).toContain('connectMcpTools({ client }, { signal })');
    expect(
      (await typeError(connectMcpTools({ newTransport: () => t, connectTimeoutMs: 5 } as Loose)))
        .message,
    ).toContain('connectMcpTools({ newTransport }, { connectTimeoutMs })');
  });

  it('a typo, a target option, a connector option in the connection', async () => {
    const { transport: t } = transport();
    const typo = await typeError(connectMcpTools({ transprot: t } as Loose));
    expect(typo.message).toContain('unknown option "transprot"');
    expect(typo.message).toContain('(known: client, transport, newTransport)');
    const target = await typeError(connectMcpTools({ transport: t, timeoutMs: 5 } as Loose));
    expect(target.message).toContain('"timeoutMs" is an option of the targets');
    expect(target.message).toContain('{ targetOptions: { timeoutMs } }');
    const stdio = await typeError(connectMcpTools({ command: 'node' } as Loose));
    expect(stdio.message).toContain('"command" is an option of connectMcpStdio');
    const http = await typeError(connectMcpTools({ url: 'http://h/mcp' } as Loose));
    expect(http.message).toContain('"url" is an option of connectMcpHttp');
  });

  it('takes one connection: not none, not two', async () => {
    const { transport: t } = transport();
    const client = new Client({ name: 'c', version: '1' });
    expect((await typeError(connectMcpTools({} as Loose))).message).toContain(
      'takes one of client, transport and newTransport; got none',
    );
    expect((await typeError(connectMcpTools({ client, transport: t } as Loose))).message).toContain(
      'got client and transport',
    );
    expect((await typeError(connectMcpTools(undefined as Loose))).message).toContain(
      'must be an object',
    );
  });

  it('an unknown key in the options: the connection keys are the first argument', async () => {
    const { transport: t, requests } = transport();
    const misplaced = await typeError(connectMcpTools({ transport: t }, { transport: t } as Loose));
    expect(misplaced.message).toContain('unknown option "transport"');
    expect(misplaced.message).toContain(
      '"transport" goes in the first argument: connectMcpTools({ transport }, options)',
    );
    const typo = await typeError(connectMcpTools({ transport: t }, { tool: ['echo'] } as Loose));
    expect(typo.message).toBe(
      'connectMcpTools: the options (second argument): unknown option "tool" (known: tools, targetOptions, perTool, clientInfo, signal, connectTimeoutMs)',
    );
    const target = await typeError(connectMcpTools({ transport: t }, { timeoutMs: 5 } as Loose));
    expect(target.message).toContain('"timeoutMs" is an option of the targets');
    expect(requests).toEqual([]);
  });

  it('unknown keys in targetOptions and in the entries of perTool', async () => {
    const { transport: t } = transport();
    const shared = await typeError(
      connectMcpTools({ transport: t }, { targetOptions: { timeout: 5 } } as Loose),
    );
    expect(shared.message).toContain('connectMcpTools: targetOptions: unknown option "timeout"');
    const sharedId = await typeError(
      connectMcpTools({ transport: t }, { targetOptions: { targetId: 'x' } } as Loose),
    );
    expect(sharedId.message).toContain("perTool: { 'tool name': { targetId } }");
    const one = await typeError(
      connectMcpTools({ transport: t }, { perTool: { echo: { validate: false } } } as Loose),
    );
    expect(one.message).toContain('connectMcpTools: perTool["echo"]: unknown option "validate"');
    const notObject = await typeError(
      connectMcpTools({ transport: t }, { perTool: { echo: 'echo_1' } } as Loose),
    );
    expect(notObject.message).toContain('perTool["echo"] must be an object');
  });

  it('still connects with every key it takes', async () => {
    const { transport: t } = transport();
    const set = await connectMcpTools(
      { transport: t },
      {
        tools: ['echo'],
        targetOptions: { timeoutMs: 5_000, validateInput: true, validateOutput: true },
        perTool: { echo: { targetId: 'echo_1', resultContextType: 'Echoed' } },
        clientInfo: { name: 'test', version: '1' },
        signal: new AbortController().signal,
        connectTimeoutMs: 5_000,
      },
    );
    try {
      const result = await set.target('echo').call(createContext('In', { text: 'a' }), helpers());
      expect([set.targets[0]?.targetId, result.contextType]).toEqual(['echo_1', 'Echoed']);
    } finally {
      await set.close();
    }
  });
});

describe('the connectors and mcpToolTarget refuse keys they do not take', () => {
  it('connectMcpStdio: before starting anything', async () => {
    const error = await typeError(
      connectMcpStdio({ command: 'no-such-command-xyz', arguments: ['a'] } as Loose),
    );
    expect(error.message).toContain('connectMcpStdio: options: unknown option "arguments"');
    expect(error.message).toContain('command, args, env, cwd, stderr, tools');
    const url = await typeError(connectMcpStdio({ command: 'x', url: 'http://h/' } as Loose));
    expect(url.message).toContain('"url" is an option of connectMcpHttp');
    const nested = await typeError(
      connectMcpStdio({ command: 'x', perTool: { a: { timeout: 1 } } } as Loose),
    );
    expect(nested.message).toContain('connectMcpStdio: perTool["a"]: unknown option "timeout"');
  });

  it('connectMcpHttp: before sending anything', async () => {
    const error = await typeError(
      connectMcpHttp({ url: 'http://127.0.0.1:1/mcp', headers: { a: 'b' } } as Loose),
    );
    expect(error.message).toContain('connectMcpHttp: options: unknown option "headers"');
    const command = await typeError(
      connectMcpHttp({ url: 'http://127.0.0.1:1/mcp', command: 'node' } as Loose),
    );
    expect(command.message).toContain('"command" is an option of connectMcpStdio');
    const target = await typeError(
      connectMcpHttp({ url: 'http://127.0.0.1:1/mcp', timeoutMs: 5 } as Loose),
    );
    expect(target.message).toContain('{ targetOptions: { timeoutMs } }');
  });

  it('mcpToolTarget: a set option is connectMcpTools’s', async () => {
    const { transport: t } = transport();
    const client = new Client({ name: 'c', version: '1' });
    await client.connect(t);
    try {
      const error = await typeError(mcpToolTarget(client, 'echo', { tools: ['echo'] } as Loose));
      expect(error.message).toContain('mcpToolTarget: options: unknown option "tools"');
      expect(error.message).toContain('"tools" is an option of connectMcpTools');
      const target = await mcpToolTarget(client, 'echo', { timeoutMs: 5_000 });
      expect(target.targetId).toBe('echo');
    } finally {
      await client.close();
    }
  });
});

describe('a tool name of 194 to 200 characters (valid, but `<name>.result` is not)', () => {
  const long = `t${'x'.repeat(195)}`;

  function longTransport(): InMemoryTransport {
    const { server } = serverWith([
      { name: 'echo', inputSchema: textInput },
      { name: long, inputSchema: textInput },
    ]);
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    void server.connect(serverSide);
    return clientSide;
  }

  it('fails the connect naming the tool and the options that fix it', async () => {
    const error = await connectMcpTools({ transport: longTransport() }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidIdError);
    const { message } = error as InvalidIdError;
    expect(message).toContain(`tool ${JSON.stringify(long.slice(0, 80))}…`);
    expect(message).toContain('resultContextType');
    expect(message).toContain('a targetId of at most 193 characters');
  });

  it('connects with a resultContextType, or a shorter targetId', async () => {
    const set = await connectMcpTools(
      { transport: longTransport() },
      { tools: [long], perTool: { [long]: { resultContextType: 'Long.result' } } },
    );
    try {
      const result = await set.target(long).call(createContext('In', { text: 'a' }), helpers());
      expect([set.targets[0]?.targetId, result.contextType]).toEqual([long, 'Long.result']);
    } finally {
      await set.close();
    }
    const renamed = await connectMcpTools(
      { transport: longTransport() },
      { tools: [long], perTool: { [long]: { targetId: 'long_tool' } } },
    );
    try {
      const result = await renamed.target(long).call(createContext('In', { text: 'a' }), helpers());
      expect(result.contextType).toBe('long_tool.result');
    } finally {
      await renamed.close();
    }
  });
});
