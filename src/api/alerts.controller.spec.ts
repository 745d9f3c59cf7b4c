import { type DetectorsTestApp, createDetectorsApp } from '../detectors/testing/detectors-test-app';
import { FakeRegistrationReader } from '../detectors/testing/fake-registration-reader';
import { securityEvent } from '../detectors/testing/security-events.factory';

describe('AlertsController over HTTP', () => {
  let t: DetectorsTestApp;

  beforeAll(async () => {
    const reader = new FakeRegistrationReader()
      .addSimple('pbx1', '2001')
      .addEndpoint('pbx2', { name: '1002', aors: ['1002-aor'] })
      .addAor('pbx2', { name: '1002-aor' });
    t = await createDetectorsApp(reader);
    for (let i = 0; i < 3; i++) t.bus.publish(securityEvent('auth.challenge_failed', { account: '2001' }));
    t.bus.publish(securityEvent('registrar.request_rejected', { node: 'pbx2', account: '1002' }));
  });

  afterAll(() => t.close());

  type Body = { alerts: Array<{ id: string; type: string; node: string }> };

  it('lists every active alert (ordering by since is covered in alerts.service.spec)', async () => {
    const { status, body } = await t.get('/api/v1/alerts');
    expect(status).toBe(200);
    // Both alerts may start in the same millisecond: compare as a set.
    expect((body as Body).alerts.map((a) => a.id).sort()).toEqual([
      'aor_not_found:pbx2:1002',
      'auth_loop:pbx1:2001:203.0.113.5',
    ]);
  });

  it('filters by node and type', async () => {
    expect(((await t.get('/api/v1/alerts?node=pbx2')).body as Body).alerts.map((a) => a.id)).toEqual([
      'aor_not_found:pbx2:1002',
    ]);
    expect(((await t.get('/api/v1/alerts?type=auth_loop')).body as Body).alerts.map((a) => a.id)).toEqual([
      'auth_loop:pbx1:2001:203.0.113.5',
    ]);
    expect(((await t.get('/api/v1/alerts?node=pbx2&type=auth_loop')).body as Body).alerts).toEqual([]);
  });

  it('400 names the bad parameter', async () => {
    const node = await t.get('/api/v1/alerts?node=nope');
    expect(node.status).toBe(400);
    expect((node.body as { message: string }).message).toBe(
      'node: expected a configured node name (pbx1, pbx2)',
    );
    const type = await t.get('/api/v1/alerts?type=rtp_timeout');
    expect(type.status).toBe(400);
    expect((type.body as { message: string }).message).toBe(
      'type: expected one of auth_loop, aor_not_found, diagnostic, one_way_audio, outbound_registration, ' +
        'trunk_unreachable',
    );
  });
});
