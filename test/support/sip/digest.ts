/**
 * HTTP Digest authentication for SIP (RFC 2617, RFC 7616 / RFC 8760 algorithms): parse a
 * WWW-Authenticate / Proxy-Authenticate challenge and compute the Authorization value.
 *
 * qop=auth with cnonce/nc when the challenge offers it, the RFC 2069 form (no qop) otherwise.
 * qop=auth-int is not supported (Asterisk never requires it).
 */
import { createHash, randomBytes } from 'node:crypto';

export interface DigestChallenge {
  readonly realm: string;
  readonly nonce: string;
  readonly opaque: string | undefined;
  /** As sent (e.g. 'MD5', 'SHA-256', 'MD5-sess'); 'MD5' when absent. */
  readonly algorithm: string;
  /** qop options offered, lower-case (e.g. ['auth']); empty for an RFC 2069 challenge. */
  readonly qop: string[];
  readonly stale: boolean;
}

/** Hash function names (node:crypto) by digest algorithm name, upper-case, without `-sess`. */
const HASHES: Readonly<Record<string, string>> = {
  MD5: 'md5',
  'SHA-256': 'sha256',
  'SHA-512-256': 'sha512-256',
};

function baseAlgorithm(algorithm: string): { hash: string | undefined; sess: boolean } {
  const upper = algorithm.toUpperCase();
  const sess = upper.endsWith('-SESS');
  return { hash: HASHES[sess ? upper.slice(0, -5) : upper], sess };
}

export function isSupportedAlgorithm(algorithm: string): boolean {
  return baseAlgorithm(algorithm).hash !== undefined;
}

/** Parses `k=v, k="quoted, with commas", …` (quoted-string escapes honoured); keys lower-cased. */
export function parseAuthParams(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  const n = text.length;
  while (i < n) {
    while (i < n && /[\s,]/.test(text[i])) i++;
    const keyStart = i;
    while (i < n && text[i] !== '=' && text[i] !== ',') i++;
    const key = text.slice(keyStart, i).trim().toLowerCase();
    if (i >= n || text[i] === ',') {
      if (key !== '') out[key] = '';
      continue;
    }
    i++; // '='
    while (i < n && /\s/.test(text[i])) i++;
    let value = '';
    if (text[i] === '"') {
      i++;
      while (i < n && text[i] !== '"') {
        if (text[i] === '\\' && i + 1 < n) i++;
        value += text[i];
        i++;
      }
      i++; // closing quote
    } else {
      const valueStart = i;
      while (i < n && text[i] !== ',') i++;
      value = text.slice(valueStart, i).trim();
    }
    if (key !== '') out[key] = value;
  }
  return out;
}

/** Parses one `Digest …` challenge; undefined for another scheme or when realm/nonce is missing. */
export function parseDigestChallenge(headerValue: string): DigestChallenge | undefined {
  const m = /^\s*Digest\s+(.*)$/is.exec(headerValue);
  if (!m) return undefined;
  const params = parseAuthParams(m[1]);
  if (params.realm === undefined || params.nonce === undefined) return undefined;
  return {
    realm: params.realm,
    nonce: params.nonce,
    opaque: params.opaque,
    algorithm: params.algorithm === undefined || params.algorithm === '' ? 'MD5' : params.algorithm,
    qop: (params.qop ?? '')
      .split(',')
      .map((q) => q.trim().toLowerCase())
      .filter((q) => q !== ''),
    stale: (params.stale ?? '').toLowerCase() === 'true',
  };
}

/**
 * The first challenge (in the server's order of preference) whose algorithm we support, among all
 * WWW-Authenticate or Proxy-Authenticate values of a response.
 */
export function pickDigestChallenge(headerValues: readonly string[]): DigestChallenge | undefined {
  for (const value of headerValues) {
    const challenge = parseDigestChallenge(value);
    if (challenge && isSupportedAlgorithm(challenge.algorithm)) return challenge;
  }
  return undefined;
}

export interface DigestInput {
  readonly challenge: DigestChallenge;
  readonly method: string;
  /** digest-uri: the Request-URI of the request being authorized. */
  readonly uri: string;
  readonly username: string;
  readonly password: string;
  /** Client nonce; random when omitted (fixed only for known-answer tests). */
  readonly cnonce?: string;
  /** Nonce count, 1 for the first use of a nonce. */
  readonly nc?: number;
}

export interface DigestResult {
  /** The value for an Authorization / Proxy-Authorization header. */
  readonly header: string;
  readonly response: string;
  readonly qop: 'auth' | undefined;
  readonly cnonce: string | undefined;
  readonly nc: string | undefined;
}

function quote(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** Computes the digest response and the full credentials header value. */
export function computeDigest(input: DigestInput): DigestResult {
  const { challenge, method, uri, username, password } = input;
  const { hash, sess } = baseAlgorithm(challenge.algorithm);
  if (hash === undefined) throw new Error(`unsupported digest algorithm ${challenge.algorithm}`);
  const H = (s: string): string => createHash(hash).update(s, 'utf8').digest('hex');

  const useQop = challenge.qop.includes('auth');
  if (!useQop && challenge.qop.length > 0) {
    throw new Error(`unsupported digest qop ${challenge.qop.join(',')} (only auth)`);
  }
  const cnonce = useQop || sess ? (input.cnonce ?? randomBytes(8).toString('hex')) : undefined;
  const nc = useQop ? (input.nc ?? 1).toString(16).padStart(8, '0') : undefined;

  let ha1 = H(`${username}:${challenge.realm}:${password}`);
  if (sess) ha1 = H(`${ha1}:${challenge.nonce}:${cnonce ?? ''}`);
  const ha2 = H(`${method}:${uri}`);
  const response = useQop
    ? H(`${ha1}:${challenge.nonce}:${nc ?? ''}:${cnonce ?? ''}:auth:${ha2}`)
    : H(`${ha1}:${challenge.nonce}:${ha2}`);

  const parts = [
    `username=${quote(username)}`,
    `realm=${quote(challenge.realm)}`,
    `nonce=${quote(challenge.nonce)}`,
    `uri=${quote(uri)}`,
    `response=${quote(response)}`,
    `algorithm=${challenge.algorithm}`,
  ];
  if (cnonce !== undefined) parts.push(`cnonce=${quote(cnonce)}`);
  if (challenge.opaque !== undefined) parts.push(`opaque=${quote(challenge.opaque)}`);
  if (useQop) parts.push('qop=auth', `nc=${nc ?? ''}`);
  return {
    header: `Digest ${parts.join(', ')}`,
    response,
    qop: useQop ? 'auth' : undefined,
    cnonce,
    nc,
  };
}
