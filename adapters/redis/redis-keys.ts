/**
 * The Redis store's key layout: the keys of one task, all under `<prefix>{<taskId>}:` so in a
 * Redis Cluster they share one slot. Internal to the adapter.
 *
 * Layout v3 (`lua/includes/taskKeys.lua` has the full list): `idx` (zset: id → seq ≥ 1 for
 * every live record, plus reserved members scoring ≤ 0: `:head` −head, `:until` −lifetime or
 * −inf, `:next` −first expiry or −inf, and a long `:layout …` member that keeps the zset a
 * skiplist), `exp` (zset id → expiresAt), `r:<id>` (the record value, with its metadata in the
 * header: `"<nonce> <id> <createdAt>|<expiresAt>|<bytes>\n<body>"`). A save is three commands
 * on the fast path: one `ZMSCORE` of `:head`, `:until`, `:next` and the id, one `ZADD` of the
 * record and the new head, one `SET`; a TTL adds the `exp` entry (and `PEXPIREAT` of the task
 * keys when it extends their lifetime), and the expiry index is scanned only when `:next` says
 * something can have expired. Its five fields travel as one packed argument and it declares one
 * key per task (the others are derived in Lua), because every argument of a batch costs both
 * sides. Tasks written by layout v2 (a `meta` hash with `:seq`, `:until`, `:next`, `:layout` and
 * an entry per record; values `"<nonce> <id>\n<body>"`) are migrated by the first script that
 * touches them: head, lifetime and `:next` move into `idx`, their old records stay and are read
 * with their metadata from `meta`, which goes away with the last of them. Do not run adapter
 * versions from before and after layout v3 against one prefix at once.
 */

/** The keys of one task. All share the hash tag `{taskId}`: one cluster slot per task. */
export interface TaskKeys {
  readonly base: string;
  /** Index, expiry and metadata keys: the first keys of every record script. */
  readonly task: readonly [string, string, string];
  readonly logs: string;
  /** The task's lease (`"<expiresAt> <owner>"`, see `lua/includes/lease.lua`). */
  readonly lease: string;
  /** Key of one log, for commands and declared keys. */
  readonly log: (name: string) => string;
  /** Record and log key prefixes as the scripts receive them (with the client's keyPrefix). */
  readonly recPrefix: string;
  readonly logPrefix: string;
}

/**
 * The keys of task `taskId` under the store's `prefix`. `clientPrefix` (the client's
 * `keyPrefix`) goes into the record and log key prefixes only: ioredis prepends it to declared
 * keys itself, not to the prefixes the scripts receive as arguments.
 */
export function keysOf(prefix: string, clientPrefix: string, taskId: string): TaskKeys {
  const base = `${prefix}{${taskId}}:`;
  const scriptBase = `${clientPrefix}${base}`;
  return {
    base,
    task: [`${base}idx`, `${base}exp`, `${base}meta`],
    logs: `${base}logs`,
    lease: `${base}lease`,
    log: (name) => `${base}log:${name}`,
    recPrefix: `${scriptBase}r:`,
    logPrefix: `${scriptBase}log:`,
  };
}
