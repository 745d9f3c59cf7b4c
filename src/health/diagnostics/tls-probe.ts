import * as tls from 'node:tls';
import type { TlsCertificateSnapshot } from './diagnose';

/**
 * `authorizationError` codes that are no fault of the certificate: the probe connects to an IP address
 * (or the AMI host), not to the name browsers use, so a name mismatch says nothing about what they see.
 */
const NOT_A_CERT_FAULT = new Set(['ERR_TLS_CERT_ALTNAME_INVALID']);

/** The parts of a peer certificate the classification reads (a subset of `tls.PeerCertificate`). */
export type PeerCertificateLike = Partial<Pick<tls.PeerCertificate, 'valid_to' | 'subjectaltname'>> & {
  subject?: { CN?: string | string[] } | null;
};

/**
 * What a browser would think of the certificate, from the TLS client's view: chain errors (self-signed,
 * unknown CA, expired, not yet valid) are kept; a host-name mismatch is not. Pure.
 */
export function certificateSnapshot(
  cert: PeerCertificateLike,
  authorizationError: Error | string | null | undefined,
): TlsCertificateSnapshot {
  // Node's typings say Error; at run time it is the code string (CERT_HAS_EXPIRED …).
  let code: string | null = null;
  if (typeof authorizationError === 'string') code = authorizationError;
  else if (authorizationError) {
    const c = (authorizationError as { code?: unknown }).code;
    code = typeof c === 'string' ? c : authorizationError.message;
  }
  const cn = cert.subject?.CN;
  return {
    validTo: cert.valid_to ? new Date(cert.valid_to).toISOString() : null,
    subject: cn ? String(cn) : null,
    dnsNames: dnsNames(cert.subjectaltname),
    error: code && !NOT_A_CERT_FAULT.has(code) ? code : null,
  };
}

/** `DNS:pbx.example.com, IP Address:127.0.0.1` → `['pbx.example.com']`. */
function dnsNames(subjectAltName: string | undefined): string[] {
  if (!subjectAltName) return [];
  return subjectAltName
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.startsWith('DNS:'))
    .map((s) => s.slice(4));
}

/**
 * Connects to the HTTPS/WSS listener and reports its certificate. Never throws: a handshake failure is
 * reported as `error`. A wildcard bind (0.0.0.0, ::) is probed on `fallbackHost`.
 */
export function probeTlsCertificate(
  bindAddress: string,
  fallbackHost: string,
  timeoutMs = 5000,
): Promise<TlsCertificateSnapshot> {
  const m = /^(?:\[(.*)\]|([^:]+)):(\d+)$/.exec(bindAddress);
  if (!m) return Promise.resolve({ validTo: null, subject: null, error: `unparsable bind ${bindAddress}` });
  let host = m[1] ?? m[2];
  if (host === '0.0.0.0' || host === '::') host = fallbackHost;
  const port = Number(m[3]);
  return new Promise((resolve) => {
    const socket = tls.connect({
      host,
      port,
      servername: isIp(host) ? undefined : host,
      rejectUnauthorized: false,
      // The chain is still verified (authorizationError); the name browsers use is unknown here, so the
      // host-name check against an IP or the AMI host would only produce ERR_TLS_CERT_ALTNAME_INVALID.
      checkServerIdentity: () => undefined,
    });
    const done = (snap: TlsCertificateSnapshot): void => {
      socket.destroy();
      resolve(snap);
    };
    socket.setTimeout(timeoutMs, () =>
      done({ validTo: null, subject: null, error: 'TLS handshake timed out' }),
    );
    socket.once('error', (err: Error) => done({ validTo: null, subject: null, error: err.message }));
    socket.once('secureConnect', () => {
      done(certificateSnapshot(socket.getPeerCertificate(), socket.authorizationError));
    });
  });
}

function isIp(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}
