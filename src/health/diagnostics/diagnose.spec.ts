import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { normaliseObject, parseHttpStatus, parseTransports } from '../../ami/ami.pjsip-parse';
import { runSliced } from '../../common/slices';
import {
  DIAGNOSED_OPTIONS,
  type DiagnosisInput,
  FINDING_CODES,
  type FindingCode,
  diagnose,
  diagnoseSteps,
} from './diagnose';

const FIXTURES = path.join(__dirname, 'fixtures');
const lines = (name: string): string[] => readFileSync(path.join(FIXTURES, name), 'utf8').split('\n');
const recorded = JSON.parse(readFileSync(path.join(FIXTURES, 'endpoint-1001.json'), 'utf8')) as Record<
  string,
  Array<Record<string, string>>
>;
const NOW = Date.parse('2026-01-01T00:00:00Z');

/** A correct WebRTC configuration: the sandbox's 1001 as Asterisk reports it, with direct_media=no. */
function clean(): DiagnosisInput {
  const endpoint = { ...normaliseObject(recorded.EndpointDetail[0]), directMedia: false };
  return {
    endpoints: [{ endpoint, auths: recorded.AuthDetail.map((a) => normaliseObject(a)) }],
    aors: recorded.AorDetail.map((a) => normaliseObject(a)),
    transports: parseTransports(lines('pjsip-show-transports.txt')),
    modules: [
      'res_pjsip',
      'res_pjsip_transport_websocket',
      'res_http_websocket',
      'res_srtp',
      'res_pjsip_registrar',
      'res_rtp_asterisk',
      'codec_opus',
      'codec_ulaw',
    ].map((module) => ({ module, running: true })),
    http: parseHttpStatus(lines('http-show-status.txt')),
    contexts: ['internal'],
    configuredTransports: [
      { name: 'transport-udp', protocol: 'udp', bind: '127.0.0.1:15060' },
      { name: 'transport-ws', protocol: 'ws', bind: '127.0.0.1:18088' },
    ],
    contacts: [{ endpoint: '1001', transport: 'ws' }],
    tlsCertificate: null,
    now: NOW,
  };
}

const ep = (input: DiagnosisInput): Record<string, string | number | boolean> => input.endpoints[0].endpoint;
const setModule = (input: DiagnosisInput, module: string, running: boolean): void => {
  input.modules = input.modules.map((m) => (m.module === module ? { module, running } : m));
};
const withTls = (
  input: DiagnosisInput,
  validTo: string,
  error: string | null,
  dnsNames: string[] = [],
): void => {
  input.http = { ...input.http!, tls: { enabled: true, bindAddress: '0.0.0.0:8089' } };
  input.tlsCertificate = { validTo, subject: 'pbx.example.com', dnsNames, error };
};
const codes = (input: DiagnosisInput): string[] => diagnose(input).map((f) => `${f.code}/${f.object.name}`);

const CASES: Record<FindingCode, { mutate(i: DiagnosisInput): void; object: string }> = {
  AOR_NAME_MISMATCH: {
    mutate: (i) => {
      ep(i).aors = '1001-aor';
      i.aors[0].objectName = '1001-aor';
    },
    object: '1001',
  },
  AOR_MISSING: {
    mutate: (i) => {
      i.aors = [];
    },
    object: '1001',
  },
  AUTH_USERNAME_MISMATCH: {
    mutate: (i) => {
      i.endpoints[0].auths[0].username = 'alice';
      ep(i).identifyBy = 'username';
    },
    object: '1001',
  },
  WEBSOCKET_TRANSPORT_NOT_RUNNING: {
    mutate: (i) => setModule(i, 'res_pjsip_transport_websocket', false),
    object: 'res_pjsip_transport_websocket',
  },
  SRTP_MODULE_MISSING: { mutate: (i) => setModule(i, 'res_srtp', false), object: '1001' },
  WEBRTC_ENDPOINT_INCOMPLETE: {
    mutate: (i) => {
      // A WebSocket endpoint without webrtc=yes (seed 001: "RTCP-MUX is not enabled when it is required").
      Object.assign(ep(i), { webrtc: false, rtcpMux: false, iceSupport: false, useAvpf: false });
      ep(i).mediaEncryption = 'no';
    },
    object: '1001',
  },
  WEBRTC_DIRECT_MEDIA: { mutate: (i) => (ep(i).directMedia = true), object: '1001' },
  CODEC_MODULE_MISSING: { mutate: (i) => setModule(i, 'codec_opus', false), object: '1001' },
  CONTEXT_MISSING: { mutate: (i) => (ep(i).context = 'from-internal'), object: '1001' },
  TRANSPORT_MISSING: { mutate: (i) => (ep(i).transport = 'transport-wss'), object: '1001' },
  MAX_CONTACTS_WITHOUT_REMOVE_EXISTING: {
    mutate: (i) => Object.assign(i.aors[0], { maxContacts: 1, removeExisting: false }),
    object: '1001',
  },
  RTP_TIMEOUT_UNSET: { mutate: (i) => (ep(i).rtpTimeout = 0), object: '1001' },
  RTP_TIMEOUT_SHORT: { mutate: (i) => (ep(i).rtpTimeout = 5), object: '1001' },
  TLS_CERT_EXPIRING: { mutate: (i) => withTls(i, '2026-01-05T00:00:00.000Z', null), object: '0.0.0.0:8089' },
  TLS_CERT_INVALID: {
    mutate: (i) => withTls(i, '2027-01-01T00:00:00.000Z', 'DEPTH_ZERO_SELF_SIGNED_CERT'),
    object: '0.0.0.0:8089',
  },
  RESTART_REQUIRED: {
    mutate: (i) => (i.configuredTransports![0] = { name: 'transport-udp', protocol: 'udp', bind: '0.0.0.0' }),
    object: 'transport-udp',
  },
  OUTBOUND_AUTH_MISSING: {
    mutate: (i) =>
      (i.registrations = [
        {
          name: 'itsp',
          serverUri: 'sip:sip.example.com',
          outboundAuths: ['itsp-auth'],
          missingAuths: ['itsp-auth'],
          serverHostResolves: true,
          serverHost: 'sip.example.com',
        },
      ]),
    object: 'itsp',
  },
  SERVER_URI_UNRESOLVED: {
    mutate: (i) =>
      (i.registrations = [
        {
          name: 'itsp',
          serverUri: 'sip:registrar.example.invalid',
          outboundAuths: [],
          missingAuths: [],
          serverHostResolves: false,
          serverHost: 'registrar.example.invalid',
        },
      ]),
    object: 'itsp',
  },
  // Seed 004: a phone behind NAT on the public-facing transport, without the options that fix its
  // addresses (rtp_symmetric, force_rport, rewrite_contact).
  NAT_OPTIONS_MISSING: {
    mutate: (i) => {
      i.configuredTransports![0] = { ...i.configuredTransports![0], externalAddress: '203.0.113.10' };
      ep(i).transport = 'transport-udp';
      ep(i).rtpSymmetric = false;
      ep(i).rewriteContact = false;
    },
    object: '1001',
  },
};

describe('diagnose', () => {
  it('finds nothing in a correct WebRTC configuration', () => {
    expect(diagnose(clean())).toEqual([]);
  });

  it('has a triggering case for every code', () => {
    expect(Object.keys(CASES).sort()).toEqual([...FINDING_CODES].sort());
  });

  it.each(Object.entries(CASES))('%s', (code, { mutate, object }) => {
    const input = clean();
    mutate(input);
    const findings = diagnose(input);
    const hit = findings.find((f) => f.code === code);
    expect(hit).toBeDefined();
    expect(hit!.object.name).toBe(object);
    expect(hit!.message.length).toBeGreaterThan(10);
    expect(hit!.remedy).toMatch(/\.conf|restart|reload|renew/);
    expect(hit!.evidence).toBeDefined();
    expect(['error', 'warning', 'info']).toContain(hit!.severity);
  });

  it.each(Object.entries(CASES))(
    '%s: the same on a snapshot trimmed to DIAGNOSED_OPTIONS (what the service reads)',
    (_code, { mutate }) => {
      const input = clean();
      mutate(input);
      const pick = (
        o: Record<string, string | number | boolean>,
      ): Record<string, string | number | boolean> =>
        Object.fromEntries(Object.entries(o).filter(([k]) => DIAGNOSED_OPTIONS.has(k)));
      const trimmed: DiagnosisInput = {
        ...input,
        endpoints: input.endpoints.map((e) => ({ endpoint: pick(e.endpoint), auths: e.auths.map(pick) })),
        aors: input.aors.map(pick),
      };
      expect(Object.keys(trimmed.endpoints[0].endpoint).length).toBeLessThan(
        Object.keys(input.endpoints[0].endpoint).length,
      );
      expect(diagnose(trimmed)).toEqual(diagnose(input));
    },
  );

  it('names the seed-000 breakage with the rename as remedy', () => {
    const input = clean();
    CASES.AOR_NAME_MISMATCH.mutate(input);
    const f = diagnose(input).find((x) => x.code === 'AOR_NAME_MISMATCH')!;
    expect(f).toMatchObject({ severity: 'error', object: { type: 'endpoint', name: '1001' } });
    expect(f.remedy).toContain('[1001-aor] to [1001]');
    expect(f.evidence).toMatchObject({ aors: ['1001-aor'], authUsernames: ['1001'] });
  });

  it('says 403, not 404, for an endpoint with auth but no aors= at all', () => {
    const input = clean();
    ep(input).aors = '';
    const f = diagnose(input).find((x) => x.code === 'AOR_NAME_MISMATCH')!;
    expect(f.message).toContain('gets 403');
    expect(f.message).not.toContain('404');
    expect(f.remedy).toContain('add an AOR section [1001]');
  });

  it('treats an endpoint with WebSocket contacts as WebRTC even without webrtc=yes', () => {
    const input = clean();
    Object.assign(ep(input), { webrtc: false, transport: '' });
    expect(diagnose(input)).toEqual([]);
    CASES.WEBRTC_ENDPOINT_INCOMPLETE.mutate(input);
    ep(input).transport = '';
    expect(diagnose(input).map((f) => f.code)).toContain('WEBRTC_ENDPOINT_INCOMPLETE');
  });

  it('reports an HTTP server without /ws when WebSocket clients are expected', () => {
    const input = clean();
    input.http = { ...input.http!, uris: [], websocket: false };
    expect(diagnose(input).map((f) => f.code)).toEqual(['WEBSOCKET_TRANSPORT_NOT_RUNNING']);
  });

  it('does not report RESTART_REQUIRED for a ws transport bind (it rides the HTTP server) or a default port', () => {
    const input = clean();
    input.configuredTransports = [
      { name: 'transport-udp', protocol: 'udp', bind: '127.0.0.1' },
      { name: 'transport-ws', protocol: 'ws', bind: '0.0.0.0:8088' },
    ];
    input.transports[0].bindAddress = '127.0.0.1:5060';
    expect(diagnose(input)).toEqual([]);
  });

  it('NAT_OPTIONS_MISSING names the missing options only, and not for an endpoint that has them all', () => {
    const input = clean();
    CASES.NAT_OPTIONS_MISSING.mutate(input);
    const f = diagnose(input).find((x) => x.code === 'NAT_OPTIONS_MISSING')!;
    expect(f.severity).toBe('warning');
    expect(f.remedy).toContain('rtp_symmetric=yes, rewrite_contact=yes');
    expect(f.remedy).not.toContain('force_rport');
    Object.assign(ep(input), { rtpSymmetric: true, forceRport: true, rewriteContact: true });
    expect(diagnose(input).map((x) => x.code)).not.toContain('NAT_OPTIONS_MISSING');
    // Without an external address the transport is not known to face a NAT: nothing to say.
    const plain = clean();
    CASES.NAT_OPTIONS_MISSING.mutate(plain);
    delete plain.configuredTransports![0].externalAddress;
    expect(diagnose(plain).map((x) => x.code)).not.toContain('NAT_OPTIONS_MISSING');
  });

  it('says nothing of a registration whose server host could not be looked up (null)', () => {
    const input = clean();
    CASES.SERVER_URI_UNRESOLVED.mutate(input);
    input.registrations![0].serverHostResolves = null;
    expect(diagnose(input)).toEqual([]);
  });

  it('skips CONTEXT_MISSING and RESTART_REQUIRED when the dialplan or pjsip.conf could not be read', () => {
    const input = clean();
    ep(input).context = 'nowhere';
    input.contexts = null;
    input.configuredTransports = null;
    expect(diagnose(input)).toEqual([]);
  });

  it('reports an expired certificate as invalid', () => {
    const input = clean();
    withTls(input, '2025-12-01T00:00:00.000Z', null);
    expect(diagnose(input).map((f) => f.code)).toEqual(['TLS_CERT_INVALID']);
  });

  describe('AORs the registrar cannot find', () => {
    it('AOR_MISSING, not AOR_NAME_MISMATCH, when aors= names the user but the AOR section does not exist', () => {
      const input = clean();
      input.aors = [];
      expect(codes(input)).toEqual(['AOR_MISSING/1001']);
      const f = diagnose(input)[0];
      expect(f).toMatchObject({
        severity: 'error',
        object: { type: 'endpoint', name: '1001' },
        evidence: { aors: ['1001'], missingAors: ['1001'], existingAors: [] },
      });
      expect(f.message).toContain("404 (AOR '1001' not found)");
      expect(f.remedy).toContain('add [1001] with type=aor');
    });

    it('AOR_MISSING for a dangling extra entry, without claiming a 404', () => {
      const input = clean();
      ep(input).aors = '1001,1001-desk';
      const f = diagnose(input);
      expect(f.map((x) => `${x.code}/${x.object.name}`)).toEqual(['AOR_MISSING/1001']);
      expect(f[0].evidence).toMatchObject({ missingAors: ['1001-desk'], existingAors: ['1001'] });
      expect(f[0].message).not.toContain('404');
    });

    it('both codes when aors= names neither the user nor an existing AOR, with "add" as the remedy', () => {
      const input = clean();
      ep(input).aors = '1001-aor';
      input.aors = [];
      const f = diagnose(input);
      expect(f.map((x) => x.code)).toEqual(['AOR_MISSING', 'AOR_NAME_MISMATCH']);
      expect(f[1].remedy).toContain('add an AOR section [1001]');
    });

    it('considers endpoints without auth that can register (an AOR with max_contacts > 0)', () => {
      const input = clean();
      input.endpoints[0].auths = [];
      ep(input).auth = '';
      ep(input).aors = '1001-aor';
      input.aors[0].objectName = '1001-aor';
      expect(codes(input)).toEqual(['AOR_NAME_MISMATCH/1001']);
      input.aors = [];
      expect(codes(input)).toEqual(['AOR_MISSING/1001']);
    });

    it('does not ask a trunk without auth whose AORs refuse registration (max_contacts=0) to be named after it', () => {
      const input = clean();
      input.endpoints[0].auths = [];
      ep(input).auth = '';
      ep(input).aors = 'provider-aor';
      Object.assign(input.aors[0], {
        objectName: 'provider-aor',
        maxContacts: 0,
        contact: 'sip:sbc@192.0.2.1',
      });
      expect(codes(input)).toEqual([]);
    });
  });

  describe('TLS certificate', () => {
    it('a valid certificate for a DNS name (probed by address) with 1 day left is only expiring', () => {
      const input = clean();
      withTls(input, '2026-01-02T00:00:00.000Z', null, ['pbx.example.com']);
      const f = diagnose(input);
      expect(f.map((x) => x.code)).toEqual(['TLS_CERT_EXPIRING']);
      expect(f[0].evidence).toMatchObject({ dnsNames: ['pbx.example.com'], daysLeft: 1, error: null });
    });

    it('a valid certificate far from expiry is no finding', () => {
      const input = clean();
      withTls(input, '2026-03-01T00:00:00.000Z', null, ['pbx.example.com']);
      expect(diagnose(input)).toEqual([]);
    });

    it('an untrusted one is invalid, with its DNS names as evidence', () => {
      const input = clean();
      withTls(input, '2026-03-01T00:00:00.000Z', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', ['pbx.example.com']);
      const f = diagnose(input);
      expect(f.map((x) => x.code)).toEqual(['TLS_CERT_INVALID']);
      expect(f[0].evidence).toMatchObject({ dnsNames: ['pbx.example.com'] });
    });
  });

  describe('in steps, for a node with thousands of endpoints', () => {
    /** `clean()` with `n` copies of 1001 (1001-0 …), every other one with a misnamed AOR. */
    function big(n: number): DiagnosisInput {
      const input = clean();
      const [one] = input.endpoints;
      const [aor] = input.aors;
      input.endpoints = [];
      input.aors = [];
      for (let i = 0; i < n; i++) {
        const name = `1001-${i}`;
        const aorName = i % 2 ? `${name}-aor` : name;
        input.endpoints.push({
          endpoint: { ...one.endpoint, objectName: name, aors: aorName },
          auths: one.auths.map((a) => ({ ...a, username: name })),
        });
        input.aors.push({ ...aor, objectName: aorName });
      }
      return input;
    }

    it('yields once per endpoint and per AOR, so a caller can pause between them', () => {
      const steps = diagnoseSteps(big(50));
      let yields = 0;
      while (!steps.next().done) yields++;
      expect(yields).toBe(100);
    });

    it('answers the same findings whether run straight through or in slices', async () => {
      const input = big(2000);
      let pauses = 0;
      let t = 0;
      const sliced = await runSliced(diagnoseSteps(input), {
        sliceMs: 10,
        now: () => t++,
        pause: () => {
          pauses++;
          return Promise.resolve();
        },
      });
      expect(pauses).toBeGreaterThan(100);
      const straight = diagnose(input);
      expect(straight.filter((f) => f.code === 'AOR_NAME_MISMATCH')).toHaveLength(1000);
      expect(sliced).toEqual(straight);
    });
  });
});
