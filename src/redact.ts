/**
 * Secrets kept out of what is printed and put into errors: store URLs (the CLI), MCP server
 * URLs and command lines (`McpConnectError.server`). Browser-safe. Every rule reads each
 * character a bounded number of times (no backtracking that grows with the text), so a long
 * argument costs time in proportion to its length.
 */

/** What replaces a secret. */
const MASK = '***';

/**
 * Names of parameters, options, variables and headers whose value is taken for a secret: tokens,
 * keys, passwords, signatures, credentials, sessions (`token`, `access_token`, `api_key`,
 * `apiKey`, `X-Amz-Signature`, `password`, `auth`, `Authorization`, `Cookie`, `client_secret`,
 * `code`, ...). Masking a harmless one costs nothing.
 */
const SECRET_NAME =
  /token|secret|passw|pwd|key|auth|sig|credential|session|cookie|jwt|bearer|code/i;

/**
 * `name=value` of a query or fragment: after `?`, `&`, `;` or `#`. A name stops at any of those
 * (and `?`), so each character is read once whatever the text.
 */
const PARAMETER = /([?&;#])([^=?&;#]*)=([^&;#]*)/g;

/**
 * A header as `--header`/`-H` take it (curl, mcp-remote): `Name: value`, the name an HTTP token.
 * Anchored, and the name's characters exclude the space and `:` that follow it: linear.
 */
const HEADER = /^([A-Za-z0-9!#$%&'*+.^_`|~-]+)([ \t]*:[ \t]*)(.*)$/s;

/** An environment-style assignment, `NAME=value` (`-e NAME=value`, `--env=NAME=value`, `env`). */
const ASSIGNMENT = /^([A-Za-z_][A-Za-z0-9_.-]*)=(.*)$/s;

/**
 * An option: `-x`, `--name`, then `=value`, `:value` or whitespace and a value in the same
 * argument (`--token=X`, `--token:X`, `-HAuthorization: Bearer X`), or nothing.
 */
const OPTION = /^(--?[^\s=:-][^\s=:]*)(?:([=:]|\s+)(.*))?$/s;

/** Schemes whose lone user name (`https://TOKEN@host`) is taken for a secret. */
const WEB_SCHEME = /^(?:https?|wss?)$/i;

/** Whether a (percent-encoded) parameter, option, variable or header name names a secret. */
function isSecretName(name: string): boolean {
  let plain = name;
  try {
    plain = decodeURIComponent(name);
  } catch {
    // as written
  }
  return SECRET_NAME.test(plain);
}

/** Whether the character code is one of a URL scheme's (`A-Z a-z 0-9 + . -`). */
function isSchemeCode(code: number): boolean {
  return (
    (code >= 0x61 && code <= 0x7a) || // a-z
    (code >= 0x41 && code <= 0x5a) || // A-Z
    (code >= 0x30 && code <= 0x39) || // 0-9
    code === 0x2b || // +
    code === 0x2e || // .
    code === 0x2d // -
  );
}

/** Whether the character code is a letter (a scheme's first character). */
function isLetterCode(code: number): boolean {
  return (code >= 0x61 && code <= 0x7a) || (code >= 0x41 && code <= 0x5a);
}

/**
 * `text` with the userinfo of every `scheme://userinfo@host` in it masked, wherever it occurs
 * (`--url=https://user:pw@host`, `{"url":"redis://:pw@h"}`): the password of `user:password`,
 * and a user alone in a web URL. The userinfo runs to the last `@` before the `/`, `?` or `#`
 * that ends the authority. One pass: the scan back over a scheme stops at the `/` of the `://`
 * before it, and the scan forward over an authority at the next `/`.
 */
function maskUserinfo(text: string): string {
  let out = '';
  let copied = 0;
  let at = text.indexOf('://');
  while (at !== -1) {
    let start = at;
    while (start > 0 && isSchemeCode(text.charCodeAt(start - 1))) start -= 1;
    while (start < at && !isLetterCode(text.charCodeAt(start))) start += 1;
    const authority = at + 3;
    let end = authority;
    let lastAt = -1;
    for (; end < text.length; end += 1) {
      const char = text[end];
      if (char === '/' || char === '?' || char === '#') break;
      if (char === '@') lastAt = end;
    }
    if (start < at && lastAt !== -1) {
      const info = text.slice(authority, lastAt);
      const colon = info.indexOf(':');
      let masked: string | undefined;
      if (colon !== -1) masked = `${info.slice(0, colon)}:${MASK}`;
      // A user alone is a name to Redis (an ACL user), but often a token to a web server.
      else if (info !== '' && WEB_SCHEME.test(text.slice(start, at))) masked = MASK;
      if (masked !== undefined) {
        out += text.slice(copied, authority) + masked;
        copied = lastAt;
      }
    }
    // The next `://` is past this one's authority: that ends at its `/`, if not before.
    at = text.indexOf('://', authority);
  }
  return copied === 0 ? text : out + text.slice(copied);
}

/**
 * `text` (a URL, or text holding URLs) with its secrets replaced by `***`, wherever in the text
 * the URL is: the password of `user:password@` (in an `http(s)` or `ws(s)` URL a user alone
 * too, as it may be a token: `https://TOKEN@host`; a Redis ACL user name stays, so printed
 * commands still work), and the values of query and fragment parameters whose names suggest a
 * secret (`?token=`, `&api_key=`, `#access_token=`, see {@link SECRET_NAME}), to the next `&`,
 * `;` or `#` (or the end). It works on the text: a URL that does not parse is masked as well,
 * and everything else is left as written.
 */
export function redactUrl(text: string): string {
  return maskUserinfo(text).replace(
    PARAMETER,
    (whole, lead: string, name: string, value: string) =>
      value !== '' && isSecretName(name) ? `${lead}${name}=${MASK}` : whole,
  );
}

/**
 * One argument (or an option's value) with its secrets masked: the value of a header whose name
 * suggests a secret (`Authorization: Bearer X` → `Authorization: ***`), of an assignment whose
 * name does (`API_KEY=X` → `API_KEY=***`), and otherwise the secrets of the URLs in it.
 */
function redactValue(text: string): string {
  const header = HEADER.exec(text);
  if (header !== null) {
    const [, name, colon, value] = header as unknown as [string, string, string, string];
    // `https://...` reads as a header named `https`: a URL is not one.
    if (value !== '' && !value.startsWith('//') && isSecretName(name)) {
      return `${name}${colon}${MASK}`;
    }
  }
  const assignment = ASSIGNMENT.exec(text);
  if (assignment !== null) {
    const [, name, value] = assignment as unknown as [string, string, string];
    if (value !== '' && isSecretName(name)) return `${name}=${MASK}`;
  }
  return redactUrl(text);
}

/**
 * Command-line arguments with secrets replaced by `***`:
 * - the value of an option whose name suggests a secret: `--token X`, `--api-key=X`,
 *   `-password X`, `--token:X` (the next argument, unless it starts with `-`);
 * - the value of a header whose name suggests a secret, alone or after `--header`/`-H`:
 *   `Authorization: Bearer X`, `X-Api-Key: X`, `Cookie: X` → `Authorization: ***`;
 * - the value of an assignment whose name suggests a secret, alone or after `-e`/`--env`:
 *   `GITHUB_TOKEN=X`, `--env=API_KEY=X` → `GITHUB_TOKEN=***`, `--env=API_KEY=***`;
 * - the secrets of any URL, wherever it is in an argument ({@link redactUrl}):
 *   `--url=https://user:pw@host/?token=X` → `--url=https://user:***@host/?token=***`.
 */
export function redactArgs(args: readonly string[]): string[] {
  const out: string[] = [];
  let maskNext = false;
  for (const arg of args) {
    if (maskNext && !arg.startsWith('-')) {
      out.push(MASK);
      maskNext = false;
      continue;
    }
    maskNext = false;
    const option = OPTION.exec(arg);
    if (option === null) {
      out.push(redactValue(arg));
      continue;
    }
    const [, name, separator, value] = option as unknown as [
      string,
      string,
      string | undefined,
      string | undefined,
    ];
    if (separator === undefined) {
      out.push(arg);
      maskNext = isSecretName(name);
    } else if (value === '') {
      out.push(arg);
    } else if (isSecretName(name)) {
      out.push(`${name}${separator}${MASK}`);
    } else {
      out.push(`${name}${separator}${redactValue(value as string)}`);
    }
  }
  return out;
}
