/**
 * The closed union of internal events. Adapters (`src/ami`, `src/ari`) are the only code that knows
 * protocol names; everything else switches on `type`.
 */
import type { CallView, ChannelView, EndedCallView } from '../state/calls/call.views';
import type { CallQualitySummary, ChannelQualityView, MediaFlow } from '../state/calls/call.quality';
import type { OutboundRegistrationView } from '../state/trunks/outbound-registration.views';

/** Which long-lived link to a node an event or status is about. */
export type LinkKind = 'ami' | 'ari';

/** Connection status of one link, as shown by `/api/v1/nodes` and the `pbxpulse_*_up` gauges. */
export type LinkStatus = 'connecting' | 'up' | 'down';

/** Where an event was observed. `daemon` is for events pbxpulse derives itself. */
export type EventSource = LinkKind | 'daemon';

interface EventBase {
  /** Node name from the configuration. */
  node: string;
  /** Milliseconds since the epoch when pbxpulse received or derived the event. */
  ts: number;
  source: EventSource;
}

/** A link changed status (connecting → up, up → down …). `error` never contains a secret. */
export interface NodeConnectionChanged extends EventBase {
  type: 'node.connection_changed';
  link: LinkKind;
  status: LinkStatus;
  previous: LinkStatus;
  error?: string;
}

/** The state layer finished rebuilding a node's state after a (re)connect. */
export interface StateResynced extends EventBase {
  type: 'state.resynced';
  link: LinkKind;
  /** What the resync rebuilt, e.g. `{ contacts: 3 }`. */
  counts: Record<string, number>;
}

/** Asterisk identity and times, from ARI `/asterisk/info` (or AMI `CoreSettings`/`CoreStatus`). */
export interface NodeInfoUpdated extends EventBase {
  type: 'node.info_updated';
  version?: string;
  startupTime?: string;
  lastReloadTime?: string;
}

/** Asterisk finished booting (AMI `FullyBooted`). */
export interface NodeBooted extends EventBase {
  type: 'node.booted';
}

/** Asterisk is shutting down (AMI `Shutdown`). */
export interface NodeShutdown extends EventBase {
  type: 'node.shutdown';
  restart: boolean;
}

/** A module was reloaded (AMI `Reload`). */
export interface ModuleReloaded extends EventBase {
  type: 'module.reloaded';
  module: string;
  status: string;
}

// ---------------------------------------------------------------- registrations (from AMI and ARI)

/** SIP transport of a contact or a security event's address. */
export type TransportKind = 'udp' | 'tcp' | 'tls' | 'ws' | 'wss' | 'unknown';

/** `IPV4/UDP/203.0.113.5/5060` as a structure. */
export interface SipAddress {
  transport: TransportKind;
  address: string;
  port: number | null;
}

/** Asterisk's contact statuses, lower-cased. `removed`: unregistered or expired. */
export type ContactStatus = 'reachable' | 'unreachable' | 'nonqualified' | 'unknown' | 'removed';

/** A registered contact was created, changed status, or was removed (AMI `ContactStatus`, ARI `ContactStatusChange`). */
export interface ContactStatusChanged extends EventBase {
  type: 'contact.status_changed';
  endpoint: string;
  aor: string;
  uri: string;
  status: ContactStatus;
  /** Qualify round trip, when Reachable. */
  rttUsec?: number;
}

/** The endpoint's aggregate reachability flipped (AMI `PeerStatus`, ARI `PeerStatusChange`). */
export interface EndpointReachabilityChanged extends EventBase {
  type: 'endpoint.reachability_changed';
  endpoint: string;
  reachable: boolean;
}

/** Aggregate device state of `PJSIP/<endpoint>` (AMI `DeviceStateChange`, ARI `DeviceStateChanged`). */
export interface DeviceStateChanged extends EventBase {
  type: 'device.state_changed';
  /** `PJSIP/1001` */
  device: string;
  /** `NOT_INUSE`, `INUSE`, `UNAVAILABLE`, `RINGING` … as Asterisk names them. */
  state: string;
}

// ---------------------------------------------------------------- outbound registrations (trunks, from AMI)

/** What Asterisk says of an outbound registration (`Status:` of the list, `Registry` events, the CLI). */
export type AsteriskRegistrationStatus = 'Registered' | 'Unregistered' | 'Rejected' | 'Stopped';

/**
 * Asterisk reported the outcome of an outbound REGISTER (AMI `Registry`): after every final response,
 * successful refreshes included. It names the registration by its URIs only, and gives no SIP code.
 */
export interface OutboundRegistrationReported extends EventBase {
  type: 'outbound_registration.reported';
  /** `Username:` = the registration's `client_uri`. */
  clientUri: string;
  /** `Domain:` = the registration's `server_uri`. */
  serverUri: string;
  status: AsteriskRegistrationStatus;
}

// ---------------------------------------------------------------- security events (AMI, Service PJSIP only)

/** Fields common to the security events Asterisk reports for SIP requests. */
interface SecurityEventBase extends EventBase {
  /**
   * `AccountID`: the endpoint name, `<unknown>` when no endpoint matched, or (for
   * `auth.account_unknown`) the username the client sent: attacker-controlled, never a metric label.
   * Truncated to 256 characters.
   */
  account: string;
  /** The SIP Call-ID. */
  sessionId?: string;
  remote?: SipAddress;
  local?: SipAddress;
  /** Asterisk's `EventTV`. */
  eventTime?: string;
}

/** 401/407 sent (`ChallengeSent`). */
export interface AuthChallengeSent extends SecurityEventBase {
  type: 'auth.challenge_sent';
}

/** Digest verified (`SuccessfulAuth`): every authenticated request, not only REGISTER. */
export interface AuthSucceeded extends SecurityEventBase {
  type: 'auth.succeeded';
}

/** Digest present but wrong (`ChallengeResponseFailed`): the wrong-password case. */
export interface AuthChallengeFailed extends SecurityEventBase {
  type: 'auth.challenge_failed';
}

/** No endpoint matched the request (`InvalidAccountID`): scanners and typos. */
export interface AuthAccountUnknown extends SecurityEventBase {
  type: 'auth.account_unknown';
}

/** An ACL or a registrar policy refused the request (`FailedACL`). */
export interface AuthAclDenied extends SecurityEventBase {
  type: 'auth.acl_denied';
  /** `ACLName`, e.g. `not_match_endpoint_acl`, `registrar_attempt_exceeds_maximum_configured_contacts`. */
  aclName: string;
}

/** The registrar (or another module) refused the request (`RequestNotSupported`). */
export interface RegistrarRequestRejected extends SecurityEventBase {
  type: 'registrar.request_rejected';
  /** `RequestType`, e.g. `registrar_requested_aor_not_found`. */
  requestType: string;
}

export type SecurityEvent =
  | AuthChallengeSent
  | AuthSucceeded
  | AuthChallengeFailed
  | AuthAccountUnknown
  | AuthAclDenied
  | RegistrarRequestRejected;

// ---------------------------------------------------------------- channels and calls (from AMI and ARI)

/** Asterisk channel states, lower-cased (`ChannelStateDesc` / ARI `state`). */
export type ChannelState =
  | 'down'
  | 'rsrvd'
  | 'offhook'
  | 'dialing'
  | 'ring'
  | 'ringing'
  | 'up'
  | 'busy'
  | 'dialing_offhook'
  | 'pre_ring'
  | 'unknown';

/** What both AMI and ARI say about a channel, normalised. Empty strings become undefined. */
export interface ChannelSnapshot {
  /** AMI `Uniqueid` = ARI `id`: the key of every channel reducer. */
  uniqueid: string;
  /** AMI `Linkedid` (ARI on Asterisk 20–22 does not carry it). */
  linkedid?: string;
  /** `PJSIP/2001-00000003` */
  name: string;
  state: ChannelState;
  callerNum?: string;
  callerName?: string;
  connectedNum?: string;
  connectedName?: string;
  context?: string;
  exten?: string;
}

/** A channel appeared (AMI `Newchannel`, ARI `ChannelCreated`) or was listed by a resync (`CoreShowChannel`). */
export interface ChannelCreated extends EventBase {
  type: 'channel.created';
  channel: ChannelSnapshot;
  /** Set by resync listings: the bridge the channel is in, if any. */
  bridgeId?: string;
}

/** State, caller or connected line changed (AMI `Newstate`/`NewCallerid`/`NewConnectedLine`, ARI `ChannelStateChange`). */
export interface ChannelUpdated extends EventBase {
  type: 'channel.updated';
  channel: ChannelSnapshot;
}

/** A `Dial()` to a peer began or ended (AMI `DialBegin`/`DialEnd`, ARI `Dial`). */
export interface ChannelDialed extends EventBase {
  type: 'channel.dialed';
  /** The calling channel, absent for originated calls. */
  callerId?: string;
  peer: ChannelSnapshot;
  /** Empty while dialing; then `ANSWER`, `BUSY`, `NOANSWER`, `CANCEL`, `CONGESTION`, `CHANUNAVAIL` … */
  dialStatus: string;
}

/** The channel entered or left a bridge (AMI `BridgeEnter`/`BridgeLeave`, ARI `ChannelEnteredBridge`/`ChannelLeftBridge`). */
export interface ChannelBridged extends EventBase {
  type: 'channel.bridged';
  uniqueid: string;
  bridgeId: string;
  entered: boolean;
}

/**
 * Someone asked the channel to hang up (AMI `HangupRequest`/`SoftHangupRequest`, ARI `ChannelHangupRequest`).
 * For a soft request `cause` is Asterisk's soft-hangup flag (1 = AST_SOFTHANGUP_DEV, what an RTP
 * timeout sets), not a Q.850 cause.
 */
export interface ChannelHangupRequested extends EventBase {
  type: 'channel.hangup_requested';
  uniqueid: string;
  soft: boolean;
  cause?: number;
}

/** The channel is gone (AMI `Hangup`, ARI `ChannelDestroyed`). `cause` is Q.850 (0 on a BYE without Reason). */
export interface ChannelHungUp extends EventBase {
  type: 'channel.hung_up';
  channel: ChannelSnapshot;
  cause: number;
  causeText: string;
}

export type ChannelEvent =
  ChannelCreated | ChannelUpdated | ChannelDialed | ChannelBridged | ChannelHangupRequested | ChannelHungUp;

// ---------------------------------------------------------------- RTCP (from AMI, class reporting)

/** The sender information of an RTCP sender report (SR): what the reporting side has sent so far. */
export interface RtcpSenderInfo {
  /** RTP packets sent since the stream started (32-bit, wraps). */
  packets: number;
  octets: number;
  /** The sender's wall clock when it sent the report, in seconds (NTP time as Asterisk prints it). */
  ntpSeconds: number;
  /** The RTP timestamp matching `ntpSeconds` (32-bit, in the stream's clock rate). */
  rtpTimestamp: number;
}

/** One RTCP reception report block: what the reporting side received of one source (RFC 3550 §6.4.1). */
export interface RtcpReportBlock {
  sourceSsrc: number;
  /** Fraction of the packets expected since the previous report that were lost, 0–255 (= n/256). */
  fractionLost: number;
  /** Packets lost since the stream started (signed: duplicates can make it negative). */
  cumulativeLost: number;
  /** Extended highest sequence number received (cycles × 65536 + highest sequence number). */
  highestSeq: number;
  /** Interarrival jitter in RTP timestamp units (divide by the clock rate for seconds). */
  jitter: number;
}

/**
 * Asterisk sent (`sent`) or received (`received`) an RTCP report on a channel's RTP stream (AMI
 * `RTCPSent` / `RTCPReceived`, about every `rtcpinterval`, 5 s by default, per stream and way). A sent
 * report carries Asterisk's reception statistics of what the peer sends it (its report block) and, when
 * Asterisk sent RTP since its previous report, its own packet count (SR); a received report carries the
 * peer's statistics of what Asterisk sends it, the peer's own count, and Asterisk's RTT measurement.
 */
export interface RtcpReported extends EventBase {
  type: 'rtcp.reported';
  /** The channel whose RTP stream it is (AMI `Uniqueid`). */
  uniqueid: string;
  direction: 'sent' | 'received';
  /** SSRC of the reporting side. */
  ssrc: number;
  /** SR only: absent in a receiver report (the reporting side sent no RTP since its previous report). */
  sender?: RtcpSenderInfo;
  /** The first report block (Asterisk reads and writes at most one); absent when nothing was received. */
  block?: RtcpReportBlock;
  /** `received` only: Asterisk's round-trip time to the peer, seconds; absent until measured (0). */
  rttSeconds?: number;
  /** Asterisk's media experience score (0–100, Asterisk 20.2+/21+): of the peer's stream (`sent`) or as reported by the peer (`received`). */
  mes?: number;
}

// ---------------------------------------------------------------- derived by pbxpulse (source: daemon)

/** An endpoint went from no contact to at least one, or back. Published by the registration store. */
export interface RegistrationChanged extends EventBase {
  type: 'registration.changed';
  endpoint: string;
  registered: boolean;
  contacts: number;
}

/**
 * Something a client sees of a call changed: state, answer, caller/connected line, bridge, a channel
 * joined or ended. Published by the call store, once whichever link(s) reported the change.
 */
export interface CallUpdated extends EventBase {
  type: 'call.updated';
  call: CallView;
  /**
   * The key of a call that no longer exists because its (only) channel turned out to belong to this
   * one (ARI-only fallback key replaced by AMI's linkedid). Clients drop that call.
   */
  supersedes?: string;
}

/** One channel of a call ended (the call may go on). Published by the call store. */
export interface CallChannelEnded extends EventBase {
  type: 'call.channel_ended';
  /** Key of the call the channel belonged to. */
  linkedid: string;
  channel: ChannelView;
  /** This channel is the one that timed out (the bridged peer of a timed-out channel is not). */
  rtpTimeoutCulprit: boolean;
}

/** The last channel of the call ended, with its classification. Published by the call store. */
export interface CallEnded extends EventBase {
  type: 'call.ended';
  call: EndedCallView;
}

/**
 * The RTCP-derived quality of one channel changed (after every RTCP report of it). Published by the
 * call store; the gateway coalesces these into `call.quality` deltas, the one-way-audio detector reads
 * `flow`.
 */
export interface CallQualityUpdated extends EventBase {
  type: 'call.quality_updated';
  /** Key of the call the channel belongs to. */
  linkedid: string;
  uniqueid: string;
  /** `PJSIP/2001-00000003` */
  channel: string;
  /** PJSIP endpoint of the channel; null for other drivers. */
  endpoint: string | null;
  /** When the channel was first seen Up; null while it is not answered. */
  answeredAt: number | null;
  quality: ChannelQualityView;
  /** The call's summary (worst channel) after this report. */
  callQuality: CallQualitySummary | null;
  flow: MediaFlow;
}

export type CallEvent = CallUpdated | CallChannelEnded | CallEnded | CallQualityUpdated;

/** Why a registration (or another authenticated request) was refused: the `reason` label. */
export type RegistrationFailureReason =
  'auth_failed' | 'aor_not_found' | 'unknown_account' | 'acl_denied' | 'other';

/** One refusal, classified. `endpoint` is a configured endpoint name or `<unknown>` (bounded labels). */
export interface RegistrationFailed extends EventBase {
  type: 'registration.failed';
  endpoint: string;
  reason: RegistrationFailureReason;
}

/** The reconciliation poll found state that a lost event had left stale, and repaired it. */
export interface StateRepaired extends EventBase {
  type: 'state.repaired';
  /** `contact_missing`, `contact_ghost`, `contact_status`, `endpoint_missing`, `endpoint_ghost`, `aor` … */
  kind: string;
  /** What was repaired, for the debug log. */
  subject: string;
}

/**
 * An outbound registration's state changed, appeared or disappeared (`registration: null` with
 * `removed`). Published by the outbound registration store, after the event or the read that showed it.
 */
export interface OutboundRegistrationChanged extends EventBase {
  type: 'outbound_registration.changed';
  name: string;
  /** The current view; `null` when the registration is no longer configured. */
  registration: OutboundRegistrationView | null;
  /** The state before; `null` for a registration seen for the first time. */
  previous: OutboundRegistrationView['state'] | null;
  /** Rejections (Asterisk `Rejected` outcomes) this change accounts for, by reason. */
  rejections: Array<{ reason: OutboundRejectionReason; count: number }>;
}

/**
 * Why an outbound registration was rejected, as far as AMI tells (it carries no SIP code):
 * `fatal_response` — Asterisk gave up at once (401/407 with `auth_rejection_permanent`, 403, 404 …:
 * credentials, account, `outbound_auth`); `temporary_failure` — it retries (no answer, 408, 5xx, 6xx:
 * DNS, transport, the registrar is down); `retries_exhausted` — temporary failures reached `max_retries`.
 */
export type OutboundRejectionReason = 'fatal_response' | 'temporary_failure' | 'retries_exhausted';

/** `diagnostic`: an error or warning finding of the configuration diagnoses (`/diagnostics`). */
/** `one_way_audio`: a live call's leg carries RTP one way only (see `OneWayAudioService`). */
/** `outbound_registration`: a trunk's outbound registration is rejected or failing (see `OutboundRegistrationService`). */
/** `trunk_unreachable`: a trunk with permanent contacts answers no OPTIONS (see `TrunkReachabilityService`). */
export type AlertType =
  | 'auth_loop'
  | 'aor_not_found'
  | 'diagnostic'
  | 'one_way_audio'
  | 'outbound_registration'
  | 'trunk_unreachable';

/** An active (or just cleared) alert, as `/api/v1/alerts` and the gateway show it. */
export interface Alert {
  /** Stable for the life of the alert: `<type>:<node>:<endpoint>[:<source>]`. */
  id: string;
  type: AlertType;
  node: string;
  endpoint: string;
  /** ISO time the condition started. */
  since: string;
  /** ISO time of the last occurrence. */
  lastSeen: string;
  count: number;
  message: string;
  remedy: string;
  /** Type-specific facts (remote address, transport, user agent, configured aors …). */
  details: Record<string, unknown>;
}

export interface AlertRaised extends EventBase {
  type: 'alert.raised';
  alert: Alert;
}

export interface AlertCleared extends EventBase {
  type: 'alert.cleared';
  alert: Alert;
  /** `success` (e.g. a SuccessfulAuth from the source), `quiet` (window elapsed), `resolved` … */
  reason: string;
}

export type PbxEvent =
  | NodeConnectionChanged
  | StateResynced
  | NodeInfoUpdated
  | NodeBooted
  | NodeShutdown
  | ModuleReloaded
  | ContactStatusChanged
  | EndpointReachabilityChanged
  | DeviceStateChanged
  | SecurityEvent
  | ChannelEvent
  | RtcpReported
  | CallEvent
  | RegistrationChanged
  | RegistrationFailed
  | StateRepaired
  | OutboundRegistrationReported
  | OutboundRegistrationChanged
  | AlertRaised
  | AlertCleared;

export type PbxEventType = PbxEvent['type'];

/** Narrow the union by its `type`. */
export type PbxEventOf<T extends PbxEventType> = Extract<PbxEvent, { type: T }>;
