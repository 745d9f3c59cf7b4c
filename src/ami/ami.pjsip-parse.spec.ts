import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import {
  lowerFirst,
  normaliseObject,
  parseConfiguredTransports,
  parseDialplanContexts,
  parseHttpStatus,
  parseModuleShowLike,
  parseTransports,
} from './ami.pjsip-parse';
import { parseAllow } from '../health/pjsip/codecs';

const FIXTURES = path.join(__dirname, '..', 'health', 'diagnostics', 'fixtures');
/** Recorded `asterisk -rx` output of the sandbox (the AMI `Command` action gives the same lines as `Output:`). */
const lines = (name: string): string[] => readFileSync(path.join(FIXTURES, name), 'utf8').split('\n');
const endpoint1001 = JSON.parse(readFileSync(path.join(FIXTURES, 'endpoint-1001.json'), 'utf8')) as Record<
  string,
  Array<Record<string, string>>
>;

describe('module show like', () => {
  it('reads a Running module whose name overflows the 30-character column', () => {
    expect(parseModuleShowLike(lines('module-show-like-websocket.txt'))).toEqual([
      {
        name: 'res_pjsip_transport_websocket.so',
        description: 'PJSIP WebSocket Transport Support',
        useCount: 0,
        running: true,
        supportLevel: 'core',
      },
    ]);
  });

  it('matches by prefix: codec_opus is shipped as codec_opus_open_source', () => {
    const rows = parseModuleShowLike(lines('module-show-like-codec-opus.txt'));
    expect(rows.map((r) => [r.name, r.running])).toEqual([['codec_opus_open_source.so', true]]);
  });

  it('lists every module matching the pattern, and none when nothing is loaded', () => {
    const rows = parseModuleShowLike(lines('module-show-like-res-pjsip.txt'));
    expect(rows.length).toBeGreaterThan(30);
    expect(rows.find((r) => r.name === 'res_pjsip.so')).toMatchObject({ running: true, useCount: 46 });
    expect(parseModuleShowLike(lines('module-show-like-none.txt'))).toEqual([]);
  });

  it('reads Not Running (a loaded but declined module, which ModuleCheck reports as Success)', () => {
    // main/cli.c: "%-30s %-40.40s %-10d %-11s %13s"
    const row = `${'res_pjsip_transport_websocket.so'.padEnd(30)} ${'PJSIP WebSocket Transport Support'.padEnd(40)} ${'0'.padEnd(10)} ${'Not Running'.padEnd(11)} ${'core'.padStart(13)}`;
    expect(parseModuleShowLike([row])).toEqual([
      expect.objectContaining({ name: 'res_pjsip_transport_websocket.so', running: false }),
    ]);
  });
});

describe('http show status', () => {
  it('reads the sandbox server: plain HTTP with /ws, no TLS', () => {
    expect(parseHttpStatus(lines('http-show-status.txt'))).toEqual({
      enabled: true,
      bindAddress: '127.0.0.1:18088',
      tls: { enabled: false, bindAddress: null },
      prefix: '',
      uris: [
        { path: '/ari/...', description: 'Asterisk RESTful API' },
        { path: '/ws', description: 'Asterisk HTTP WebSocket' },
      ],
      websocket: true,
    });
  });

  it('reads the HTTPS bind and a missing /ws (res_http_websocket not loaded)', () => {
    const status = parseHttpStatus([
      'HTTP Server Status:',
      'Prefix: ',
      'Server: Asterisk/22.10.1',
      'Server Enabled and Bound to 0.0.0.0:8088',
      'HTTPS Server Enabled and Bound to 0.0.0.0:8089',
      '',
      "Enabled URI's:",
      '/ari/... => Asterisk RESTful API',
      '',
      'Enabled Redirects:',
      '  None.',
    ]);
    expect(status).toMatchObject({
      enabled: true,
      bindAddress: '0.0.0.0:8088',
      tls: { enabled: true, bindAddress: '0.0.0.0:8089' },
      websocket: false,
    });
  });

  it('reads a disabled server', () => {
    expect(parseHttpStatus(['HTTP Server Status:', 'Prefix: ', 'Server Disabled', ''])).toMatchObject({
      enabled: false,
      bindAddress: null,
      websocket: false,
    });
  });
});

describe('pjsip show transports', () => {
  it('reads the rows and skips the header', () => {
    expect(parseTransports(lines('pjsip-show-transports.txt'))).toEqual([
      { name: 'transport-udp', protocol: 'udp', cos: 0, tos: 0, bindAddress: '127.0.0.1:15060' },
      { name: 'transport-ws', protocol: 'ws', cos: 0, tos: 0, bindAddress: '127.0.0.1:18088' },
    ]);
  });
});

describe('dialplan show', () => {
  it('lists the context headers', () => {
    expect(parseDialplanContexts(lines('dialplan-show.txt'))).toEqual([
      '__func_periodic_hook_context__',
      'internal',
    ]);
  });
});

describe('normaliseObject', () => {
  it('turns the real EndpointDetail of 1001 (webrtc=yes) into camelCase booleans and numbers', () => {
    const ep = normaliseObject(endpoint1001.EndpointDetail[0]);
    expect(ep).toMatchObject({
      objectName: '1001',
      webrtc: true,
      rtcpMux: true,
      iceSupport: true,
      useAvpf: true,
      bundle: true,
      mediaEncryption: 'dtls',
      dtlsAutoGenerateCert: true,
      dtlsSetup: 'actpass',
      rtpTimeout: 30,
      '100rel': true,
      aors: '1001',
      context: 'internal',
      transport: 'transport-ws',
      // webrtc=yes does not turn direct_media off.
      directMedia: true,
    });
    expect(ep).not.toHaveProperty('event');
    expect(ep).not.toHaveProperty('actionID');
    expect(parseAllow(String(ep.allow))).toEqual(['opus', 'ulaw']);
  });

  it('keeps the acronyms of a ContactStatusDetail whole, and its names as strings', () => {
    const contact = normaliseObject({
      Event: 'ContactStatusDetail',
      AOR: '2001',
      URI: 'sip:2001@127.0.0.1:5062',
      CallID: '4fa1-77',
      ID: '2001;@4c1f',
      EndpointName: '2001',
      RoundtripUsec: '4040',
      QualifyFrequency: '10',
    });
    expect(contact).toEqual({
      aor: '2001',
      uri: 'sip:2001@127.0.0.1:5062',
      callId: '4fa1-77',
      id: '2001;@4c1f',
      endpointName: '2001',
      roundtripUsec: 4040,
      qualifyFrequency: 10,
    });
  });

  it('drops passwords, md5 credentials and other secrets at parse time', () => {
    const auth = normaliseObject({
      ...endpoint1001.AuthDetail[0],
      Password: 'pw-should-vanish',
      Md5Cred: 'md5-should-vanish',
      OauthSecret: 'oauth-should-vanish',
      RefreshToken: 'token-should-vanish',
      PasswordDigest: 'digest-should-vanish',
    });
    expect(auth).toMatchObject({
      objectName: '1001-auth',
      username: '1001',
      realm: '',
      authType: 'userpass',
    });
    const text = JSON.stringify(auth);
    expect(text).not.toMatch(/vanish|fixture-password/);
    expect(Object.keys(auth).filter((k) => /pass|md5|secret|token/i.test(k))).toEqual([]);
    expect(JSON.stringify(normaliseObject(endpoint1001.TransportDetail[0]))).not.toMatch(/password/i);
  });
});

describe('normaliseObject with a key filter', () => {
  it('keeps only the keys asked for (normalised names), and never a secret even if asked', () => {
    const fields = {
      Event: 'AuthDetail',
      ObjectName: '1001-auth',
      Username: '1001',
      Password: 'pw-secret',
      AuthType: 'userpass',
      RtcpMux: 'yes',
    };
    expect(normaliseObject(fields, new Set(['objectName', 'username', 'rtcpMux', 'password']))).toEqual({
      objectName: '1001-auth',
      username: '1001',
      rtcpMux: true,
    });
    // Without a filter, everything but the frame headers and secrets.
    expect(normaliseObject(fields)).toEqual({
      objectName: '1001-auth',
      username: '1001',
      authType: 'userpass',
      rtcpMux: true,
    });
  });

  it('names keys the same on every call (the names are cached)', () => {
    for (let i = 0; i < 3; i++) {
      expect(lowerFirst('URIParam')).toBe('uriParam');
      expect(lowerFirst('CallID')).toBe('callId');
      expect(lowerFirst('RtcpMux')).toBe('rtcpMux');
    }
  });
});

describe('GetConfig pjsip.conf', () => {
  it('keeps the transport sections (type, protocol, bind) and never reads other lines', () => {
    const got = parseConfiguredTransports({
      Response: 'Success',
      'Category-000000': 'transport-udp',
      'Line-000000-000000': 'type=transport',
      'Line-000000-000001': 'protocol=udp',
      'Line-000000-000002': 'bind=127.0.0.1:15060',
      'Category-000001': 'transport-tls',
      'Line-000001-000000': 'type=transport',
      'Line-000001-000001': 'protocol=tls',
      'Line-000001-000002': 'password=tls-key-secret',
      'Category-000002': '1001-auth',
      'Line-000002-000000': 'type=auth',
      'Line-000002-000001': 'password=pw-auth-secret',
    });
    expect(got).toEqual([
      { name: 'transport-udp', protocol: 'udp', bind: '127.0.0.1:15060' },
      { name: 'transport-tls', protocol: 'tls', bind: '' },
    ]);
    expect(JSON.stringify(got)).not.toMatch(/secret/);
  });

  it('skips a template section: only the sections built from it are transports', () => {
    // What Asterisk sends for `[tcp-base](!)` + `[transport-tcp](tcp-base)` with TEMPLATES=include
    // (or an Asterisk that ignores Filter): the inherited lines are repeated under the section.
    const got = parseConfiguredTransports({
      Response: 'Success',
      'Category-000000': 'tcp-base',
      'IsTemplate-000000': '1',
      'Line-000000-000000': 'type=transport',
      'Line-000000-000001': 'protocol=tcp',
      'Category-000001': 'transport-tcp',
      'Templates-000001': 'tcp-base',
      'Line-000001-000000': 'type=transport',
      'Line-000001-000001': 'protocol=tcp',
      'Line-000001-000002': 'bind=127.0.0.1:15070',
    });
    expect(got).toEqual([{ name: 'transport-tcp', protocol: 'tcp', bind: '127.0.0.1:15070' }]);
  });
});
