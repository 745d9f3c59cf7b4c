import type { SecurityEvent } from '../events/pbx-events';
import { type DetectorsTestApp, createDetectorsApp } from '../detectors/testing/detectors-test-app';
import { FakeRegistrationReader } from '../detectors/testing/fake-registration-reader';
import { type SecurityEventFields, securityEvent } from '../detectors/testing/security-events.factory';

/** The value of one series in Prometheus text, or undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** Every series of a family, `labels → value`. */
function family(text: string, name: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = new RegExp(`^${name}(\\{[^}]*\\}) (\\S+)$`).exec(line);
    if (m) out[m[1]] = Number(m[2]);
  }
  return out;
}

describe('DetectionMetrics under metrics.perEndpoint', () => {
  let t: DetectorsTestApp | undefined;

  const start = async (yaml: string): Promise<DetectorsTestApp> => {
    const reader = new FakeRegistrationReader()
      .addSimple('pbx1', '2001')
      .addSimple('pbx1', '2002')
      .addSimple('pbx1', '2003')
      .addEndpoint('pbx1', { name: '1002', aors: ['1002-aor'] })
      .addAor('pbx1', { name: '1002-aor', maxContacts: 5 });
    t = await createDetectorsApp(reader, yaml);
    return t;
  };
  afterEach(() => t?.close());

  /** A series' first scrape writes it at 0 (a base for increase()), so read the second one. */
  const scrape = async (): Promise<string> => {
    await t!.registry.metrics();
    return t!.registry.metrics();
  };

  const publish = <T extends SecurityEvent['type']>(type: T, f: SecurityEventFields = {}): void =>
    t!.bus.publish(securityEvent(type, { ts: Date.now(), ...f }));

  it('default (active): no per-endpoint series before an event; per-node totals and <unknown> at 0', async () => {
    const app = await start('');
    const text = await app.registry.metrics();
    for (const name of [
      'pbxpulse_auth_loop_active',
      'pbxpulse_auth_loops_total',
      'pbxpulse_aor_not_found_total',
    ]) {
      expect({ name, series: family(text, name) }).toEqual({ name, series: {} });
      expect(text).toContain(`# TYPE ${name} `);
    }
    expect(family(text, 'pbxpulse_registration_failures_total')).toEqual({
      '{node="pbx1",endpoint="<unknown>",reason="unknown_account"}': 0,
      '{node="pbx2",endpoint="<unknown>",reason="unknown_account"}': 0,
    });
    for (const node of ['pbx1', 'pbx2']) {
      for (const reason of ['auth_failed', 'aor_not_found', 'unknown_account', 'acl_denied', 'other']) {
        expect(
          sample(text, `pbxpulse_node_registration_failures_total{node="${node}",reason="${reason}"}`),
        ).toBe(0);
      }
      expect(sample(text, `pbxpulse_node_auth_loops_total{node="${node}"}`)).toBe(0);
      expect(sample(text, `pbxpulse_node_auth_loops_active{node="${node}"}`)).toBe(0);
      expect(sample(text, `pbxpulse_node_aor_not_found_total{node="${node}"}`)).toBe(0);
    }
  });

  it('an endpoint that failed once gets every reason (0 for the others), and keeps its loop gauge at 0', async () => {
    const app = await start('');
    for (let i = 0; i < 5; i++) publish('auth.challenge_failed', { from: `203.0.113.5:${6000 + i}` });
    const first = await app.registry.metrics();
    // The scrape that creates 2001's series writes it at 0 (a base for increase()); the node total is true.
    expect(
      sample(first, 'pbxpulse_registration_failures_total{node="pbx1",endpoint="2001",reason="auth_failed"}'),
    ).toBe(0);
    expect(sample(first, 'pbxpulse_auth_loops_total{node="pbx1",endpoint="2001"}')).toBe(0);
    expect(sample(first, 'pbxpulse_node_registration_failures_total{node="pbx1",reason="auth_failed"}')).toBe(
      5,
    );
    let text = await app.registry.metrics();
    expect(family(text, 'pbxpulse_registration_failures_total')).toEqual({
      '{node="pbx1",endpoint="<unknown>",reason="unknown_account"}': 0,
      '{node="pbx1",endpoint="2001",reason="auth_failed"}': 5,
      '{node="pbx1",endpoint="2001",reason="aor_not_found"}': 0,
      '{node="pbx1",endpoint="2001",reason="acl_denied"}': 0,
      '{node="pbx1",endpoint="2001",reason="other"}': 0,
      '{node="pbx2",endpoint="<unknown>",reason="unknown_account"}': 0,
    });
    expect(family(text, 'pbxpulse_auth_loop_active')).toEqual({ '{node="pbx1",endpoint="2001"}': 1 });
    expect(sample(text, 'pbxpulse_node_auth_loops_active{node="pbx1"}')).toBe(1);
    expect(sample(text, 'pbxpulse_node_registration_failures_total{node="pbx1",reason="auth_failed"}')).toBe(
      5,
    );
    publish('auth.succeeded', { from: '203.0.113.5:6010' });
    text = await app.registry.metrics();
    expect(family(text, 'pbxpulse_auth_loop_active')).toEqual({ '{node="pbx1",endpoint="2001"}': 0 });
    expect(family(text, 'pbxpulse_auth_loops_total')).toEqual({ '{node="pbx1",endpoint="2001"}': 1 });
    expect(sample(text, 'pbxpulse_node_auth_loops_total{node="pbx1"}')).toBe(1);
  });

  it('caps the endpoints at maxEndpoints per node: the rest sum into endpoint="<other>"', async () => {
    await start('metrics: { perEndpoint: { maxEndpoints: 1 } }');
    publish('auth.challenge_failed', { account: '2002', from: '203.0.113.7:5060' });
    publish('auth.challenge_failed', { account: '2001', from: '203.0.113.8:5060' });
    publish('auth.challenge_failed', { account: '2003', from: '203.0.113.9:5060' });
    publish('auth.challenge_failed', { account: '2003', from: '203.0.113.9:5060' });
    publish('auth.account_unknown', { account: 'scanner', from: '198.51.100.1:5060' });
    const text = await scrape();
    const pbx1 = Object.entries(family(text, 'pbxpulse_registration_failures_total')).filter(
      ([k, v]) => k.startsWith('{node="pbx1"') && v > 0,
    );
    expect(Object.fromEntries(pbx1)).toEqual({
      '{node="pbx1",endpoint="2002",reason="auth_failed"}': 1,
      '{node="pbx1",endpoint="<other>",reason="auth_failed"}': 3,
      '{node="pbx1",endpoint="<unknown>",reason="unknown_account"}': 1,
    });
    // The per-node total counts every endpoint, capped or not.
    expect(sample(text, 'pbxpulse_node_registration_failures_total{node="pbx1",reason="auth_failed"}')).toBe(
      4,
    );
    const endpoints = new Set([...text.matchAll(/endpoint="([^"]*)"/g)].map((m) => m[1]));
    expect([...endpoints].sort()).toEqual(['2002', '<other>', '<unknown>']);
  });

  it('mode all: every configured endpoint at 0 from the first scrape', async () => {
    const app = await start('metrics: { perEndpoint: { mode: all } }');
    const text = await app.registry.metrics();
    for (const endpoint of ['2001', '2002', '2003', '1002']) {
      for (const reason of ['auth_failed', 'aor_not_found', 'acl_denied', 'other']) {
        expect(
          sample(
            text,
            `pbxpulse_registration_failures_total{node="pbx1",endpoint="${endpoint}",reason="${reason}"}`,
          ),
        ).toBe(0);
      }
      expect(sample(text, `pbxpulse_auth_loop_active{node="pbx1",endpoint="${endpoint}"}`)).toBe(0);
      expect(sample(text, `pbxpulse_auth_loops_total{node="pbx1",endpoint="${endpoint}"}`)).toBe(0);
      expect(sample(text, `pbxpulse_aor_not_found_total{node="pbx1",endpoint="${endpoint}"}`)).toBe(0);
    }
  });
});
