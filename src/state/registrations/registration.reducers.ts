import { stripTech } from '../../common/asterisk.vocabulary';
import type {
  ContactStatusChanged,
  DeviceStateChanged,
  EndpointReachabilityChanged,
  PbxEvent,
  RegistrationChanged,
  StateRepaired,
} from '../../events/pbx-events';
import {
  type ContactDetail,
  type ContactState,
  type EndpointState,
  type NodeRegistrations,
  allContacts,
  contactCountOf,
  dropContact,
  findContact,
  putContact,
} from './registration.state';

/*
 * Pure reducers of the registration state: state in, input in, new state + derived events out. No I/O,
 * no clock (times come from the inputs). A reducer that changes nothing returns the very same state
 * object and derives nothing: AMI and ARI both publish every contact/endpoint/device event, so the copy
 * from the second link must be a no-op. (A copy that arrives out of order, after a newer event from the
 * other link, is not the reducers' business: the store drops it before, see `LinkDuplicates`.)
 */

/** The bus events that move registration state. */
export type RegistrationEvent = ContactStatusChanged | EndpointReachabilityChanged | DeviceStateChanged;

/** Details read by a targeted `PJSIPShowEndpoint` for contacts first seen through an event. */
export interface ContactsEnriched {
  type: 'contacts.enriched';
  node: string;
  ts: number;
  contacts: readonly ContactDetail[];
}

/** Everything the store feeds to `reduce` (and journals while a list read is in flight). */
export type RegistrationInput = RegistrationEvent | ContactsEnriched;

export interface Reduced {
  state: NodeRegistrations;
  /** Events to publish: `registration.changed`, `state.repaired`. */
  derived: PbxEvent[];
}

export function reduce(state: NodeRegistrations, input: RegistrationInput): Reduced {
  switch (input.type) {
    case 'contact.status_changed':
      return reduceContact(state, input);
    case 'endpoint.reachability_changed':
      return updateEndpoint(state, input.endpoint, { reachable: input.reachable });
    case 'device.state_changed':
      return updateEndpoint(state, stripTech(input.device), { deviceState: input.state });
    case 'contacts.enriched':
      return { state: enrich(state, input.contacts), derived: [] };
    default: {
      const never: never = input;
      return never;
    }
  }
}

function reduceContact(state: NodeRegistrations, e: ContactStatusChanged): Reduced {
  // A permanent `contact=` (a provider trunk) qualifies like a registered contact but is no registration:
  // the trunk store follows it.
  if (state.aors.get(e.aor)?.staticContacts?.includes(e.uri)) return { state, derived: [] };
  const old = findContact(state, e.aor, e.uri);
  if (e.status === 'removed') {
    if (!old) return { state, derived: [] };
    const next = dropContact(state, e.aor, e.uri);
    return {
      state: next,
      derived: registrationChanges(state, next, state.endpointsByAor.get(e.aor) ?? [], e),
    };
  }
  if (!old) {
    const next = putContact(state, {
      aor: e.aor,
      endpoint: e.endpoint,
      uri: e.uri,
      status: e.status,
      rttUsec: e.status === 'reachable' ? (e.rttUsec ?? null) : null,
      userAgent: null,
      expiresAt: null,
      viaAddress: null,
      callId: null,
    });
    return {
      state: next,
      derived: registrationChanges(state, next, state.endpointsByAor.get(e.aor) ?? [], e),
    };
  }
  // An event with an unchanged status (the other link's copy, a journal replay, a re-REGISTER with
  // send_contact_status_on_update_registration) keeps the RTT we have: it may be older than a poll's.
  const rttUsec =
    e.status !== 'reachable'
      ? null
      : e.status === old.status
        ? (old.rttUsec ?? e.rttUsec ?? null)
        : (e.rttUsec ?? null);
  // The registering endpoint stays: an AOR shared by N endpoints yields N events for one contact.
  const endpoint = old.endpoint || e.endpoint;
  if (e.status === old.status && rttUsec === old.rttUsec && endpoint === old.endpoint) {
    return { state, derived: [] };
  }
  return { state: putContact(state, { ...old, status: e.status, rttUsec, endpoint }), derived: [] };
}

function updateEndpoint(
  state: NodeRegistrations,
  name: string,
  patch: Partial<Pick<EndpointState, 'reachable' | 'deviceState'>>,
): Reduced {
  // Endpoints come from Asterisk's configuration (the list actions); events never invent one.
  const old = state.endpoints.get(name);
  if (!old) return { state, derived: [] };
  const updated = { ...old, ...patch };
  if (updated.reachable === old.reachable && updated.deviceState === old.deviceState) {
    return { state, derived: [] };
  }
  // Only reachability and device state change here, never `aors`: the AOR index stays valid.
  return { state: { ...state, endpoints: state.endpoints.set(name, updated) }, derived: [] };
}

/** Adds user agent, expiry, via, Call-ID (and a fresh RTT) to contacts we have; never creates one. */
function enrich(state: NodeRegistrations, details: readonly ContactDetail[]): NodeRegistrations {
  let next = state;
  for (const d of details) {
    const old = findContact(next, d.aor, d.uri);
    if (!old) continue;
    const merged: ContactState = {
      ...old,
      endpoint: old.endpoint || d.endpoint,
      userAgent: d.userAgent ?? old.userAgent,
      expiresAt: d.expiresAt ?? old.expiresAt,
      viaAddress: d.viaAddress ?? old.viaAddress,
      callId: d.callId ?? old.callId,
      rttUsec:
        old.status === 'reachable' && d.status === 'reachable' ? (d.rttUsec ?? old.rttUsec) : old.rttUsec,
    };
    if (!sameContact(old, merged)) next = putContact(next, merged);
  }
  return next;
}

export interface ReplaceOptions {
  node: string;
  ts: number;
  /**
   * Differences are repairs (the reconciliation poll): each one publishes `state.repaired`. After a
   * (re)connect or a reload, differences are expected and are not repairs.
   */
  repairs: boolean;
}

/**
 * Replace a node's state with one rebuilt from the list actions. Derives `registration.changed` for
 * every endpoint known before and after whose registered flag flipped (none on the first build: there
 * is no "before"), and with `repairs` one `state.repaired` per stale fact. RTT, user agent, expiry, via
 * and Call-ID refreshes are not repairs: Asterisk sends no event for them.
 */
export function replaceState(
  prev: NodeRegistrations,
  next: NodeRegistrations,
  opts: ReplaceOptions,
): Reduced {
  const derived: PbxEvent[] = [];
  if (opts.repairs) derived.push(...repairsBetween(prev, next, opts));
  const names = [...next.endpoints.keys()].filter((n) => prev.endpoints.has(n)).sort();
  derived.push(...registrationChanges(prev, next, names, opts));
  return { state: next, derived };
}

function registrationChanges(
  prev: NodeRegistrations,
  next: NodeRegistrations,
  endpoints: Iterable<string>,
  at: { node: string; ts: number },
): RegistrationChanged[] {
  const out: RegistrationChanged[] = [];
  for (const name of endpoints) {
    const before = prev.endpoints.get(name);
    const after = next.endpoints.get(name);
    if (!before || !after) continue;
    const was = contactCountOf(prev, before);
    const now = contactCountOf(next, after);
    if (was > 0 === now > 0) continue;
    out.push({
      type: 'registration.changed',
      node: at.node,
      ts: at.ts,
      source: 'daemon',
      endpoint: name,
      registered: now > 0,
      contacts: now,
    });
  }
  return out;
}

function repairsBetween(
  prev: NodeRegistrations,
  next: NodeRegistrations,
  at: ReplaceOptions,
): StateRepaired[] {
  const out: StateRepaired[] = [];
  const repair = (kind: string, subject: string) =>
    out.push({ type: 'state.repaired', node: at.node, ts: at.ts, source: 'daemon', kind, subject });

  for (const c of allContacts(next)) {
    const old = findContact(prev, c.aor, c.uri);
    if (!old) repair('contact_missing', `${c.aor} ${c.uri}`);
    else if (old.status !== c.status)
      repair('contact_status', `${c.aor} ${c.uri}: ${old.status} -> ${c.status}`);
  }
  for (const c of allContacts(prev)) {
    if (!findContact(next, c.aor, c.uri)) repair('contact_ghost', `${c.aor} ${c.uri}`);
  }

  for (const [name, ep] of next.endpoints) {
    const old = prev.endpoints.get(name);
    if (!old) repair('endpoint_missing', name);
    else if (!sameList(old.aors, ep.aors) || !sameList(old.auths, ep.auths) || old.transport !== ep.transport)
      repair('endpoint_changed', name);
    else if (old.deviceState !== ep.deviceState)
      repair('device_state', `${name}: ${old.deviceState} -> ${ep.deviceState}`);
  }
  for (const name of prev.endpoints.keys()) {
    if (!next.endpoints.has(name)) repair('endpoint_ghost', name);
  }

  for (const [name, aor] of next.aors) {
    const old = prev.aors.get(name);
    if (!old) repair('aor_missing', name);
    else if (
      old.maxContacts !== aor.maxContacts ||
      old.removeExisting !== aor.removeExisting ||
      old.qualifyFrequency !== aor.qualifyFrequency
    )
      repair('aor_changed', name);
  }
  for (const name of prev.aors.keys()) {
    if (!next.aors.has(name)) repair('aor_ghost', name);
  }
  return out;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function sameContact(a: ContactState, b: ContactState): boolean {
  return (
    a.endpoint === b.endpoint &&
    a.status === b.status &&
    a.rttUsec === b.rttUsec &&
    a.userAgent === b.userAgent &&
    a.expiresAt === b.expiresAt &&
    a.viaAddress === b.viaAddress &&
    a.callId === b.callId
  );
}
