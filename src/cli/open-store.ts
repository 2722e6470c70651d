import { resolve } from 'node:path';
import type { CheckpointStore } from 'mcp-orchestration';
import { CliError } from './cli-error.js';

/** A store opened by the command line, and how to let it go. */
export interface OpenedStore {
  readonly store: CheckpointStore;
  /** The `--store` value that opens the same store again (for the resume hint). */
  readonly spec: string;
  /** `spec` for display, with any Redis password masked. */
  readonly label: string;
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

const STORE_FORMS = 'file:DIR or redis://host:port[/db][?prefix=...]';

/**
 * Opens the store named by `--store`: `file:DIR` (the embedded file store; the default, in
 * `MCP_ORCHESTRATION_DIR` or `.mcp-orchestration`) or `redis://host:port[/db][?prefix=P]`
 * (`rediss://` for TLS; ioredis is imported only then, so it stays optional). `memory` is
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
  if (spec.startsWith('redis://') || spec.startsWith('rediss://')) return openRedisStore(spec);
  throw new CliError('BAD_STORE', `Unknown store ${JSON.stringify(spec)}: use ${STORE_FORMS}`);
}

async function openFileStore(dir: string, isDefault: boolean): Promise<OpenedStore> {
  const { createFileStore } = await import('mcp-orchestration/file');
  const store = createFileStore({ directory: resolve(dir) });
  const spec = `file:${dir}`;
  return { store, spec, label: spec, isDefault, close: () => store.close() };
}

async function openRedisStore(spec: string): Promise<OpenedStore> {
  let url: URL;
  try {
    url = new URL(spec);
  } catch (error) {
    throw new CliError('BAD_STORE', `Invalid Redis URL ${JSON.stringify(spec)}`, { cause: error });
  }
  const prefix = url.searchParams.get('prefix') ?? undefined;
  url.searchParams.delete('prefix');
  const { Redis } = await importIoredis();
  const { createRedisStore } = await import('mcp-orchestration/redis');
  const client = new Redis(url.toString(), {
    lazyConnect: true,
    connectTimeout: 5_000,
    maxRetriesPerRequest: 2,
    retryStrategy: (attempt) => (attempt > 3 ? null : 200 * attempt),
  });
  let lastError: Error | undefined;
  client.on('error', (error: Error) => {
    lastError = error;
  });
  try {
    await client.connect();
  } catch (error) {
    client.disconnect();
    const reason = (lastError ?? (error as Error)).message;
    throw new CliError('STORE_UNREACHABLE', `Cannot connect to Redis at ${url.host}: ${reason}`, {
      cause: error,
    });
  }
  let store: CheckpointStore;
  try {
    store = createRedisStore({ client, ...(prefix === undefined ? {} : { prefix }) });
  } catch (error) {
    client.disconnect();
    throw error;
  }
  const shown = new URL(spec);
  if (shown.password !== '') shown.password = '***';
  return {
    store,
    spec,
    label: shown.toString(),
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
