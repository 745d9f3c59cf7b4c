import type { AmiMessage } from '../../ami/ami.message';
import { contactStatus, usec } from '../../ami/ami.normaliser';
import type { TransportKind } from '../../events/pbx-events';
import {
  type AorState,
  type AuthState,
  type ContactDetail,
  type ContactState,
  type EndpointState,
  EMPTY_REGISTRATIONS,
  type NodeRegistrations,
  allContacts,
  registrations,
} from './registration.state';

/*
 * Pure parsing of the PJSIP list actions into registration state. Item events are picked by their
 * `Event:` name, so the whole answer of a list action can be passed in.
 */

/** The answers a rebuild works from. A missing part is carried over from the previous state. */
export interface RegistrationLists {
  /** `PJSIPShowEndpoints` items (`EndpointList`). */
  endpoints: readonly AmiMessage[];
  /** `PJSIPShowAors` items (`AorList`). */
  aors: readonly AmiMessage[];
  /** `PJSIPShowAuths` items (`AuthList`). */
  auths?: readonly AmiMessage[];
  /** `PJSIPShowRegistrationInboundContactStatuses` items (`ContactStatusDetail`). */
  contacts?: readonly AmiMessage[];
  /** `PJSIPShowEndpoint` items per endpoint name: context and transport protocol. */
  details?: ReadonlyMap<string, readonly AmiMessage[]>;
}

export function buildRegistrations(
  lists: RegistrationLists,
  previous: NodeRegistrations = EMPTY_REGISTRATIONS,
): NodeRegistrations {
  const endpoints: EndpointState[] = [];
  for (const msg of items(lists.endpoints, 'EndpointList')) {
    const name = msg.fields.ObjectName;
    if (!name) continue;
    const detail = lists.details?.get(name);
    endpoints.push(
      parseEndpoint(msg, detail ? parseEndpointDetail(detail) : undefined, previous.endpoints.get(name)),
    );
  }
  const aors = items(lists.aors, 'AorList')
    .map(parseAor)
    .filter((a): a is AorState => a !== undefined);
  const auths = lists.auths
    ? items(lists.auths, 'AuthList')
        .map(parseAuth)
        .filter((a): a is AuthState => a !== undefined)
    : previous.auths.values();

  let contacts: Iterable<ContactState> = allContacts(previous);
  if (lists.contacts) {
    const list: ContactState[] = [];
    for (const msg of items(lists.contacts, 'ContactStatusDetail')) {
      const d = parseContactDetail(msg);
      if (!d) continue;
      const endpoint = d.endpoint || endpoints.find((ep) => ep.aors.includes(d.aor))?.name || '';
      list.push({ ...d, endpoint });
    }
    contacts = list;
  }
  return registrations({ endpoints, aors, auths, contacts });
}

export interface EndpointDetail {
  context: string | null;
  transportProtocol: TransportKind | null;
  /** `ContactStatusDetail` items of the endpoint (its AORs' registered contacts). */
  contacts: ContactDetail[];
}

/** The answer of `PJSIPShowEndpoint Endpoint: <name>`. */
export function parseEndpointDetail(msgs: readonly AmiMessage[]): EndpointDetail {
  const detail = msgs.find((m) => m.fields.Event === 'EndpointDetail');
  const transport = msgs.find((m) => m.fields.Event === 'TransportDetail');
  return {
    context: nonEmpty(detail?.fields.Context),
    transportProtocol: transport ? transportKind(transport.fields.Protocol) : null,
    contacts: items(msgs, 'ContactStatusDetail')
      .map(parseContactDetail)
      .filter((c): c is ContactDetail => c !== undefined),
  };
}

function parseEndpoint(
  msg: AmiMessage,
  detail: EndpointDetail | undefined,
  previous: EndpointState | undefined,
): EndpointState {
  const f = msg.fields;
  const deviceState = deviceStateName(f.DeviceState);
  // Nothing in the lists says PeerStatus. DeviceState is derived from it (an offline endpoint is
  // UNAVAILABLE), so derive reachability from it, unless events already told us for this device state.
  const reachable =
    previous && previous.deviceState === deviceState && previous.reachable !== null
      ? previous.reachable
      : deviceState === 'UNAVAILABLE'
        ? false
        : deviceState === 'UNKNOWN' || deviceState === 'INVALID'
          ? (previous?.reachable ?? null)
          : true;
  return {
    name: f.ObjectName,
    aors: splitList(f.Aor),
    auths: splitList(f.Auths),
    transport: nonEmpty(f.Transport),
    transportProtocol: detail ? detail.transportProtocol : (previous?.transportProtocol ?? null),
    context: detail ? detail.context : (previous?.context ?? null),
    deviceState,
    reachable,
  };
}

function parseAor(msg: AmiMessage): AorState | undefined {
  const f = msg.fields;
  if (!f.ObjectName) return undefined;
  return {
    name: f.ObjectName,
    maxContacts: int(f.MaxContacts),
    removeExisting: bool(f.RemoveExisting),
    qualifyFrequency: int(f.QualifyFrequency),
  };
}

/** Identity fields only: `Password` and `Md5Cred` are secrets and are never read. */
function parseAuth(msg: AmiMessage): AuthState | undefined {
  const f = msg.fields;
  if (!f.ObjectName) return undefined;
  return { name: f.ObjectName, username: f.Username ?? '', realm: f.Realm ?? '', authType: f.AuthType ?? '' };
}

/** One `ContactStatusDetail` (from the registrations list or `PJSIPShowEndpoint`). */
export function parseContactDetail(msg: AmiMessage): ContactDetail | undefined {
  const f = msg.fields;
  const status = contactStatus(f.Status);
  if (!f.AOR || !f.URI || !status || status === 'removed') return undefined;
  return {
    aor: f.AOR,
    uri: f.URI,
    endpoint: f.EndpointName ?? '',
    status,
    rttUsec: status === 'reachable' ? (usec(f.RoundtripUsec) ?? null) : null,
    userAgent: nonEmpty(f.UserAgent),
    expiresAt: epochToIso(f.RegExpire),
    viaAddress: nonEmpty(f.ViaAddress),
    callId: nonEmpty(f.CallID),
  };
}

// `EndpointList` spells device states for humans (ast_devstate2str); DeviceStateChange uses the
// constant names. Keep the latter.
const DEVICE_STATES: Record<string, string> = {
  Unknown: 'UNKNOWN',
  'Not in use': 'NOT_INUSE',
  'In use': 'INUSE',
  Busy: 'BUSY',
  Invalid: 'INVALID',
  Unavailable: 'UNAVAILABLE',
  Ringing: 'RINGING',
  'Ring+Inuse': 'RINGINUSE',
  'On Hold': 'ONHOLD',
};

export function deviceStateName(raw: string | undefined): string {
  if (!raw) return 'UNKNOWN';
  return DEVICE_STATES[raw] ?? raw.toUpperCase().replace(/[^A-Z0-9]+/g, '_');
}

const TRANSPORT_KINDS: ReadonlySet<string> = new Set(['udp', 'tcp', 'tls', 'ws', 'wss']);

function transportKind(raw: string | undefined): TransportKind | null {
  const v = raw?.trim().toLowerCase();
  if (!v) return null;
  return TRANSPORT_KINDS.has(v) ? (v as TransportKind) : 'unknown';
}

function items(msgs: readonly AmiMessage[], event: string): AmiMessage[] {
  return msgs.filter((m) => m.fields.Event === event);
}

/** `1001, 1001-b` → `['1001', '1001-b']` (Asterisk keeps `aors=` as written). */
function splitList(raw: string | undefined): string[] {
  return (raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

function nonEmpty(raw: string | undefined): string | null {
  const v = raw?.trim();
  return v ? v : null;
}

function int(raw: string | undefined): number {
  const n = Number.parseInt(raw ?? '', 10);
  return Number.isFinite(n) ? n : 0;
}

function bool(raw: string | undefined): boolean {
  return /^(true|yes|on|1)$/i.test(raw?.trim() ?? '');
}

/** `RegExpire` is epoch seconds; 0 or garbage → null. */
function epochToIso(raw: string | undefined): string | null {
  if (!raw || !/^\d+$/.test(raw)) return null;
  const secs = Number(raw);
  return secs > 0 ? new Date(secs * 1000).toISOString() : null;
}
