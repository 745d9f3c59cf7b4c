import {
  contactStatus,
  deviceStateName,
  registrationStatus,
  transportKind,
  usec,
} from '../common/asterisk.vocabulary';
import { detached } from '../common/text';
import type {
  AorRecord,
  AuthRecord,
  ContactRecord,
  EndpointDetailRecord,
  EndpointRecord,
  ListedChannel,
  OutboundRegistrationRecord,
} from '../common/pbx.records';
import type { TransportKind } from '../events/pbx-events';
import type { AmiMessage } from './ami.message';
import { channelSnapshot } from './ami.normaliser';

/*
 * Pure parsing of list-action items into domain records. Items are picked by their `Event:` name, so
 * the whole answer of a list action can be passed in. Every string a record keeps is `detached` from
 * its frame: records live in state for as long as the object exists in Asterisk.
 */

/** `PJSIPShowEndpoints` → `EndpointList` items. */
export function endpointRecords(msgs: readonly AmiMessage[]): EndpointRecord[] {
  return records(msgs, endpointRecord);
}

/** One `EndpointList` item; `undefined` for any other frame. */
export function endpointRecord(msg: AmiMessage): EndpointRecord | undefined {
  return namedItem(msg, 'EndpointList', (name, f) => ({
    name,
    aors: splitList(f.Aor),
    auths: splitList(f.Auths),
    transport: nonEmpty(f.Transport),
    deviceState: deviceStateName(f.DeviceState),
  }));
}

/** `PJSIPShowAors` → `AorList` items. */
export function aorRecords(msgs: readonly AmiMessage[]): AorRecord[] {
  return records(msgs, aorRecord);
}

/** One `AorList` item; `undefined` for any other frame. */
export function aorRecord(msg: AmiMessage): AorRecord | undefined {
  return namedItem(msg, 'AorList', (name, f) => ({
    name,
    maxContacts: int(f.MaxContacts),
    removeExisting: bool(f.RemoveExisting),
    qualifyFrequency: int(f.QualifyFrequency),
    contacts: aorContactUris(name, f.Contacts),
  }));
}

/** `prov/sip:prov@203.0.113.5:5060,prov/sip:…` → the URIs (each id is `<aor>/<uri>`). */
function aorContactUris(aor: string, raw: string | undefined): string[] {
  const prefix = `${aor}/`;
  return splitList(raw).map((id) => (id.startsWith(prefix) ? detached(id.slice(prefix.length)) : id));
}

/** `PJSIPShowAuths` → `AuthList` items. Identity fields only: `Password` and `Md5Cred` are never read. */
export function authRecords(msgs: readonly AmiMessage[]): AuthRecord[] {
  return records(msgs, authRecord);
}

/** One `AuthList` item (identity only); `undefined` for any other frame. */
export function authRecord(msg: AmiMessage): AuthRecord | undefined {
  return namedItem(msg, 'AuthList', (name, f) => ({
    name,
    username: detached(f.Username ?? ''),
    realm: detached(f.Realm ?? ''),
    authType: detached(f.AuthType ?? ''),
  }));
}

/** `ContactStatusDetail` items (of the registrations list or of `PJSIPShowEndpoint`). */
export function contactRecords(msgs: readonly AmiMessage[]): ContactRecord[] {
  return records(msgs, contactRecord);
}

/** One `ContactStatusDetail` item of a registered contact; `undefined` for any other frame. */
export function contactRecord(msg: AmiMessage): ContactRecord | undefined {
  const f = msg.fields;
  if (f.Event !== 'ContactStatusDetail') return undefined;
  const status = contactStatus(f.Status);
  if (!f.AOR || !f.URI || !status || status === 'removed') return undefined;
  return {
    aor: detached(f.AOR),
    uri: detached(f.URI),
    endpoint: detached(f.EndpointName ?? ''),
    status,
    rttUsec: status === 'reachable' ? (usec(f.RoundtripUsec) ?? null) : null,
    userAgent: nonEmpty(f.UserAgent),
    expiresAt: epochToIso(f.RegExpire),
    viaAddress: nonEmpty(f.ViaAddress),
    callId: nonEmpty(f.CallID),
  };
}

/** The answer of `PJSIPShowEndpoint Endpoint: <name>`: context, transport protocol, contacts. */
export function endpointDetailRecord(msgs: readonly AmiMessage[]): EndpointDetailRecord {
  const detail = msgs.find((m) => m.fields.Event === 'EndpointDetail');
  const transport = msgs.find((m) => m.fields.Event === 'TransportDetail');
  return {
    context: nonEmpty(detail?.fields.Context),
    transportProtocol: transport ? protocolOf(transport.fields.Protocol) : null,
    contacts: contactRecords(msgs),
  };
}

/**
 * A `CoreShowChannel` list item: the channel snapshot fields plus `BridgeId` (empty when in no bridge)
 * and `Duration` (`HH:MM:SS` since the channel was created).
 */
export function listedFromCoreShowChannel(m: AmiMessage, now: number): ListedChannel | undefined {
  if (m.fields.Event !== 'CoreShowChannel') return undefined;
  const channel = channelSnapshot(m.fields);
  if (!channel) return undefined;
  const seconds = durationSeconds(m.fields.Duration);
  return {
    channel,
    bridgeId: m.fields.BridgeId ? m.fields.BridgeId : null,
    createdAt: seconds === undefined ? undefined : now - seconds * 1000,
  };
}

function durationSeconds(raw: string | undefined): number | undefined {
  const m = raw === undefined ? null : /^(\d+):(\d{2}):(\d{2})$/.exec(raw);
  if (!m) return undefined;
  return Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]);
}

function protocolOf(raw: string | undefined): TransportKind | null {
  const v = raw?.trim();
  return v ? transportKind(v) : null;
}

function records<T>(msgs: readonly AmiMessage[], record: (msg: AmiMessage) => T | undefined): T[] {
  const out: T[] = [];
  for (const m of msgs) {
    const r = record(m);
    if (r !== undefined) out.push(r);
  }
  return out;
}

/** An `event` item that names its object (`ObjectName`), built into a record. */
function namedItem<T>(
  msg: AmiMessage,
  event: string,
  build: (name: string, fields: Record<string, string>) => T,
): T | undefined {
  const f = msg.fields;
  return f.Event === event && f.ObjectName ? build(detached(f.ObjectName), f) : undefined;
}

/** `1001, 1001-b` → `['1001', '1001-b']` (Asterisk keeps `aors=` as written). */
function splitList(raw: string | undefined): string[] {
  return (raw ?? '')
    .split(',')
    .map((s) => detached(s.trim()))
    .filter((s) => s.length > 0);
}

function nonEmpty(raw: string | undefined): string | null {
  const v = raw?.trim();
  return v ? detached(v) : null;
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

/**
 * `PJSIPShowRegistrationsOutbound` → one record per `OutboundRegistrationDetail`. Asterisk follows each
 * with an `AuthDetail` per outbound auth that exists (never for a name that matches no auth section),
 * which is how a dangling `outbound_auth` shows; the auths' passwords are never read.
 */
export function outboundRegistrationRecords(msgs: readonly AmiMessage[]): OutboundRegistrationRecord[] {
  const out: OutboundRegistrationRecord[] = [];
  let current: { fields: Record<string, string>; found: Set<string> } | undefined;
  const flush = (): void => {
    if (!current) return;
    const f = current.fields;
    const auths = splitList(f.OutboundAuth);
    const found = current.found;
    out.push({
      name: detached(f.ObjectName),
      serverUri: detached(f.ServerUri ?? ''),
      clientUri: detached(f.ClientUri ?? ''),
      outboundAuths: auths,
      missingAuths: auths.filter((a) => !found.has(a)),
      transport: nonEmpty(f.Transport),
      endpoint: nonEmpty(f.Endpoint),
      expirationSec: int(f.Expiration),
      retryIntervalSec: int(f.RetryInterval),
      forbiddenRetryIntervalSec: int(f.ForbiddenRetryInterval),
      maxRetries: int(f.MaxRetries),
      authRejectionPermanent: bool(f.AuthRejectionPermanent),
      status: registrationStatus(f.Status),
    });
    current = undefined;
  };
  for (const m of msgs) {
    const f = m.fields;
    if (f.Event === 'OutboundRegistrationDetail' && f.ObjectName) {
      flush();
      current = { fields: f, found: new Set() };
    } else if (f.Event === 'AuthDetail' && current && f.ObjectName) {
      current.found.add(f.ObjectName);
    }
  }
  flush();
  return out;
}
