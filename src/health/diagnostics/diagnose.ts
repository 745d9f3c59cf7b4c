import type { ConfiguredTransport, HttpStatus, PjsipObject, TransportRow } from '../../common/pbx.records';
import { list, str } from '../../common/pbx.records';
import { CODEC_MODULES, parseAllow } from '../pjsip/codecs';

/** The fixed list of finding codes (metric label values come from here only). */
export const FINDING_CODES = [
  'AOR_NAME_MISMATCH',
  'AOR_MISSING',
  'AUTH_USERNAME_MISMATCH',
  'WEBSOCKET_TRANSPORT_NOT_RUNNING',
  'SRTP_MODULE_MISSING',
  'WEBRTC_ENDPOINT_INCOMPLETE',
  'WEBRTC_DIRECT_MEDIA',
  'CODEC_MODULE_MISSING',
  'CONTEXT_MISSING',
  'TRANSPORT_MISSING',
  'MAX_CONTACTS_WITHOUT_REMOVE_EXISTING',
  'RTP_TIMEOUT_UNSET',
  'RTP_TIMEOUT_SHORT',
  'TLS_CERT_EXPIRING',
  'TLS_CERT_INVALID',
  'RESTART_REQUIRED',
  'OUTBOUND_AUTH_MISSING',
  'SERVER_URI_UNRESOLVED',
  'NAT_OPTIONS_MISSING',
] as const;
export type FindingCode = (typeof FINDING_CODES)[number];
export type Severity = 'error' | 'warning' | 'info';

/** Each code has one severity, so the metric's label set is fixed. */
export const FINDING_SEVERITY: Readonly<Record<FindingCode, Severity>> = {
  AOR_NAME_MISMATCH: 'error',
  AOR_MISSING: 'error',
  AUTH_USERNAME_MISMATCH: 'error',
  WEBSOCKET_TRANSPORT_NOT_RUNNING: 'error',
  SRTP_MODULE_MISSING: 'error',
  WEBRTC_ENDPOINT_INCOMPLETE: 'error',
  // Asterisk falls back to local bridging for DTLS-SRTP media, so this is a smell, not an outage.
  WEBRTC_DIRECT_MEDIA: 'warning',
  CODEC_MODULE_MISSING: 'error',
  CONTEXT_MISSING: 'error',
  TRANSPORT_MISSING: 'error',
  MAX_CONTACTS_WITHOUT_REMOVE_EXISTING: 'warning',
  RTP_TIMEOUT_UNSET: 'warning',
  RTP_TIMEOUT_SHORT: 'warning',
  TLS_CERT_EXPIRING: 'warning',
  TLS_CERT_INVALID: 'error',
  RESTART_REQUIRED: 'warning',
  OUTBOUND_AUTH_MISSING: 'error',
  SERVER_URI_UNRESOLVED: 'error',
  // Calls may still work (a phone with a public address, a SIP ALG that fixes things): a smell.
  NAT_OPTIONS_MISSING: 'warning',
};

export interface Finding {
  code: FindingCode;
  severity: Severity;
  object: {
    type: 'endpoint' | 'aor' | 'auth' | 'transport' | 'module' | 'http' | 'registration';
    name: string;
  };
  message: string;
  /** The configuration lines to change. */
  remedy: string;
  /** The option values the finding is based on (never a secret). */
  evidence: Record<string, unknown>;
}

/** What `PJSIPShowEndpoint` returns for one endpoint (options after `webrtc=yes` expansion). */
export interface EndpointSnapshot {
  endpoint: PjsipObject;
  auths: PjsipObject[];
}

/**
 * The options `diagnose` reads of endpoints, their auths and AORs: a snapshot keeps only these (the full
 * details of a 10k-endpoint node are ~1.5M values, mostly garbage to the collector). A check that reads
 * another option must add it here; the spec diagnoses every case on full and on trimmed snapshots.
 */
export const DIAGNOSED_OPTIONS: ReadonlySet<string> = new Set([
  'objectName',
  // endpoint
  'transport',
  'webrtc',
  'aors',
  'identifyBy',
  'context',
  'allow',
  'mediaEncryption',
  'rtcpMux',
  'iceSupport',
  'useAvpf',
  'dtlsCertFile',
  'dtlsAutoGenerateCert',
  'directMedia',
  'rtpTimeout',
  'rtpSymmetric',
  'forceRport',
  'rewriteContact',
  // auth
  'username',
  // AOR
  'maxContacts',
  'removeExisting',
]);

export interface ModuleSnapshot {
  module: string;
  running: boolean;
}

/** The certificate of the HTTPS/WSS listener as a TLS client saw it. */
export interface TlsCertificateSnapshot {
  /** ISO time the certificate expires. */
  validTo: string | null;
  subject: string | null;
  /** The DNS names of its subjectAltName (the probe connects by address, so they are not checked). */
  dnsNames?: string[];
  /**
   * Why a browser would refuse it whatever name it uses (`DEPTH_ZERO_SELF_SIGNED_CERT`, `CERT_HAS_EXPIRED`,
   * `UNABLE_TO_VERIFY_LEAF_SIGNATURE`, a handshake error …); never a host-name mismatch.
   */
  error: string | null;
}

export interface DiagnosisInput {
  endpoints: EndpointSnapshot[];
  aors: PjsipObject[];
  transports: TransportRow[];
  modules: ModuleSnapshot[];
  http: HttpStatus | null;
  /** Dialplan contexts that exist; `null` if unknown (CONTEXT_MISSING is then skipped). */
  contexts: string[] | null;
  /** Transports of pjsip.conf; `null` if unknown (RESTART_REQUIRED is then skipped). */
  configuredTransports: ConfiguredTransport[] | null;
  contacts: Array<{ endpoint: string; transport: string }>;
  tlsCertificate: TlsCertificateSnapshot | null;
  /** Outbound registrations (trunks); absent or empty when there are none. */
  registrations?: RegistrationSnapshot[];
  /** Epoch ms. */
  now: number;
}

/** An outbound registration as the diagnosis reads it. */
export interface RegistrationSnapshot {
  name: string;
  serverUri: string;
  outboundAuths: readonly string[];
  /** `outboundAuths` that name no auth section. */
  missingAuths: readonly string[];
  /**
   * Whether the host of `server_uri` resolves (A/AAAA, or a SIP SRV record); `null` when it is an IP
   * address or the lookup could not tell (a DNS timeout is no proof).
   */
  serverHostResolves: boolean | null;
  /** The host that was looked up. */
  serverHost: string;
}

export interface DiagnoseOptions {
  /** RTP_TIMEOUT_SHORT below this many seconds. */
  shortRtpTimeoutSec: number;
  /** TLS_CERT_EXPIRING within this many days. */
  certExpiringDays: number;
}

const DEFAULTS: DiagnoseOptions = { shortRtpTimeoutSec: 15, certExpiringDays: 14 };
const WS_PROTOCOLS = new Set(['ws', 'wss']);
/** What an endpoint behind NAT needs, as `PJSIPShowEndpoint` names it and as pjsip.conf does. */
const NAT_OPTIONS = [
  { key: 'rtpSymmetric', option: 'rtp_symmetric' },
  { key: 'forceRport', option: 'force_rport' },
  { key: 'rewriteContact', option: 'rewrite_contact' },
] as const;
const DEFAULT_PORT: Record<string, number> = { udp: 5060, tcp: 5060, tls: 5061 };
/** `localeCompare`'s order, without building a collator per call (thousands of findings on a big node). */
const BY_LOCALE = new Intl.Collator();

/** Every finding of one node's snapshot, sorted by severity, code and object. Pure. */
export function diagnose(input: DiagnosisInput, options: Partial<DiagnoseOptions> = {}): Finding[] {
  const steps = diagnoseSteps(input, options);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/**
 * `diagnose` one object at a time: it yields after each endpoint and each AOR, so a caller can give the
 * event loop its turn on a node with 10k endpoints (`runSliced`); the answer is the same. Pure.
 */
export function* diagnoseSteps(
  input: DiagnosisInput,
  options: Partial<DiagnoseOptions> = {},
): Generator<void, Finding[], void> {
  const opts = { ...DEFAULTS, ...options };
  const findings: Finding[] = [];
  const add = (code: FindingCode, f: Omit<Finding, 'code' | 'severity'>): void => {
    findings.push({ code, severity: FINDING_SEVERITY[code], ...f });
  };
  const transportByName = new Map(input.transports.map((t) => [t.name, t]));
  const aorByName = new Map(input.aors.map((a) => [str(a, 'objectName'), a]));
  const contexts = input.contexts && new Set(input.contexts);
  const moduleRunning = (m: string): boolean | undefined =>
    input.modules.find((x) => x.module === m)?.running;
  const wsContactEndpoints = new Set(
    input.contacts.filter((c) => WS_PROTOCOLS.has(c.transport)).map((c) => c.endpoint),
  );

  const externalByTransport = new Map(
    (input.configuredTransports ?? []).flatMap((t) =>
      t.externalAddress ? [[t.name, t.externalAddress] as const] : [],
    ),
  );

  const webrtcEndpoints: string[] = [];
  for (const { endpoint: ep, auths } of input.endpoints) {
    yield;
    const name = str(ep, 'objectName');
    const object = { type: 'endpoint' as const, name };
    const transportName = str(ep, 'transport');
    const transport = transportName ? transportByName.get(transportName) : undefined;
    const isWebrtc =
      ep.webrtc === true ||
      (transport !== undefined && WS_PROTOCOLS.has(transport.protocol)) ||
      wsContactEndpoints.has(name);
    if (isWebrtc) webrtcEndpoints.push(name);
    const aors = list(ep, 'aors');
    const identifyBy = list(ep, 'identifyBy');
    const usernames = auths.map((a) => str(a, 'username')).filter((u) => u.length > 0);

    const existing = aors.filter((a) => aorByName.has(a));
    const missingAors = aors.filter((a) => !aorByName.has(a));
    // The registrar takes the To user (or the auth username) only if it is listed in aors=, then needs
    // that AOR object: not listed → 404 "AOR '' not found"; listed but no such AOR → 404 "AOR 'x' not
    // found". An endpoint without auth registers too, unauthenticated; one whose AORs all refuse
    // registration (max_contacts=0, e.g. a trunk with a static contact=) never does.
    const registers =
      auths.length > 0 || existing.some((a) => Number(aorByName.get(a)?.maxContacts ?? 0) > 0);
    if (registers && !aors.includes(name) && !usernames.some((u) => aors.includes(u))) {
      add('AOR_NAME_MISMATCH', {
        object,
        message:
          aors.length === 0
            ? `endpoint '${name}' has no aors=: REGISTER gets 403 (AMI FailedACL registrar_attempt_without_configured_aors)`
            : `endpoint '${name}' has aors=${aors.join(',')}, but no AOR is named '${name}': REGISTER To: <sip:${name}@…> gets 404 (AOR '' not found)`,
        remedy:
          existing.length > 0
            ? `pjsip.conf: rename the AOR section [${existing[0]}] to [${name}] (type=aor) and set aors=${name} on endpoint [${name}]; then 'pjsip reload'`
            : `pjsip.conf: add an AOR section [${name}] (type=aor, max_contacts=1, remove_existing=yes) and set aors=${name} on endpoint [${name}]; then 'pjsip reload'`,
        evidence: { aors, authUsernames: usernames, existingAors: existing },
      });
    }

    if (missingAors.length > 0) {
      const registerUsers = [name, ...usernames].filter((u) => missingAors.includes(u));
      const effect =
        registerUsers.length > 0
          ? `REGISTER To: <sip:${registerUsers[0]}@…> gets 404 (AOR '${registerUsers[0]}' not found)`
          : 'the entry is dead: nothing can register to it and calls to the endpoint never use it';
      add('AOR_MISSING', {
        object,
        message: `endpoint '${name}' lists aors=${aors.join(',')}, but there is no AOR (type=aor section) ${missingAors.map((a) => `'${a}'`).join(', ')}: ${effect}`,
        remedy: `pjsip.conf: add ${missingAors.map((a) => `[${a}]`).join(', ')} with type=aor (max_contacts=1, remove_existing=yes for a phone), or remove ${missingAors.join(', ')} from aors= on endpoint [${name}]; then 'pjsip reload'`,
        evidence: { aors, missingAors, existingAors: existing, authUsernames: usernames },
      });
    }

    if (identifyBy.includes('username') && !identifyBy.includes('auth_username')) {
      for (const a of auths) {
        const u = str(a, 'username');
        if (u && u !== name) {
          add('AUTH_USERNAME_MISMATCH', {
            object,
            message: `endpoint '${name}' is identified by username, but its auth '${str(a, 'objectName')}' has username=${u}: clients that authenticate as '${name}' loop on 401`,
            remedy: `pjsip.conf: in [${str(a, 'objectName')}] set username=${name} (or add auth_username to identify_by on [${name}]); then 'pjsip reload'`,
            evidence: { identifyBy, auth: str(a, 'objectName'), username: u },
          });
        }
      }
    }

    if (transportName && !transport) {
      add('TRANSPORT_MISSING', {
        object,
        message: `endpoint '${name}' names transport '${transportName}', which is not running ("Unable to retrieve PJSIP transport")`,
        remedy: `pjsip.conf: add a [${transportName}] section with type=transport (then restart Asterisk: transports are only created at start-up), or set transport= on [${name}] to one of: ${[...transportByName.keys()].join(', ') || '(none)'}`,
        evidence: { transport: transportName, runningTransports: [...transportByName.keys()] },
      });
    }

    const context = str(ep, 'context');
    if (contexts && context && !contexts.has(context)) {
      add('CONTEXT_MISSING', {
        object,
        message: `endpoint '${name}' sends calls to context '${context}', which does not exist in the dialplan`,
        remedy: `extensions.conf: add a [${context}] context with the extensions this endpoint may dial (then 'dialplan reload'), or set context= on [${name}] to an existing one`,
        evidence: { context },
      });
    }

    const external = transportName ? externalByTransport.get(transportName) : undefined;
    if (external && transport && !WS_PROTOCOLS.has(transport.protocol)) {
      const missing = NAT_OPTIONS.filter((o) => ep[o.key] !== true).map((o) => o.option);
      if (missing.length > 0) {
        add('NAT_OPTIONS_MISSING', {
          object,
          message:
            `endpoint '${name}' uses transport '${transportName}', which faces the public side of a NAT ` +
            `(external address ${external}), without ${missing.join(', ')}: a device behind NAT gets its ` +
            `audio sent to the private address of its SDP (one-way audio) and its Contact and Via point to ` +
            `unreachable addresses (calls to it and re-INVITEs fail)`,
          remedy: `pjsip.conf: on endpoint [${name}] set ${missing.map((m) => `${m}=yes`).join(', ')} (direct_media=no too); then 'pjsip reload'`,
          evidence: {
            transport: transportName,
            externalAddress: external,
            rtpSymmetric: ep.rtpSymmetric === true,
            forceRport: ep.forceRport === true,
            rewriteContact: ep.rewriteContact === true,
          },
        });
      }
    }

    const modulesByCodec = parseAllow(str(ep, 'allow'));
    for (const codec of modulesByCodec) {
      const mod = CODEC_MODULES[codec];
      if (!mod) continue;
      if (moduleRunning(mod) === false) {
        add('CODEC_MODULE_MISSING', {
          object,
          message: `endpoint '${name}' allows ${codec}, but ${mod} is not running: calls that need a translation fail ("No translator path")`,
          remedy: `modules.conf: load => ${mod}.so (install it first if missing), then 'module load ${mod}.so'; or remove allow=${codec} from [${name}]`,
          evidence: { allow: modulesByCodec, codec, module: mod },
        });
      }
    }

    const encryption = str(ep, 'mediaEncryption');
    if ((encryption === 'dtls' || encryption === 'sdes') && moduleRunning('res_srtp') === false) {
      add('SRTP_MODULE_MISSING', {
        object,
        message: `endpoint '${name}' uses media_encryption=${encryption}, but res_srtp is not running: SRTP setup fails silently and the SDP negotiation fails`,
        remedy: 'modules.conf: load => res_srtp.so (remove any noload => res_srtp.so); then restart Asterisk',
        evidence: { mediaEncryption: encryption, res_srtp: 'not running' },
      });
    }

    if (!isWebrtc) continue;
    const missing: string[] = [];
    if (ep.rtcpMux !== true) missing.push('rtcp_mux=yes');
    if (ep.iceSupport !== true) missing.push('ice_support=yes');
    if (ep.useAvpf !== true) missing.push('use_avpf=yes');
    if (encryption !== 'dtls') missing.push('media_encryption=dtls');
    if (!str(ep, 'dtlsCertFile') && ep.dtlsAutoGenerateCert !== true)
      missing.push('dtls_auto_generate_cert=yes');
    if (missing.length) {
      add('WEBRTC_ENDPOINT_INCOMPLETE', {
        object,
        message: `endpoint '${name}' serves WebSocket/WebRTC clients but lacks ${missing.join(', ')}: browsers fail with "RTCP-MUX is not enabled when it is required" or 488 Not Acceptable Here`,
        remedy: `pjsip.conf: in [${name}] set webrtc=yes (or ${missing.join(', ')}); then 'pjsip reload'`,
        evidence: {
          webrtc: ep.webrtc,
          rtcpMux: ep.rtcpMux,
          iceSupport: ep.iceSupport,
          useAvpf: ep.useAvpf,
          mediaEncryption: encryption,
          dtlsCertFile: str(ep, 'dtlsCertFile'),
          dtlsAutoGenerateCert: ep.dtlsAutoGenerateCert,
        },
      });
    }
    if (ep.directMedia === true) {
      add('WEBRTC_DIRECT_MEDIA', {
        object,
        message: `WebRTC endpoint '${name}' has direct_media=yes (webrtc=yes does not turn it off): browsers cannot exchange DTLS-SRTP with plain-RTP peers, so media must go through Asterisk`,
        remedy: `pjsip.conf: in [${name}] set direct_media=no; then 'pjsip reload'`,
        evidence: { directMedia: true },
      });
    }
    const rtpTimeout = typeof ep.rtpTimeout === 'number' ? ep.rtpTimeout : 0;
    if (rtpTimeout === 0) {
      add('RTP_TIMEOUT_UNSET', {
        object,
        message: `WebRTC endpoint '${name}' has no rtp_timeout: a browser tab that is closed mid-call leaves a dead call up forever`,
        remedy: `pjsip.conf: in [${name}] set rtp_timeout=30 (and rtp_timeout_hold=60); then 'pjsip reload'`,
        evidence: { rtpTimeout },
      });
    } else if (rtpTimeout < opts.shortRtpTimeoutSec) {
      add('RTP_TIMEOUT_SHORT', {
        object,
        message: `WebRTC endpoint '${name}' has rtp_timeout=${rtpTimeout}: calls are cut during silence or hold when the browser stops sending RTP`,
        remedy: `pjsip.conf: in [${name}] set rtp_timeout=30 or more; then 'pjsip reload'`,
        evidence: { rtpTimeout, minimum: opts.shortRtpTimeoutSec },
      });
    }
  }

  // WebSocket clients need the transport module, res_http_websocket, and /ws on the HTTP server.
  const wsTransports = input.transports.filter((t) => WS_PROTOCOLS.has(t.protocol)).map((t) => t.name);
  if (webrtcEndpoints.length > 0 || wsTransports.length > 0) {
    const problems: string[] = [];
    if (moduleRunning('res_pjsip_transport_websocket') === false)
      problems.push('res_pjsip_transport_websocket is not Running');
    if (moduleRunning('res_http_websocket') === false) problems.push('res_http_websocket is not Running');
    if (input.http && !input.http.enabled && !input.http.tls.enabled)
      problems.push('the HTTP server is disabled');
    else if (input.http && !input.http.websocket) problems.push('the HTTP server has no /ws');
    if (problems.length) {
      add('WEBSOCKET_TRANSPORT_NOT_RUNNING', {
        object: { type: 'module', name: 'res_pjsip_transport_websocket' },
        message: `${problems.join('; ')}, while endpoints ${webrtcEndpoints.join(', ') || '(via ws transports)'} expect WebSocket clients: browsers cannot connect`,
        remedy:
          'http.conf: [general] enabled=yes, bindaddr=0.0.0.0, bindport=8088 (tlsenable=yes, tlsbindaddr=0.0.0.0:8089 for wss); modules.conf: load => res_http_websocket.so, preload => res_pjsip.so, preload => res_pjsip_transport_websocket.so (chan_sip must not claim the WebSocket first); then restart Asterisk',
        evidence: {
          problems,
          endpoints: webrtcEndpoints,
          wsTransports,
          httpEnabled: input.http?.enabled ?? null,
          wsPath: input.http?.websocket ?? null,
        },
      });
    }
  }

  for (const aor of input.aors) {
    yield;
    if (aor.maxContacts === 1 && aor.removeExisting !== true) {
      const name = str(aor, 'objectName');
      add('MAX_CONTACTS_WITHOUT_REMOVE_EXISTING', {
        object: { type: 'aor', name },
        message: `AOR '${name}' has max_contacts=1 without remove_existing=yes: a registration from a new tab or device is refused while the old one lives`,
        remedy: `pjsip.conf: in [${name}] (type=aor) set remove_existing=yes (or raise max_contacts); then 'pjsip reload'`,
        evidence: { maxContacts: 1, removeExisting: aor.removeExisting ?? null },
      });
    }
  }

  const http = input.http;
  if (http?.tls.enabled && input.tlsCertificate) {
    const cert = input.tlsCertificate;
    const object = { type: 'http' as const, name: http.tls.bindAddress ?? 'https' };
    const validTo = cert.validTo ? Date.parse(cert.validTo) : NaN;
    if (cert.error || (Number.isFinite(validTo) && validTo <= input.now)) {
      add('TLS_CERT_INVALID', {
        object,
        message: `the HTTPS/WSS certificate on ${http.tls.bindAddress ?? '?'} is not acceptable to browsers (${cert.error ?? 'expired'}): the WebSocket closes with 1006`,
        remedy:
          "http.conf: tlscertfile=/etc/asterisk/keys/<fullchain>.pem and tlsprivatekey=/etc/asterisk/keys/<key>.pem from a CA browsers trust (e.g. Let's Encrypt) for the host name clients use; then 'module reload http'",
        evidence: { ...cert },
      });
    } else if (Number.isFinite(validTo) && validTo - input.now < opts.certExpiringDays * 86_400_000) {
      add('TLS_CERT_EXPIRING', {
        object,
        message: `the HTTPS/WSS certificate on ${http.tls.bindAddress ?? '?'} expires ${cert.validTo}: after that browsers close the WebSocket with 1006`,
        remedy: "renew the certificate in http.conf tlscertfile= (same file name), then 'module reload http'",
        evidence: { ...cert, daysLeft: Math.floor((validTo - input.now) / 86_400_000) },
      });
    }
  }

  if (input.configuredTransports) {
    const configured = new Map(input.configuredTransports.map((t) => [t.name, t]));
    for (const t of input.configuredTransports) {
      const running = transportByName.get(t.name);
      const diff = running ? transportDiff(t, running) : ['not running'];
      if (diff.length === 0) continue;
      add('RESTART_REQUIRED', {
        object: { type: 'transport', name: t.name },
        message: `transport '${t.name}' in pjsip.conf differs from the running one (${diff.join('; ')}): PJSIP only builds transports at start-up`,
        remedy:
          "restart Asterisk ('core restart gracefully'); 'pjsip reload' does not rebuild transports unless allow_reload=yes",
        evidence: { configured: t, running: running ?? null },
      });
    }
    for (const r of input.transports) {
      if (configured.has(r.name)) continue;
      add('RESTART_REQUIRED', {
        object: { type: 'transport', name: r.name },
        message: `transport '${r.name}' is running but no longer in pjsip.conf: it stays until Asterisk restarts`,
        remedy:
          "restart Asterisk ('core restart gracefully') to drop it, or put the section back in pjsip.conf",
        evidence: { configured: null, running: r },
      });
    }
  }

  for (const r of input.registrations ?? []) {
    yield;
    const object = { type: 'registration' as const, name: r.name };
    if (r.missingAuths.length > 0) {
      add('OUTBOUND_AUTH_MISSING', {
        object,
        message:
          `outbound registration '${r.name}' has outbound_auth=${r.outboundAuths.join(',')}, but there is no ` +
          `auth section ${r.missingAuths.map((a) => `'${a}'`).join(', ')}: Asterisk cannot answer the ` +
          `registrar's 401 and stops registering ("Fatal response '401'")`,
        remedy: `pjsip.conf: add ${r.missingAuths.map((a) => `[${a}]`).join(', ')} with type=auth, auth_type=userpass, username= and password= as the provider gave them (or fix the name in outbound_auth= on [${r.name}]); then 'pjsip reload'`,
        evidence: { outboundAuths: r.outboundAuths, missingAuths: r.missingAuths },
      });
    }
    if (r.serverHostResolves === false) {
      add('SERVER_URI_UNRESOLVED', {
        object,
        message:
          `outbound registration '${r.name}' registers to ${r.serverUri}, but '${r.serverHost}' does not ` +
          `resolve (no A/AAAA and no _sip SRV record): every REGISTER fails ("No response received") and ` +
          `the trunk stays down`,
        remedy: `pjsip.conf: fix server_uri= on [${r.name}] (the provider's registrar host), or the DNS of this machine (resolv.conf); then 'pjsip reload'`,
        evidence: { serverUri: r.serverUri, host: r.serverHost },
      });
    }
  }

  const rank: Record<Severity, number> = { error: 0, warning: 1, info: 2 };
  return findings.sort(
    (a, b) =>
      rank[a.severity] - rank[b.severity] ||
      BY_LOCALE.compare(a.code, b.code) ||
      BY_LOCALE.compare(a.object.name, b.object.name),
  );
}

function transportDiff(conf: ConfiguredTransport, running: TransportRow): string[] {
  const out: string[] = [];
  if (conf.protocol !== running.protocol) out.push(`protocol ${running.protocol} → ${conf.protocol}`);
  // A ws/wss transport's bind is ignored: it rides the HTTP server.
  if (
    !WS_PROTOCOLS.has(conf.protocol) &&
    normaliseBind(conf.bind, conf.protocol) !== normaliseBind(running.bindAddress, running.protocol)
  ) {
    out.push(`bind ${running.bindAddress} → ${conf.bind}`);
  }
  return out;
}

function normaliseBind(bind: string, protocol: string): string {
  const b = bind.trim() || '0.0.0.0';
  if (/^(\d+\.\d+\.\d+\.\d+|\[[^\]]*\]):\d+$/.test(b)) return b;
  if (/^\d+\.\d+\.\d+\.\d+$/.test(b) || /^\[[^\]]*\]$/.test(b))
    return `${b}:${DEFAULT_PORT[protocol] ?? 5060}`;
  return b;
}
