import type { AlertCleared, SecurityEvent } from '../events/pbx-events';
import {
  ENDPOINT_DETAIL_CONTRIBUTORS,
  type EndpointDetailContributors,
} from '../state/registrations/endpoint-detail';
import { SECURITY_EVENT_TYPES } from './security-event.log';
import { EndpointDetailService } from './endpoint-detail.service';
import { type DetectorsTestApp, createDetectorsApp } from './testing/detectors-test-app';
import { FakeRegistrationReader } from './testing/fake-registration-reader';
import { type SecurityEventFields, securityEvent } from './testing/security-events.factory';

/** The value of one series in Prometheus text, or undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('DetectorsModule (real services, real bus, fake registration reader)', () => {
  let t: DetectorsTestApp;
  let reader: FakeRegistrationReader;

  beforeEach(async () => {
    reader = new FakeRegistrationReader()
      .addSimple('pbx1', '2001')
      .addSimple('pbx1', '2002')
      .addEndpoint('pbx1', { name: '1002', aors: ['1002-aor'] })
      .addAor('pbx1', { name: '1002-aor', maxContacts: 5 });
    t = await createDetectorsApp(reader);
  });

  afterEach(() => t.close());

  const publish = <T extends SecurityEvent['type']>(type: T, f: SecurityEventFields = {}): void =>
    t.bus.publish(securityEvent(type, { ts: Date.now(), ...f }));
  const metrics = (): Promise<string> => t.registry.metrics();

  it('starts with the per-node totals and <unknown> at 0, and no per-endpoint zeros (metrics.perEndpoint active)', async () => {
    const text = await metrics();
    for (const reason of ['auth_failed', 'aor_not_found', 'acl_denied', 'unknown_account', 'other']) {
      expect(sample(text, `pbxpulse_node_registration_failures_total{node="pbx1",reason="${reason}"}`)).toBe(
        0,
      );
    }
    for (const node of ['pbx1', 'pbx2']) {
      expect(
        sample(
          text,
          `pbxpulse_registration_failures_total{node="${node}",endpoint="<unknown>",reason="unknown_account"}`,
        ),
      ).toBe(0);
    }
    expect(sample(text, 'pbxpulse_node_auth_loops_total{node="pbx1"}')).toBe(0);
    expect(sample(text, 'pbxpulse_node_aor_not_found_total{node="pbx1"}')).toBe(0);
    expect(text).not.toContain('endpoint="2001"');
    expect(text).not.toContain('endpoint="1002"');
  });

  it('a 401 loop: classified failures, one alert, gauge 1; a success clears it', async () => {
    for (let i = 0; i < 5; i++) publish('auth.challenge_failed', { from: `203.0.113.5:${6000 + i}` });
    expect(t.events.filter((e) => e.type === 'registration.failed')).toHaveLength(5);
    expect(t.events.find((e) => e.type === 'registration.failed')).toMatchObject({
      source: 'daemon',
      endpoint: '2001',
      reason: 'auth_failed',
    });
    const { body } = await t.get('/api/v1/alerts');
    expect(body).toEqual({
      alerts: [expect.objectContaining({ id: 'auth_loop:pbx1:2001:203.0.113.5', count: 5 })],
    });
    await metrics(); // creates 2001's series, at 0 (EndpointLabels)
    let text = await metrics();
    expect(
      sample(text, 'pbxpulse_registration_failures_total{node="pbx1",endpoint="2001",reason="auth_failed"}'),
    ).toBe(5);
    expect(sample(text, 'pbxpulse_auth_loop_active{node="pbx1",endpoint="2001"}')).toBe(1);
    expect(sample(text, 'pbxpulse_auth_loops_total{node="pbx1",endpoint="2001"}')).toBe(1);

    publish('auth.succeeded', { from: '203.0.113.5:6010' });
    expect((await t.get('/api/v1/alerts')).body).toEqual({ alerts: [] });
    text = await metrics();
    expect(sample(text, 'pbxpulse_auth_loop_active{node="pbx1",endpoint="2001"}')).toBe(0);
    expect(sample(text, 'pbxpulse_auth_loops_total{node="pbx1",endpoint="2001"}')).toBe(1);
    const cleared = t.events.filter((e): e is AlertCleared => e.type === 'alert.cleared');
    expect(cleared.map((e) => e.reason)).toEqual(['success']);
  });

  it('AOR not found: counted, explained, in the endpoint detail', async () => {
    publish('auth.succeeded', { account: '1002' });
    publish('registrar.request_rejected', { account: '1002' });
    await metrics(); // creates 1002's series, at 0 (EndpointLabels)
    const text = await metrics();
    expect(sample(text, 'pbxpulse_aor_not_found_total{node="pbx1",endpoint="1002"}')).toBe(1);
    expect(
      sample(
        text,
        'pbxpulse_registration_failures_total{node="pbx1",endpoint="1002",reason="aor_not_found"}',
      ),
    ).toBe(1);
    const detail = t.app.get(EndpointDetailService).endpointDetail('pbx1', '1002');
    expect(detail.authLoop).toBeNull();
    expect(detail.aorNotFound?.message).toContain('aors=1002-aor and no AOR named 1002');
    expect(detail.recentAuthEvents.map((e) => e.type)).toEqual([
      'registrar.request_rejected',
      'auth.succeeded',
    ]);
    // Registered with the registration module's endpoint-detail hook.
    const contributed = await t.app
      .get<EndpointDetailContributors>(ENDPOINT_DETAIL_CONTRIBUTORS)
      .collect('pbx1', '1002');
    expect(contributed).toEqual(detail);
    expect(t.app.get(EndpointDetailService).endpointDetail('pbx1', '2001')).toEqual({
      authLoop: null,
      authLoops: [],
      aorNotFound: null,
      recentAuthEvents: [],
    });
  });

  it('unknown accounts never become labels; the series count does not grow', async () => {
    const before = (await metrics()).split('\n').length;
    for (let i = 0; i < 300; i++) {
      publish('auth.account_unknown', {
        account: `scan-${i}-${Math.random()}`,
        from: `198.51.100.${i % 7}:5060`,
      });
      publish('auth.challenge_failed', { account: '<unknown>', from: `198.51.100.${i % 7}:5060` });
    }
    const text = await metrics();
    expect(text.split('\n').length).toBe(before);
    expect(text).not.toContain('scan-');
    expect(text).not.toContain('198.51.100');
    expect(
      sample(
        text,
        'pbxpulse_registration_failures_total{node="pbx1",endpoint="<unknown>",reason="unknown_account"}',
      ),
    ).toBe(300);
    const { body } = await t.get('/api/v1/nodes/pbx1/unknown-accounts');
    const { offenders } = body as { offenders: Array<{ address: string; attempts: number }> };
    expect(offenders).toHaveLength(7);
    expect(offenders.reduce((n, o) => n + o.attempts, 0)).toBe(300);
  });

  it('odd accounts never throw and come back intact as JSON', async () => {
    const odd = [
      '"a\\"b"',
      'zoë電話',
      'x'.repeat(10_240),
      '',
      '<script>alert(1)</script>',
      'line\r\nbreak',
      '\u0000',
    ];
    for (const type of SECURITY_EVENT_TYPES) {
      for (const account of odd) publish(type, { account });
      publish(type, { account: '2001', from: null, sessionId: undefined });
      // Missing fields altogether, as a buggy publisher might send them.
      t.bus.publish({ type, node: 'pbx1', ts: Date.now(), source: 'ami' } as unknown as SecurityEvent);
      t.bus.publish({ type, node: 'nowhere', ts: Number.NaN, source: 'ami', account: 'q' } as SecurityEvent);
    }
    expect(t.bus.consumerFailures).toBe(0);
    const { status, body, contentType } = await t.get('/api/v1/nodes/pbx1/security-events?limit=1000');
    expect(status).toBe(200);
    // JSON encodes quotes and control characters; the content type keeps browsers from sniffing HTML.
    expect(contentType).toMatch(/^application\/json/);
    const accounts = new Set((body as { events: Array<{ account: string }> }).events.map((e) => e.account));
    for (const account of odd) expect(accounts.has(account.slice(0, 256))).toBe(true);
    const metricsText = await metrics();
    for (const account of ['zoë', 'a\\"b', '<script>', 'xxxx'])
      expect(metricsText.includes(account)).toBe(false);
    expect((await t.get('/api/v1/nodes/pbx1/unknown-accounts')).status).toBe(200);
    expect((await t.get('/api/v1/alerts')).status).toBe(200);
  });
});
