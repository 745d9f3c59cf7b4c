import type { Redis } from 'ioredis';

/**
 * Leases in Redis, one per node, each with a fencing token, and the registry of live daemons. Every
 * operation is one Lua script, so a check and its write are atomic on the Redis server and expiries run
 * on the server's clock (daemons' clocks never matter).
 *
 * Keys (prefix `pbxpulse:`):
 * - `lease:<node>`: hash `owner` (daemon id), `token`; expires `leaseTtlMs` after the last renewal.
 * - `fence:<node>`: the last token granted for the node. Only grows (INCR on each grant), so a token
 *   proves the holder was granted the node after everyone with a smaller one.
 * - `daemon:<id>`: present while the daemon's heartbeat is fresh, holding the base URL at which the other
 *   daemons reach its HTTP server (`cluster.advertiseUrl`); `daemons`: the set of ids seen.
 *
 * Written for a standalone Redis (or one behind Sentinel): the heartbeat script reads keys it is not
 * given, which Redis Cluster refuses.
 */
export const KEY_PREFIX = 'pbxpulse:';

const HEARTBEAT = `
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('SET', ARGV[3] .. 'daemon:' .. ARGV[1], ARGV[4], 'PX', ARGV[2])
local live = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if redis.call('EXISTS', ARGV[3] .. 'daemon:' .. id) == 1 then
    table.insert(live, id)
  else
    redis.call('SREM', KEYS[1], id)
  end
end
return live`;

const ACQUIRE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local token = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'token', token)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return token`;

// 1: renewed. 2: the lease had expired (Redis unreachable for longer than the TTL, or Redis restarted
// without its data) and nobody was granted the node since: taken back with the same token. 0: lost.
const RENEW = `
local owner = redis.call('HGET', KEYS[1], 'owner')
if owner then
  if owner == ARGV[1] and redis.call('HGET', KEYS[1], 'token') == ARGV[2] then
    redis.call('PEXPIRE', KEYS[1], ARGV[3])
    return 1
  end
  return 0
end
local fence = tonumber(redis.call('GET', KEYS[2]) or '0')
local token = tonumber(ARGV[2])
if fence > token then return 0 end
if fence < token then redis.call('SET', KEYS[2], ARGV[2]) end
redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'token', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 2`;

const RELEASE = `
if redis.call('HGET', KEYS[1], 'owner') == ARGV[1] and redis.call('HGET', KEYS[1], 'token') == ARGV[2] then
  return redis.call('DEL', KEYS[1])
end
return 0`;

// The lease's remaining time when (owner, token) still hold it, else -1.
const CHECK = `
if redis.call('HGET', KEYS[1], 'owner') == ARGV[1] and redis.call('HGET', KEYS[1], 'token') == ARGV[2] then
  return redis.call('PTTL', KEYS[1])
end
return -1`;

// The holder of a node's lease and its advertised URL ('' when its heartbeat expired), or nil.
const HOLDER = `
local owner = redis.call('HGET', KEYS[1], 'owner')
if not owner then return nil end
return {owner, redis.call('GET', ARGV[1] .. 'daemon:' .. owner) or ''}`;

/** Who holds a node's lease, and where it answers HTTP (undefined: its heartbeat expired). */
export interface LeaseHolder {
  daemon: string;
  url: string | undefined;
}

export type RenewOutcome = 'renewed' | 'reclaimed' | 'lost';

export class LeaseStore {
  constructor(
    private readonly redis: () => Redis,
    private readonly prefix = KEY_PREFIX,
  ) {}

  private lease(node: string): string {
    return `${this.prefix}lease:${node}`;
  }

  private fence(node: string): string {
    return `${this.prefix}fence:${node}`;
  }

  /**
   * Refreshes this daemon's heartbeat (with the URL it advertises) and returns the ids of the live
   * daemons (this one included).
   */
  async heartbeat(daemon: string, ttlMs: number, url: string): Promise<string[]> {
    const live = await this.redis().eval(
      HEARTBEAT,
      1,
      `${this.prefix}daemons`,
      daemon,
      ttlMs,
      this.prefix,
      url,
    );
    return (live as string[]).sort();
  }

  /** Removes this daemon from the registry (graceful shutdown): the others rebalance at once. */
  async leave(daemon: string): Promise<void> {
    await this.redis()
      .multi()
      .del(`${this.prefix}daemon:${daemon}`)
      .srem(`${this.prefix}daemons`, daemon)
      .exec();
  }

  /** Current owner of each node (undefined: nobody holds its lease). */
  async owners(nodes: readonly string[]): Promise<Map<string, string | undefined>> {
    const pipeline = this.redis().pipeline();
    for (const node of nodes) pipeline.hget(this.lease(node), 'owner');
    const replies = (await pipeline.exec()) ?? [];
    const out = new Map<string, string | undefined>();
    nodes.forEach((node, i) => {
      const [err, value] = replies[i] ?? [new Error('no reply'), null];
      if (err) throw err;
      out.set(node, typeof value === 'string' ? value : undefined);
    });
    return out;
  }

  /** The node's lease holder now, with its advertised URL; undefined when nobody holds the node. */
  async holder(node: string): Promise<LeaseHolder | undefined> {
    const reply = (await this.redis().eval(HOLDER, 1, this.lease(node), this.prefix)) as
      [string, string] | null;
    if (!reply) return undefined;
    return { daemon: reply[0], url: reply[1] === '' ? undefined : reply[1] };
  }

  /** The new fencing token when the node was free, else undefined. */
  async acquire(node: string, daemon: string, ttlMs: number): Promise<number | undefined> {
    const token = Number(
      await this.redis().eval(ACQUIRE, 2, this.lease(node), this.fence(node), daemon, ttlMs),
    );
    return token > 0 ? token : undefined;
  }

  async renew(node: string, daemon: string, token: number, ttlMs: number): Promise<RenewOutcome> {
    const r = Number(
      await this.redis().eval(RENEW, 2, this.lease(node), this.fence(node), daemon, token, ttlMs),
    );
    return r === 1 ? 'renewed' : r === 2 ? 'reclaimed' : 'lost';
  }

  async release(node: string, daemon: string, token: number): Promise<boolean> {
    return Number(await this.redis().eval(RELEASE, 1, this.lease(node), daemon, token)) === 1;
  }

  /** Milliseconds left on the lease when `daemon` still holds it with `token`, else undefined. */
  async remaining(node: string, daemon: string, token: number): Promise<number | undefined> {
    const ms = Number(await this.redis().eval(CHECK, 1, this.lease(node), daemon, token));
    return ms >= 0 ? ms : undefined;
  }
}
