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

describe('redactUrl: URLs inside longer text', () => {
  it.each([
    ['--url=https://user:s3cret@example.com/mcp', '--url=https://user:***@example.com/mcp'],
    ['--url=https://T0KEN@example.com/mcp', '--url=https://***@example.com/mcp'],
    ['url=https://h/mcp?token=abc&x=1', 'url=https://h/mcp?token=***&x=1'],
    ['{"url":"redis://:pw@h:6379"}', '{"url":"redis://:***@h:6379"}'],
    ['a https://u:p1@h/x and wss://T@h2/y', 'a https://u:***@h/x and wss://***@h2/y'],
    ['http://host:https://u:p2@h/', 'http://host:https://u:***@h/'],
    // A Redis ACL user alone is a name, not a secret, wherever the URL is.
    ['--store=redis://app-user@host', '--store=redis://app-user@host'],
  ])('%s → %s', (text, masked) => {
    expect(redactUrl(text)).toBe(masked);
  });
});

describe('redactArgs: what MCP servers are started with', () => {
  it.each([
    // A URL in an option's value.
    [['--url=https://user:SECRET4@example.com/mcp'], ['--url=https://user:***@example.com/mcp']],
    [
      ['--url', 'https://SECRET@example.com/mcp'],
      ['--url', 'https://***@example.com/mcp'],
    ],
    [['--endpoint=https://h/mcp?api_key=SECRET'], ['--endpoint=https://h/mcp?api_key=***']],
    // Environment-style assignments: docker run -e, env, --env=.
    [
      ['run', '-i', '--rm', '-e', 'GITHUB_PERSONAL_ACCESS_TOKEN=SECRET7', 'ghcr.io/github/x'],
      ['run', '-i', '--rm', '-e', 'GITHUB_PERSONAL_ACCESS_TOKEN=***', 'ghcr.io/github/x'],
    ],
    [
      ['API_KEY=SECRET9', 'node', 'server.js'],
      ['API_KEY=***', 'node', 'server.js'],
    ],
    [['--env=TOKEN=SECRET'], ['--env=TOKEN=***']],
    [
      ['--env', 'DB_PASSWORD=SECRET'],
      ['--env', 'DB_PASSWORD=***'],
    ],
    [
      ['--set', 'auth.clientSecret=SECRET'],
      ['--set', 'auth.clientSecret=***'],
    ],
    [
      ['-e', 'DATABASE_URL=postgres://u:SECRET@h/db'],
      ['-e', 'DATABASE_URL=postgres://u:***@h/db'],
    ],
    // Headers, after --header / -H or alone.
    [
      ['mcp-remote', 'https://h/mcp', '--header', 'Authorization: Bearer SECRET8'],
      ['mcp-remote', 'https://h/mcp', '--header', 'Authorization: ***'],
    ],
    [
      ['-H', 'X-Api-Key: SECRET'],
      ['-H', 'X-Api-Key: ***'],
    ],
    [
      ['-H', 'Cookie: session=SECRET; theme=dark'],
      ['-H', 'Cookie: ***'],
    ],
    [
      ['--header', 'Authorization:Bearer SECRET'],
      ['--header', 'Authorization:***'],
    ],
    [['--header=Authorization: Bearer SECRET'], ['--header=Authorization: ***']],
    [['Proxy-Authorization: Basic SECRET'], ['Proxy-Authorization: ***']],
    [['-HAuthorization: Bearer SECRET'], ['-HAuthorization:***']],
    // An option and its value in one argument.
    [['--token SECRET'], ['--token ***']],
    [['--token:SECRET'], ['--token:***']],
  ])('%j → %j', (args, masked) => {
    expect(redactArgs(args)).toEqual(masked);
  });

  it('leaves what names no secret as written', () => {
    const args = [
      '-e',
      'process.exit(1)',
      '--port',
      '8080',
      '-p',
      '8080:80',
      '-v',
      '/data:/data',
      '--header',
      'Accept: application/json',
      'NODE_ENV=production',
      '--env=LOG_LEVEL=debug',
      'https://example.com/mcp?x=1',
      'redis://app-user@host',
      '--',
      '-',
      'const x = { a: 1 }',
    ];
    expect(redactArgs(args)).toEqual(args);
  });

  it('keeps the rules that already held', () => {
    expect(
      redactArgs(['--token', 'X', '--api-key=X', '--password', '--verbose', 'http://TOKEN@h/']),
    ).toEqual(['--token', '***', '--api-key=***', '--password', '--verbose', 'http://***@h/']);
  });

  it('takes time in proportion to the length of an argument (100 KB)', () => {
    const long = 100_000;
    const texts = [
      '?'.repeat(long),
      '&'.repeat(long),
      `?${'a'.repeat(long)}`,
      'a'.repeat(long),
      'a://'.repeat(long / 4),
      `https://${'a'.repeat(long)}`,
      `https://${'@'.repeat(long)}`,
      `${'a'.repeat(long)}://`,
      `--${'a'.repeat(long)}`,
      `--x=${'a'.repeat(long)}`,
      `-${' '.repeat(long)}`,
      `${'A'.repeat(long)}:`,
      `${'A'.repeat(long)}=`,
      `Authorization:${' '.repeat(long)}`,
      'key=a&'.repeat(long / 6),
      ':'.repeat(long),
      '=:'.repeat(long / 2),
    ];
    const started = performance.now();
    for (const text of texts) {
      redactArgs([text, text]);
      redactUrl(text);
    }
    // Linear: a few ms each; a quadratic rule takes seconds on one of these.
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});
