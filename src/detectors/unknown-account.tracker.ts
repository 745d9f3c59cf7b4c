import type { AuthAccountUnknown } from '../events/pbx-events';
import { isoTime, remoteIp } from './detection.common';

export interface UnknownAccountLimits {
  /** Remote IPs kept per node; the least recently seen is evicted beyond it. */
  maxAddresses: number;
  /** Distinct usernames counted per IP (the count stops there: "at least N"). */
  maxDistinct: number;
  /** Sample usernames kept per IP. */
  maxSamples: number;
  /** Sample usernames are cut to this many characters. */
  sampleChars: number;
}

export const DEFAULT_UNKNOWN_ACCOUNT_LIMITS: UnknownAccountLimits = {
  maxAddresses: 1000,
  maxDistinct: 100,
  maxSamples: 5,
  sampleChars: 64,
};

/** One source of `InvalidAccountID`s, as `/unknown-accounts` returns it. */
export interface UnknownAccountOffender {
  address: string;
  attempts: number;
  /** Distinct usernames tried; counting stops at the limit (100). */
  distinctUsernames: number;
  /** The first few usernames tried, cut to 64 characters. Attacker-controlled text. */
  sampleUsernames: string[];
  firstSeen: string;
  lastSeen: string;
}

interface Offender {
  attempts: number;
  /** 32-bit hashes of the usernames seen: bounded memory whatever their length. */
  distinct: Set<number>;
  samples: string[];
  firstSeen: number;
  lastSeen: number;
}

/**
 * Who sends requests for accounts that do not exist (scanners, typos), per node and remote IP. Every
 * structure is bounded: a scan from many addresses with endless random usernames cannot grow memory.
 */
export class UnknownAccountTracker {
  private readonly byNode = new Map<string, Map<string, Offender>>();

  constructor(private readonly limits: UnknownAccountLimits = DEFAULT_UNKNOWN_ACCOUNT_LIMITS) {}

  add(e: AuthAccountUnknown): void {
    const username = typeof e.account === 'string' ? e.account : '';
    const ts = Number.isFinite(e.ts) ? e.ts : 0;
    let offenders = this.byNode.get(e.node);
    if (!offenders) {
      offenders = new Map();
      this.byNode.set(e.node, offenders);
    }
    const address = remoteIp(e.remote);
    let o = offenders.get(address);
    if (o) {
      // Re-insert so the Map's first entry is always the least recently seen.
      offenders.delete(address);
    } else {
      if (offenders.size >= this.limits.maxAddresses) {
        const oldest = offenders.keys().next().value;
        if (oldest !== undefined) offenders.delete(oldest);
      }
      o = { attempts: 0, distinct: new Set(), samples: [], firstSeen: ts, lastSeen: ts };
    }
    offenders.set(address, o);
    o.attempts += 1;
    o.lastSeen = ts;
    if (o.distinct.size < this.limits.maxDistinct) {
      const h = fnv1a(username);
      if (!o.distinct.has(h)) {
        o.distinct.add(h);
        if (o.samples.length < this.limits.maxSamples)
          o.samples.push(truncate(username, this.limits.sampleChars));
      }
    }
  }

  /** The `limit` addresses with the most attempts (ties: most recent first). */
  top(node: string, limit = 20): UnknownAccountOffender[] {
    const offenders = this.byNode.get(node);
    if (!offenders) return [];
    return [...offenders.entries()]
      .sort(([, a], [, b]) => b.attempts - a.attempts || b.lastSeen - a.lastSeen)
      .slice(0, limit)
      .map(([address, o]) => ({
        address,
        attempts: o.attempts,
        distinctUsernames: o.distinct.size,
        sampleUsernames: [...o.samples],
        firstSeen: isoTime(o.firstSeen),
        lastSeen: isoTime(o.lastSeen),
      }));
  }

  /** Addresses tracked on `node`. */
  size(node: string): number {
    return this.byNode.get(node)?.size ?? 0;
  }
}

/** First `max` characters, never splitting a surrogate pair. */
function truncate(s: string, max: number): string {
  if (s.length <= max) return s;
  return Array.from(s.slice(0, max * 2))
    .slice(0, max)
    .join('');
}

/** FNV-1a over UTF-16 code units: cheap, and collisions only undercount distinct usernames slightly. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
