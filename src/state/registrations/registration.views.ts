import type { ContactStatus, TransportKind } from '../../events/pbx-events';

/**
 * Read-only views of a node's registration state, as the REST API returns them and as detectors
 * consult them. Built by `RegistrationStore` from the PJSIP list actions and kept current by events.
 */
export interface EndpointView {
  name: string;
  /** The endpoint's `aors=` list, as configured. */
  aors: string[];
  /** The endpoint's inbound `auth=` sections. */
  auths: string[];
  /** `username` of each inbound auth section (never the password). */
  authUsernames: string[];
  transport: string | null;
  context: string | null;
  /** Asterisk device state of `PJSIP/<name>`: `NOT_INUSE`, `UNAVAILABLE`, `INUSE` … */
  deviceState: string;
  /** Aggregate reachability (PeerStatus), `null` until Asterisk has said. */
  reachable: boolean | null;
  /** At least one contact registered. */
  registered: boolean;
  contacts: number;
}

export interface AorView {
  name: string;
  maxContacts: number;
  removeExisting: boolean;
  qualifyFrequency: number;
  /** Registered (dynamic) contacts right now. */
  contacts: number;
  /** Endpoints whose `aors=` names this AOR. */
  endpoints: string[];
}

export interface ContactView {
  aor: string;
  endpoint: string;
  uri: string;
  status: Exclude<ContactStatus, 'removed'>;
  rttUsec: number | null;
  userAgent: string | null;
  /** ISO time the registration expires. */
  expiresAt: string | null;
  /** Source address the REGISTER came from (`ViaAddress`), `ip:port`. */
  viaAddress: string | null;
  transport: TransportKind;
  callId: string | null;
}

/** What detectors and the API may ask of the registration state. */
export interface RegistrationReader {
  endpoints(node: string): EndpointView[];
  endpoint(node: string, name: string): EndpointView | undefined;
  aors(node: string): AorView[];
  aor(node: string, name: string): AorView | undefined;
  /** Every contact of the node, or of one endpoint. */
  contacts(node: string, endpoint?: string): ContactView[];
  /** A configured PJSIP endpoint (so its name may be a metric label). */
  isKnownEndpoint(node: string, name: string): boolean;
}

/** Injection token for the `RegistrationReader` (implemented by `RegistrationStore`). */
export const REGISTRATION_READER = Symbol('REGISTRATION_READER');
