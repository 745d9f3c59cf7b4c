import { EventBus } from '../events/event-bus';
import type { AlertCleared, PbxEvent } from '../events/pbx-events';
import { AlertsService } from './alerts.service';
import { AuthLoopDetector, type AuthLoopOptions } from './auth-loop.detector';
import { FakeClock, FakeRegistrationReader } from './testing/fake-registration-reader';
import { type SecurityEventFields, securityEvent } from './testing/security-events.factory';

const OPTIONS: AuthLoopOptions = {
  threshold: 3,
  windowMs: 60_000,
  quietMs: 120_000,
  maxSourcesPerNode: 1000,
};

describe('AuthLoopDetector', () => {
  let clock: FakeClock;
  let reader: FakeRegistrationReader;
  let events: PbxEvent[];
  let alerts: AlertsService;
  let detector: AuthLoopDetector;

  function setup(options: AuthLoopOptions = OPTIONS): void {
    clock = new FakeClock();
    reader = new FakeRegistrationReader().addSimple('pbx1', '2001').addSimple('pbx1', '2002');
    const bus = new EventBus();
    events = [];
    bus.subscribe((e) => events.push(e));
    alerts = new AlertsService(bus, clock.now);
    detector = new AuthLoopDetector(options, reader, alerts, clock.now);
  }

  beforeEach(() => setup());

  const fail = (f: SecurityEventFields = {}): void =>
    detector.onChallengeFailed(securityEvent('auth.challenge_failed', { ts: clock.ms, ...f }));
  const succeed = (f: SecurityEventFields = {}): void =>
    detector.onSucceeded(securityEvent('auth.succeeded', { ts: clock.ms, ...f }));
  const raised = (): PbxEvent[] => events.filter((e) => e.type === 'alert.raised');
  const cleared = (): AlertCleared[] => events.filter((e): e is AlertCleared => e.type === 'alert.cleared');

  it('is not a loop below the threshold', () => {
    fail();
    clock.advance(1000);
    fail();
    expect(alerts.list()).toEqual([]);
    expect(detector.activeLabels('pbx1').size).toBe(0);
  });

  it('raises one alert at the threshold and then only updates it', () => {
    for (let i = 0; i < 5; i++) {
      fail({ from: `203.0.113.5:${5060 + i}` });
      clock.advance(3000);
    }
    expect(raised()).toHaveLength(1);
    const [alert] = alerts.list();
    expect(alert).toMatchObject({
      id: 'auth_loop:pbx1:2001:203.0.113.5',
      type: 'auth_loop',
      node: 'pbx1',
      endpoint: '2001',
      count: 5,
      since: '2026-11-23T12:00:00.000Z',
      lastSeen: '2026-11-23T12:00:12.000Z',
    });
    expect(alert.message).toBe(
      '2001 from 203.0.113.5 (udp) failed digest authentication 5 times in 12 s with no success: ' +
        'wrong password on the device',
    );
    expect(alert.remedy).toContain('auth=2001-auth, username=2001');
    expect(alert.remedy).toContain('clears on the next successful REGISTER');
    expect(alert.details).toMatchObject({
      remote: { transport: 'udp', address: '203.0.113.5', port: 5064 },
      transport: 'udp',
      attempts: 5,
      userAgent: null,
    });
    expect(detector.activeLabels('pbx1')).toEqual(new Set(['2001']));
    expect(detector.detectedCounts('pbx1').get('2001')).toBe(1);
  });

  it('needs the threshold within the window', () => {
    fail();
    clock.advance(40_000);
    fail();
    clock.advance(40_000); // the first failure is now 80 s old
    fail();
    expect(alerts.list()).toEqual([]);
    clock.advance(10_000);
    fail();
    expect(alerts.list()).toHaveLength(1);
    expect(alerts.list()[0]).toMatchObject({ count: 3, since: '2026-11-23T12:00:40.000Z' });
  });

  it('clears on a success from the same endpoint and IP', () => {
    for (let i = 0; i < 3; i++) fail();
    succeed({ from: '203.0.113.9:5060' }); // another IP: not this loop
    succeed({ account: '2002', from: '203.0.113.5:5060' }); // another endpoint: not this loop
    expect(alerts.list()).toHaveLength(1);
    succeed({ from: '203.0.113.5:40000' }); // same IP, any port
    expect(alerts.list()).toEqual([]);
    expect(cleared()).toHaveLength(1);
    expect(cleared()[0]).toMatchObject({
      reason: 'success',
      alert: { id: 'auth_loop:pbx1:2001:203.0.113.5' },
    });
    expect(detector.activeLabels('pbx1').size).toBe(0);
  });

  it('a success in between resets the streak', () => {
    fail();
    fail();
    succeed();
    fail();
    fail();
    expect(alerts.list()).toEqual([]);
    fail();
    expect(alerts.list()).toHaveLength(1);
  });

  it('clears after the quiet time without failures', () => {
    for (let i = 0; i < 3; i++) fail();
    clock.advance(119_000);
    detector.sweep();
    expect(alerts.list()).toHaveLength(1);
    fail(); // keeps it going
    clock.advance(119_000);
    detector.sweep();
    expect(alerts.list()).toHaveLength(1);
    clock.advance(1000);
    detector.sweep();
    expect(alerts.list()).toEqual([]);
    expect(cleared()[0]).toMatchObject({ reason: 'quiet' });
    expect(detector.trackedSources('pbx1')).toBe(0);
  });

  it('keeps separate sources apart: IPs, endpoints, nodes', () => {
    for (let i = 0; i < 3; i++) {
      fail({ from: '203.0.113.5:5060' });
      fail({ from: '203.0.113.6:5060' });
      fail({ account: '2002', from: '203.0.113.5:5060' });
      fail({ node: 'pbx2', from: '203.0.113.5:5060' });
    }
    expect(alerts.list().map((a) => a.id)).toEqual(
      expect.arrayContaining([
        'auth_loop:pbx1:2001:203.0.113.5',
        'auth_loop:pbx1:2001:203.0.113.6',
        'auth_loop:pbx1:2002:203.0.113.5',
        'auth_loop:pbx2:2001:203.0.113.5',
      ]),
    );
    expect(alerts.list()).toHaveLength(4);
    expect(detector.detectedCounts('pbx1').get('2001')).toBe(2);
    // pbx2 does not know 2001: the metric label is <unknown>, the alert keeps Asterisk's endpoint name.
    expect(detector.activeLabels('pbx2')).toEqual(new Set(['<unknown>']));
  });

  it('ignores <unknown> and empty accounts', () => {
    for (let i = 0; i < 10; i++) {
      fail({ account: '<unknown>' });
      fail({ account: '' });
    }
    expect(alerts.list()).toEqual([]);
    expect(detector.trackedSources('pbx1')).toBe(0);
  });

  it('forgets streaks that fall out of the window', () => {
    fail();
    fail();
    expect(detector.trackedSources('pbx1')).toBe(1);
    clock.advance(60_000);
    detector.sweep();
    expect(detector.trackedSources('pbx1')).toBe(0);
  });

  it('names the user agent of a contact registered from that IP', () => {
    reader.addContact('pbx1', {
      endpoint: '2001',
      viaAddress: '203.0.113.5:5062',
      userAgent: 'Yealink SIP-T46U',
    });
    reader.addContact('pbx1', { endpoint: '2001', viaAddress: '203.0.113.50:5062', userAgent: 'Other' });
    for (let i = 0; i < 3; i++) fail({ transport: 'tcp' });
    const [alert] = alerts.list();
    expect(alert.details).toMatchObject({ userAgent: 'Yealink SIP-T46U', transport: 'tcp' });
    expect(alert.message).toContain('(tcp)');
    expect(alert.message).toContain('Yealink SIP-T46U');
  });

  it('stays bounded under brute force from many IPs', () => {
    setup({ ...OPTIONS, maxSourcesPerNode: 50 });
    for (let i = 0; i < 500; i++) {
      const from = `10.0.${i >> 8}.${i & 255}:5060`;
      for (let k = 0; k < 3; k++) fail({ from });
    }
    expect(detector.trackedSources('pbx1')).toBeLessThanOrEqual(50);
    expect(alerts.size).toBeLessThanOrEqual(50);
    expect(cleared().every((e) => e.reason === 'evicted')).toBe(true);
  });

  it('tracks a source without a remote address under <unknown>', () => {
    for (let i = 0; i < 3; i++) fail({ from: null });
    expect(alerts.list()[0].id).toBe('auth_loop:pbx1:2001:<unknown>');
  });
});
