import type {
  AsteriskRegistrationStatus,
  ChannelState,
  ContactStatus,
  TransportKind,
} from '../events/pbx-events';

/*
 * Asterisk's own words (channel states, contact statuses, device states, transports) and how pbxpulse
 * spells them. Shared by both adapters, which meet them in frames, and the state layer, which meets them
 * in identifiers (`PJSIP/1001`) and contact URIs. Pure: no protocol framing here.
 */

const CHANNEL_STATES: Readonly<Record<string, ChannelState>> = {
  down: 'down',
  rsrvd: 'rsrvd',
  offhook: 'offhook',
  dialing: 'dialing',
  ring: 'ring',
  ringing: 'ringing',
  up: 'up',
  busy: 'busy',
  'dialing offhook': 'dialing_offhook',
  'pre-ring': 'pre_ring',
};

/** `ChannelStateDesc` (AMI) or `state` (ARI): `Up`, `Ringing`, `Dialing Offhook` … */
export function channelState(desc: string | undefined): ChannelState {
  return (desc && CHANNEL_STATES[desc.toLowerCase()]) || 'unknown';
}

const CONTACT_STATUS: Readonly<Record<string, ContactStatus>> = {
  Reachable: 'reachable',
  Unreachable: 'unreachable',
  NonQualified: 'nonqualified',
  Unknown: 'unknown',
  Removed: 'removed',
  // Stale names from the event's XML docs; the code never emits them, but map them if it ever does.
  Unqualified: 'nonqualified',
  Created: 'nonqualified',
};

/** `ContactStatus` / `Status` of a contact (`Reachable`, `NonQualified` …); unknown words → undefined. */
export function contactStatus(raw: string | undefined): ContactStatus | undefined {
  return raw === undefined || !Object.hasOwn(CONTACT_STATUS, raw) ? undefined : CONTACT_STATUS[raw];
}

/** `RoundtripUsec`: a number, or `N/A` unless Reachable. */
export function usec(raw: string | undefined): number | undefined {
  if (!raw || !/^\d+$/.test(raw)) return undefined;
  const n = Number(raw);
  return n > 0 ? n : undefined;
}

/** `PJSIP/1001` → `1001`. */
export function stripTech(peer: string): string {
  const slash = peer.indexOf('/');
  return slash >= 0 ? peer.slice(slash + 1) : peer;
}

// `EndpointList` spells device states for humans (ast_devstate2str); DeviceStateChange uses the
// constant names. pbxpulse keeps the latter.
const DEVICE_STATES: Readonly<Record<string, string>> = {
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

/** A device state in its constant spelling (`NOT_INUSE`), whichever way Asterisk wrote it. */
export function deviceStateName(raw: string | undefined): string {
  if (!raw) return 'UNKNOWN';
  return Object.hasOwn(DEVICE_STATES, raw)
    ? DEVICE_STATES[raw]
    : raw.toUpperCase().replace(/[^A-Z0-9]+/g, '_');
}

const TRANSPORTS: Readonly<Record<string, TransportKind>> = {
  UDP: 'udp',
  TCP: 'tcp',
  TLS: 'tls',
  WS: 'ws',
  WSS: 'wss',
};

/** `UDP`, `wss` … → the transport kind; an unknown word → `unknown`. */
export function transportKind(raw: string): TransportKind {
  const key = raw.trim().toUpperCase();
  return Object.hasOwn(TRANSPORTS, key) ? TRANSPORTS[key] : 'unknown';
}

/** Transport of a contact from its URI: `;transport=ws`, `sips:` → tls, else udp. */
export function transportOfUri(uri: string): TransportKind {
  const m = /;transport=([a-z]+)/i.exec(uri);
  if (m) return transportKind(m[1]);
  return uri.toLowerCase().startsWith('sips:') ? 'tls' : 'udp';
}

const REGISTRATION_STATUSES: ReadonlySet<string> = new Set([
  'Registered',
  'Unregistered',
  'Rejected',
  'Stopped',
]);

/**
 * An outbound registration's `Status:` (of the list, a `Registry` event or a CLI row); `null` for
 * anything else. Asterisk says `Rejected` both for a rejection it retries and for one it gave up on.
 */
export function registrationStatus(raw: string | undefined): AsteriskRegistrationStatus | null {
  const v = raw?.trim() ?? '';
  return REGISTRATION_STATUSES.has(v) ? (v as AsteriskRegistrationStatus) : null;
}
