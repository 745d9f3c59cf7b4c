import type { Alert, RegistrarRequestRejected, SipAddress } from '../events/pbx-events';
import type { RegistrationReader } from '../state/registrations/registration.views';
import type { AlertSink } from './alerts.service';
import { explainAorNotFound } from './aor-explanation';
import { type Clock, endpointLabel, isoTime, namesEndpoint } from './detection.common';
import { AOR_NOT_FOUND_REQUEST_TYPE } from './failure-classifier';

export interface AorNotFoundOptions {
  /** The alert stays active this long after the last occurrence. */
  windowMs: number;
  /** Endpoints tracked per node; the least recently seen is dropped beyond it. */
  maxEndpointsPerNode: number;
}

interface AorOccurrences {
  node: string;
  endpoint: string;
  firstSeen: number;
  lastSeen: number;
  count: number;
  remote: SipAddress | null;
}

/**
 * `aor_not_found`: an authenticated REGISTER the registrar answered 404 because no AOR matched the To
 * user (`RequestNotSupported` / `registrar_requested_aor_not_found`). One alert per node + endpoint,
 * active for `windowMs` after the last occurrence, explained from the endpoint's configuration.
 */
export class AorNotFoundDetector {
  private readonly open = new Map<string, Map<string, AorOccurrences>>();
  /** Occurrences since start, by node → endpoint label. */
  private readonly occurrences = new Map<string, Map<string, number>>();

  constructor(
    private readonly options: AorNotFoundOptions,
    private readonly reader: RegistrationReader,
    private readonly alerts: AlertSink,
    private readonly now: Clock,
  ) {}

  onRequestRejected(e: RegistrarRequestRejected): void {
    if (e.requestType !== AOR_NOT_FOUND_REQUEST_TYPE) return;
    const account = typeof e.account === 'string' ? e.account : '';
    this.count(e.node, endpointLabel(this.reader, e.node, account));
    // The registrar runs after endpoint identification, so the account is an endpoint name.
    if (!namesEndpoint(account)) return;
    const now = this.now();
    let byEndpoint = this.open.get(e.node);
    if (!byEndpoint) {
      byEndpoint = new Map();
      this.open.set(e.node, byEndpoint);
    }
    let occ = byEndpoint.get(account);
    if (occ) {
      byEndpoint.delete(account);
    } else {
      this.evictIfFull(byEndpoint);
      occ = { node: e.node, endpoint: account, firstSeen: now, lastSeen: now, count: 0, remote: null };
    }
    byEndpoint.set(account, occ);
    occ.count += 1;
    occ.lastSeen = now;
    occ.remote = e.remote ?? occ.remote;
    // Re-explained on every occurrence: a reload may have changed the configuration since.
    this.alerts.upsert(this.alertOf(occ));
  }

  /** The endpoint has a registered contact again: whatever was wrong is fixed. */
  onRegistered(node: string, endpoint: string): void {
    const occ = this.open.get(node)?.get(endpoint);
    if (!occ) return;
    this.open.get(node)?.delete(endpoint);
    this.alerts.clear(alertId(occ), 'resolved');
  }

  sweep(): void {
    const now = this.now();
    for (const byEndpoint of this.open.values()) {
      for (const [endpoint, occ] of byEndpoint) {
        if (now - occ.lastSeen < this.options.windowMs) continue;
        byEndpoint.delete(endpoint);
        this.alerts.clear(alertId(occ), 'quiet');
      }
    }
  }

  /** Occurrences since start, by endpoint label, for `node`. */
  counts(node: string): ReadonlyMap<string, number> {
    return this.occurrences.get(node) ?? new Map<string, number>();
  }

  private count(node: string, label: string): void {
    let byLabel = this.occurrences.get(node);
    if (!byLabel) {
      byLabel = new Map();
      this.occurrences.set(node, byLabel);
    }
    byLabel.set(label, (byLabel.get(label) ?? 0) + 1);
  }

  private evictIfFull(byEndpoint: Map<string, AorOccurrences>): void {
    if (byEndpoint.size < this.options.maxEndpointsPerNode) return;
    const first = byEndpoint.entries().next().value;
    if (!first) return;
    byEndpoint.delete(first[0]);
    this.alerts.clear(alertId(first[1]), 'evicted');
  }

  private alertOf(occ: AorOccurrences): Alert {
    const x = explainAorNotFound(occ.endpoint, this.reader.endpoint(occ.node, occ.endpoint), (name) =>
      this.reader.aor(occ.node, name),
    );
    return {
      id: alertId(occ),
      type: 'aor_not_found',
      node: occ.node,
      endpoint: occ.endpoint,
      since: isoTime(occ.firstSeen),
      lastSeen: isoTime(occ.lastSeen),
      count: occ.count,
      message: x.message,
      remedy: x.remedy,
      details: {
        cause: x.cause,
        configuredAors: x.configuredAors,
        existingAors: x.existingAors,
        authUsernames: x.authUsernames,
        remote: occ.remote,
      },
    };
  }
}

function alertId(occ: { node: string; endpoint: string }): string {
  return `aor_not_found:${occ.node}:${occ.endpoint}`;
}
