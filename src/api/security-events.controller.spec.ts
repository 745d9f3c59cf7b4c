import { type DetectorsTestApp, createDetectorsApp } from '../detectors/testing/detectors-test-app';
import { FakeRegistrationReader } from '../detectors/testing/fake-registration-reader';
import { securityEvent } from '../detectors/testing/security-events.factory';
import { parseLimit, parseSince, parseTypes } from './security-events.controller';

describe('security-events query parameters', () => {
  it('since: ISO 8601 only', () => {
    expect(parseSince(undefined)).toBeUndefined();
    expect(parseSince('2026-11-23T12:00:00Z')).toBe(Date.parse('2026-11-23T12:00:00Z'));
    expect(parseSince('2026-11-23T13:00:00.5+01:00')).toBe(Date.parse('2026-11-23T12:00:00.5Z'));
    expect(parseSince('2026-11-23')).toBe(Date.parse('2026-11-23'));
    for (const bad of ['yesterday', 'March 7, 2026', '1700000000', '2026-13-45T99:00:00Z', '', ['a']]) {
      expect(() => parseSince(bad)).toThrow('since: expected an ISO 8601 time');
    }
  });

  it('type: full or short names, comma-separated', () => {
    expect(parseTypes('auth.challenge_failed')).toEqual(new Set(['auth.challenge_failed']));
    expect(parseTypes('challenge_failed,request_rejected')).toEqual(
      new Set(['auth.challenge_failed', 'registrar.request_rejected']),
    );
    for (const bad of ['nope', 'auth.', '', 'challenge_failed,,', ['challenge_failed']]) {
      expect(() => parseTypes(bad)).toThrow(/^type: expected one of auth\.challenge_sent, auth\.succeeded/);
    }
  });

  it('limit: 1..1000, default 100', () => {
    expect(parseLimit(undefined)).toBe(100);
    expect(parseLimit('1')).toBe(1);
    expect(parseLimit('1000')).toBe(1000);
    for (const bad of ['0', '1001', '-1', '1.5', 'ten', '', '99999999999']) {
      expect(() => parseLimit(bad)).toThrow('limit: expected an integer from 1 to 1000');
    }
  });
});

describe('SecurityEventsController over HTTP', () => {
  let t: DetectorsTestApp;
  const T0 = Date.parse('2026-11-23T12:00:00.000Z');

  beforeAll(async () => {
    t = await createDetectorsApp(new FakeRegistrationReader().addSimple('pbx1', '2001'));
    for (let i = 0; i < 150; i++) {
      t.bus.publish(securityEvent('auth.challenge_sent', { ts: T0 + i * 1000, account: '2001' }));
      t.bus.publish(
        securityEvent('auth.account_unknown', {
          ts: T0 + i * 1000,
          account: `scan-${i}`,
          from: `10.0.0.${i % 30}:5060`,
        }),
      );
    }
  });

  afterAll(() => t.close());

  it('lists newest first with a default limit of 100', async () => {
    const { status, body } = await t.get('/api/v1/nodes/pbx1/security-events');
    expect(status).toBe(200);
    const { events } = body as { events: Array<{ time: string; type: string }> };
    expect(events).toHaveLength(100);
    expect(events[0].time >= events[99].time).toBe(true);
  });

  it('filters by since and type', async () => {
    const { body } = await t.get(
      '/api/v1/nodes/pbx1/security-events?since=2026-11-23T12:02:20Z&type=account_unknown&limit=1000',
    );
    const { events } = body as { events: Array<{ time: string; type: string; account: string }> };
    expect(events.map((e) => e.account)).toEqual([
      'scan-149',
      'scan-148',
      'scan-147',
      'scan-146',
      'scan-145',
      'scan-144',
      'scan-143',
      'scan-142',
      'scan-141',
      'scan-140',
    ]);
    expect(events.every((e) => e.type === 'auth.account_unknown')).toBe(true);
  });

  it('400 names the bad parameter', async () => {
    const since = await t.get('/api/v1/nodes/pbx1/security-events?since=yesterday');
    expect(since.status).toBe(400);
    expect(since.body).toMatchObject({ code: 'BAD_REQUEST', message: 'since: expected an ISO 8601 time' });
    const type = await t.get('/api/v1/nodes/pbx1/security-events?type=bogus');
    expect(type.status).toBe(400);
    expect((type.body as { message: string }).message).toMatch(/^type: expected one of/);
    const limit = await t.get('/api/v1/nodes/pbx1/security-events?limit=0');
    expect(limit.status).toBe(400);
    expect((limit.body as { message: string }).message).toMatch(/^limit: /);
    const twice = await t.get('/api/v1/nodes/pbx1/security-events?limit=1&limit=2');
    expect(twice.status).toBe(400);
  });

  it('404 for an unknown node', async () => {
    const res = await t.get('/api/v1/nodes/nope/security-events');
    expect(res.status).toBe(404);
    expect((await t.get('/api/v1/nodes/nope/unknown-accounts')).status).toBe(404);
  });

  it('unknown accounts: top 20 by attempts', async () => {
    const { status, body } = await t.get('/api/v1/nodes/pbx1/unknown-accounts');
    expect(status).toBe(200);
    const { offenders } = body as { offenders: Array<Record<string, unknown>> };
    expect(offenders).toHaveLength(20);
    expect(offenders[0]).toEqual({
      address: expect.stringMatching(/^10\.0\.0\./),
      attempts: 5,
      distinctUsernames: 5,
      sampleUsernames: expect.any(Array),
      firstSeen: expect.any(String),
      lastSeen: expect.any(String),
    });
    expect((await t.get('/api/v1/nodes/pbx2/unknown-accounts')).body).toEqual({ offenders: [] });
  });
});

describe('viewer token', () => {
  it('guards the routes when a viewer token is configured', async () => {
    const t = await createDetectorsApp(
      new FakeRegistrationReader(),
      'auth: { viewerToken: viewer-secret-1 }',
    );
    try {
      expect((await t.get('/api/v1/nodes/pbx1/security-events')).status).toBe(401);
      expect((await t.get('/api/v1/nodes/pbx1/unknown-accounts')).status).toBe(401);
      expect((await t.get('/api/v1/alerts')).status).toBe(401);
      expect((await t.get('/api/v1/nodes/pbx1/security-events', 'viewer-secret-1')).status).toBe(200);
      expect((await t.get('/api/v1/alerts', 'viewer-secret-1')).status).toBe(200);
    } finally {
      await t.close();
    }
  });
});
