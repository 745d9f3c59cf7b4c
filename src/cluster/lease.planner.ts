import { createHash } from 'node:crypto';

/** What one daemon sees at one lease tick. */
export interface PlanInput {
  self: string;
  /** Every configured node, in configuration order (all daemons read the same `nodes:` list). */
  nodes: readonly string[];
  /** Ids of the live daemons, this one included. */
  live: readonly string[];
  /** Current lease holder per node; undefined: free. */
  owners: ReadonlyMap<string, string | undefined>;
  /** Nodes this daemon holds. */
  held: ReadonlySet<string>;
  /** Nodes this daemon gave away lately: left to the daemon they were given to. */
  recentlyReleased: ReadonlySet<string>;
  /** Per free node, how many consecutive ticks it has been seen free. */
  freeTicks: ReadonlyMap<string, number>;
  /** Most nodes handed over per tick (no reconnect storm when a daemon joins). */
  maxReleasesPerTick: number;
  /** A node free for this many ticks is taken even above the fair share: no node stays unwatched. */
  orphanTicks: number;
}

export interface Plan {
  acquire: string[];
  release: string[];
  /** The fair share: ceil(nodes / live daemons). */
  share: number;
}

/**
 * Rendezvous (highest random weight) score of a daemon for a node: each daemon prefers different free
 * nodes, so daemons racing for the free nodes mostly ask for different ones.
 */
export function affinity(daemon: string, node: string): number {
  return createHash('sha1').update(`${daemon}\n${node}`).digest().readUInt32BE(0);
}

/**
 * One daemon's moves for this tick, decided alone from what every daemon can read in Redis: hold at
 * most the fair share (give away the surplus a few at a time, least preferred first), take free nodes
 * up to the fair share (most preferred first), and take any node left free for `orphanTicks` ticks
 * whatever the share. Pure: no clock, no Redis.
 */
export function planLeases(input: PlanInput): Plan {
  const daemons = Math.max(1, input.live.length);
  const share = Math.ceil(input.nodes.length / daemons);
  const byAffinity = (a: string, b: string): number =>
    affinity(input.self, b) - affinity(input.self, a) || a.localeCompare(b);

  const release: string[] = [];
  const surplus = input.held.size - share;
  if (surplus > 0) {
    const leastPreferred = [...input.held].sort(byAffinity).reverse();
    release.push(...leastPreferred.slice(0, Math.min(surplus, input.maxReleasesPerTick)));
  }

  const acquire: string[] = [];
  const alone = daemons === 1;
  const free = input.nodes
    .filter((n) => input.owners.get(n) === undefined && !input.held.has(n))
    .filter((n) => alone || !input.recentlyReleased.has(n))
    .sort(byAffinity);
  let room = share - (input.held.size - release.length);
  for (const node of free) {
    if (room > 0) {
      acquire.push(node);
      room--;
    } else if ((input.freeTicks.get(node) ?? 0) >= input.orphanTicks) {
      acquire.push(node);
    }
  }
  return { acquire, release, share };
}
