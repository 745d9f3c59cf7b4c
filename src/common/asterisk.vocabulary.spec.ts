import {
  channelState,
  contactStatus,
  deviceStateName,
  stripTech,
  transportKind,
  transportOfUri,
  usec,
} from './asterisk.vocabulary';

describe('Asterisk vocabulary', () => {
  it.each([
    ['Up', 'up'],
    ['Dialing Offhook', 'dialing_offhook'],
    ['Pre-ring', 'pre_ring'],
    ['Sideways', 'unknown'],
    [undefined, 'unknown'],
  ])('channel state %s → %s', (raw, state) => expect(channelState(raw)).toBe(state));

  it('contact statuses: known words only (no prototype keys)', () => {
    expect(contactStatus('NonQualified')).toBe('nonqualified');
    expect(contactStatus('Created')).toBe('nonqualified');
    expect(contactStatus('toString')).toBeUndefined();
    expect(contactStatus(undefined)).toBeUndefined();
  });

  it('device states in their constant spelling, whichever way Asterisk wrote them', () => {
    expect(deviceStateName('Not in use')).toBe('NOT_INUSE');
    expect(deviceStateName('Ring+Inuse')).toBe('RINGINUSE');
    expect(deviceStateName('INUSE')).toBe('INUSE');
    expect(deviceStateName(undefined)).toBe('UNKNOWN');
  });

  it('RTT, technology prefix and transports', () => {
    expect(usec('1610')).toBe(1610);
    expect(usec('N/A')).toBeUndefined();
    expect(usec('0')).toBeUndefined();
    expect(stripTech('PJSIP/1001')).toBe('1001');
    expect(stripTech('1001')).toBe('1001');
    expect(transportKind(' wss ')).toBe('wss');
    expect(transportKind('sctp')).toBe('unknown');
    expect(transportOfUri('sip:1001@10.0.0.1:5060;transport=WS')).toBe('ws');
    expect(transportOfUri('sips:1001@example.com')).toBe('tls');
    expect(transportOfUri('sip:1001@10.0.0.1')).toBe('udp');
  });
});
