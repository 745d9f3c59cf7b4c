import type {
  AsteriskRegistrationStatus,
  ChannelSnapshot,
  ContactStatus,
  TransportKind,
} from '../events/pbx-events';

/*
 * What the adapters' query surfaces (`AmiPjsip`, `AriQueries`) answer: domain records, read from
 * Asterisk and already free of protocol framing and of secrets. The state, health and control layers
 * work from these and never see an AMI frame or ARI JSON.
 */

/** One `EndpointList` entry: an endpoint as the PJSIP list shows it. */
export interface EndpointRecord {
  readonly name: string;
  readonly aors: readonly string[];
  readonly auths: readonly string[];
  /** Name of the `transport=` section, `null` when the endpoint names none. */
  readonly transport: string | null;
  /** `NOT_INUSE`, `UNAVAILABLE` … (DeviceStateChange spelling). */
  readonly deviceState: string;
}

/** What one endpoint's detail adds to its list entry. */
export interface EndpointDetailRecord {
  readonly context: string | null;
  /** Protocol of the endpoint's transport, to tell wss from ws and tcp from udp. */
  readonly transportProtocol: TransportKind | null;
  /** The registered contacts of the endpoint's AORs. */
  readonly contacts: readonly ContactRecord[];
}

export interface AorRecord {
  readonly name: string;
  readonly maxContacts: number;
  readonly removeExisting: boolean;
  readonly qualifyFrequency: number;
  /**
   * URIs of every contact the AOR has, as `AorList` `Contacts` names them (`<aor>/<uri>`, comma
   * separated): the permanent `contact=` entries and the registered ones alike.
   */
  readonly contacts?: readonly string[];
}

/** An inbound auth section: identity only, never a password or an MD5 credential. */
export interface AuthRecord {
  readonly name: string;
  readonly username: string;
  readonly realm: string;
  readonly authType: string;
}

/** A registered (dynamic) contact. */
export interface ContactRecord {
  readonly aor: string;
  /** The endpoint that registered it; '' when Asterisk did not say. */
  readonly endpoint: string;
  readonly uri: string;
  readonly status: Exclude<ContactStatus, 'removed'>;
  readonly rttUsec: number | null;
  readonly userAgent: string | null;
  /** ISO time. */
  readonly expiresAt: string | null;
  readonly viaAddress: string | null;
  readonly callId: string | null;
}

/** A channel from a listing (`CoreShowChannels`, ARI `GET /channels`). */
export interface ListedChannel {
  readonly channel: ChannelSnapshot;
  /** null: in no bridge (a listing is authoritative about that); undefined: not known. */
  readonly bridgeId?: string | null;
  /** Asterisk's creation time, when the listing tells it. */
  readonly createdAt?: number;
}

// ------------------------------------------------------------------ `pjsip show …` equivalents

/** One PJSIP sorcery object (endpoint, aor, auth, contact …) with normalised option values, no secrets. */
export type PjsipValue = string | number | boolean;
export type PjsipObject = Record<string, PjsipValue>;

/** A string option of a normalised object ('' when absent). */
export function str(obj: PjsipObject | undefined, key: string): string {
  const v = obj?.[key];
  return v === undefined ? '' : String(v);
}

/** A comma-separated list option (`aors`, `auth`, `identifyBy`), trimmed, empties dropped. */
export function list(obj: PjsipObject | undefined, key: string): string[] {
  return str(obj, key)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** `pjsip show endpoint <name>`: the endpoint's options and the objects Asterisk lists with it. */
export interface PjsipEndpointObjects {
  endpoint: PjsipObject;
  auths: PjsipObject[];
  aors: PjsipObject[];
  transports: PjsipObject[];
  contacts: PjsipObject[];
  identifies: PjsipObject[];
}

/** The PJSIP lists `pjsip show …` can read. */
export type PjsipListKind = 'endpoints' | 'aors' | 'auths' | 'contacts' | 'registrationsInbound';

export type ModuleState = 'running' | 'not_running' | 'not_loaded';

export interface ModuleRow {
  /** File name, e.g. `res_srtp.so`. */
  name: string;
  description: string;
  useCount: number;
  running: boolean;
  supportLevel: string;
}

export interface HttpStatus {
  enabled: boolean;
  /** `host:port` of the plain HTTP listener, `null` when disabled. */
  bindAddress: string | null;
  tls: { enabled: boolean; bindAddress: string | null };
  prefix: string;
  uris: Array<{ path: string; description: string }>;
  /** `/ws` (res_http_websocket) is served: WebSocket SIP clients can connect. */
  websocket: boolean;
}

export interface TransportRow {
  name: string;
  /** udp, tcp, tls, ws, wss (lower case). */
  protocol: string;
  cos: number;
  tos: number;
  bindAddress: string;
}

/** A transport section of pjsip.conf as written (not as running). */
export interface ConfiguredTransport {
  name: string;
  protocol: string;
  bind: string;
  /**
   * `external_signaling_address` (or else `external_media_address`) when set: Asterisk is told it sits
   * behind NAT and this transport faces the public side. Absent otherwise.
   */
  externalAddress?: string;
}

// ------------------------------------------------------------------ outbound registrations (trunks)

/** One `type=registration` section with its status, from `PJSIPShowRegistrationsOutbound`. */
export interface OutboundRegistrationRecord {
  readonly name: string;
  readonly serverUri: string;
  readonly clientUri: string;
  /** `outbound_auth=` as configured. */
  readonly outboundAuths: readonly string[];
  /** Names of `outboundAuths` that Asterisk listed no `AuthDetail` for: no such auth section. */
  readonly missingAuths: readonly string[];
  readonly transport: string | null;
  /** `endpoint=`: the endpoint for calls that come in over this registration. */
  readonly endpoint: string | null;
  readonly expirationSec: number;
  readonly retryIntervalSec: number;
  readonly forbiddenRetryIntervalSec: number;
  readonly maxRetries: number;
  readonly authRejectionPermanent: boolean;
  /** `null` when Asterisk listed the object without a state (it has no client yet). */
  readonly status: AsteriskRegistrationStatus | null;
}

/** One row of `pjsip show registrations`. */
export interface RegistrationCliRow {
  readonly name: string;
  readonly status: AsteriskRegistrationStatus;
  /**
   * Seconds until Asterisk's next REGISTER for this registration (`(exp. 28s)`), negative when that
   * time is past and nothing is scheduled (`(exp. 17s ago)`: Asterisk gave up until a reload);
   * `null` when the CLI does not say (Asterisk before 22).
   */
  readonly nextAttemptSec: number | null;
}
