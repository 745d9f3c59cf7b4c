import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
// The default import is the module object itself (the namespace import is a getter-only copy), so a spy on it
// is seen by src/health/diagnostics/tls-probe.ts.
import tlsModule from 'node:tls';
import type { Finding, FindingCode } from '../../src/health/diagnostics/diagnose';
import { startDaemon, type TestDaemon } from '../support/daemon';
import { expectEventually } from '../support/expect-eventually';
import {
  LAB,
  labBaseConfig,
  labCli,
  labNodeYaml,
  labPaths,
  labStart,
  labStop,
  labWrite,
} from '../support/lab-asterisk';
import { SipUdpClient } from '../support/sip/sip-udp-client';

/**
 * Every diagnostic finding code reproduced by a real configuration of the lab Asterisk (a second,
 * mutable instance in the sandbox chroot, see test/support/lab-asterisk.ts) and detected by a daemon
 * watching it. Recomputations are triggered the way production triggers them: a `module reload`
 * (AMI Reload → module.reloaded) or a restart of the lab (AMI reconnect → state.resynced).
 * The shared sandbox Asterisk is never touched.
 */

const base = labBaseConfig();
const basePjsip = base['pjsip.conf'];
const baseHttp = base['http.conf'];

/** An endpoint with its own auth and AOR, both named after it, plus `extra` endpoint options. */
function endpoint(
  name: string,
  extra: string[],
  aorExtra: string[] = ['max_contacts = 5', 'remove_existing = yes'],
): string {
  return [
    `[${name}]`,
    'type = endpoint',
    'transport = transport-udp',
    'context = internal',
    'disallow = all',
    'allow = ulaw',
    `auth = ${name}-auth`,
    `aors = ${name}`,
    'direct_media = no',
    ...extra,
    '',
    `[${name}-auth]`,
    'type = auth',
    'auth_type = userpass',
    `username = ${name}`,
    `password = pw${name}-lab`,
    '',
    `[${name}]`,
    'type = aor',
    ...aorExtra,
    '',
  ].join('\n');
}

/** `endpoint()` without its auth: REGISTER is accepted without a challenge. */
function withoutAuth(conf: string, name: string): string {
  return conf
    .replace(`auth = ${name}-auth\n`, '')
    .replace(
      `[${name}-auth]\ntype = auth\nauth_type = userpass\nusername = ${name}\npassword = pw${name}-lab\n\n`,
      '',
    );
}

/** Options set later in a section override earlier ones (pjsip.conf is last-wins per option). */
const TRANSPORTS = basePjsip.slice(0, basePjsip.indexOf('; Correct WebRTC extension.'));

/** One boot, many broken endpoints: each line names the finding(s) its endpoint must produce. */
const BROKEN_PJSIP = [
  TRANSPORTS,
  // AOR_NAME_MISMATCH: the AOR section is 3001-aor, REGISTER To 3001 finds no AOR.
  endpoint('3001', [])
    .replace('aors = 3001', 'aors = 3001-aor')
    .replace('[3001]\ntype = aor', '[3001-aor]\ntype = aor'),
  // AUTH_USERNAME_MISMATCH: identified by username, but the auth's username is someone else.
  endpoint('3002', ['identify_by = username']).replace('username = 3002', 'username = alice'),
  // WEBRTC_ENDPOINT_INCOMPLETE + RTP_TIMEOUT_UNSET: a WebSocket endpoint without webrtc=yes.
  endpoint('3003', ['transport = transport-ws']),
  // WEBRTC_DIRECT_MEDIA + RTP_TIMEOUT_SHORT: webrtc=yes with direct_media=yes and rtp_timeout=5.
  endpoint('3004', ['transport = transport-ws', 'webrtc = yes', 'direct_media = yes', 'rtp_timeout = 5']),
  // CODEC_MODULE_MISSING: g729 is a known format, but Debian ships no codec_g729.
  endpoint('3005', ['allow = g729']),
  // CONTEXT_MISSING.
  endpoint('3006', ['context = nowhere']),
  // TRANSPORT_MISSING: see its own test below.
  endpoint('3007', ['transport = transport-nope']),
  // MAX_CONTACTS_WITHOUT_REMOVE_EXISTING (on the AOR).
  endpoint('3008', [], ['max_contacts = 1']),
  // AOR_MISSING: aors=3009 names the user, but there is no [3009] type=aor (REGISTER: 404 AOR '3009').
  endpoint('3009', []).replace('[3009]\ntype = aor\nmax_contacts = 5\nremove_existing = yes\n', ''),
  // AOR_NAME_MISMATCH without auth: 3010 registers unauthenticated, its AOR is 3010-aor.
  withoutAuth(endpoint('3010', []), '3010')
    .replace('aors = 3010', 'aors = 3010-aor')
    .replace('[3010]\ntype = aor', '[3010-aor]\ntype = aor'),
  // AOR_MISSING without auth.
  withoutAuth(endpoint('3011', []), '3011').replace(
    '[3011]\ntype = aor\nmax_contacts = 5\nremove_existing = yes\n',
    '',
  ),
].join('\n');

const EXPECTED_BROKEN: Record<string, FindingCode[]> = {
  '3001': ['AOR_NAME_MISMATCH'],
  '3002': ['AUTH_USERNAME_MISMATCH'],
  '3003': ['WEBRTC_ENDPOINT_INCOMPLETE', 'RTP_TIMEOUT_UNSET'],
  '3004': ['RTP_TIMEOUT_SHORT', 'WEBRTC_DIRECT_MEDIA'],
  '3005': ['CODEC_MODULE_MISSING'],
  '3006': ['CONTEXT_MISSING'],
  '3008': ['MAX_CONTACTS_WITHOUT_REMOVE_EXISTING'],
  '3009': ['AOR_MISSING'],
  '3010': ['AOR_NAME_MISMATCH'],
  '3011': ['AOR_MISSING'],
};

/** The base pjsip.conf with 1002's AOR misnamed 1002-aor (field report seed 000). */
const MISNAMED_AOR_PJSIP = basePjsip
  .replace('aors = 1002\n', 'aors = 1002-aor\n')
  .replace('[1002]\ntype = aor', '[1002-aor]\ntype = aor');

function httpsConf(cert: string): string {
  return [
    baseHttp.replace(/^tlsenable\s*=.*$/m, ''),
    'tlsenable = yes',
    `tlsbindaddr = 127.0.0.1:${LAB.httpsPort}`,
    `tlscertfile = ${LAB.etcDir}/keys/${cert}.pem`,
    `tlsprivatekey = ${LAB.etcDir}/keys/leaf.key`,
    '',
  ].join('\n');
}

const ADMIN_TOKEN = 'lab-admin-token-7f3e';

describe('diagnostics against the lab Asterisk (every finding code reproduced)', () => {
  let daemon: TestDaemon;

  /** POST /reload (res_pjsip.so) on the lab node with the admin token. */
  async function reload(): Promise<{ status: number; body: any }> {
    const res = await fetch(`${daemon.url}/api/v1/nodes/lab/reload`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ module: 'res_pjsip.so' }),
    });
    return { status: res.status, body: await res.json() };
  }
  let tmp: string;
  const certs: Record<string, string> = {};
  const timings: string[] = [];
  const phones: SipUdpClient[] = [];

  /** Polls the diagnostics until one computed at or after `since` satisfies `check`. */
  async function diagnosticsAfter(
    since: number,
    check: (findings: Finding[]) => void,
    timeoutMs = 15_000,
  ): Promise<Finding[]> {
    return expectEventually(async () => {
      const { status, body } = await daemon.get('/api/v1/nodes/lab/diagnostics');
      expect(status).toBe(200);
      expect(Date.parse(body.computedAt)).toBeGreaterThanOrEqual(since);
      const findings = body.findings as Finding[];
      check(findings);
      return findings;
    }, timeoutMs);
  }

  const codesOf = (findings: Finding[], name: string): FindingCode[] =>
    findings.filter((f) => f.object.name === name).map((f) => f.code);

  async function timed<T>(label: string, fn: () => Promise<T>): Promise<T> {
    const t0 = Date.now();
    try {
      return await fn();
    } finally {
      timings.push(`${label} ${Date.now() - t0} ms`);
    }
  }

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pbxpulse-lab-tls-'));
    const ssl = (...args: string[]): void => {
      execFileSync('openssl', args, { cwd: tmp, stdio: 'pipe' });
    };
    fs.writeFileSync(path.join(tmp, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
    ssl(
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
      '-days',
      '30',
      '-subj',
      '/CN=pbxpulse lab CA',
    );
    ssl(
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'leaf.key',
      '-out',
      'leaf.csr',
      '-subj',
      '/CN=127.0.0.1',
    );
    // Self-signed: what browsers refuse out of the box.
    ssl(
      'x509',
      '-req',
      '-in',
      'leaf.csr',
      '-signkey',
      'leaf.key',
      '-days',
      '365',
      '-extfile',
      'san.ext',
      '-out',
      'self.pem',
    );
    // Signed by the lab CA, valid for one more day.
    ssl(
      'x509',
      '-req',
      '-in',
      'leaf.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-set_serial',
      '1',
      '-days',
      '1',
      '-extfile',
      'san.ext',
      '-out',
      'soon.pem',
    );
    // Signed by the lab CA, notAfter one day in the past (-days -1).
    ssl(
      'x509',
      '-req',
      '-in',
      'leaf.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-set_serial',
      '2',
      '-days',
      '-1',
      '-extfile',
      'san.ext',
      '-out',
      'expired.pem',
    );
    // A certificate for a DNS name only (like a Let's Encrypt one for pbx.example.com), signed by the lab
    // CA. The probe connects by address, so Node's host-name check would fail on every such certificate.
    fs.writeFileSync(path.join(tmp, 'dns.ext'), 'subjectAltName=DNS:pbx.example.test\n');
    ssl('req', '-new', '-key', 'leaf.key', '-out', 'dns.csr', '-subj', '/CN=pbx.example.test');
    for (const [out, serial, days] of [
      ['dns-valid.pem', '3', '20'],
      ['dns-soon.pem', '4', '1'],
    ]) {
      ssl(
        'x509',
        '-req',
        '-in',
        'dns.csr',
        '-CA',
        'ca.pem',
        '-CAkey',
        'ca.key',
        '-set_serial',
        serial,
        '-days',
        days,
        '-extfile',
        'dns.ext',
        '-out',
        out,
      );
    }
    for (const f of [
      'ca.pem',
      'leaf.key',
      'self.pem',
      'soon.pem',
      'expired.pem',
      'dns-valid.pem',
      'dns-soon.pem',
    ])
      certs[f] = fs.readFileSync(path.join(tmp, f), 'utf8');

    await timed('lab boot (misnamed AOR)', () => labStart({ 'pjsip.conf': MISNAMED_AOR_PJSIP }));
    daemon = await startDaemon(
      labNodeYaml('lab'),
      [
        'connections: { reconnectInitialDelayMs: 100, reconnectMaxDelayMs: 300 }',
        `auth: { adminToken: ${ADMIN_TOKEN} }`,
        // Several reloads in one file: the per-node rate limit is tested in control.int-spec.
        'control: { reloadMinIntervalMs: 1 }',
      ].join('\n'),
    );
  });

  afterAll(async () => {
    jest.restoreAllMocks();
    for (const p of phones) await p.close().catch(() => undefined);
    await daemon?.close();
    await labStop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    console.log(`lab timings: ${timings.join(', ')}`);
  });

  it('fix and reload: AOR_NAME_MISMATCH clears and REGISTER 404 becomes 200; the fixed config has no error', async () => {
    const { name, password } = LAB.endpoints.udp;
    const phone = await SipUdpClient.open({ serverPort: LAB.sipPort });
    phones.push(phone);
    const before = await phone.register({ user: name, password });
    expect(before.status).toBe(404);
    await diagnosticsAfter(0, (f) => expect(codesOf(f, name)).toEqual(['AOR_NAME_MISMATCH']));
    // Findings are streamed as alerts too.
    const alertId = `diagnostic:lab:AOR_NAME_MISMATCH:endpoint:${name}`;
    const alertIds = async () =>
      ((await daemon.get('/api/v1/alerts?type=diagnostic')).body.alerts as Array<{ id: string }>).map(
        (a) => a.id,
      );
    expect(await alertIds()).toContain(alertId);

    labWrite({ 'pjsip.conf': basePjsip });
    const reloaded = Date.now();
    await timed('fix + reload', async () => {
      // Through pbxpulse's control API, as an operator would.
      const res = await reload();
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ result: 'ok', restartRequired: false });
      expect(res.body.diagnosesChanged.removed).toContainEqual(
        expect.objectContaining({ code: 'AOR_NAME_MISMATCH', object: { type: 'endpoint', name } }),
      );
      const findings = await diagnosticsAfter(reloaded, (f) =>
        expect(f.map((x) => x.code)).not.toContain('AOR_NAME_MISMATCH'),
      );
      // The correct configuration (base sandbox/lab/pjsip.conf): no error at all.
      expect(findings.filter((x) => x.severity === 'error')).toEqual([]);
      console.log(
        `clean lab findings: ${findings.map((x) => `${x.code}/${x.object.name}`).join(', ') || '(none)'}`,
      );
    });
    expect(await alertIds()).not.toContain(alertId);
    expect(daemon.events).toContainEqual(
      expect.objectContaining({
        type: 'alert.cleared',
        reason: 'resolved',
        alert: expect.objectContaining({ id: alertId }),
      }),
    );
    const after = await phone.register({ user: name, password });
    expect(after.status).toBe(200);
    expect((await phone.unregister()).status).toBe(200);
  });

  it('one boot with many broken endpoints: every endpoint- and AOR-level code', async () => {
    const booted = Date.now();
    await timed('lab boot (broken endpoints)', () => labStart({ 'pjsip.conf': BROKEN_PJSIP }));
    const findings = await diagnosticsAfter(booted, (f) => {
      for (const [name, codes] of Object.entries(EXPECTED_BROKEN))
        expect([name, codesOf(f, name).sort()]).toEqual([name, [...codes].sort()]);
    });
    const byCode = (code: FindingCode): Finding | undefined => findings.find((f) => f.code === code);
    expect(byCode('MAX_CONTACTS_WITHOUT_REMOVE_EXISTING')?.object).toEqual({ type: 'aor', name: '3008' });
    expect(byCode('AUTH_USERNAME_MISMATCH')?.evidence).toMatchObject({ username: 'alice' });
    expect(byCode('CODEC_MODULE_MISSING')?.evidence).toMatchObject({ codec: 'g729', module: 'codec_g729' });
    expect(byCode('RTP_TIMEOUT_SHORT')?.evidence).toMatchObject({ rtpTimeout: 5 });
    // Nothing else is wrong with this configuration (3007: see below).
    expect(findings.filter((f) => !(f.object.name in EXPECTED_BROKEN) && f.object.name !== '3007')).toEqual(
      [],
    );
  });

  // res_pjsip_registrar find_registrar_aor: the To user must be listed in aors= (else "AOR ''") and the
  // AOR object must exist (else "AOR '<user>'"); both are a stateless 404, with or without auth.
  it('AOR_MISSING and AOR_NAME_MISMATCH without auth: a real REGISTER gets 404 for each', async () => {
    const phone = await SipUdpClient.open({ serverPort: LAB.sipPort });
    phones.push(phone);
    const logged: Record<string, string> = {
      '3009': "AOR '3009' not found for endpoint '3009'",
      '3010': "AOR '' not found for endpoint '3010'",
      '3011': "AOR '3011' not found for endpoint '3011'",
    };
    // Only what this test makes Asterisk log: the file outlives lab restarts.
    const logFrom = fs.statSync(labPaths().messagesLog, { throwIfNoEntry: false })?.size ?? 0;
    for (const user of Object.keys(logged)) {
      const res = await phone.register({ user, password: `pw${user}-lab` });
      expect([user, res.status]).toEqual([user, 404]);
    }
    await expectEventually(() => {
      const log = fs.readFileSync(labPaths().messagesLog).subarray(logFrom).toString('utf8');
      for (const line of Object.values(logged)) expect(log).toContain(line);
    });
    const { body } = await daemon.get('/api/v1/nodes/lab/diagnostics');
    const findings = body.findings as Finding[];
    const aorMissing = findings.find((f) => f.code === 'AOR_MISSING' && f.object.name === '3009');
    expect(aorMissing).toMatchObject({
      severity: 'error',
      evidence: { aors: ['3009'], missingAors: ['3009'], existingAors: [] },
    });
    expect(aorMissing?.message).toContain("404 (AOR '3009' not found)");
    expect(findings.find((f) => f.code === 'AOR_NAME_MISMATCH' && f.object.name === '3010')).toMatchObject({
      evidence: { aors: ['3010-aor'], authUsernames: [], existingAors: ['3010-aor'] },
    });
  });

  // Asterisk 22 answers PJSIPShowEndpoint 3007 with its EndpointDetail (Transport: transport-nope), then
  // "Response: Error / Message: Unable to retrieve transport transport-nope". The daemon keeps the
  // partial detail (AmiActionError.partialItems), so the rule sees the endpoint.
  it('TRANSPORT_MISSING for an endpoint naming a transport that does not exist', async () => {
    expect(await labCli('pjsip show endpoint 3007')).toMatch(/transport\s+:\s+transport-nope/);
    const { body } = await daemon.get('/api/v1/nodes/lab/diagnostics');
    expect((body.findings as Finding[]).map((f) => `${f.code}/${f.object.name}`)).toContain(
      'TRANSPORT_MISSING/3007',
    );
  });

  it('TLS: self-signed → TLS_CERT_INVALID, 1 day left → TLS_CERT_EXPIRING (also for a DNS-only certificate probed by IP), expired → TLS_CERT_INVALID', async () => {
    const keys = {
      'keys/leaf.key': certs['leaf.key'],
      'keys/self.pem': certs['self.pem'],
      'keys/soon.pem': certs['soon.pem'],
      'keys/expired.pem': certs['expired.pem'],
      'keys/dns-valid.pem': certs['dns-valid.pem'],
      'keys/dns-soon.pem': certs['dns-soon.pem'],
    };
    const httpsObject = { type: 'http', name: `127.0.0.1:${LAB.httpsPort}` };
    labWrite({ ...keys, 'http.conf': httpsConf('self') });
    let since = Date.now();
    await labCli('module reload http');
    let f = await diagnosticsAfter(since, (x) => expect(x.map((y) => y.code)).toContain('TLS_CERT_INVALID'));
    expect(f.find((x) => x.code === 'TLS_CERT_INVALID')).toMatchObject({
      object: httpsObject,
      evidence: { error: 'DEPTH_ZERO_SELF_SIGNED_CERT' },
    });

    // The lab CA plays a CA the browsers trust: the daemon's TLS probe gets it as an extra trust anchor.
    const connect = tlsModule.connect.bind(tlsModule) as (opts: tls.ConnectionOptions) => tls.TLSSocket;
    jest.spyOn(tlsModule, 'connect').mockImplementation(((opts: tls.ConnectionOptions) =>
      connect({
        ...opts,
        ca: [...tls.rootCertificates, certs['ca.pem']],
      })) as unknown as typeof tls.connect);

    labWrite({ 'http.conf': httpsConf('soon') });
    since = Date.now();
    await labCli('module reload http');
    f = await diagnosticsAfter(since, (x) => expect(x.map((y) => y.code)).toContain('TLS_CERT_EXPIRING'));
    expect(f.map((x) => x.code)).not.toContain('TLS_CERT_INVALID');
    expect(f.find((x) => x.code === 'TLS_CERT_EXPIRING')).toMatchObject({
      object: httpsObject,
      evidence: { error: null, daysLeft: 0 },
    });

    // A trusted certificate for pbx.example.test only, probed on 127.0.0.1: the name is not the
    // certificate's fault (browsers use the name), so 20 days left is no finding at all …
    labWrite({ 'http.conf': httpsConf('dns-valid') });
    since = Date.now();
    await labCli('module reload http');
    await diagnosticsAfter(since, (x) => expect(x.filter((y) => y.code.startsWith('TLS_'))).toEqual([]));
    // … and 1 day left is TLS_CERT_EXPIRING only, naming the certificate's DNS names.
    labWrite({ 'http.conf': httpsConf('dns-soon') });
    since = Date.now();
    await labCli('module reload http');
    f = await diagnosticsAfter(since, (x) =>
      expect(x.filter((y) => y.code.startsWith('TLS_')).map((y) => y.code)).toEqual(['TLS_CERT_EXPIRING']),
    );
    expect(f.find((x) => x.code === 'TLS_CERT_EXPIRING')).toMatchObject({
      object: httpsObject,
      evidence: { error: null, daysLeft: 0, subject: 'pbx.example.test', dnsNames: ['pbx.example.test'] },
    });

    labWrite({ 'http.conf': httpsConf('expired') });
    since = Date.now();
    await labCli('module reload http');
    f = await diagnosticsAfter(since, (x) => expect(x.map((y) => y.code)).toContain('TLS_CERT_INVALID'));
    expect(f.find((x) => x.code === 'TLS_CERT_INVALID')).toMatchObject({
      object: httpsObject,
      evidence: { error: 'CERT_HAS_EXPIRED' },
    });
    jest.restoreAllMocks();
  });

  it('RESTART_REQUIRED: a transport bind changed in pjsip.conf and reloaded', async () => {
    // The base file's bind (25060; labWrite moves it to LAB.sipPort when that port was taken) → 25061.
    labWrite({ 'pjsip.conf': BROKEN_PJSIP.replace('bind = 127.0.0.1:25060', 'bind = 127.0.0.1:25061') });
    const since = Date.now();
    const res = await reload();
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ result: 'ok', restartRequired: true });
    expect(res.body.restartReason).toContain('transport-udp');
    const f = await diagnosticsAfter(since, (x) =>
      expect(x.map((y) => y.code)).toContain('RESTART_REQUIRED'),
    );
    expect(f.filter((x) => x.code === 'RESTART_REQUIRED')).toEqual([
      expect.objectContaining({
        object: { type: 'transport', name: 'transport-udp' },
        message: expect.stringContaining(`bind 127.0.0.1:${LAB.sipPort} → 127.0.0.1:25061`),
      }),
    ]);
    // PJSIP kept the old socket.
    expect(await labCli('pjsip show transports')).toMatch(
      new RegExp(`transport-udp\\s+udp\\s+0\\s+0\\s+127\\.0\\.0\\.1:${LAB.sipPort}\\b`),
    );
  });

  it('module-level: noload res_srtp and res_pjsip_transport_websocket', async () => {
    const booted = Date.now();
    await timed('lab boot (modules missing)', () =>
      labStart({
        'modules.conf': `${base['modules.conf']}\nnoload => res_srtp.so\nnoload => res_pjsip_transport_websocket.so\n`,
      }),
    );
    const findings = await diagnosticsAfter(booted, (f) => {
      const codes = f.map((x) => x.code);
      expect(codes).toContain('SRTP_MODULE_MISSING');
      expect(codes).toContain('WEBSOCKET_TRANSPORT_NOT_RUNNING');
    });
    expect(findings.find((f) => f.code === 'SRTP_MODULE_MISSING')?.object).toEqual({
      type: 'endpoint',
      name: LAB.endpoints.webrtc.name,
    });
    expect(findings.find((f) => f.code === 'WEBSOCKET_TRANSPORT_NOT_RUNNING')?.evidence).toMatchObject({
      problems: ['res_pjsip_transport_websocket is not Running'],
    });
    console.log(`modules-missing findings: ${findings.map((x) => `${x.code}/${x.object.name}`).join(', ')}`);
  });
});
