import { ariCallMessages } from '../state/calls/testing/call-events.fixtures';
import { ARI_KNOWN_EVENT_TYPES, type AriEventMessage } from './ari.messages';
import { ARI_USED_EVENT_TYPES, normaliseAriEvent } from './ari.normaliser';

describe('ARI event filter', () => {
  const used: ReadonlySet<string> = new Set(ARI_USED_EVENT_TYPES);
  const [created] = ariCallMessages(
    { uniqueid: '1.1', name: 'PJSIP/2001-00000001', endpoint: '2001' },
    'normal',
  );
  const channel = (created as { channel: unknown }).channel;
  const endpoint = { technology: 'PJSIP', resource: '2001', state: 'online', channel_ids: [] };

  it('leaves out only event types the normaliser makes nothing of', () => {
    const filteredOut = [...ARI_KNOWN_EVENT_TYPES].filter((t) => !used.has(t)).sort();
    expect(filteredOut).toEqual(['ChannelDialplan', 'EndpointStateChange']);
    for (const type of filteredOut) {
      const msg = {
        type,
        application: 'a',
        timestamp: '2026-12-06T20:00:00.000+0000',
        channel,
        endpoint,
        dialplan_app: 'Echo',
        dialplan_app_data: '',
      } as AriEventMessage;
      expect(normaliseAriEvent('n', msg, 0)).toBeUndefined();
    }
  });

  it('keeps every type a recorded call is normalised from', () => {
    const messages = ariCallMessages(
      { uniqueid: '1.2', name: 'PJSIP/2001-00000002', endpoint: '2001' },
      'rtp_timeout',
    );
    for (const m of messages) {
      if (normaliseAriEvent('n', m, 0)) expect(used.has(m.type)).toBe(true);
    }
  });
});
