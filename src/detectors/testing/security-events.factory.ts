import type { PbxEventOf, SecurityEvent, SipAddress, TransportKind } from '../../events/pbx-events';

type SecurityType = SecurityEvent['type'];

export interface SecurityEventFields {
  node?: string;
  ts?: number;
  account?: string;
  /** `ip` or `ip:port`; transport from `transport`. Omit with `remote: null`. */
  from?: string | null;
  transport?: TransportKind;
  sessionId?: string;
  aclName?: string;
  requestType?: string;
}

/** A security event as the AMI normaliser would publish it. */
export function securityEvent<T extends SecurityType>(type: T, f: SecurityEventFields = {}): PbxEventOf<T> {
  const from = f.from === undefined ? '203.0.113.5:5060' : f.from;
  let remote: SipAddress | undefined;
  if (from !== null) {
    const i = from.lastIndexOf(':');
    const hasPort = i > 0 && /^\d+$/.test(from.slice(i + 1)) && !from.slice(0, i).includes(':');
    remote = {
      transport: f.transport ?? 'udp',
      address: hasPort ? from.slice(0, i) : from,
      port: hasPort ? Number(from.slice(i + 1)) : null,
    };
  }
  const base = {
    node: f.node ?? 'pbx1',
    ts: f.ts ?? Date.parse('2026-11-23T12:00:00.000Z'),
    source: 'ami' as const,
    account: f.account ?? '2001',
    sessionId: f.sessionId ?? 'call-1@test',
    remote,
    local: { transport: 'udp' as const, address: '198.51.100.1', port: 5060 },
  };
  const extra =
    type === 'auth.acl_denied'
      ? { aclName: f.aclName ?? 'not_match_endpoint_acl' }
      : type === 'registrar.request_rejected'
        ? { requestType: f.requestType ?? 'registrar_requested_aor_not_found' }
        : {};
  return { ...base, ...extra, type } as PbxEventOf<T>;
}
