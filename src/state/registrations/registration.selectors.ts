import { transportOfUri } from '../../common/asterisk.vocabulary';
import type { TransportKind } from '../../events/pbx-events';
import type { AorView, ContactView, EndpointView } from './registration.views';
import {
  type ContactState,
  type EndpointState,
  type NodeRegistrations,
  allContacts,
  contactCountOf,
  contactsOfEndpoint,
} from './registration.state';

/* Read-only views of the state (the `RegistrationReader` contract), built on demand. Pure. */

export function endpointViews(state: NodeRegistrations): EndpointView[] {
  return [...state.endpoints.values()]
    .map((ep) => endpointView(state, ep, contactCountOf(state, ep)))
    .sort((a, b) => compare(a.name, b.name));
}

export function endpointViewOf(state: NodeRegistrations, name: string): EndpointView | undefined {
  const ep = state.endpoints.get(name);
  return ep && endpointView(state, ep, contactCountOf(state, ep));
}

function endpointView(state: NodeRegistrations, ep: EndpointState, contacts: number): EndpointView {
  return {
    name: ep.name,
    aors: [...ep.aors],
    auths: [...ep.auths],
    authUsernames: ep.auths
      .map((a) => state.auths.get(a)?.username)
      .filter((u): u is string => u !== undefined && u !== ''),
    transport: ep.transport,
    context: ep.context,
    deviceState: ep.deviceState,
    reachable: ep.reachable,
    registered: contacts > 0,
    contacts,
  };
}

export function aorViews(state: NodeRegistrations): AorView[] {
  return [...state.aors.keys()]
    .map((name) => aorViewOf(state, name))
    .filter((v): v is AorView => v !== undefined)
    .sort((a, b) => compare(a.name, b.name));
}

export function aorViewOf(state: NodeRegistrations, name: string): AorView | undefined {
  const aor = state.aors.get(name);
  if (!aor) return undefined;
  return {
    name,
    maxContacts: aor.maxContacts,
    removeExisting: aor.removeExisting,
    qualifyFrequency: aor.qualifyFrequency,
    contacts: state.contacts.get(name)?.size ?? 0,
    endpoints: [...(state.endpointsByAor.get(name) ?? [])].sort(compare),
  };
}

/** Every contact, or those an endpoint is reachable through; sorted by endpoint, AOR, URI. */
export function contactViews(state: NodeRegistrations, endpoint?: string): ContactView[] {
  let list: ContactState[];
  if (endpoint === undefined) list = [...allContacts(state)];
  else {
    const ep = state.endpoints.get(endpoint);
    list = ep ? contactsOfEndpoint(state, ep) : [];
  }
  return list
    .map((c) => contactView(c, state.endpoints.get(c.endpoint)))
    .sort((a, b) => compare(a.endpoint, b.endpoint) || compare(a.aor, b.aor) || compare(a.uri, b.uri));
}

function contactView(c: ContactState, ep: EndpointState | undefined): ContactView {
  return {
    aor: c.aor,
    endpoint: c.endpoint,
    uri: c.uri,
    status: c.status,
    rttUsec: c.rttUsec,
    userAgent: c.userAgent,
    expiresAt: c.expiresAt,
    viaAddress: c.viaAddress,
    transport: contactTransport(c.uri, ep?.transportProtocol ?? null),
    callId: c.callId,
  };
}

/**
 * Transport of a contact. The URI's `;transport=` wins, except that browsers put `transport=ws` in
 * their Contact even over TLS: an endpoint bound to a wss transport makes it wss. Without the parameter,
 * `sips:` is tls and otherwise the endpoint's `transport=` protocol (Asterisk sends over it), else udp.
 */
export function contactTransport(uri: string, endpointProtocol: TransportKind | null): TransportKind {
  if (/;transport=/i.test(uri)) {
    const t = transportOfUri(uri);
    return t === 'ws' && endpointProtocol === 'wss' ? 'wss' : t;
  }
  if (uri.toLowerCase().startsWith('sips:')) return 'tls';
  return endpointProtocol && endpointProtocol !== 'unknown' ? endpointProtocol : 'udp';
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
