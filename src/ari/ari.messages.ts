/**
 * The raw ARI JSON pbxpulse relies on (Asterisk 20–22, `rest-api/api-docs/{events,channels,bridges,
 * endpoints,asterisk}.json`). Field names are Asterisk's, snake_case included. These types stay inside
 * `src/ari`: the normaliser turns them into internal events, nobody else sees them.
 *
 * They describe what Asterisk sends. `parseAriMessage` checks, at run time, the fields the normaliser
 * reads of the event types it uses; other messages are checked for a string `type` only.
 */

/** Fields every ARI message carries. */
export interface AriMessageBase {
  type: string;
  /** Entity id of the Asterisk that sent it (absent on very old versions). */
  asterisk_id?: string;
}

/** Fields every ARI event carries. */
export interface AriEventBase extends AriMessageBase {
  /** The ARI application the event was delivered to (our unique app name). */
  application: string;
  /** ISO-8601 with a numeric zone, e.g. `2025-01-31T10:00:00.123+0000`. */
  timestamp: string;
}

export interface AriCallerId {
  name: string;
  number: string;
}

export interface AriDialplanCep {
  context: string;
  exten: string;
  priority: number;
  /** Current dialplan application (Asterisk ≥ 16). */
  app_name?: string;
  app_data?: string;
}

export type AriChannelState =
  | 'Down'
  | 'Rsrved'
  | 'OffHook'
  | 'Dialing'
  | 'Ring'
  | 'Ringing'
  | 'Up'
  | 'Busy'
  | 'Dialing Offhook'
  | 'Pre-ring'
  | 'Unknown';

export interface AriChannel {
  /** Same as AMI `Uniqueid`. */
  id: string;
  /** SIP Call-ID for chan_pjsip, empty when the driver has none. */
  protocol_id?: string;
  name: string;
  state: AriChannelState;
  caller: AriCallerId;
  connected: AriCallerId;
  accountcode: string;
  dialplan: AriDialplanCep;
  creationtime: string;
  language: string;
  /** Only the variables listed in `ari.conf [general] channelvars`. */
  channelvars?: Record<string, string>;
  caller_rdnis?: string;
  tenantid?: string;
  /**
   * Not part of stock ARI: Asterisk 20–22's channel JSON has no linkedid (unlike AMI `Linkedid`).
   * Kept optional so a patched/newer Asterisk can supply it; never rely on it being present.
   */
  linkedid?: string;
}

export interface AriBridge {
  id: string;
  technology: string;
  bridge_type: string;
  bridge_class: string;
  creator: string;
  name: string;
  channels: string[];
  creationtime?: string;
  video_mode?: string;
  video_source_id?: string;
}

export type AriEndpointState = 'unknown' | 'offline' | 'online';

export interface AriEndpoint {
  technology: string;
  resource: string;
  state?: AriEndpointState;
  channel_ids: string[];
  connected_endpoints?: string[];
}

/** Values res_pjsip really emits (the XML docs also list stale `Unqualified`/`Updated`). */
export type AriContactStatus = 'Unreachable' | 'Reachable' | 'Unknown' | 'NonQualified' | 'Removed';

export interface AriContactInfo {
  uri: string;
  contact_status: AriContactStatus;
  aor: string;
  /** Microseconds as a string; only when qualified and Reachable. */
  roundtrip_usec?: string;
}

export interface AriPeer {
  /** e.g. `Reachable`, `Unreachable`, `Registered`, `Unregistered`. */
  peer_status: string;
  cause?: string;
  address?: string;
  port?: string;
  time?: string;
}

export interface AriDeviceState {
  /** e.g. `PJSIP/1001`. */
  name: string;
  /** `UNKNOWN`, `NOT_INUSE`, `INUSE`, `BUSY`, `INVALID`, `UNAVAILABLE`, `RINGING`, `RINGINUSE`, `ONHOLD`. */
  state: string;
}

export interface AriChannelCreated extends AriEventBase {
  type: 'ChannelCreated';
  channel: AriChannel;
}

export interface AriChannelStateChange extends AriEventBase {
  type: 'ChannelStateChange';
  channel: AriChannel;
}

export interface AriChannelDestroyed extends AriEventBase {
  type: 'ChannelDestroyed';
  /** Q.850 cause; 0 on an answered call ended by a BYE without Reason header. */
  cause: number;
  cause_txt: string;
  tech_cause?: number;
  channel: AriChannel;
}

export interface AriChannelHangupRequest extends AriEventBase {
  type: 'ChannelHangupRequest';
  /** Absent on a plain remote hangup; `1` with `soft` is a flag value, not Q.850. */
  cause?: number;
  tech_cause?: number;
  soft?: boolean;
  channel: AriChannel;
}

export interface AriChannelDialplan extends AriEventBase {
  type: 'ChannelDialplan';
  channel: AriChannel;
  dialplan_app: string;
  dialplan_app_data: string;
}

export interface AriChannelEnteredBridge extends AriEventBase {
  type: 'ChannelEnteredBridge';
  bridge: AriBridge;
  channel?: AriChannel;
}

export interface AriChannelLeftBridge extends AriEventBase {
  type: 'ChannelLeftBridge';
  bridge: AriBridge;
  channel: AriChannel;
}

export interface AriDial extends AriEventBase {
  type: 'Dial';
  caller?: AriChannel;
  peer: AriChannel;
  forward?: string;
  forwarded?: AriChannel;
  dialstring?: string;
  /** Empty while dialing; then `ANSWER`, `BUSY`, `NOANSWER`, `CANCEL`, `CONGESTION`, `CHANUNAVAIL` … */
  dialstatus: string;
}

export interface AriEndpointStateChange extends AriEventBase {
  type: 'EndpointStateChange';
  endpoint: AriEndpoint;
}

export interface AriContactStatusChange extends AriEventBase {
  type: 'ContactStatusChange';
  endpoint: AriEndpoint;
  contact_info: AriContactInfo;
}

export interface AriPeerStatusChange extends AriEventBase {
  type: 'PeerStatusChange';
  endpoint: AriEndpoint;
  peer: AriPeer;
}

export interface AriDeviceStateChanged extends AriEventBase {
  type: 'DeviceStateChanged';
  device_state: AriDeviceState;
}

/** Another WebSocket registered our app name; this socket no longer receives events. */
export interface AriApplicationReplaced extends AriEventBase {
  type: 'ApplicationReplaced';
}

/** The events pbxpulse understands, discriminated on `type`. */
export type AriKnownEvent =
  | AriChannelCreated
  | AriChannelStateChange
  | AriChannelDestroyed
  | AriChannelHangupRequest
  | AriChannelDialplan
  | AriChannelEnteredBridge
  | AriChannelLeftBridge
  | AriDial
  | AriEndpointStateChange
  | AriContactStatusChange
  | AriPeerStatusChange
  | AriDeviceStateChanged
  | AriApplicationReplaced;

export type AriKnownEventType = AriKnownEvent['type'];

/** Any other message (`ChannelVarset`, `BridgeCreated`, `StasisStart` …): only `type` is known. */
export interface AriOtherEvent extends AriMessageBase {
  [key: string]: unknown;
}

/**
 * Whatever arrives on the events socket. Narrow with `isKnownAriEvent` first: `AriOtherEvent.type` is
 * a plain string, so a `switch` on the whole union cannot narrow by itself.
 */
export type AriEventMessage = AriKnownEvent | AriOtherEvent;

export const ARI_KNOWN_EVENT_TYPES: ReadonlySet<string> = new Set<AriKnownEventType>([
  'ChannelCreated',
  'ChannelStateChange',
  'ChannelDestroyed',
  'ChannelHangupRequest',
  'ChannelDialplan',
  'ChannelEnteredBridge',
  'ChannelLeftBridge',
  'Dial',
  'EndpointStateChange',
  'ContactStatusChange',
  'PeerStatusChange',
  'DeviceStateChanged',
  'ApplicationReplaced',
]);

export function isKnownAriEvent(msg: AriEventMessage): msg is AriKnownEvent {
  return ARI_KNOWN_EVENT_TYPES.has(msg.type);
}

/**
 * Parse one text frame from the events socket. Returns `undefined` for anything that is not a JSON
 * object with a string `type`, and for an event of a type the daemon uses whose fields do not have the
 * shapes of Asterisk's model (the caller counts and skips it): a `ChannelCreated` without a channel
 * must not reach the normaliser, nor a channel id that is a number reach the state.
 */
export function parseAriMessage(text: string): AriEventMessage | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isRecord(value) || typeof value.type !== 'string') return undefined;
  const check = SHAPE_CHECKS[value.type];
  if (check && !check(value)) return undefined;
  return value as AriEventMessage;
}

type Json = Record<string, unknown>;

function isRecord(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
const str = (v: unknown): boolean => typeof v === 'string';
const optStr = (v: unknown): boolean => v === undefined || typeof v === 'string';
const optNum = (v: unknown): boolean => v === undefined || typeof v === 'number';
const optBool = (v: unknown): boolean => v === undefined || typeof v === 'boolean';
/** An optional object whose listed fields are optional strings (caller ids, the dialplan location). */
const optStrings =
  (...keys: string[]) =>
  (v: unknown): boolean =>
    v === undefined || (isRecord(v) && keys.every((k) => optStr(v[k])));
const callerId = optStrings('name', 'number');
const dialplan = optStrings('context', 'exten');

/** The fields `ariChannelSnapshot` reads. */
function channel(v: unknown): boolean {
  return (
    isRecord(v) &&
    str(v.id) &&
    str(v.name) &&
    str(v.state) &&
    optStr(v.linkedid) &&
    callerId(v.caller) &&
    callerId(v.connected) &&
    dialplan(v.dialplan)
  );
}
/** A channel of which only the id is read. */
const channelRef = (v: unknown): boolean => isRecord(v) && str(v.id);
const endpoint = (v: unknown): boolean => isRecord(v) && str(v.technology) && str(v.resource);

/** Per event type the daemon normalises: do the fields it reads have Asterisk's shapes? */
const SHAPE_CHECKS: Readonly<Partial<Record<string, (m: Json) => boolean>>> = {
  ChannelCreated: (m) => channel(m.channel),
  ChannelStateChange: (m) => channel(m.channel),
  ChannelDestroyed: (m) => channel(m.channel) && optNum(m.cause) && optStr(m.cause_txt),
  ChannelHangupRequest: (m) => channelRef(m.channel) && optNum(m.cause) && optBool(m.soft),
  ChannelEnteredBridge: (m) =>
    isRecord(m.bridge) && str(m.bridge.id) && (m.channel === undefined || channelRef(m.channel)),
  ChannelLeftBridge: (m) =>
    isRecord(m.bridge) && str(m.bridge.id) && (m.channel === undefined || channelRef(m.channel)),
  Dial: (m) => channel(m.peer) && (m.caller === undefined || channelRef(m.caller)) && optStr(m.dialstatus),
  ContactStatusChange: (m) =>
    endpoint(m.endpoint) &&
    isRecord(m.contact_info) &&
    str(m.contact_info.uri) &&
    str(m.contact_info.aor) &&
    str(m.contact_info.contact_status) &&
    optStr(m.contact_info.roundtrip_usec),
  PeerStatusChange: (m) => endpoint(m.endpoint) && isRecord(m.peer) && optStr(m.peer.peer_status),
  DeviceStateChanged: (m) =>
    isRecord(m.device_state) && str(m.device_state.name) && str(m.device_state.state),
};

/** `GET /ari/asterisk/info` (all sections are optional: `?only=` can drop any of them). */
export interface AriAsteriskInfoResponse {
  build?: { os: string; kernel: string; options?: string; machine: string; date: string; user: string };
  system?: { version: string; entity_id: string };
  config?: {
    /** `asterisk.conf systemname`, may be empty. */
    name?: string;
    default_language: string;
    max_channels?: number;
    max_open_files?: number;
    max_load?: number;
    setid?: { user: string; group: string };
  };
  status?: { startup_time: string; last_reload_time: string };
}
