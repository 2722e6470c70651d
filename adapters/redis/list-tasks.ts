/**
 * The Redis store's `listTasks`: a SCAN walk of the keyspace. Internal to the adapter.
 *
 * Listing tasks is the one operation that reads more than one task. There is no index of tasks
 * (one would be a key every save of every task writes, in one slot of a Cluster); it walks the
 * keyspace with `SCAN … MATCH <keyPrefix><prefix>{*}:… COUNT 1000` (never `KEYS`; on every
 * master of a Cluster), collects the ids of the tasks that have an index, a v2 metadata hash or
 * a log, and checks those after `after` in id order, 100 at once, with the head script (by the
 * store's clock, sweeping what expired as `head` does) and the size of their log names set,
 * until the page is full. So a page costs O(keys in the database) and holds the candidates' ids
 * in memory: an operation for supervisors and tools, not for the path of a step. It is no
 * snapshot: a task saved or deleted meanwhile may or may not appear.
 */
import type { Cluster, Redis } from 'ioredis';
import type { ListTasksOptions } from '../../src/checkpoint/checkpoint-store.js';
import { compareIds, listTasksOptions } from '../../src/checkpoint/store-guards.js';
import { isOrchestrationError } from '../../src/errors.js';
import { isValidId } from '../../src/ids.js';
import { storageError } from './redis-replies.js';
import { type StoreContext, scripts } from './store-context.js';

/** Keys listTasks asks SCAN for per call (its `COUNT` hint). */
const SCAN_COUNT = 1000;

/** Candidate tasks listTasks checks at once (their head scripts are in flight together). */
const LIST_BATCH = 100;

/**
 * The key suffixes that make a task a candidate for listTasks: its index (a head lives there),
 * its v2 metadata hash (a head that was never migrated, possibly with no index) and its log
 * names (it has a log). The SCAN pattern {@link TASK_MARKER_GLOB} admits these and `log:<name>`
 * (dropped by this list), but none of the record, expiry, temp, answer or lease keys.
 */
const TASK_MARKERS: ReadonlySet<string> = new Set(['idx', 'meta', 'logs']);
const TASK_MARKER_GLOB = '}:[ilm][deo][gtx]*';

/** Escapes Redis glob metacharacters (`* ? [ ] \`), so `text` matches only itself in MATCH. */
function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

/** A store's `listTasks`. */
export type ListTasksFunction = (listOptions?: ListTasksOptions) => Promise<string[]>;

/**
 * The `listTasks` of the store with this context: SCANs the keyspace for the prefix's task keys
 * (every master of a Cluster), then checks the candidates after `after` in id order,
 * {@link LIST_BATCH} at a time, with the head script (the store's clock decides what expired)
 * and their log names, until `limit` are found. O(keys in the database) per page, plus the
 * candidates' ids in memory: for supervisors and tools, not for the path of a step.
 */
export function createListTasks(context: StoreContext): ListTasksFunction {
  const { client, cluster, prefix, clientPrefix, keysOf, run, command, numberOf, now } = context;

  /**
   * The ids of every task of this store after `after` (unsorted, each once) that has one of the
   * {@link TASK_MARKERS} keys: one SCAN pass over the keyspace of each master (the client itself
   * when it is a single node). SCAN patterns and results ignore the client's keyPrefix, so it is
   * part of the pattern and stripped here; a key under the prefix that is no task key of ours
   * (no valid id between `{` and `}:`, another suffix) is skipped.
   */
  async function scanTaskIds(after: string | undefined): Promise<Set<string>> {
    const start = `${clientPrefix}${prefix}{`;
    // The store prefix cannot contain `{`, so `<prefix>{` never matches a longer store prefix.
    const pattern = `${globEscape(start)}*${TASK_MARKER_GLOB}`;
    const ids = new Set<string>();
    const scanNode = async (node: Redis) => {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT);
        cursor = next;
        for (const key of keys) {
          if (!key.startsWith(start)) continue;
          const close = key.indexOf('}:', start.length);
          if (close < 0 || !TASK_MARKERS.has(key.slice(close + 2))) continue;
          const id = key.slice(start.length, close);
          if ((after === undefined || id > after) && isValidId(id)) ids.add(id);
        }
      } while (cursor !== '0');
    };
    try {
      await Promise.all((await nodesToScan()).map(scanNode));
    } catch (error) {
      throw storageError('listTasks', error);
    }
    return ids;
  }

  /**
   * What SCAN must visit: every master of a Cluster (a key lives on the master of its slot), or
   * the single node. Until a Cluster client is ready it knows no nodes, or only its startup
   * nodes (all taken for masters until it has read the slots): a PING, queued until then,
   * waits for it.
   */
  async function nodesToScan(): Promise<Redis[]> {
    if (!cluster) return [client as Redis];
    if (client.status !== 'ready') await client.ping();
    const masters = (client as Cluster).nodes('master');
    if (masters.length === 0) throw new Error('the Redis Cluster client knows no master');
    return masters;
  }

  /**
   * Whether a task is listed: its head by the store's clock (the head script, which also sweeps
   * what expired, as `head` does) is above 0, or it has a log (its log names set is not empty).
   * A task with a key of the wrong type is listed (its reads report the corruption), so one
   * damaged task does not hide the others.
   */
  async function isListed(taskId: string): Promise<boolean> {
    const k = keysOf(taskId);
    try {
      const reply = await run('listTasks', taskId, scripts.head, k.task, [k.recPrefix, now()]);
      if (numberOf(taskId, reply) > 0) return true;
      return (await command(taskId, 'logs', 'listTasks', () => client.scard(k.logs))) > 0;
    } catch (error) {
      // A damaged task is listed: it exists, and reading it reports why it cannot be used.
      if (isOrchestrationError(error, 'CORRUPT_RECORD')) return true;
      throw error;
    }
  }

  return async (listOptions?: ListTasksOptions): Promise<string[]> => {
    const { after, limit } = listTasksOptions(listOptions);
    const candidates = [...(await scanTaskIds(after))].sort(compareIds);
    const listed: string[] = [];
    for (let i = 0; i < candidates.length && listed.length < limit; i += LIST_BATCH) {
      const batch = candidates.slice(i, i + LIST_BATCH);
      const live = await Promise.all(batch.map(isListed));
      for (let j = 0; j < batch.length && listed.length < limit; j++) {
        if (live[j]) listed.push(batch[j] as string);
      }
    }
    return listed;
  };
}
