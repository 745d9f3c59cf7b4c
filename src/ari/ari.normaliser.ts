import { channelState, contactStatus, usec } from '../common/asterisk.vocabulary';
import type { ChannelSnapshot, PbxEvent } from '../events/pbx-events';
import {
  isKnownAriEvent,
  type AriChannel,
  type AriEventMessage,
  type AriKnownEventType,
} from './ari.messages';

/**
 * The ARI event types `normaliseAriEvent` turns into internal events, and `ApplicationReplaced` (the
 * connection acts on it). The daemon asks Asterisk for these only (the app's `eventFilter`): with
 * `subscribeAll`, every REGISTER also brings an `EndpointStateChange` and every dialplan step of a call a
 * `ChannelVarset` and a `ChannelDialplan`, which cost Asterisk the JSON and the daemon the parse, for
 * nothing.
 */
export const ARI_USED_EVENT_TYPES = [
  'ContactStatusChange',
  'PeerStatusChange',
  'DeviceStateChanged',
  'ChannelCreated',
  'ChannelStateChange',
  'ChannelDestroyed',
  'ChannelHangupRequest',
  'ChannelEnteredBridge',
  'ChannelLeftBridge',
  'Dial',
  'ApplicationReplaced',
] as const satisfies readonly AriKnownEventType[];

/**
 * Turn one ARI event into an internal event, or `undefined` for events pbxpulse does not use (yet).
 * Pure. ARI and AMI feed the same reducers, which are idempotent, so an event seen on both links
 * changes state once.
 */
export function normaliseAriEvent(node: string, msg: AriEventMessage, ts: number): PbxEvent | undefined {
  if (!isKnownAriEvent(msg)) return undefined;
  switch (msg.type) {
    case 'ContactStatusChange': {
      const info = msg.contact_info;
      const status = contactStatus(info?.contact_status);
      if (!status || !info.aor || !info.uri || msg.endpoint?.technology !== 'PJSIP') return undefined;
      return {
        type: 'contact.status_changed',
        node,
        ts,
        source: 'ari',
        endpoint: msg.endpoint.resource,
        aor: info.aor,
        uri: info.uri,
        status,
        rttUsec: usec(info.roundtrip_usec),
      };
    }
    case 'PeerStatusChange': {
      const s = msg.peer?.peer_status;
      if (msg.endpoint?.technology !== 'PJSIP' || (s !== 'Reachable' && s !== 'Unreachable'))
        return undefined;
      return {
        type: 'endpoint.reachability_changed',
        node,
        ts,
        source: 'ari',
        endpoint: msg.endpoint.resource,
        reachable: s === 'Reachable',
      };
    }
    case 'DeviceStateChanged': {
      const d = msg.device_state;
      if (!d?.name?.startsWith('PJSIP/') || !d.state) return undefined;
      return { type: 'device.state_changed', node, ts, source: 'ari', device: d.name, state: d.state };
    }
    case 'ChannelCreated':
      return { type: 'channel.created', node, ts, source: 'ari', channel: ariChannelSnapshot(msg.channel) };
    case 'ChannelStateChange':
      return { type: 'channel.updated', node, ts, source: 'ari', channel: ariChannelSnapshot(msg.channel) };
    case 'ChannelDestroyed':
      return {
        type: 'channel.hung_up',
        node,
        ts,
        source: 'ari',
        channel: ariChannelSnapshot(msg.channel),
        cause: typeof msg.cause === 'number' ? msg.cause : 0,
        causeText: msg.cause_txt ?? '',
      };
    case 'ChannelHangupRequest':
      return {
        type: 'channel.hangup_requested',
        node,
        ts,
        source: 'ari',
        uniqueid: msg.channel.id,
        soft: msg.soft === true,
        cause: typeof msg.cause === 'number' ? msg.cause : undefined,
      };
    case 'ChannelEnteredBridge':
    case 'ChannelLeftBridge':
      if (!msg.channel) return undefined;
      return {
        type: 'channel.bridged',
        node,
        ts,
        source: 'ari',
        uniqueid: msg.channel.id,
        bridgeId: msg.bridge.id,
        entered: msg.type === 'ChannelEnteredBridge',
      };
    case 'Dial':
      return {
        type: 'channel.dialed',
        node,
        ts,
        source: 'ari',
        callerId: msg.caller?.id,
        peer: ariChannelSnapshot(msg.peer),
        dialStatus: msg.dialstatus ?? '',
      };
    default:
      return undefined;
  }
}

/** ARI's channel model as a normalised snapshot (events and `GET /channels` resync listings). */
export function ariChannelSnapshot(c: AriChannel): ChannelSnapshot {
  const v = (s: string | undefined) => (s ? s : undefined);
  return {
    uniqueid: c.id,
    linkedid: v(c.linkedid),
    name: c.name,
    state: channelState(c.state),
    callerNum: v(c.caller?.number),
    callerName: v(c.caller?.name),
    connectedNum: v(c.connected?.number),
    connectedName: v(c.connected?.name),
    context: v(c.dialplan?.context),
    exten: v(c.dialplan?.exten),
  };
}
