import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { WsAdapter } from '@nestjs/platform-ws';
import { AppModule } from '../../src/app.module';
import { parseConfig } from '../../src/config/config.loader';
import { EventBus } from '../../src/events/event-bus';
import type { PbxEvent } from '../../src/events/pbx-events';
import type { Finding } from '../../src/health/diagnostics/diagnose';
import { DiagnosticsService } from '../../src/health/diagnostics/diagnostics.service';
import { expectEventually } from '../support/expect-eventually';
import { sandboxNodeYaml } from '../support/daemon';
import { SANDBOX, waitFullyBooted } from '../support/sandbox';
import { type HttpAnswer, fetchAnswer } from '../support/http';

/**
 * `pjsip show` equivalents and diagnoses against the sandbox Asterisk. Read-only: nothing here changes
 * the sandbox's configuration, reloads or restarts it (other suites share it).
 */
describe('diagnostics against the sandbox Asterisk', () => {
  let app: INestApplication;
  let url: string;
  const events: PbxEvent[] = [];
  const bodies: string[] = [];
  const get = async (path: string): Promise<HttpAnswer> => {
    const answer = await fetchAnswer(url + path);
    bodies.push(answer.text);
    return answer;
  };
  const api = (path: string): Promise<{ status: number; body: any; text: string }> =>
    get(`/api/v1/nodes/pbx1${path}`);

  beforeAll(async () => {
    await waitFullyBooted(30_000);
    const text = [
      'http: { host: 127.0.0.1, port: 9630 }',
      'connections: { reconnectInitialDelayMs: 100, reconnectMaxDelayMs: 500 }',
      'nodes:',
      sandboxNodeYaml('pbx1'),
      // Nothing listens on port 1: this node's AMI never comes up.
      sandboxNodeYaml('down', { amiPort: 1 }),
    ].join('\n');
    const config = parseConfig(text, { source: '<test>', env: {} });
    app = await NestFactory.create(AppModule.forRoot(config), { logger: ['error'] });
    app.useWebSocketAdapter(new WsAdapter(app));
    app.get(EventBus).subscribe((e) => events.push(e));
    await app.listen(0, '127.0.0.1');
    const server = app.getHttpServer() as { address(): { port: number } };
    url = `http://127.0.0.1:${server.address().port}`;
    await expectEventually(
      () =>
        expect(events.some((e) => e.type === 'state.resynced' && e.link === 'ami' && e.node === 'pbx1')).toBe(
          true,
        ),
      15_000,
    );
  });

  afterAll(async () => {
    await app?.close();
  });

  it('diagnoses the misnamed AOR of 1002 and no error on the correct WebRTC 1001', async () => {
    // Computed after the AMI resync, before anyone asked.
    await expectEventually(
      () =>
        expect(
          app
            .get(DiagnosticsService)
            .cached()
            .map((c) => c.node),
        ).toContain('pbx1'),
      10_000,
    );
    const { status, body } = await api('/diagnostics');
    expect(status).toBe(200);
    expect(Date.parse(body.computedAt)).not.toBeNaN();
    const findings = body.findings as Finding[];
    expect(findings).toContainEqual(
      expect.objectContaining({
        code: 'AOR_NAME_MISMATCH',
        severity: 'error',
        object: { type: 'endpoint', name: '1002' },
      }),
    );
    // The correct WebRTC extension (configured as in the field report's fix) has no finding at all,
    // and 1002 is broken in exactly one way.
    expect(findings.filter((f) => f.object.name === '1001')).toEqual([]);
    expect(findings.filter((f) => f.object.name === '1002').map((f) => f.code)).toEqual([
      'AOR_NAME_MISMATCH',
    ]);
    // 2001 is a UDP phone: its short rtp_timeout is not a WebRTC finding.
    expect(findings.filter((f) => f.object.name === '2001')).toEqual([]);
    // The running transports are the configured ones.
    expect(findings.map((f) => f.code)).not.toContain('RESTART_REQUIRED');
    expect(findings.map((f) => f.code)).not.toContain('WEBSOCKET_TRANSPORT_NOT_RUNNING');
    console.log(`sandbox findings: ${findings.map((f) => `${f.code}/${f.object.name}`).join(', ')}`);
  });

  it('exports the findings as pbxpulse_diagnostic_findings', async () => {
    await api('/diagnostics');
    const text = (await get('/metrics')).text;
    expect(text).toContain(
      'pbxpulse_diagnostic_findings{node="pbx1",code="AOR_NAME_MISMATCH",severity="error"} 1',
    );
    expect(text).toContain(
      'pbxpulse_diagnostic_findings{node="pbx1",code="TRANSPORT_MISSING",severity="error"} 0',
    );
  });

  it('shows 1001 with every option after the webrtc=yes expansion', async () => {
    const { status, body } = await api('/pjsip/endpoints/1001');
    expect(status).toBe(200);
    expect(body.endpoint).toMatchObject({
      objectName: '1001',
      webrtc: true,
      rtcpMux: true,
      iceSupport: true,
      useAvpf: true,
      mediaEncryption: 'dtls',
      rtpTimeout: 30,
      context: SANDBOX.context,
    });
    expect(body.aors).toEqual([expect.objectContaining({ objectName: '1001', maxContacts: 5 })]);
    expect(body.transports).toEqual([
      expect.objectContaining({ objectName: 'transport-ws', protocol: 'ws' }),
    ]);
    expect(body.auths).toEqual([expect.objectContaining({ objectName: '1001-auth', username: '1001' })]);
    expect((await api('/pjsip/endpoints/nobody')).status).toBe(404);
  });

  it('lists endpoints, aors, auths without secrets, contacts, transports and registrations', async () => {
    const endpoints = (await api('/pjsip/endpoints')).body.endpoints as Array<{ objectName: string }>;
    expect(endpoints.map((e) => e.objectName).sort()).toEqual(['1001', '1002', '2001', '2002']);
    const aors = (await api('/pjsip/aors')).body.aors as Array<{ objectName: string }>;
    expect(aors.map((a) => a.objectName)).toContain('1002-aor');
    const auths = (await api('/pjsip/auths')).body.auths as Array<Record<string, unknown>>;
    expect(auths).toContainEqual(
      expect.objectContaining({ objectName: '1002-auth', username: '1002', authType: 'userpass' }),
    );
    for (const a of auths) expect(Object.keys(a).filter((k) => /pass|md5|secret/i.test(k))).toEqual([]);
    const contacts = await api('/pjsip/contacts');
    expect(contacts.status).toBe(200);
    expect(Array.isArray(contacts.body.contacts)).toBe(true);
    expect((await api('/pjsip/transports')).body.transports).toEqual([
      { name: 'transport-udp', protocol: 'udp', cos: 0, tos: 0, bindAddress: '127.0.0.1:15060' },
      { name: 'transport-ws', protocol: 'ws', cos: 0, tos: 0, bindAddress: '127.0.0.1:18088' },
    ]);
    const inbound = (await api('/pjsip/registrations/inbound')).body.registrations as Array<{
      objectName: string;
    }>;
    expect(inbound.map((r) => r.objectName)).toContain('1001');
    expect((await api('/pjsip/registrations/outbound')).body).toEqual({ registrations: [] });
  });

  it('shows the WebRTC modules and the codec modules in use, from module show like', async () => {
    const { status, body } = await api('/modules');
    expect(status).toBe(200);
    const byName = new Map<string, { running: boolean; state: string }>(
      (body.modules as Array<{ module: string; running: boolean; state: string }>).map((m) => [m.module, m]),
    );
    expect(byName.get('res_pjsip_transport_websocket')).toMatchObject({ running: true, state: 'running' });
    for (const m of [
      'res_pjsip',
      'res_http_websocket',
      'res_srtp',
      'res_pjsip_registrar',
      'res_rtp_asterisk',
    ])
      expect(byName.get(m)).toMatchObject({ running: true });
    // allow=opus,ulaw on 1001/1002: opus is codec_opus_open_source.so in Debian's build.
    expect(byName.get('codec_opus')).toMatchObject({ running: true });
    expect(byName.get('codec_ulaw')).toMatchObject({ running: true });
  });

  it('shows the HTTP server with /ws', async () => {
    const { status, body } = await api('/http');
    expect(status).toBe(200);
    expect(body).toMatchObject({
      enabled: true,
      bindAddress: `127.0.0.1:${SANDBOX.httpPort}`,
      tls: { enabled: false },
      websocket: true,
    });
    expect(body.uris).toContainEqual({ path: '/ws', description: 'Asterisk HTTP WebSocket' });
  });

  it('answers 404 for an unknown node and 503 for a node whose AMI is down', async () => {
    expect((await get('/api/v1/nodes/nope/pjsip/endpoints')).status).toBe(404);
    expect((await get('/api/v1/nodes/nope/diagnostics')).status).toBe(404);
    expect((await get('/api/v1/nodes/down/pjsip/endpoints')).status).toBe(503);
    expect((await get('/api/v1/nodes/down/modules')).status).toBe(503);
    expect((await get('/api/v1/nodes/down/diagnostics')).status).toBe(503);
  });

  it('never returns a sandbox password in any response or in /metrics', async () => {
    for (const path of [
      '/pjsip/endpoints',
      '/pjsip/endpoints/1001',
      '/pjsip/endpoints/1002',
      '/pjsip/endpoints/2001',
      '/pjsip/endpoints/2002',
      '/pjsip/aors',
      '/pjsip/auths',
      '/pjsip/contacts',
      '/pjsip/transports',
      '/pjsip/registrations/inbound',
      '/pjsip/registrations/outbound',
      '/modules',
      '/http',
      '/diagnostics',
    ]) {
      expect((await api(path)).status).toBe(200);
    }
    await get('/metrics');
    const all = bodies.join('\n');
    for (const secret of [
      'pw1001-sandbox',
      'pw1002-sandbox',
      'pw2001-sandbox',
      'pw2002-sandbox',
      'sandbox-ami-secret',
      'sandbox-ari-secret',
    ]) {
      expect(all).not.toContain(secret);
    }
  });
});
