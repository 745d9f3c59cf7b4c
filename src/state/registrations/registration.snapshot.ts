import type {
  AorRecord,
  AuthRecord,
  ContactRecord,
  EndpointDetailRecord,
  EndpointRecord,
} from '../../common/pbx.records';
import {
  type AorState,
  type ContactState,
  type EndpointState,
  EMPTY_REGISTRATIONS,
  type NodeRegistrations,
  allContacts,
  registrations,
} from './registration.state';

/** The answers a rebuild works from (the AMI surface's records). A missing part is carried over from the previous state. */
export interface RegistrationLists {
  endpoints: readonly EndpointRecord[];
  aors: readonly AorRecord[];
  auths?: readonly AuthRecord[];
  contacts?: readonly ContactRecord[];
  /** Per endpoint name: context and transport protocol. */
  details?: ReadonlyMap<string, EndpointDetailRecord>;
}

/** A node's registration state from its lists; what the lists do not say is carried over from `previous`. */
export function buildRegistrations(
  lists: RegistrationLists,
  previous: NodeRegistrations = EMPTY_REGISTRATIONS,
): NodeRegistrations {
  const endpoints = lists.endpoints.map((record) =>
    endpointState(record, lists.details?.get(record.name), previous.endpoints.get(record.name)),
  );
  const auths = lists.auths ?? previous.auths.values();
  let contacts: Iterable<ContactState> = allContacts(previous);
  if (lists.contacts) {
    // Asterisk leaves EndpointName empty for a contact of an AOR no endpoint named when it registered.
    contacts = lists.contacts.map((d) => ({
      ...d,
      endpoint: d.endpoint || endpoints.find((ep) => ep.aors.includes(d.aor))?.name || '',
    }));
  }
  const registered = new Set<string>();
  const materialised = [...contacts];
  for (const c of materialised) registered.add(`${c.aor}\u0000${c.uri}`);
  const aors = lists.aors.map((a) => withStaticContacts(a, registered));
  return registrations({ endpoints, aors, auths, contacts: materialised });
}

/**
 * `AorList` names registered and permanent contacts alike: the permanent ones are those no registration
 * list names. Only on AORs that take no registration (`max_contacts=0`, Asterisk's default and what a
 * provider trunk has): on a phone's AOR a device that registers or unregisters between the two reads of
 * one rebuild would otherwise pass for a permanent contact, and its events be ignored, until the next one.
 */
function withStaticContacts(aor: AorRecord, registered: ReadonlySet<string>): AorState {
  if (!aor.contacts || aor.contacts.length === 0 || aor.maxContacts > 0) return aor;
  const staticContacts = aor.contacts.filter((uri) => !registered.has(`${aor.name}\u0000${uri}`));
  return staticContacts.length > 0 ? { ...aor, staticContacts } : aor;
}

function endpointState(
  record: EndpointRecord,
  detail: EndpointDetailRecord | undefined,
  previous: EndpointState | undefined,
): EndpointState {
  const { deviceState } = record;
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
    name: record.name,
    aors: record.aors,
    auths: record.auths,
    transport: record.transport,
    transportProtocol: detail ? detail.transportProtocol : (previous?.transportProtocol ?? null),
    context: detail ? detail.context : (previous?.context ?? null),
    deviceState,
    reachable,
  };
}
