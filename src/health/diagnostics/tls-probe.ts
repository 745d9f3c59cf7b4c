import * as tls from 'node:tls';
import type { TlsCertificateSnapshot } from './diagnose';

/**
 * Connects to the HTTPS/WSS listener as a browser would and reports its certificate. Never throws: a
 * handshake failure is reported as `error`. A wildcard bind (0.0.0.0, ::) is probed on `fallbackHost`.
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
      const cert = socket.getPeerCertificate();
      const authError = socket.authorizationError;
      done({
        validTo: cert.valid_to ? new Date(cert.valid_to).toISOString() : null,
        subject: cert.subject?.CN ? String(cert.subject.CN) : null,
        error: authError ? String(authError) : null,
      });
    });
  });
}

function isIp(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}
