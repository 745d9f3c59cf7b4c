import type { Alert } from '../events/pbx-events';
import type {
  OutboundRegistrationReader,
  OutboundRegistrationView,
} from '../state/trunks/outbound-registration.views';
import type { AlertSink } from './alerts.service';
import { type Clock, formatDuration, isoTime } from './detection.common';

export interface OutboundRegistrationDetectorOptions {
  /** A registration not registered for this long (and not given up on) raises its alert. */
  failingMs: number;
}

/** `outbound_registration:<node>:<registration>`. */
export function outboundRegistrationAlertId(node: string, name: string): string {
  return `outbound_registration:${node}:${name}`;
}

/**
 * Trunk registrations that do not work: one `outbound_registration` alert per registration, raised at
 * once when Asterisk rejected it and gave up (`rejected`: credentials, account, a missing auth), or when
 * it has not been registered for `failingMs` (`failed` and retrying: DNS, transport, a registrar that
 * does not answer; or `unregistered` since then); cleared when it registers again or is no longer
 * configured. Level-triggered on the store's state (a few operator-configured objects per node), so a
 * daemon restart or a reconnect needs no replay of events.
 */
export class OutboundRegistrationDetector {
  /** Since when each registration (`node\0name`) has not been registered (epoch ms). */
  private readonly notRegisteredSince = new Map<string, number>();
  /** Active alert ids per node. */
  private readonly active = new Map<string, Set<string>>();

  constructor(
    private readonly opts: OutboundRegistrationDetectorOptions,
    private readonly reader: OutboundRegistrationReader,
    private readonly alerts: AlertSink,
    private readonly now: Clock,
  ) {}

  /** Re-evaluate every registration of `node` (after a change the store published, and on each sweep). */
  evaluate(node: string): void {
    const now = this.now();
    const seen = new Set<string>();
    const active = this.active.get(node) ?? new Set<string>();
    this.active.set(node, active);
    for (const r of this.reader.registrations(node)) {
      const key = `${node}\u0000${r.name}`;
      const id = outboundRegistrationAlertId(node, r.name);
      seen.add(id);
      if (r.state === 'registered' || r.state === 'stopped') {
        this.notRegisteredSince.delete(key);
        if (r.state === 'registered' && this.alerts.clear(id, 'registered')) active.delete(id);
        continue;
      }
      let since = this.notRegisteredSince.get(key);
      if (since === undefined) {
        since = Math.min(now, Date.parse(r.since) || now);
        this.notRegisteredSince.set(key, since);
      }
      if (r.state === 'rejected' || now - since >= this.opts.failingMs) {
        this.alerts.upsert(alertOf(node, r, since, now));
        active.add(id);
      }
    }
    for (const id of [...active]) {
      if (seen.has(id)) continue;
      this.alerts.clear(id, 'removed');
      active.delete(id);
    }
    for (const key of [...this.notRegisteredSince.keys()]) {
      if (
        key.startsWith(`${node}\u0000`) &&
        !seen.has(outboundRegistrationAlertId(node, key.slice(node.length + 1)))
      ) {
        this.notRegisteredSince.delete(key);
      }
    }
  }
}

function alertOf(node: string, r: OutboundRegistrationView, since: number, now: number): Alert {
  const target = `'${r.name}' (${r.clientUri} at ${r.serverUri})`;
  const auths = r.outboundAuths.length > 0 ? r.outboundAuths.join(',') : '(none)';
  const transport = r.transport ?? 'the first transport of the server URI protocol';
  const log = 'The SIP status code is in the Asterisk log (AMI does not carry it)';
  let message: string;
  let remedy: string;
  if (r.state === 'rejected' && r.reason === 'retries_exhausted') {
    message =
      `Trunk registration ${target} failed ${r.consecutiveFailures} times in a row and Asterisk gave up ` +
      `(max_retries=${r.maxRetries}): the trunk is down until it registers again.`;
    remedy =
      `Make the registrar reachable (server_uri resolves in DNS, firewall, transport=${transport}, port and ` +
      `protocol, outbound_proxy), then run 'pjsip send register ${r.name}' or 'pjsip reload'. ${log}: ` +
      `"No response received from …" or "Temporal response '503' …".`;
  } else if (r.state === 'rejected') {
    message =
      `Trunk registration ${target} was rejected and Asterisk stopped trying (a final 401/403/404 answer): ` +
      `the trunk is down until the configuration is fixed and reloaded.`;
    remedy =
      `Check the credentials of outbound_auth=${auths} (username and password the provider gave; the auth ` +
      `section must exist), the account in client_uri and server_uri, then 'pjsip reload' (Asterisk only ` +
      `retries a rejected registration after a reload). A provider that answers 401 to every attempt sees ` +
      `an auth loop from this trunk. ${log}: "Fatal response '401' received from …".`;
  } else {
    const what = r.state === 'failed' ? 'has failed' : 'has not registered';
    message =
      `Trunk registration ${target} ${what} for ${formatDuration(now - since)}` +
      (r.consecutiveFailures > 0
        ? ` (${r.consecutiveFailures} failed attempt${r.consecutiveFailures === 1 ? '' : 's'} in a row)`
        : '') +
      (r.nextAttemptAt ? `; Asterisk retries at ${r.nextAttemptAt}.` : '.');
    remedy =
      `The registrar does not answer or answers 408/5xx: check that server_uri resolves (DNS) and is ` +
      `reachable from Asterisk (firewall, transport=${transport}, port and protocol, outbound_proxy), and ` +
      `that the provider is up; check outbound_auth=${auths} if it answers at all. ${log}: "No response ` +
      `received from …" or "Temporal response '503' …".`;
  }
  return {
    id: outboundRegistrationAlertId(node, r.name),
    type: 'outbound_registration',
    node,
    endpoint: '',
    since: isoTime(since),
    lastSeen: r.lastReportAt ?? isoTime(now),
    count: Math.max(1, r.consecutiveFailures),
    message,
    remedy,
    details: {
      registration: r.name,
      state: r.state,
      reason: r.reason,
      serverUri: r.serverUri,
      clientUri: r.clientUri,
      outboundAuths: r.outboundAuths,
      transport: r.transport,
      consecutiveFailures: r.consecutiveFailures,
      nextAttemptAt: r.nextAttemptAt,
    },
  };
}
