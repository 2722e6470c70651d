import { describe, expect, it } from 'vitest';
import { redactArgs, redactUrl } from '../../src/redact.js';

// Secrets kept out of printed store URLs (the CLI) and MCP server descriptions (errors).

describe('redactUrl', () => {
  it.each([
    ['redis://user:pa@ss:w0rd@host:6379/0', 'redis://user:***@host:6379/0'],
    ['redis://:secret@host', 'redis://:***@host'],
    ['redis://app-user@host', 'redis://app-user@host'],
    ['https://TOKEN123@mcp.example.com/mcp', 'https://***@mcp.example.com/mcp'],
    ['https://mcp.example.com/sse?token=abc&x=1', 'https://mcp.example.com/sse?token=***&x=1'],
    [
      'https://h/p?x=1&api_key=abc#access_token=def',
      'https://h/p?x=1&api_key=***#access_token=***',
    ],
    ['https://h/p?apiKey=a;X-Amz-Signature=b', 'https://h/p?apiKey=***;X-Amz-Signature=***'],
    ['https://h/p?client%5Fsecret=a', 'https://h/p?client%5Fsecret=***'],
    // Not a URL that parses: masked all the same.
    ['redis://user:secret@[::1', 'redis://user:***@[::1'],
  ])('%s → %s', (text, masked) => {
    expect(redactUrl(text)).toBe(masked);
  });

  it('leaves a URL without secrets as written', () => {
    for (const text of [
      'redis://127.0.0.1:6379?prefix=a%20b&timeout=5s',
      'file:/tmp/x',
      'https://h/?q=',
    ]) {
      expect(redactUrl(text)).toBe(text);
    }
  });
});

describe('redactArgs', () => {
  it('masks the values of secret options and the secrets of URLs', () => {
    expect(
      redactArgs([
        'server.js',
        '--token',
        'abc',
        '--api-key=def',
        '--port',
        '8080',
        '--password',
        '--verbose',
        'https://u:p@h/?sig=1',
      ]),
    ).toEqual([
      'server.js',
      '--token',
      '***',
      '--api-key=***',
      '--port',
      '8080',
      '--password',
      '--verbose',
      'https://u:***@h/?sig=***',
    ]);
  });
});
