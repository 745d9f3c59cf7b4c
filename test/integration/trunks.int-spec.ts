import { WebSocket } from 'ws';
import { startDaemon, type TestDaemon } from '../support/daemon';
import { expectEventually } from '../support/expect-eventually';
import {
  LAB,
  labBaseConfig,
  labCli,
  labNodeYaml,
  labStart,
  labStop,
  labWrite,
} from '../support/lab-asterisk';
import { UdpRelay } from '../support/udp-relay';

/**
 * A real trunk: the lab Asterisk registers outbound (`type=registration` "itsp") to a registrar, the
 * lab's own endpoint "trunk-in" reached through a UDP relay that stands for the provider's address.
 * Closing the relay is the registrar going away, seen from the trunk exactly as a stopped provider (no
 * answer to REGISTER). The shared sandbox is never touched: stopping it would break every other test.
 */

const base = labBaseConfig();
const RETRY_SEC = 5;

/** pjsip.conf of the lab: the base, the registrar side, and the trunk towards `relayPort`. */
function pjsip(relayPort: number, password: string): string {
  return [
    base['pjsip.conf'],
    // Short SIP timers: an unanswered REGISTER fails after timer_b (3.2 s) instead of 32 s.
    '[system]',
    'type = system',
    'timer_t1 = 100',
    'timer_b = 3200',
    '',
    // The registrar side ("the provider"): an account trunk-in with password good-trunk-pw.
    '[trunk-in]',
    'type = endpoint',
    'transport = transport-udp',
    'context = internal',
    'disallow = all',
    'allow = ulaw',
    'auth = trunk-in-auth',
    'aors = trunk-in',
    '',
    '[trunk-in-auth]',
    'type = auth',
    'auth_type = userpass',
    'username = trunk-in',
    'password = good-trunk-pw',
    '',
    '[trunk-in]',
    'type = aor',
    'max_contacts = 1',
    'remove_existing = yes',
    'minimum_expiration = 5',
    '',
    // The trunk.
    '[itsp]',
    'type = registration',
    'transport = transport-udp',
    `server_uri = sip:127.0.0.1:${relayPort}`,
    `client_uri = sip:trunk-in@127.0.0.1:${relayPort}`,
    'outbound_auth = itsp-auth',
    `retry_interval = ${RETRY_SEC}`,
    'max_retries = 1000',
    'expiration = 120',
    'max_random_initial_delay = 0',
    '',
    '[itsp-auth]',
    'type = auth',
    'auth_type = userpass',
    'username = trunk-in',
    `password = ${password}`,
    '',
  ].join('\n');
}

/** An endpoint (no auth: it never registers here) on the public transport, plus `extra` options. */
function natPhone(name: string, extra: string[]): string[] {
  return [
    `[${name}]`,
    'type = endpoint',
    'transport = transport-public',
    'context = internal',
    'disallow = all',
    'allow = ulaw',
    'direct_media = no',
    'rtp_timeout = 30',
    // Asterisk defaults force_rport to yes: say no, as a configuration copied from an old one may.
    ...(extra.length > 0 ? extra : ['force_rport = no', 'rtp_symmetric = no', 'rewrite_contact = no']),
    '',
  ];
}

interface CliRow {
  name: string;
  serverUri: string;
  auth: string;
  status: string;
}

/** `pjsip show registrations` of the lab, parsed here independently of the daemon's parser. */
async function cliRegistrations(): Promise<CliRow[]> {
  const out = await labCli('pjsip show registrations');
  const rows: CliRow[] = [];
  for (const line of out.split('\n')) {
    const m = /^ (\S+?)\/(\S+)\s+(\S+)\s+(Registered|Unregistered|Rejected|Stopped)\b/.exec(line);
    if (m) rows.push({ name: m[1], serverUri: m[2], auth: m[3], status: m[4] });
  }
  return rows;
}

describe('outbound registrations (trunks) of the lab Asterisk', () => {
  let daemon: TestDaemon;
  let relay: UdpRelay;
  let relayPort: number;
  let ws: WebSocket;
  const messages: any[] = [];

  const registrations = async (): Promise<any[]> => {
    const { status, body } = await daemon.get('/api/v1/nodes/lab/pjsip/registrations/outbound');
    expect(status).toBe(200);
    return body.registrations;
  };
  const itsp = async (): Promise<any> => (await registrations()).find((r) => r.name === 'itsp');
  const trunkAlerts = async (): Promise<any[]> =>
    (await daemon.get('/api/v1/alerts?type=outbound_registration')).body.alerts;
  const metrics = async (): Promise<string> => (await daemon.get('/metrics')).text;
  const wsAlerts = (type: string): any[] =>
    messages.filter((m) => m.type === type && m.data.type === 'outbound_registration');

  beforeAll(async () => {
    relay = new UdpRelay({ host: LAB.host, port: LAB.sipPort });
    relayPort = await relay.start();
    await labStart({ 'pjsip.conf': pjsip(relayPort, 'good-trunk-pw') });
    daemon = await startDaemon(
      labNodeYaml('lab'),
      'detection: { outboundRegistrationFailingMs: 6000 }\nstate: { reconcileIntervalMs: 60000 }',
    );
    ws = new WebSocket(daemon.url.replace('http:', 'ws:') + '/ws');
    ws.on('message', (raw: Buffer) => messages.push(JSON.parse(raw.toString())));
    ws.on('error', () => undefined);
  }, 60_000);

  afterAll(async () => {
    ws?.terminate();
    await daemon?.close();
    await relay?.stop();
    await labStop();
  });

  it('shows the trunk registered, with its URIs, auth and next refresh, like `pjsip show registrations`', async () => {
    const r = await expectEventually(async () => {
      const v = await itsp();
      expect(v).toMatchObject({ state: 'registered', asteriskStatus: 'Registered' });
      return v;
    }, 20_000);
    expect(r).toMatchObject({
      serverUri: `sip:127.0.0.1:${relayPort}`,
      clientUri: `sip:trunk-in@127.0.0.1:${relayPort}`,
      outboundAuths: ['itsp-auth'],
      transport: 'transport-udp',
      reason: null,
      consecutiveFailures: 0,
      expirationSec: 120,
      retryIntervalSec: RETRY_SEC,
    });
    expect(Date.parse(r.nextAttemptAt)).toBeGreaterThan(Date.now());
    expect(JSON.stringify(r)).not.toContain('good-trunk-pw');
    const cli = await cliRegistrations();
    expect(cli).toEqual([
      { name: 'itsp', serverUri: `sip:127.0.0.1:${relayPort}`, auth: 'itsp-auth', status: 'Registered' },
    ]);
    const text = await metrics();
    expect(text).toContain('pbxpulse_outbound_registration_up{node="lab",registration="itsp"} 1');
    expect(text).toContain(
      'pbxpulse_outbound_registration_state{node="lab",registration="itsp",state="registered"} 1',
    );
    expect(text).toContain(
      'pbxpulse_outbound_registration_rejections_total{node="lab",registration="itsp",reason="fatal_response"} 0',
    );
    expect(await trunkAlerts()).toEqual([]);
  });

  it('a wrong password: rejected at once, alerted on the API and /ws; fixed and reloaded: cleared', async () => {
    labWrite({ 'pjsip.conf': pjsip(relayPort, 'wrong-trunk-pw') });
    await labCli('module reload res_pjsip.so');
    // A reload does not re-register a registered trunk whose section is unchanged: make it try now.
    await labCli('pjsip send register itsp');
    const r = await expectEventually(async () => {
      const v = await itsp();
      expect(v).toMatchObject({ state: 'rejected', asteriskStatus: 'Rejected', reason: 'fatal_response' });
      return v;
    }, 15_000);
    expect(r.nextAttemptAt).toBeNull();
    expect(r.consecutiveFailures).toBeGreaterThanOrEqual(1);
    const [alert] = await expectEventually(async () => {
      const alerts = await trunkAlerts();
      expect(alerts).toHaveLength(1);
      return alerts;
    });
    expect(alert).toMatchObject({
      id: 'outbound_registration:lab:itsp',
      type: 'outbound_registration',
      node: 'lab',
      details: {
        registration: 'itsp',
        state: 'rejected',
        reason: 'fatal_response',
        outboundAuths: ['itsp-auth'],
      },
    });
    expect(alert.message).toContain("'itsp'");
    expect(alert.remedy).toContain('outbound_auth=itsp-auth');
    expect(alert.remedy).toContain('pjsip reload');
    expect(JSON.stringify(alert)).not.toContain('wrong-trunk-pw');
    await expectEventually(() => expect(wsAlerts('alert.raised').map((m) => m.data.id)).toContain(alert.id));
    const text = await metrics();
    expect(text).toContain('pbxpulse_outbound_registration_up{node="lab",registration="itsp"} 0');
    expect(text).toContain(
      'pbxpulse_outbound_registration_state{node="lab",registration="itsp",state="rejected"} 1',
    );
    // Counted once the rejection is classified (a read more than a second after it).
    await expectEventually(async () =>
      expect(await metrics()).toMatch(
        /pbxpulse_outbound_registration_rejections_total\{node="lab",registration="itsp",reason="fatal_response"\} [1-9]/,
      ),
    );

    // Fix the password and reload: Asterisk retries a rejected registration when auths are reloaded.
    labWrite({ 'pjsip.conf': pjsip(relayPort, 'good-trunk-pw') });
    await labCli('module reload res_pjsip.so');
    await expectEventually(async () => expect(await itsp()).toMatchObject({ state: 'registered' }), 15_000);
    await expectEventually(async () => expect(await trunkAlerts()).toEqual([]));
    await expectEventually(() =>
      expect(wsAlerts('alert.cleared').map((m) => [m.data.id, m.data.clearedBecause])).toContainEqual([
        alert.id,
        'registered',
      ]),
    );
  });

  it('the registrar stops answering: failed and retried, alerted after the threshold; back: cleared', async () => {
    await relay.stop();
    const stoppedAt = Date.now();
    await labCli('pjsip send register itsp');
    const r = await expectEventually(async () => {
      const v = await itsp();
      expect(v).toMatchObject({ state: 'failed', asteriskStatus: 'Rejected', reason: 'temporary_failure' });
      return v;
    }, 15_000);
    expect(r.nextAttemptAt).not.toBeNull();
    // Failing, not yet past the 6 s threshold: no alert at first, then one that says what to check.
    expect(Date.now() - Date.parse(r.since)).toBeLessThan(6000);
    expect(await trunkAlerts()).toEqual([]);
    const alert = await expectEventually(async () => {
      const alerts = await trunkAlerts();
      expect(alerts).toHaveLength(1);
      return alerts[0];
    }, 20_000);
    expect(Date.now() - stoppedAt).toBeGreaterThanOrEqual(6000);
    expect(alert.details).toMatchObject({
      registration: 'itsp',
      state: 'failed',
      reason: 'temporary_failure',
    });
    expect(alert.remedy).toMatch(/server_uri resolves \(DNS\)/);
    expect(alert.remedy).toContain('transport=transport-udp');
    expect(await metrics()).toContain(
      'pbxpulse_outbound_registration_state{node="lab",registration="itsp",state="failed"} 1',
    );
    await expectEventually(async () =>
      expect(await metrics()).toMatch(
        /pbxpulse_outbound_registration_rejections_total\{node="lab",registration="itsp",reason="temporary_failure"\} [1-9]/,
      ),
    );

    await relay.start(relayPort);
    await expectEventually(async () => expect(await itsp()).toMatchObject({ state: 'registered' }), 20_000);
    await expectEventually(async () => expect(await trunkAlerts()).toEqual([]));
  });

  it('after a restart of Asterisk, equals `pjsip show registrations` (registered, rejected and failing trunks)', async () => {
    const conf = [
      pjsip(relayPort, 'good-trunk-pw'),
      // outbound_auth names no auth section: Asterisk cannot answer the challenge and gives up.
      '[noauth]',
      'type = registration',
      `server_uri = sip:127.0.0.1:${LAB.sipPort}`,
      `client_uri = sip:trunk-in@127.0.0.1:${LAB.sipPort}`,
      'outbound_auth = nosuch-auth',
      'max_random_initial_delay = 0',
      '',
      // A server that does not resolve: no answer, retried.
      '[nodns]',
      'type = registration',
      'server_uri = sip:registrar.pbxpulse.invalid',
      'client_uri = sip:trunk@registrar.pbxpulse.invalid',
      `retry_interval = ${RETRY_SEC}`,
      'max_random_initial_delay = 0',
      '',
      // Seed 004: Asterisk behind NAT (external address on its public transport); a phone on that
      // transport without the NAT options, and one with them.
      '[transport-public]',
      'type = transport',
      'protocol = udp',
      `bind = 127.0.0.1:${LAB.sipPort + 10}`,
      'external_media_address = 203.0.113.10',
      'external_signaling_address = 203.0.113.10',
      'local_net = 127.0.0.0/8',
      '',
      ...natPhone('nat-bare', []),
      ...natPhone('nat-ok', ['rtp_symmetric = yes', 'force_rport = yes', 'rewrite_contact = yes']),
    ].join('\n');
    await labStart({ 'pjsip.conf': conf });
    const settled = await expectEventually(async () => {
      const api = await registrations();
      expect(api.map((r) => [r.name, r.state])).toEqual([
        ['itsp', 'registered'],
        ['noauth', 'rejected'],
        ['nodns', 'failed'],
      ]);
      const cli = await cliRegistrations();
      expect(
        api.map((r) => ({
          name: r.name,
          serverUri: r.serverUri,
          auth: r.outboundAuths[0] ?? 'n/a',
          status: r.asteriskStatus,
        })),
      ).toEqual(cli);
      return api;
    }, 30_000);
    expect(settled.find((r) => r.name === 'noauth')).toMatchObject({ reason: 'fatal_response' });
    const alerts = await expectEventually(async () => {
      const a = await trunkAlerts();
      expect(a.map((x) => x.details.registration).sort()).toEqual(['noauth', 'nodns']);
      return a;
    }, 20_000);
    expect(alerts.find((a) => a.details.registration === 'noauth').remedy).toContain(
      'outbound_auth=nosuch-auth',
    );

    // The configuration diagnoses that go with it, computed after the restart's resync.
    const findings = await expectEventually(async () => {
      const { status, body } = await daemon.get('/api/v1/nodes/lab/diagnostics');
      expect(status).toBe(200);
      const got = (body.findings as Array<{ code: string; object: { type: string; name: string } }>)
        .filter((f) =>
          ['OUTBOUND_AUTH_MISSING', 'SERVER_URI_UNRESOLVED', 'NAT_OPTIONS_MISSING'].includes(f.code),
        )
        .map((f) => `${f.code}/${f.object.type}/${f.object.name}`)
        .sort();
      expect(got).toEqual([
        'NAT_OPTIONS_MISSING/endpoint/nat-bare',
        'OUTBOUND_AUTH_MISSING/registration/noauth',
        'SERVER_URI_UNRESOLVED/registration/nodns',
      ]);
      return body.findings as Array<{ code: string; remedy: string }>;
    }, 30_000);
    expect(findings.find((f) => f.code === 'OUTBOUND_AUTH_MISSING')!.remedy).toContain('[nosuch-auth]');
    expect(findings.find((f) => f.code === 'NAT_OPTIONS_MISSING')!.remedy).toContain(
      'rtp_symmetric=yes, force_rport=yes, rewrite_contact=yes',
    );
  });
});
