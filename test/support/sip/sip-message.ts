/**
 * A minimal SIP message model for the test clients: parse and serialize requests and responses,
 * case-insensitive header access, Content-Length, and a few helpers for tags, branches and SDP.
 *
 * Deliberately small: enough to talk to Asterisk (RFC 3261 text framing over UDP datagrams and
 * WebSocket messages), not a general SIP stack.
 */
import { randomBytes } from 'node:crypto';

/** Header lines in wire order; the same name may appear several times (Via, Record-Route …). */
export type SipHeaders = Array<[name: string, value: string]>;

export interface SipRequest {
  readonly kind: 'request';
  method: string;
  uri: string;
  headers: SipHeaders;
  body: string;
}

export interface SipResponse {
  readonly kind: 'response';
  status: number;
  reason: string;
  headers: SipHeaders;
  body: string;
}

export type SipMessage = SipRequest | SipResponse;

/** Compact header forms (RFC 3261 §7.3.3), expanded when parsing so lookups by full name work. */
const COMPACT: Readonly<Record<string, string>> = {
  i: 'Call-ID',
  m: 'Contact',
  e: 'Content-Encoding',
  l: 'Content-Length',
  c: 'Content-Type',
  f: 'From',
  s: 'Subject',
  k: 'Supported',
  t: 'To',
  v: 'Via',
};

/** First value of a header (case-insensitive name), or undefined. */
export function getHeader(msg: SipMessage, name: string): string | undefined {
  const lower = name.toLowerCase();
  const found = msg.headers.find(([n]) => n.toLowerCase() === lower);
  return found?.[1];
}

/** Every value of a header, in order (a comma-joined line counts as one value). */
export function getHeaders(msg: SipMessage, name: string): string[] {
  const lower = name.toLowerCase();
  return msg.headers.filter(([n]) => n.toLowerCase() === lower).map(([, v]) => v);
}

/** Replaces every occurrence of a header by one line (or removes it when value is undefined). */
export function setHeader(msg: SipMessage, name: string, value: string | undefined): void {
  const lower = name.toLowerCase();
  const index = msg.headers.findIndex(([n]) => n.toLowerCase() === lower);
  msg.headers = msg.headers.filter(([n]) => n.toLowerCase() !== lower);
  if (value === undefined) return;
  msg.headers.splice(index < 0 ? msg.headers.length : index, 0, [name, value]);
}

/** Thrown for text that is not a SIP message. */
export class SipParseError extends Error {
  override readonly name = 'SipParseError';
}

/**
 * Parses one SIP message. Header folding (continuation lines) is unfolded, compact names are
 * expanded, and the body is cut to Content-Length when present.
 */
export function parseSipMessage(data: Buffer | string): SipMessage {
  const text = typeof data === 'string' ? data : data.toString('utf8');
  let headEnd = text.indexOf('\r\n\r\n');
  let sepLen = 4;
  if (headEnd < 0) {
    headEnd = text.indexOf('\n\n');
    sepLen = 2;
  }
  if (headEnd < 0) {
    // A message without a body and without the final empty line: tolerate it.
    headEnd = text.length;
    sepLen = 0;
  }
  const lines = text.slice(0, headEnd).split(/\r?\n/);
  const startLine = lines.shift()?.trim() ?? '';
  if (startLine === '') throw new SipParseError('empty SIP message');

  const headers: SipHeaders = [];
  for (const line of lines) {
    if (line === '') continue;
    if (/^[ \t]/.test(line) && headers.length > 0) {
      const last = headers[headers.length - 1];
      last[1] = `${last[1]} ${line.trim()}`;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) throw new SipParseError(`malformed header line: ${JSON.stringify(line)}`);
    const rawName = line.slice(0, colon).trim();
    const name = COMPACT[rawName.toLowerCase()] ?? rawName;
    headers.push([name, line.slice(colon + 1).trim()]);
  }

  let body = text.slice(Math.min(text.length, headEnd + sepLen));
  const lengthHeader = headers.find(([n]) => n.toLowerCase() === 'content-length')?.[1];
  if (lengthHeader !== undefined) {
    const length = Number.parseInt(lengthHeader, 10);
    if (!Number.isFinite(length) || length < 0)
      throw new SipParseError(`bad Content-Length: ${lengthHeader}`);
    body = Buffer.from(body, 'utf8').subarray(0, length).toString('utf8');
  }

  const statusMatch = /^SIP\/2\.0\s+(\d{3})\s*(.*)$/i.exec(startLine);
  if (statusMatch) {
    return {
      kind: 'response',
      status: Number(statusMatch[1]),
      reason: statusMatch[2],
      headers,
      body,
    };
  }
  const requestMatch = /^([A-Za-z]+)\s+(\S+)\s+SIP\/2\.0$/i.exec(startLine);
  if (requestMatch) {
    return { kind: 'request', method: requestMatch[1].toUpperCase(), uri: requestMatch[2], headers, body };
  }
  throw new SipParseError(`not a SIP start line: ${JSON.stringify(startLine)}`);
}

/** Serializes a message; Content-Length is always (re)computed from the body. */
export function serializeSipMessage(msg: SipMessage): string {
  const start =
    msg.kind === 'request' ? `${msg.method} ${msg.uri} SIP/2.0` : `SIP/2.0 ${msg.status} ${msg.reason}`;
  const lines = [start];
  for (const [name, value] of msg.headers) {
    if (name.toLowerCase() === 'content-length') continue;
    lines.push(`${name}: ${value}`);
  }
  lines.push(`Content-Length: ${Buffer.byteLength(msg.body, 'utf8')}`);
  return `${lines.join('\r\n')}\r\n\r\n${msg.body}`;
}

export function createRequest(method: string, uri: string, headers: SipHeaders, body = ''): SipRequest {
  return { kind: 'request', method, uri, headers, body };
}

/**
 * Builds a response to `req`: copies Via (all), From, To, Call-ID and CSeq; adds `toTag` to To when
 * the request's To has no tag yet (required for every response but 100).
 */
export function createResponse(
  req: SipRequest,
  status: number,
  reason: string,
  options: { toTag?: string; headers?: SipHeaders; body?: string } = {},
): SipResponse {
  const headers: SipHeaders = getHeaders(req, 'Via').map((v): [string, string] => ['Via', v]);
  headers.push(['From', getHeader(req, 'From') ?? '']);
  let to = getHeader(req, 'To') ?? '';
  if (status > 100 && options.toTag !== undefined && headerParam(to, 'tag') === undefined) {
    to = `${to};tag=${options.toTag}`;
  }
  headers.push(['To', to]);
  headers.push(['Call-ID', getHeader(req, 'Call-ID') ?? '']);
  headers.push(['CSeq', getHeader(req, 'CSeq') ?? '']);
  headers.push(...(options.headers ?? []));
  return { kind: 'response', status, reason, headers, body: options.body ?? '' };
}

/** Lower-case hex token of `bytes` random bytes. */
export function randomToken(bytes = 8): string {
  return randomBytes(bytes).toString('hex');
}

/** A Via branch with the RFC 3261 magic cookie. */
export function newBranch(): string {
  return `z9hG4bK${randomToken(10)}`;
}

export function newTag(): string {
  return randomToken(6);
}

export function newCallId(): string {
  return `${randomToken(12)}@pbxpulse-test`;
}

export function parseCSeq(value: string | undefined): { seq: number; method: string } | undefined {
  const m = /^\s*(\d+)\s+([A-Za-z]+)\s*$/.exec(value ?? '');
  return m ? { seq: Number(m[1]), method: m[2].toUpperCase() } : undefined;
}

/** The part of a header value after its address/value: `;`-separated parameters outside `<…>` and quotes. */
function paramSection(value: string): string {
  const close = value.lastIndexOf('>');
  if (close >= 0) return value.slice(close + 1);
  // No angle brackets: for name-addr-less values (Via, addr-spec) params follow the first ';'.
  const semi = value.indexOf(';');
  return semi >= 0 ? value.slice(semi) : '';
}

/**
 * A header parameter (`;name=value`, case-insensitive name) such as the To tag, the Via branch or the
 * Contact expires. A parameter without `=` yields ''. Undefined when absent.
 */
export function headerParam(value: string, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const part of paramSection(value).split(';')) {
    const trimmed = part.trim();
    if (trimmed === '') continue;
    const eq = trimmed.indexOf('=');
    const key = (eq < 0 ? trimmed : trimmed.slice(0, eq)).trim().toLowerCase();
    if (key === lower)
      return eq < 0
        ? ''
        : trimmed
            .slice(eq + 1)
            .trim()
            .replace(/^"(.*)"$/, '$1');
  }
  return undefined;
}

/** The URI of a name-addr (`"x" <sip:a@b>;tag=1` → `sip:a@b`) or of an addr-spec (`sip:a@b;tag=1` → `sip:a@b`). */
export function extractUri(value: string): string {
  const lt = value.indexOf('<');
  const gt = value.indexOf('>', lt + 1);
  if (lt >= 0 && gt > lt) return value.slice(lt + 1, gt).trim();
  const semi = value.indexOf(';');
  return (semi >= 0 ? value.slice(0, semi) : value).trim();
}

/** Branch of the top Via of a message. */
export function topViaBranch(msg: SipMessage): string | undefined {
  const top = getHeaders(msg, 'Via')[0];
  if (top === undefined) return undefined;
  // A comma-joined Via line: the top one is the first element.
  const first = top.split(',')[0];
  return headerParam(first, 'branch');
}

// ------------------------------------------------------------------------------------------------ SDP

export interface SdpAudio {
  /** Connection address that applies to the audio stream (media-level c= wins over session-level). */
  readonly address: string | undefined;
  readonly port: number;
  readonly protocol: string;
  readonly payloadTypes: number[];
  /** a=rtpmap entries by payload type, e.g. 0 → 'PCMU/8000'. */
  readonly rtpmap: ReadonlyMap<number, string>;
  /** sendrecv / sendonly / recvonly / inactive (default sendrecv). */
  readonly direction: string;
}

export interface ParsedSdp {
  readonly sessionAddress: string | undefined;
  readonly audio: SdpAudio | undefined;
}

/** Parses the parts of an SDP body the tests need: the audio m= line and its connection address. */
export function parseSdp(body: string): ParsedSdp {
  let sessionAddress: string | undefined;
  let audio:
    | {
        address: string | undefined;
        port: number;
        protocol: string;
        payloadTypes: number[];
        rtpmap: Map<number, string>;
        direction: string;
      }
    | undefined;
  let inAudio = false;
  let seenMedia = false;
  for (const raw of body.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.length < 2 || line[1] !== '=') continue;
    const type = line[0];
    const value = line.slice(2);
    if (type === 'm') {
      seenMedia = true;
      const [media, port, protocol, ...fmts] = value.split(/\s+/);
      inAudio = media === 'audio' && audio === undefined;
      if (inAudio) {
        audio = {
          address: undefined,
          port: Number(port),
          protocol,
          payloadTypes: fmts.map(Number).filter((n) => Number.isInteger(n)),
          rtpmap: new Map(),
          direction: 'sendrecv',
        };
      }
    } else if (type === 'c') {
      const address = value.split(/\s+/)[2];
      if (!seenMedia) sessionAddress = address;
      else if (inAudio && audio) audio.address = address;
    } else if (type === 'a' && inAudio && audio) {
      const rtpmap = /^rtpmap:(\d+)\s+(\S+)/.exec(value);
      if (rtpmap) audio.rtpmap.set(Number(rtpmap[1]), rtpmap[2]);
      else if (/^(sendrecv|sendonly|recvonly|inactive)$/.test(value)) audio.direction = value;
    }
  }
  if (audio && audio.address === undefined) audio.address = sessionAddress;
  return { sessionAddress, audio };
}

/** An SDP offer/answer for one PCMU audio stream with telephone-event/8000 on payload 101. */
export function buildPcmuSdp(options: {
  address: string;
  port: number;
  sessionId: number;
  version?: number;
}): string {
  const { address, port, sessionId } = options;
  const version = options.version ?? 1;
  return [
    'v=0',
    `o=pbxpulse-test ${sessionId} ${version} IN IP4 ${address}`,
    's=pbxpulse-test',
    `c=IN IP4 ${address}`,
    't=0 0',
    `m=audio ${port} RTP/AVP 0 101`,
    'a=rtpmap:0 PCMU/8000',
    'a=rtpmap:101 telephone-event/8000',
    'a=fmtp:101 0-16',
    'a=ptime:20',
    'a=sendrecv',
    '',
  ].join('\r\n');
}
