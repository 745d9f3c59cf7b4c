import type { PbxEvent } from '../events/pbx-events';
import type { AmiMessage } from './ami.message';

/**
 * Turn one AMI event into an internal event, or `undefined` for events pbxpulse does not use (yet).
 * Pure: no I/O, no clock (the receive time is passed in).
 */
export function normaliseAmiEvent(node: string, msg: AmiMessage, ts: number): PbxEvent | undefined {
  const f = msg.fields;
  switch (f.Event) {
    case 'FullyBooted':
      return { type: 'node.booted', node, ts, source: 'ami' };
    case 'Shutdown':
      // `Restart: True` for `core restart …`; the socket closes right after this event.
      return { type: 'node.shutdown', node, ts, source: 'ami', restart: f.Restart === 'True' };
    case 'Reload':
      return {
        type: 'module.reloaded',
        node,
        ts,
        source: 'ami',
        module: f.Module ?? '',
        status: f.Status ?? '',
      };
    default:
      return undefined;
  }
}
