import { resolve } from 'node:path';
import type { CheckpointStore } from 'mcp-orchestration';
import { redactUrl } from '../redact.js';
import { MAX_TIMER_DELAY_MS } from '../timer-delay.js';
import { CliError } from './cli-error.js';

/** A store opened by the command line, and how to let it go. */
export interface OpenedStore {
  readonly store: CheckpointStore;
  /**
   * The `--store` value, for display and for printed follow-up commands (which open the same
   * store again), with a password in a Redis URL shown as `***`: the command line never prints
   * a secret. A password from {@link REDIS_PASSWORD_ENV} is not part of it.
   */
  readonly spec: string;
  /** Whether the store was chosen by default (no `--store`). */
  readonly isDefault: boolean;
  /** Closes the store and the client the command line opened for it. */
  close(): Promise<void>;
}

/** The folder of the default store: `MCP_ORCHESTRATION_DIR`, else `.mcp-orchestration`. */
export function defaultStoreDir(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.MCP_ORCHESTRATION_DIR;
  return dir === undefined || dir === '' ? '.mcp-orchestration' : dir;
}

const STORE_FORMS = 'file:DIR or redis://host:port[/db][?prefix=P&timeout=10s]';

/**
 * Opens the store named by `--store`: `file:DIR` (the embedded file store; the default, in
 * `MCP_ORCHESTRATION_DIR` or `.mcp-orchestration`) or `redis://host:port[/db][?prefix=P&timeout=T]`
 * (`rediss://` for TLS; ioredis is imported only then, so it stays optional; `timeout` bounds
 * each wait for Redis, {@link DEFAULT_REDIS_TIMEOUT_MS} by default). `memory` is
 * refused: nothing would outlive the command.
 */
export async function openStore(
  spec: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Promise<OpenedStore> {
  if (spec === undefined) return openFileStore(defaultStoreDir(env), true);
  if (spec === 'memory' || spec.startsWith('memory:')) {
    throw new CliError(
      'BAD_STORE',
      `--store memory keeps nothing once mcp-orch exits, so there is nothing to run or read; use ${STORE_FORMS}`,
    );
  }
  if (spec.startsWith('file:')) {
    const dir = spec.slice('file:'.length);
    if (dir === '') throw new CliError('BAD_STORE', '--store file: needs a folder, as in file:DIR');
    return openFileStore(dir, false);
  }
  if (spec.startsWith('redis://') || spec.startsWith('rediss://')) return openRedisStore(spec, env);
  throw new CliError(
    'BAD_STORE',
    `Unknown store ${JSON.stringify(redactUrl(spec))}: use ${STORE_FORMS}`,
  );
}

async function openFileStore(dir: string, isDefault: boolean): Promise<OpenedStore> {
  const { createFileStore } = await import('mcp-orchestration/file');
  const store = createFileStore({ directory: resolve(dir) });
  const spec = `file:${dir}`;
  return { store, spec, isDefault, close: () => store.close() };
}

/**
 * The environment variable holding the Redis password when the URL has none, which keeps it off
 * the command line (where `ps` and shell history see it) and lets printed follow-up commands
 * run as they are.
 */
export const REDIS_PASSWORD_ENV = 'MCP_ORCHESTRATION_REDIS_PASSWORD';

/** The query parameters a `redis://` store takes (others would reach ioredis unchecked). */
const REDIS_PARAMETERS = ['prefix', 'timeout'] as const;

/** How long the command line waits for Redis by default: to connect, and for each command. */
export const DEFAULT_REDIS_TIMEOUT_MS = 10_000;

/**
 * Milliseconds of a `timeout` parameter: `500ms`, `10s`, `2m`, more than 0 and at most the
 * longest delay a timer takes (2^31 − 1 ms, about 24.8 days; a longer one would fire at once).
 */
function timeoutMs(text: string): number {
  const match = /^(\d+)(ms|s|m)$/.exec(text);
  const unit = match?.[2] === 'ms' ? 1 : match?.[2] === 's' ? 1_000 : 60_000;
  const ms = match === null ? Number.NaN : Number(match[1]) * unit;
  if (!(Number.isSafeInteger(ms) && ms > 0 && ms <= MAX_TIMER_DELAY_MS)) {
    throw new CliError(
      'BAD_STORE',
      `The Redis URL's timeout takes a duration such as 500ms, 10s or 2m, at most ${MAX_TIMER_DELAY_MS}ms (about 24.8 days), got ${JSON.stringify(text)}`,
    );
  }
  return ms;
}

/** What a `redis://` URL says beside what ioredis reads from it (host, port, password). */
interface RedisUrl {
  /** The URL for ioredis: no query, the db checked. */
  readonly url: URL;
  readonly db: number;
  readonly prefix: string | undefined;
  readonly timeoutMs: number;
}

/**
 * Checks a `redis://` URL: its path is empty or a db number, and its query takes only
 * {@link REDIS_PARAMETERS} (a misspelt `prefx` would otherwise be ignored, and the run would
 * write under the shared default prefix; `keyPrefix` would nest the store's keys).
 */
function parseRedisUrl(spec: string, env: NodeJS.ProcessEnv): RedisUrl {
  let url: URL;
  try {
    url = new URL(spec);
  } catch {
    // The parser's error (and so any `cause`) would quote the URL, password included.
    throw new CliError('BAD_STORE', `Invalid Redis URL ${JSON.stringify(redactUrl(spec))}`);
  }
  const unknown = [...url.searchParams.keys()].filter(
    (name) => !(REDIS_PARAMETERS as readonly string[]).includes(name),
  );
  if (unknown.length > 0) {
    const names = [...new Set(unknown)].map((name) => JSON.stringify(name)).join(', ');
    const accepted = REDIS_PARAMETERS.map((name) => `${name}=`).join(', ');
    throw new CliError(
      'BAD_STORE',
      `The Redis URL takes no ${names}: its parameters are ${accepted} (as in ${STORE_FORMS})`,
    );
  }
  const dbMatch = /^\/?(\d*)$/.exec(url.pathname);
  const db = dbMatch === null ? Number.NaN : Number(dbMatch[1] ?? '');
  if (!Number.isSafeInteger(db)) {
    throw new CliError(
      'BAD_STORE',
      `The Redis URL's path is a database number, as in redis://host:port/1, got ${JSON.stringify(url.pathname)}`,
    );
  }
  const timeout = url.searchParams.get('timeout');
  const prefix = url.searchParams.get('prefix') ?? undefined;
  url.search = '';
  const password = env[REDIS_PASSWORD_ENV];
  if (url.password === '' && password !== undefined && password !== '') url.password = password;
  return {
    url,
    db,
    prefix,
    timeoutMs: timeout === null ? DEFAULT_REDIS_TIMEOUT_MS : timeoutMs(timeout),
  };
}

/**
 * Opens a Redis store through a client of its own, whose every wait is bounded: connecting
 * (TCP, handshake, ready check) within the URL's `timeout`, each command within it too
 * (ioredis' `commandTimeout`, timed per command, so a run's long steps are not limited), so a
 * Redis that takes the connection but never answers ends the command with an error.
 *
 * Its socket does not keep the process alive (`unref`): `watchRun` sees a run that comes to
 * rest by Node's `beforeExit`, and an idle connection must not hide it. A command in flight
 * still does, through its timeout timer (set when it is sent, cleared when it settles), so the
 * process never looks idle while it waits for Redis.
 */
async function openRedisStore(spec: string, env: NodeJS.ProcessEnv): Promise<OpenedStore> {
  const { url, db, prefix, timeoutMs } = parseRedisUrl(spec, env);
  const { Redis } = await importIoredis();
  const { createRedisStore } = await import('mcp-orchestration/redis');
  const client = new Redis(url.toString(), {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 2,
    retryStrategy: (attempt) => (attempt > 3 ? null : 200 * attempt),
  });
  let lastError: Error | undefined;
  client.on('error', (error: Error) => {
    lastError = error;
  });
  // Each connection's socket, the first and any after a reconnect.
  client.on('connect', () => client.stream.unref());
  const seconds = `${timeoutMs / 1_000} s`;
  let deadline: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      client.connect(),
      new Promise<never>((_, reject) => {
        deadline = setTimeout(
          () => reject(new Error(lastError?.message ?? `no answer within ${seconds}`)),
          timeoutMs,
        );
      }),
    ]);
  } catch (error) {
    client.disconnect();
    const reason = (lastError ?? (error as Error)).message;
    throw new CliError('STORE_UNREACHABLE', `Cannot connect to Redis at ${url.host}: ${reason}`, {
      cause: error,
    });
  } finally {
    clearTimeout(deadline);
  }
  if (db > 0) {
    // ioredis selects the db as it connects, but a failed SELECT is only an `error` event:
    // it would go on in db 0. Selected again here, a failure is the command's.
    try {
      await client.select(db);
    } catch (error) {
      client.disconnect();
      const reason = error instanceof Error ? error.message : String(error);
      throw new CliError('BAD_STORE', `Redis at ${url.host} has no database ${db}: ${reason}`, {
        cause: error,
      });
    }
  }
  let store: CheckpointStore;
  try {
    store = createRedisStore({ client, ...(prefix === undefined ? {} : { prefix }) });
  } catch (error) {
    client.disconnect();
    throw error;
  }
  return {
    store,
    spec: redactUrl(spec),
    isDefault: false,
    async close() {
      await store.close();
      await client.quit().catch(() => client.disconnect());
    },
  };
}

async function importIoredis(): Promise<typeof import('ioredis')> {
  try {
    return await import('ioredis');
  } catch (error) {
    throw new CliError(
      'MISSING_DEPENDENCY',
      'A redis:// store needs the ioredis package: npm install ioredis',
      { cause: error },
    );
  }
}
