import type { AorRecord, AuthRecord, ContactRecord } from '../../common/pbx.records';
import type { TransportKind } from '../../events/pbx-events';
import { PersistentMap } from './persistent-map';

/**
 * The registration state of one node, as the reducers see it. Immutable: reducers return a new object
 * (sharing everything they did not touch) or the very same object when nothing changed. Build one with
 * `registrations()`, which also builds the AOR index.
 */
export interface NodeRegistrations {
  readonly endpoints: PersistentMap<EndpointState>;
  readonly aors: ReadonlyMap<string, AorState>;
  /** Inbound auth sections by name: identity only, never a password or an MD5 credential. */
  readonly auths: ReadonlyMap<string, AuthState>;
  /** Registered (dynamic) contacts by AOR, then by URI: (aor, uri) is unique in Asterisk. */
  readonly contacts: PersistentMap<ReadonlyMap<string, ContactState>>;
  /** The endpoints whose `aors=` lists each AOR. Derived from `endpoints` (whose aors only a rebuild changes). */
  readonly endpointsByAor: ReadonlyMap<string, readonly string[]>;
}

export interface EndpointState {
  readonly name: string;
  readonly aors: readonly string[];
  readonly auths: readonly string[];
  /** Name of the `transport=` section, `null` when the endpoint names none. */
  readonly transport: string | null;
  /** Protocol of that transport (`TransportDetail`), to tell wss from ws and tcp from udp. */
  readonly transportProtocol: TransportKind | null;
  readonly context: string | null;
  /** `NOT_INUSE`, `UNAVAILABLE` … (DeviceStateChange spelling). */
  readonly deviceState: string;
  readonly reachable: boolean | null;
}

export interface AorState extends AorRecord {
  /**
   * The AOR's permanent `contact=` URIs (provider trunks): those `AorList` names that no registration
   * list names. Asterisk never lists them among registered contacts, so the store keeps them out of
   * `contacts` (a reconciliation would remove them as ghosts); the trunk store follows them.
   */
  readonly staticContacts?: readonly string[];
}

/** Identity only, never a password or an MD5 credential. */
export type AuthState = AuthRecord;

export type ContactState = ContactRecord;

/** What a targeted `PJSIPShowEndpoint` (or a list) says about a contact. */
export type ContactDetail = ContactState;

export interface RegistrationParts {
  endpoints?: Iterable<EndpointState>;
  aors?: Iterable<AorState>;
  auths?: Iterable<AuthState>;
  contacts?: Iterable<ContactState>;
}

/** A state from plain lists (builds the maps and the AOR index). */
export function registrations(parts: RegistrationParts = {}): NodeRegistrations {
  const byAor = new Map<string, Map<string, ContactState>>();
  for (const c of parts.contacts ?? []) {
    let uris = byAor.get(c.aor);
    if (!uris) {
      uris = new Map<string, ContactState>();
      byAor.set(c.aor, uris);
    }
    uris.set(c.uri, c);
  }
  return withEndpoints(
    {
      endpoints: PersistentMap.empty(),
      aors: new Map([...(parts.aors ?? [])].map((a) => [a.name, a])),
      auths: new Map([...(parts.auths ?? [])].map((a) => [a.name, a])),
      contacts: PersistentMap.from(byAor),
      endpointsByAor: new Map(),
    },
    PersistentMap.from([...(parts.endpoints ?? [])].map((e) => [e.name, e] as const)),
  );
}

export const EMPTY_REGISTRATIONS: NodeRegistrations = registrations();

/** The state with another endpoint set (rebuilds the AOR index). */
export function withEndpoints(
  state: NodeRegistrations,
  endpoints: PersistentMap<EndpointState>,
): NodeRegistrations {
  const index = new Map<string, string[]>();
  for (const ep of endpoints.values()) {
    for (const aor of new Set(ep.aors)) {
      const list = index.get(aor);
      if (list) list.push(ep.name);
      else index.set(aor, [ep.name]);
    }
  }
  return { ...state, endpoints, endpointsByAor: index };
}

export function findContact(state: NodeRegistrations, aor: string, uri: string): ContactState | undefined {
  return state.contacts.get(aor)?.get(uri);
}

export function* allContacts(state: NodeRegistrations): IterableIterator<ContactState> {
  for (const uris of state.contacts.values()) yield* uris.values();
}

export function contactTotal(state: NodeRegistrations): number {
  let n = 0;
  for (const uris of state.contacts.values()) n += uris.size;
  return n;
}

/** The state with this contact added or replaced. */
export function putContact(state: NodeRegistrations, contact: ContactState): NodeRegistrations {
  const uris = new Map(state.contacts.get(contact.aor));
  uris.set(contact.uri, contact);
  return { ...state, contacts: state.contacts.set(contact.aor, uris) };
}

/** The state without this contact (the same object when there is none). */
export function dropContact(state: NodeRegistrations, aor: string, uri: string): NodeRegistrations {
  const old = state.contacts.get(aor);
  if (!old?.has(uri)) return state;
  if (old.size === 1) return { ...state, contacts: state.contacts.delete(aor) };
  const uris = new Map(old);
  uris.delete(uri);
  return { ...state, contacts: state.contacts.set(aor, uris) };
}

/**
 * The contacts an endpoint can be reached through: those of the AORs it lists (as Asterisk dials them;
 * an AOR shared by several endpoints serves them all).
 */
export function contactsOfEndpoint(state: NodeRegistrations, endpoint: EndpointState): ContactState[] {
  const out: ContactState[] = [];
  for (const aor of new Set(endpoint.aors)) {
    const uris = state.contacts.get(aor);
    if (uris) out.push(...uris.values());
  }
  return out;
}

export function contactCountOf(state: NodeRegistrations, endpoint: EndpointState): number {
  let n = 0;
  for (const aor of new Set(endpoint.aors)) n += state.contacts.get(aor)?.size ?? 0;
  return n;
}
