import { hostResolves, sipUriHost } from './host-resolve';

describe('sipUriHost', () => {
  it('takes the host of a SIP URI, with or without user, port, parameters or brackets', () => {
    expect(sipUriHost('sip:sip.example.com')).toBe('sip.example.com');
    expect(sipUriHost('sip:123@sip.example.com:5060;transport=tcp')).toBe('sip.example.com');
    expect(sipUriHost('sips:[2001:db8::1]:5061')).toBe('2001:db8::1');
    expect(sipUriHost('<sip:127.0.0.1:25060>')).toBe('127.0.0.1');
    expect(sipUriHost('not a uri')).toBe('');
  });
});

describe('hostResolves', () => {
  it('has nothing to resolve for an IP address, resolves localhost, and says false for an .invalid name', async () => {
    expect(await hostResolves('127.0.0.1')).toBeNull();
    expect(await hostResolves('localhost')).toBe(true);
    // RFC 6761: .invalid never resolves; a machine without DNS answers null (no proof), never true.
    expect([false, null]).toContain(await hostResolves('registrar.pbxpulse.invalid'));
  });
});
