/**
 * Secrets kept out of what is printed and put into errors: store URLs (the CLI), MCP server
 * URLs and command lines (`McpConnectError.server`). Browser-safe.
 */

/** What replaces a secret. */
const MASK = '***';

/**
 * Names of parameters and options whose value is taken for a secret: tokens, keys, passwords,
 * signatures, credentials, sessions (`token`, `access_token`, `api_key`, `apiKey`, `X-Amz-Signature`,
 * `password`, `auth`, `client_secret`, `code`, ...). Masking a harmless one costs nothing.
 */
const SECRET_NAME =
  /token|secret|passw|pwd|key|auth|sig|credential|session|cookie|jwt|bearer|code/i;

/** `scheme://userinfo@`: the userinfo runs to the last `@` before the path, query or fragment. */
const USERINFO = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)@/i;

/** `name=value` of a query or fragment: after `?`, `&`, `;` or `#`. */
const PARAMETER = /([?&;#])([^=&;#]*)=([^&;#]*)/g;

/** Whether a (percent-encoded) parameter or option name names a secret. */
function isSecretName(name: string): boolean {
  let plain = name;
  try {
    plain = decodeURIComponent(name);
  } catch {
    // as written
  }
  return SECRET_NAME.test(plain);
}

/**
 * `text` (a URL, or what was meant to be one) with its secrets replaced by `***`: the password
 * of `user:password@` (in an `http(s)` URL a user alone too, as it may be a token:
 * `https://TOKEN@host`; a Redis ACL user name stays, so printed commands still work), and the
 * values of query and fragment parameters whose names suggest a secret (`?token=`, `&api_key=`,
 * `#access_token=`, see {@link SECRET_NAME}). It works on the text: a URL that does not parse is
 * masked as well, and everything else is left as written.
 */
export function redactUrl(text: string): string {
  return text
    .replace(USERINFO, (_, scheme: string, info: string) => {
      const colon = info.indexOf(':');
      if (colon !== -1) return `${scheme}${info.slice(0, colon)}:${MASK}@`;
      // A user alone is a name to Redis (an ACL user), but often a token to a web server.
      return /^https?:/i.test(scheme) ? `${scheme}${MASK}@` : `${scheme}${info}@`;
    })
    .replace(PARAMETER, (whole, lead: string, name: string, value: string) =>
      value !== '' && isSecretName(name) ? `${lead}${name}=${MASK}` : whole,
    );
}

/**
 * Command-line arguments with secrets replaced by `***`: the value of an option whose name
 * suggests a secret (`--token=X`, `--api-key X`, `-password X`), and any URL's secrets
 * ({@link redactUrl}).
 */
export function redactArgs(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    const option = /^(--?[^=\s]+)(=?)(.*)$/s.exec(arg);
    if (option !== null && isSecretName(option[1] as string)) {
      if (option[2] === '=') {
        out.push(`${option[1]}=${MASK}`);
        continue;
      }
      out.push(arg);
      const next = args[i + 1];
      if (next !== undefined && !next.startsWith('-')) {
        out.push(MASK);
        i += 1;
      }
      continue;
    }
    out.push(redactUrl(arg));
  }
  return out;
}
