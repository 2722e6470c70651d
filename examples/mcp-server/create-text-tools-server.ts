/**
 * The example MCP server: an `McpServer` (the official SDK) with two deterministic text tools,
 * each with a zod input schema and structured output.
 *
 * - `word_count({ text })` → `{ words, characters, sentences }`
 * - `extract_keywords({ text, limit? })` → `{ keywords: [{ word, count }] }`; a tool error
 *   (`isError`) when the text has no keyword.
 * - `first_sentence({ text })` → the first sentence, as text content only.
 *
 * With `testTools`, it also has `sleep({ ms })` → `{ sleptMs }`, which waits (and stops early
 * when the call is cancelled, telling `onSleepEnd` how it ended): the tests use it to abort a
 * call, to see the server stop, and to kill the server mid-call; and `badge({ label })`, which
 * answers with a text block, an image block (an SVG badge) and a resource link: no structured
 * output.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import * as z from 'zod';
import { extractKeywords, firstSentence, wordCount } from './text-tools.js';

/** How a `sleep` call ended on the server. */
export interface SleepEnd {
  /** How long it slept. */
  readonly sleptMs: number;
  /** Whether its signal aborted: the call was cancelled, or its connection closed. */
  readonly cancelled: boolean;
  /** The signal's reason if it aborted; a `notifications/cancelled` gives the client's as text. */
  readonly reason: unknown;
}

/** Options of {@link createTextToolsServer}. */
export interface TextToolsServerOptions {
  /** Also register the test tools `sleep` and `badge`. Default: false. */
  readonly testTools?: boolean;
  /** Told how each `sleep` call ended on the server. Default: none. */
  readonly onSleepEnd?: (end: SleepEnd) => void;
}

/** Builds the server; connect it to a transport (stdio, Streamable HTTP) to serve it. */
export function createTextToolsServer(options: TextToolsServerOptions = {}): McpServer {
  const server = new McpServer({ name: 'text-tools', version: '1.0.0' });

  server.registerTool(
    'word_count',
    {
      title: 'Word count',
      description: 'Counts the words, characters and sentences of a text.',
      inputSchema: { text: z.string().describe('The text to count') },
      outputSchema: { words: z.number(), characters: z.number(), sentences: z.number() },
    },
    ({ text }) => {
      const counts = wordCount(text);
      return {
        content: [{ type: 'text', text: JSON.stringify(counts) }],
        structuredContent: { ...counts },
      };
    },
  );

  server.registerTool(
    'extract_keywords',
    {
      title: 'Extract keywords',
      description: 'The most frequent words of a text that are not stopwords, most frequent first.',
      inputSchema: {
        text: z.string().describe('The text to read'),
        limit: z.number().int().min(1).max(50).optional().describe('How many keywords (5)'),
      },
      outputSchema: {
        keywords: z.array(z.object({ word: z.string(), count: z.number().int() })),
      },
    },
    ({ text, limit }) => {
      const keywords = extractKeywords(text, limit ?? 5);
      if (keywords.length === 0) {
        return {
          isError: true,
          content: [
            {
              type: 'text',
              text: 'No keywords: the text has no word of 3 letters or more that is not a stopword',
            },
          ],
        };
      }
      return {
        content: [{ type: 'text', text: keywords.map((k) => `${k.word} ×${k.count}`).join(', ') }],
        structuredContent: { keywords },
      };
    },
  );

  server.registerTool(
    'first_sentence',
    {
      title: 'First sentence',
      description: 'The first sentence of a text, answered as text (no structured output).',
      inputSchema: { text: z.string().describe('The text to read') },
    },
    ({ text }) => ({ content: [{ type: 'text', text: firstSentence(text) }] }),
  );

  if (options.testTools) {
    server.registerTool(
      'sleep',
      {
        description: 'Waits ms milliseconds (stops early when the call is cancelled).',
        inputSchema: { ms: z.number().int().min(0).max(60_000) },
        outputSchema: { sleptMs: z.number() },
      },
      async ({ ms }, { signal }) => {
        const started = Date.now();
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, ms);
          signal.addEventListener('abort', () => {
            clearTimeout(timer);
            resolve();
          });
        });
        const sleptMs = Date.now() - started;
        options.onSleepEnd?.({ sleptMs, cancelled: signal.aborted, reason: signal.reason });
        return {
          content: [{ type: 'text', text: `slept ${sleptMs} ms` }],
          structuredContent: { sleptMs },
        };
      },
    );
    server.registerTool(
      'badge',
      {
        description: 'An SVG badge for a label: text, an image and a link, no structured output.',
        inputSchema: { label: z.string().min(1).max(40) },
      },
      ({ label }) => {
        const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="120" height="20"><text x="4" y="14">${label.replace(/[<&>"]/g, '')}</text></svg>`;
        return {
          content: [
            { type: 'text', text: `badge for ${label}` },
            { type: 'image', mimeType: 'image/svg+xml', data: Buffer.from(svg).toString('base64') },
            { type: 'resource_link', uri: `badge://${encodeURIComponent(label)}`, name: label },
          ],
        };
      },
    );
  }
  return server;
}
