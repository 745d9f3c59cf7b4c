/**
 * The `/ws` protocol (version 1). Public contract: see README "WebSocket stream".
 *
 * Server → client: `hello`, then `snapshot`, then deltas `{type, seq, node, ts, data}` with `seq`
 * strictly increasing. Client → server: `subscribe` to filter by nodes and topics.
 *
 * The board's script imports these types, so this file holds types and plain constants only: every
 * import below is `import type`, erased at build time.
 */
import type { Alert, LinkKind } from '../events/pbx-events';
import type { CallQualitySummary, ChannelQualityView } from '../state/calls/call.quality';
import type { CallView, EndedCallView } from '../state/calls/call.views';
import type { NodeView } from '../state/node.views';
import type { ContactView, EndpointView } from '../state/registrations/registration.views';

export type {
  Alert,
  CallQualitySummary,
  CallView,
  ChannelQualityView,
  ContactView,
  EndedCallView,
  EndpointView,
  NodeView,
};

export const PROTOCOL_VERSION = 1;

/** What a client can filter on. `system` deltas (`node.status`, `state.resynced`, `control.action`) always pass. */
export type Topic = 'calls' | 'registrations' | 'alerts';
export const TOPICS: readonly Topic[] = ['calls', 'registrations', 'alerts'];

// ---------------------------------------------------------------- delta payloads

/** `call.updated`: the call as `/api/v1/nodes/:node/calls` shows it. */
export interface CallUpdatedData extends CallView {
  /** The key of a call that no longer exists (an ARI-only call got its AMI linkedid): drop it. */
  supersedes?: string;
}

/**
 * `call.quality`: a channel's RTCP quality, the latest of the interval (coalesced: at most one per
 * channel per second). Apply to the channel `uniqueid` of the call `linkedid`; ignore it for a call the
 * client no longer has.
 */
export interface CallQualityData {
  linkedid: string;
  uniqueid: string;
  endpoint: string | null;
  quality: ChannelQualityView;
  /** The call's `quality` after this update. */
  callQuality: CallQualitySummary | null;
}

/** `registration.changed`: an endpoint gained its first contact or lost its last. */
export interface RegistrationChangedData {
  endpoint: string;
  registered: boolean;
  contacts: number;
  /** The endpoint as in the snapshot's `endpoints` (minus `node`); null when it is not known. */
  view: EndpointView | null;
  contactList: ContactView[];
}

/** What an `endpoint.updated` delta reports as changed since the previous one for that endpoint. */
export type EndpointChange = 'contacts' | 'rtt' | 'device_state' | 'reachability';
export const ENDPOINT_CHANGES: readonly EndpointChange[] = [
  'contacts',
  'rtt',
  'device_state',
  'reachability',
];

/**
 * `endpoint.updated`: something a viewer sees of an endpoint changed (a contact appeared, went away or
 * changed status or RTT; device state; reachability). Coalesced: at most one per endpoint per flush
 * interval, `changed` being the union over that interval.
 */
export interface EndpointUpdatedData {
  endpoint: string;
  /** The endpoint as in the snapshot's `endpoints` (minus `node`, which is on the delta); null when gone. */
  view: EndpointView | null;
  /** The endpoint's contacts, as `/api/v1/nodes/:node/endpoints/:endpoint` lists them. */
  contactList: ContactView[];
  changed: EndpointChange[];
}

/** `alert.cleared`: the alert, plus why it cleared (`success`, `quiet`, `resolved` …). */
export interface AlertClearedData extends Alert {
  clearedBecause: string;
}

/** `state.resynced`: a node's state was rebuilt from `link`; a fresh snapshot follows. */
export interface StateResyncedData {
  link: LinkKind;
  /** What the resync rebuilt, e.g. `{ contacts: 3 }`. */
  counts: Record<string, number>;
}

/** `control.action`: one control call, refusals included (see README "Control"). */
export interface ControlActionData {
  node: string;
  action: 'reload' | 'qualify';
  /** As in `pbxpulse_reloads_total` / `pbxpulse_qualifies_total`. */
  result: string;
  /** The caller's role: `admin`, `viewer`, `anonymous`. */
  by: string;
  module?: string;
  endpoint?: string;
  reason?: string;
  durationMs?: number;
  /** Reload: whether Asterisk's Reload event came within the bound. */
  confirmed?: boolean;
}

/** Every delta type and the type of its `data`. */
export interface DeltaDataMap {
  'call.updated': CallUpdatedData;
  'call.ended': EndedCallView;
  'call.quality': CallQualityData;
  'registration.changed': RegistrationChangedData;
  'endpoint.updated': EndpointUpdatedData;
  'alert.raised': Alert;
  'alert.cleared': AlertClearedData;
  'node.status': NodeView;
  'state.resynced': StateResyncedData;
  'control.action': ControlActionData;
}

export type DeltaType = keyof DeltaDataMap;

export const DELTA_TOPIC: Record<DeltaType, Topic | 'system'> = {
  'call.updated': 'calls',
  'call.ended': 'calls',
  'call.quality': 'calls',
  'registration.changed': 'registrations',
  'endpoint.updated': 'registrations',
  'alert.raised': 'alerts',
  'alert.cleared': 'alerts',
  'node.status': 'system',
  'state.resynced': 'system',
  'control.action': 'system',
};

// ---------------------------------------------------------------- messages

/** One delta of type `T`. */
export interface DeltaOf<T extends DeltaType> {
  type: T;
  seq: number;
  node: string;
  /** ISO time. */
  ts: string;
  data: DeltaDataMap[T];
}

/**
 * A delta. Without an argument, the union of every delta type, so that `switch (d.type)` narrows
 * `d.data`.
 */
export type Delta<T extends DeltaType = DeltaType> = { [K in T]: DeltaOf<K> }[T];

/** An endpoint in the snapshot: the registration view plus its node. */
export interface SnapshotEndpoint extends EndpointView {
  node: string;
}

export interface Snapshot {
  type: 'snapshot';
  seq: number;
  nodes: NodeView[];
  calls: CallView[];
  endpoints: SnapshotEndpoint[];
  alerts: Alert[];
}

export interface HelloMessage {
  type: 'hello';
  protocol: typeof PROTOCOL_VERSION;
}

export interface SubscribeMessage {
  type: 'subscribe';
  nodes?: string[];
  topics?: Topic[];
}

/** The answer to a `subscribe`: `null` lists mean "all". `seq`: the newest delta when the filter took effect. */
export interface SubscribedMessage {
  type: 'subscribed';
  nodes: string[] | null;
  topics: Topic[] | null;
  seq: number;
}

/** A client message the server did not understand. */
export interface ErrorMessage {
  type: 'error';
  message: string;
}

/** Everything the server sends. */
export type ServerMessage = HelloMessage | Snapshot | Delta | SubscribedMessage | ErrorMessage;

/** Close codes. */
export const CLOSE_UNAUTHORIZED = 4401;
export const CLOSE_BAD_MESSAGE = 4400;
export const CLOSE_TOO_SLOW = 1013;
