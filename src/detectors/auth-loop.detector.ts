import type {
  Alert,
  AuthChallengeFailed,
  AuthSucceeded,
  SipAddress,
  TransportKind,
} from '../events/pbx-events';
import type { RegistrationReader } from '../state/registrations/registration.views';
import type { AlertSink } from './alerts.service';
import {
  type Clock,
  endpointLabel,
  formatDuration,
  ipOfHostPort,
  isoTime,
  namesEndpoint,
  remoteIp,
} from './detection.common';

export interface AuthLoopOptions {
  /** Digest failures within `windowMs` that make a loop. */
  threshold: number;
  windowMs: number;
  /** An active loop clears after this long without a failure. */
  quietMs: number;
  /** Sources (endpoint + IP) tracked per node; the least recently seen is dropped beyond it. */
  maxSourcesPerNode: number;
}

/** One endpoint failing digest auth from one IP. */
interface LoopSource {
  node: string;
  endpoint: string;
  ip: string;
  /** Metric label, fixed when the source is first seen so a counter never moves between series. */
  label: string;
  /** While not active: failure times within the window (at most `threshold`). */
  recent: number[];
  /** While active: failures since the first of the loop. */
  attempts: number;
  firstSeen: number;
  lastSeen: number;
  remote: SipAddress | undefined;
  active: boolean;
}

/**
 * 401 loops: the same endpoint failing digest authentication from the same IP again and again with no
 * success in between — a device with a wrong password (or auth username, or realm) retrying forever.
 *
 * The key is node + endpoint + remote IP, not the port: TCP and WebSocket clients reconnect from a new
 * source port, and a UDP phone behind NAT can be re-mapped. `auth.challenge_failed` with account
 * `<unknown>` is not a loop of an endpoint (no endpoint matched; the scanner case is tracked by the
 * unknown-account offenders instead).
 */
export class AuthLoopDetector {
  private readonly sources = new Map<string, Map<string, LoopSource>>();
  /** Loops detected, by node → endpoint label. */
  private readonly detected = new Map<string, Map<string, number>>();

  constructor(
    private readonly options: AuthLoopOptions,
    private readonly reader: RegistrationReader,
    private readonly alerts: AlertSink,
    private readonly now: Clock,
  ) {}

  onChallengeFailed(e: AuthChallengeFailed): void {
    if (typeof e.account !== 'string' || !namesEndpoint(e.account)) return;
    const now = this.now();
    const ip = remoteIp(e.remote);
    const source = this.touch(e.node, e.account, ip);
    source.lastSeen = now;
    if (e.remote) source.remote = e.remote;
    if (source.active) {
      source.attempts += 1;
      this.alerts.upsert(this.alertOf(source));
      return;
    }
    source.recent = source.recent.filter((t) => now - t < this.options.windowMs);
    source.recent.push(now);
    if (source.recent.length > this.options.threshold) source.recent.shift();
    source.firstSeen = source.recent[0];
    if (source.recent.length < this.options.threshold) return;
    source.active = true;
    source.attempts = source.recent.length;
    source.recent = [];
    this.countDetected(source);
    this.alerts.upsert(this.alertOf(source));
  }

  /** A verified digest from the endpoint and IP ends its loop (and any streak building up). */
  onSucceeded(e: AuthSucceeded): void {
    if (typeof e.account !== 'string' || !namesEndpoint(e.account)) return;
    const bySource = this.sources.get(e.node);
    const key = sourceKey(e.account, remoteIp(e.remote));
    const source = bySource?.get(key);
    if (!source) return;
    bySource?.delete(key);
    if (source.active) this.alerts.clear(alertId(source), 'success');
  }

  /** Clears loops quiet for `quietMs` and forgets streaks that fell out of the window. */
  sweep(): void {
    const now = this.now();
    for (const bySource of this.sources.values()) {
      for (const [key, source] of bySource) {
        if (source.active) {
          if (now - source.lastSeen >= this.options.quietMs) {
            bySource.delete(key);
            this.alerts.clear(alertId(source), 'quiet');
          }
        } else if (now - source.lastSeen >= this.options.windowMs) {
          bySource.delete(key);
        }
      }
    }
  }

  /** Endpoint labels with at least one active loop on `node`. */
  activeLabels(node: string): Set<string> {
    const out = new Set<string>();
    for (const s of this.sources.get(node)?.values() ?? []) if (s.active) out.add(s.label);
    return out;
  }

  /** Loops detected since start, by endpoint label, for `node`. */
  detectedCounts(node: string): ReadonlyMap<string, number> {
    return this.detected.get(node) ?? new Map<string, number>();
  }

  /** Sources tracked on `node` (active or building up). */
  trackedSources(node: string): number {
    return this.sources.get(node)?.size ?? 0;
  }

  private touch(node: string, endpoint: string, ip: string): LoopSource {
    let bySource = this.sources.get(node);
    if (!bySource) {
      bySource = new Map();
      this.sources.set(node, bySource);
    }
    const key = sourceKey(endpoint, ip);
    let source = bySource.get(key);
    if (source) {
      // Re-insert: Map order is then least recently seen first, for eviction.
      bySource.delete(key);
    } else {
      this.evictIfFull(bySource);
      const now = this.now();
      source = {
        node,
        endpoint,
        ip,
        label: endpointLabel(this.reader, node, endpoint),
        recent: [],
        attempts: 0,
        firstSeen: now,
        lastSeen: now,
        remote: undefined,
        active: false,
      };
    }
    bySource.set(key, source);
    return source;
  }

  /** Brute force from many IPs must not grow memory: drop the least recently seen, streaks first. */
  private evictIfFull(bySource: Map<string, LoopSource>): void {
    if (bySource.size < this.options.maxSourcesPerNode) return;
    for (const [key, s] of bySource) {
      if (!s.active) {
        bySource.delete(key);
        return;
      }
    }
    const [key, oldest] = bySource.entries().next().value as [string, LoopSource];
    bySource.delete(key);
    this.alerts.clear(alertId(oldest), 'evicted');
  }

  private countDetected(source: LoopSource): void {
    let byLabel = this.detected.get(source.node);
    if (!byLabel) {
      byLabel = new Map();
      this.detected.set(source.node, byLabel);
    }
    byLabel.set(source.label, (byLabel.get(source.label) ?? 0) + 1);
  }

  private alertOf(s: LoopSource): Alert {
    const transport: TransportKind = s.remote?.transport ?? 'unknown';
    const endpoint = this.reader.endpoint(s.node, s.endpoint);
    const userAgent = this.userAgentOf(s);
    const auth = endpoint?.auths.length
      ? ` (auth=${endpoint.auths.join(',')}` +
        (endpoint.authUsernames.length ? `, username=${endpoint.authUsernames.join(',')})` : ')')
      : '';
    return {
      id: alertId(s),
      type: 'auth_loop',
      node: s.node,
      endpoint: s.endpoint,
      since: isoTime(s.firstSeen),
      lastSeen: isoTime(s.lastSeen),
      count: s.attempts,
      message:
        `${s.endpoint} from ${s.ip} (${transport}) failed digest authentication ${s.attempts} times in ` +
        `${formatDuration(s.lastSeen - s.firstSeen)} with no success: wrong password on the device` +
        (userAgent ? ` (${userAgent})` : ''),
      remedy:
        `Check the password and the authentication username configured on the device at ${s.ip} ` +
        `against endpoint ${s.endpoint}'s auth section${auth}: the device must send that username ` +
        `(not only the extension) and that password, for the realm Asterisk challenges with ` +
        `(default: asterisk). Once fixed the loop clears on the next successful REGISTER.`,
      details: {
        remote: s.remote ?? null,
        transport,
        userAgent,
        attempts: s.attempts,
        firstSeen: isoTime(s.firstSeen),
        lastSeen: isoTime(s.lastSeen),
        auths: endpoint?.auths ?? [],
        authUsernames: endpoint?.authUsernames ?? [],
      },
    };
  }

  /** The User-Agent of a registered contact of the endpoint whose REGISTER came from this IP. */
  private userAgentOf(s: LoopSource): string | null {
    for (const c of this.reader.contacts(s.node, s.endpoint)) {
      if (c.userAgent && c.viaAddress && ipOfHostPort(c.viaAddress) === s.ip) return c.userAgent;
    }
    return null;
  }
}

function sourceKey(endpoint: string, ip: string): string {
  return `${endpoint}\u0000${ip}`;
}

function alertId(s: { node: string; endpoint: string; ip: string }): string {
  return `auth_loop:${s.node}:${s.endpoint}:${s.ip}`;
}
