import { EventBus } from '../events/event-bus';
import type { AlertCleared, PbxEvent } from '../events/pbx-events';
import { AlertsService } from './alerts.service';
import { explainAorNotFound } from './aor-explanation';
import { AorNotFoundDetector } from './aor-not-found.detector';
import { FakeClock, FakeRegistrationReader } from './testing/fake-registration-reader';
import { type SecurityEventFields, securityEvent } from './testing/security-events.factory';

function explain(reader: FakeRegistrationReader, name: string): ReturnType<typeof explainAorNotFound> {
  return explainAorNotFound(name, reader.endpoint('pbx1', name), (a) => reader.aor('pbx1', a));
}

describe('explainAorNotFound', () => {
  it('seed 000: aors=1002-aor and no AOR named 1002', () => {
    const reader = new FakeRegistrationReader()
      .addEndpoint('pbx1', {
        name: '1002',
        aors: ['1002-aor'],
        auths: ['1002-auth'],
        authUsernames: ['1002'],
      })
      .addAor('pbx1', { name: '1002-aor', maxContacts: 5, removeExisting: true });
    const x = explain(reader, '1002');
    expect(x.cause).toBe('aor_misnamed');
    expect(x.message).toBe(
      'REGISTER for 1002 authenticated, but endpoint 1002 lists aors=1002-aor and no AOR named 1002: ' +
        'name the AOR section exactly as the SIP user (the To-header user), or list it in aors',
    );
    expect(x.remedy).toContain('Rename the AOR section [1002-aor] to [1002]');
    expect(x.remedy).toContain('[1002]\ntype=aor\nmax_contacts=5\nremove_existing=yes');
    expect(x.remedy).toContain('aors=1002');
    expect(x).toMatchObject({
      configuredAors: ['1002-aor'],
      existingAors: ['1002-aor'],
      authUsernames: ['1002'],
    });
  });

  it('an AOR listed in aors= that does not exist as type=aor', () => {
    const reader = new FakeRegistrationReader().addEndpoint('pbx1', { name: '3001', aors: ['3001'] });
    const x = explain(reader, '3001');
    expect(x.cause).toBe('aor_missing');
    expect(x.message).toBe(
      'REGISTER for 3001 authenticated, then the registrar answered 404: endpoint 3001 lists aors=3001 but ' +
        'there is no [3001] type=aor section',
    );
    expect(x.remedy).toContain('[3001]\ntype=aor\nmax_contacts=1');
    expect(x.existingAors).toEqual([]);
  });

  it('aors= names only sections that do not exist, none named as the user', () => {
    const reader = new FakeRegistrationReader().addEndpoint('pbx1', { name: '3002', aors: ['office-3002'] });
    const x = explain(reader, '3002');
    expect(x.cause).toBe('aor_missing');
    expect(x.message).toContain(
      'endpoint 3002 lists aors=office-3002 but there is no [office-3002] type=aor section',
    );
    expect(x.message).toContain('no AOR named 3002');
  });

  it('the AOR named as the user exists but is not listed', () => {
    const reader = new FakeRegistrationReader()
      .addEndpoint('pbx1', { name: '3003', aors: ['3003-aor'] })
      .addAor('pbx1', { name: '3003-aor' })
      .addAor('pbx1', { name: '3003' });
    const x = explain(reader, '3003');
    expect(x.cause).toBe('aor_misnamed');
    expect(x.message).toContain('not the existing AOR named 3003');
    expect(x.remedy).toContain('aors=3003,3003-aor');
    expect(x.existingAors).toEqual(['3003-aor', '3003']);
  });

  it('an auth username that differs from the endpoint name counts as the SIP user', () => {
    const reader = new FakeRegistrationReader().addEndpoint('pbx1', {
      name: 'alice',
      aors: ['4001'],
      authUsernames: ['4001'],
    });
    const x = explain(reader, 'alice');
    expect(x.cause).toBe('aor_missing');
    expect(x.message).toContain('lists aors=4001 but there is no [4001] type=aor section');
  });

  it('the endpoint is unknown to the reader', () => {
    const x = explain(new FakeRegistrationReader(), '5001');
    expect(x.cause).toBe('endpoint_unknown');
    expect(x.message).toContain("pbxpulse has not seen endpoint 5001's configuration");
    expect(x.remedy).toContain('[5001]\ntype=aor');
    expect(x).toMatchObject({ configuredAors: [], existingAors: [], authUsernames: [] });
  });

  it('aors is empty', () => {
    const reader = new FakeRegistrationReader().addEndpoint('pbx1', { name: '6001', aors: [] });
    const x = explain(reader, '6001');
    expect(x.cause).toBe('no_aors');
    expect(x.message).toContain('endpoint 6001 has no aors= configured');
    expect(x.remedy).toContain('Add aors=6001');
  });

  it('the configuration looks right: the device asked for another AOR', () => {
    const reader = new FakeRegistrationReader().addSimple('pbx1', '7001');
    const x = explain(reader, '7001');
    expect(x.cause).toBe('to_user_mismatch');
    expect(x.message).toContain('To-header user other than 7001');
  });
});

describe('AorNotFoundDetector', () => {
  let clock: FakeClock;
  let events: PbxEvent[];
  let alerts: AlertsService;
  let detector: AorNotFoundDetector;

  beforeEach(() => {
    clock = new FakeClock();
    const reader = new FakeRegistrationReader()
      .addEndpoint('pbx1', { name: '1002', aors: ['1002-aor'] })
      .addAor('pbx1', { name: '1002-aor', maxContacts: 5 });
    const bus = new EventBus();
    events = [];
    bus.subscribe((e) => events.push(e));
    alerts = new AlertsService(bus, clock.now);
    detector = new AorNotFoundDetector(
      { windowMs: 300_000, maxEndpointsPerNode: 1000 },
      reader,
      alerts,
      clock.now,
    );
  });

  const reject = (f: SecurityEventFields = {}): void =>
    detector.onRequestRejected(securityEvent('registrar.request_rejected', { account: '1002', ...f }));
  const cleared = (): AlertCleared[] => events.filter((e): e is AlertCleared => e.type === 'alert.cleared');

  it('one alert per node and endpoint, counting occurrences', () => {
    reject();
    clock.advance(5000);
    reject({ from: '198.51.100.7:5080' });
    expect(events.filter((e) => e.type === 'alert.raised')).toHaveLength(1);
    const [alert] = alerts.list();
    expect(alert).toMatchObject({
      id: 'aor_not_found:pbx1:1002',
      type: 'aor_not_found',
      endpoint: '1002',
      count: 2,
      since: '2026-11-23T12:00:00.000Z',
      lastSeen: '2026-11-23T12:00:05.000Z',
      details: {
        cause: 'aor_misnamed',
        configuredAors: ['1002-aor'],
        existingAors: ['1002-aor'],
        authUsernames: ['1002'],
        remote: { transport: 'udp', address: '198.51.100.7', port: 5080 },
      },
    });
    expect(alert.message).toContain('no AOR named 1002');
    expect(detector.counts('pbx1').get('1002')).toBe(2);
  });

  it('ignores other request types', () => {
    reject({ requestType: 'registrar_attempt_without_registration_permitted' });
    expect(alerts.list()).toEqual([]);
    expect(detector.counts('pbx1').size).toBe(0);
  });

  it('stays active for the window after the last occurrence', () => {
    reject();
    clock.advance(200_000);
    reject();
    clock.advance(299_000);
    detector.sweep();
    expect(alerts.list()).toHaveLength(1);
    clock.advance(1000);
    detector.sweep();
    expect(alerts.list()).toEqual([]);
    expect(cleared()[0]).toMatchObject({ reason: 'quiet' });
  });

  it('clears when the endpoint registers', () => {
    reject();
    detector.onRegistered('pbx1', '2001');
    expect(alerts.list()).toHaveLength(1);
    detector.onRegistered('pbx1', '1002');
    expect(alerts.list()).toEqual([]);
    expect(cleared()[0]).toMatchObject({ reason: 'resolved' });
  });

  it('counts an unknown endpoint under <unknown> but still explains it', () => {
    reject({ account: '9000' });
    expect(detector.counts('pbx1').get('<unknown>')).toBe(1);
    expect(alerts.list()[0].details).toMatchObject({ cause: 'endpoint_unknown' });
    reject({ account: '<unknown>' });
    expect(detector.counts('pbx1').get('<unknown>')).toBe(2);
    expect(alerts.list()).toHaveLength(1);
  });
});
