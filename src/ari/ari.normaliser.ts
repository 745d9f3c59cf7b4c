import { contactStatus, usec } from '../ami/ami.normaliser';
import type { PbxEvent } from '../events/pbx-events';
import { isKnownAriEvent, type AriEventMessage } from './ari.messages';

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
    default:
      return undefined;
  }
}
