import type { Alert } from '../events/pbx-events';
import type { TrunkReader, TrunkView } from '../state/trunks/trunk.views';
import type { AlertSink } from './alerts.service';
import { type Clock, formatDuration, isoTime } from './detection.common';

export interface TrunkReachabilityDetectorOptions {
  /** A trunk unreachable for this long raises its alert. */
  unreachableMs: number;
}

/** `trunk_unreachable:<node>:<endpoint>`. */
export function trunkUnreachableAlertId(node: string, endpoint: string): string {
  return `trunk_unreachable:${node}:${endpoint}`;
}

/**
 * Trunks that do not answer: one `trunk_unreachable` alert per trunk endpoint (permanent contacts with
 * `qualify_frequency`), raised when every contact has been unreachable for `unreachableMs`, cleared when
 * one answers again or the trunk is no longer configured. `unknown` (not qualified yet, AMI down) neither
 * raises nor clears. Level-triggered on the store's state, so a restart needs no replay of events.
 */
export class TrunkReachabilityDetector {
  /** Active alert ids per node. */
  private readonly active = new Map<string, Set<string>>();

  constructor(
    private readonly opts: TrunkReachabilityDetectorOptions,
    private readonly reader: TrunkReader,
    private readonly alerts: AlertSink,
    private readonly now: Clock,
  ) {}

  /** Re-evaluate every trunk of `node` (after a contact status change, and on each sweep). */
  evaluate(node: string): void {
    const now = this.now();
    const seen = new Set<string>();
    const active = this.active.get(node) ?? new Set<string>();
    this.active.set(node, active);
    for (const t of this.reader.trunks(node)) {
      const id = trunkUnreachableAlertId(node, t.endpoint);
      seen.add(id);
      if (t.reachability === 'reachable') {
        if (this.alerts.clear(id, 'reachable')) active.delete(id);
        continue;
      }
      if (t.reachability !== 'unreachable') continue;
      const since = Math.min(now, Date.parse(t.since) || now);
      if (now - since >= this.opts.unreachableMs) {
        this.alerts.upsert(alertOf(node, t, since, now));
        active.add(id);
      }
    }
    for (const id of [...active]) {
      if (seen.has(id)) continue;
      this.alerts.clear(id, 'removed');
      active.delete(id);
    }
  }
}

function alertOf(node: string, t: TrunkView, since: number, now: number): Alert {
  const uris = t.contacts.map((c) => c.uri);
  return {
    id: trunkUnreachableAlertId(node, t.endpoint),
    type: 'trunk_unreachable',
    node,
    endpoint: t.endpoint,
    since: isoTime(since),
    lastSeen: isoTime(now),
    count: 1,
    message:
      `Trunk ${t.endpoint} has answered no OPTIONS for ${formatDuration(now - since)} ` +
      `(contact${uris.length === 1 ? '' : 's'} ${uris.join(', ')}): calls to it fail.`,
    remedy:
      `Check that the provider's address in contact= is right and reachable from Asterisk (DNS, firewall, ` +
      `the transport's protocol and port, outbound_proxy), that the provider is up, and that it answers ` +
      `OPTIONS at all (some only answer from whitelisted addresses: qualify_frequency=0 then). ` +
      `'pjsip show aor <aor>' and 'pjsip qualify ${t.endpoint}' show the current status.`,
    details: {
      contacts: t.contacts.map((c) => ({ aor: c.aor, uri: c.uri, status: c.status })),
      qualifyFrequency: t.qualifyFrequency,
    },
  };
}
