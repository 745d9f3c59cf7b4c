import type {
  ConfiguredTransport,
  HttpStatus,
  ModuleRow,
  PjsipObject,
  PjsipValue,
  RegistrationCliRow,
  TransportRow,
} from '../common/pbx.records';

/**
 * Pure parsers of what Asterisk answers to the PJSIP list actions and to a few read-only CLI commands
 * run through the AMI `Command` action. Nothing here touches a socket: tests feed recorded outputs.
 */

/**
 * Secrets never leave the daemon: auth `Password`/`Md5Cred`/`PasswordDigest`/`OauthSecret`/
 * `RefreshToken`, a TLS transport's key `Password`. Dropped when the frame is parsed.
 */
const SECRET_KEY = /pass|md5|secret|token/i;

/** Headers of the AMI frame itself, not options of the object. */
const FRAME_KEYS = new Set(['Event', 'ActionID', 'EventList', 'Privilege']);

/**
 * Options that hold names, lists or free text: never turned into numbers or booleans even when they
 * look like one (`ObjectName: 1001`, `Context: 0`, `Aors: 2001`).
 */
const STRING_KEYS = new Set([
  'objectName',
  'objectType',
  'aor',
  'aors',
  'auth',
  'auths',
  'outboundAuth',
  'outboundAuths',
  'context',
  'transport',
  'username',
  'realm',
  'endpointName',
  'endpoint',
  'mailboxes',
  'fromUser',
  'fromDomain',
  'callerid',
  'accountcode',
  'voicemailExtension',
  'subscribeContext',
  'messageContext',
  'overlapContext',
  'incomingMwiMailbox',
  'mwiFromUser',
  'pickupGroup',
  'callGroup',
  'namedPickupGroup',
  'namedCallGroup',
  'contacts',
  'contact',
  'uri',
  'callId',
  'userAgent',
  'setVar',
  'language',
  'toneZone',
  'mohSuggest',
  'calleridTag',
  'serverUri',
  'clientUri',
  'id',
  'bind',
  'domain',
]);

/**
 * Asterisk's CamelCase key as camelCase: `RtcpMux` → `rtcpMux`, `100rel` → `100rel`, and the acronyms
 * of contact items whole: `AOR` → `aor`, `URI` → `uri`, `ID` → `id`, `CallID` → `callId`.
 */
export function lowerFirst(key: string): string {
  let out = KEY_NAMES.get(key);
  if (out === undefined) {
    out = lowerFirstUncached(key);
    // Asterisk sends the same few hundred option names in every item: a 10k-endpoint read would run
    // these regexes millions of times. The cap only guards against a stream of made-up header names.
    if (KEY_NAMES.size < 5000) KEY_NAMES.set(key, out);
  }
  return out;
}

const KEY_NAMES = new Map<string, string>();

function lowerFirstUncached(key: string): string {
  if (/^[A-Z0-9]+$/.test(key)) return key.toLowerCase();
  const k = key.replace(/([a-z0-9])ID$/, '$1Id');
  // A leading acronym before a word (`URIParam` → `uriParam`).
  const acronym = /^[A-Z]+(?=[A-Z][a-z])/.exec(k);
  if (acronym) return acronym[0].toLowerCase() + k.slice(acronym[0].length);
  return k.length === 0 ? k : k[0].toLowerCase() + k.slice(1);
}

/** `yes/no/true/false` (any case) → boolean, decimal numbers → number, anything else unchanged. */
export function normaliseValue(key: string, raw: string): PjsipValue {
  if (STRING_KEYS.has(key)) return raw;
  const v = raw.trim();
  const lower = v.toLowerCase();
  if (lower === 'yes' || lower === 'true') return true;
  if (lower === 'no' || lower === 'false') return false;
  if (/^-?\d+(\.\d+)?$/.test(v) && v.length < 16) return Number(v);
  return raw;
}

/**
 * An AMI list item (EndpointDetail, AuthList, AorList …) as a normalised object without secrets; with
 * `only`, just those (normalised) keys: a reader of 10k endpoints that needs 15 of their ~130 options
 * neither converts nor keeps the others.
 */
export function normaliseObject(fields: Record<string, string>, only?: ReadonlySet<string>): PjsipObject {
  const out: PjsipObject = {};
  for (const k in fields) {
    if (FRAME_KEYS.has(k) || SECRET_KEY.test(k)) continue;
    const key = lowerFirst(k);
    if (only && !only.has(key)) continue;
    out[key] = normaliseValue(key, fields[k]);
  }
  return out;
}

// ------------------------------------------------------------------ module show like

/**
 * Rows of `module show like <x>`: `%-30s %-40.40s %-10d %-11s %13s` (name, description, use count,
 * Running/Not Running, support level). A long name pushes the other columns right, and the description
 * may contain spaces, so the row is read from both ends.
 */
export function parseModuleShowLike(lines: readonly string[]): ModuleRow[] {
  const rows: ModuleRow[] = [];
  for (const line of lines) {
    const m = /^(\S+\.so)\s+(.*?)\s+(-?\d+)\s+(Running|Not Running)\s+(\S+)\s*$/.exec(line);
    if (!m) continue;
    rows.push({
      name: m[1],
      description: m[2].trim(),
      useCount: Number(m[3]),
      running: m[4] === 'Running',
      supportLevel: m[5],
    });
  }
  return rows;
}

// ------------------------------------------------------------------ http show status

/** `http show status` (main/http.c `handle_show_http`). */
export function parseHttpStatus(lines: readonly string[]): HttpStatus {
  const status: HttpStatus = {
    enabled: false,
    bindAddress: null,
    tls: { enabled: false, bindAddress: null },
    prefix: '',
    uris: [],
    websocket: false,
  };
  let section: 'none' | 'uris' | 'other' = 'none';
  for (const raw of lines) {
    const line = raw.trim();
    let m: RegExpExecArray | null;
    if ((m = /^HTTPS Server Enabled and Bound to (\S+)/.exec(line))) {
      status.tls = { enabled: true, bindAddress: m[1] };
    } else if ((m = /^Server Enabled and Bound to (\S+)/.exec(line))) {
      status.enabled = true;
      status.bindAddress = m[1];
    } else if ((m = /^Prefix:\s*(.*)$/.exec(line))) {
      status.prefix = m[1];
    } else if (/^Enabled URI's:/.test(line)) {
      section = 'uris';
    } else if (/^(Enabled Redirects|Path Restrictions):/.test(line)) {
      section = 'other';
    } else if (section === 'uris' && (m = /^(\/\S*)\s+=>\s+(.*)$/.exec(line))) {
      status.uris.push({ path: m[1], description: m[2] });
    }
  }
  const wsPath = `${status.prefix ? `/${status.prefix.replace(/^\/+/, '')}` : ''}/ws`;
  status.websocket = status.uris.some((u) => u.path === '/ws' || u.path === wsPath);
  return status;
}

// ------------------------------------------------------------------ pjsip show transports

/** Rows of `pjsip show transports`: `Transport:  <name>  <type>  <cos>  <tos>  <bind>`; the header row is skipped. */
export function parseTransports(lines: readonly string[]): TransportRow[] {
  const rows: TransportRow[] = [];
  for (const line of lines) {
    const m = /^\s*Transport:\s+(\S+)\s+(\S+)\s+(\d+)\s+(\d+)\s+(\S+)\s*$/.exec(line);
    if (!m || m[1].startsWith('<')) continue;
    rows.push({
      name: m[1],
      protocol: m[2].toLowerCase(),
      cos: Number(m[3]),
      tos: Number(m[4]),
      bindAddress: m[5],
    });
  }
  return rows;
}

// ------------------------------------------------------------------ GetConfig pjsip.conf

/** The transport options read from pjsip.conf; every other line (passwords included) is ignored. */
const TRANSPORT_OPTIONS: ReadonlySet<string> = new Set([
  'type',
  'protocol',
  'bind',
  'external_signaling_address',
  'external_media_address',
]);

/**
 * Transport sections of a `GetConfig Filename: pjsip.conf` answer (`Category-000002: transport-ws`,
 * `Line-000002-000001: protocol=ws`). Only TRANSPORT_OPTIONS are read: every other line (passwords
 * included) is ignored here and never stored.
 */
export function parseConfiguredTransports(fields: Record<string, string>): ConfiguredTransport[] {
  const cats = new Map<string, { name: string; opts: Map<string, string> }>();
  const templates = new Set<string>();
  for (const [k, v] of Object.entries(fields)) {
    // `[tmpl](!)` is no transport, only a base for others (which carry its lines as their own).
    const t = /^IsTemplate-(\d+)$/.exec(k);
    if (t) {
      if (v.trim() === '1') templates.add(t[1]);
      continue;
    }
    const c = /^Category-(\d+)$/.exec(k);
    if (c) {
      const entry = cats.get(c[1]) ?? { name: v, opts: new Map<string, string>() };
      entry.name = v;
      cats.set(c[1], entry);
      continue;
    }
    const l = /^Line-(\d+)-\d+$/.exec(k);
    if (!l) continue;
    const eq = v.indexOf('=');
    if (eq < 0) continue;
    const opt = v.slice(0, eq).trim().toLowerCase();
    if (!TRANSPORT_OPTIONS.has(opt)) continue;
    const entry = cats.get(l[1]) ?? { name: '', opts: new Map<string, string>() };
    entry.opts.set(opt, v.slice(eq + 1).trim());
    cats.set(l[1], entry);
  }
  const out: ConfiguredTransport[] = [];
  for (const [id, { name, opts }] of cats) {
    if (opts.get('type') !== 'transport' || templates.has(id)) continue;
    const t: ConfiguredTransport = {
      name,
      protocol: (opts.get('protocol') ?? 'udp').toLowerCase(),
      bind: opts.get('bind') ?? '',
    };
    const external = opts.get('external_signaling_address') || opts.get('external_media_address');
    if (external) t.externalAddress = external;
    out.push(t);
  }
  return out;
}

// ------------------------------------------------------------------ dialplan

/** Context names of `dialplan show` headers: `[ Context 'internal' created by 'pbx_config' ]`. */
export function parseDialplanContexts(lines: readonly string[]): string[] {
  const out: string[] = [];
  for (const line of lines) {
    const m = /^\[ Context '(.*)' created by '.*' \]\s*$/.exec(line.trim());
    if (m) out.push(m[1]);
  }
  return out;
}

/**
 * Rows of `pjsip show registrations`: ` <name>/<server uri>  <auth|n/a>  <Status>  (exp. 28s)`. The
 * `(exp. …)` column (Asterisk 22) is the only place Asterisk tells when it will try again: the AMI list's
 * `NextReg` stays 0 (pjsip's own refresh timer is unused), and a rejection it will not retry reads
 * `(exp. 17s ago)`.
 */
export function parseRegistrationRows(lines: readonly string[]): RegistrationCliRow[] {
  const rows: RegistrationCliRow[] = [];
  for (const line of lines) {
    const m = REGISTRATION_ROW.exec(line);
    if (!m) continue;
    const secs = m[3] === undefined ? null : Number(m[3]);
    rows.push({
      name: m[1],
      status: m[2] as RegistrationCliRow['status'],
      nextAttemptSec: secs === null ? null : m[4] ? -secs : secs,
    });
  }
  return rows;
}

const REGISTRATION_ROW =
  /^\s*([^\s/<]+)\/\S*\s+\S+\s+(Registered|Unregistered|Rejected|Stopped)\b(?:\s+\(exp\. (\d+)s( ago)?\))?/;
