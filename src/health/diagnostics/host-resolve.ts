import { promises as dns } from 'node:dns';
import { isIP } from 'node:net';

/** A DNS answer slower than this proves nothing either way. */
const LOOKUP_TIMEOUT_MS = 3000;

/** The host of a SIP URI (`sip:user@host:port;params`, `sips:[2001:db8::1]`); '' when there is none. */
export function sipUriHost(uri: string): string {
  const m = /^sips?:(?:[^@]*@)?(\[[^\]]+\]|[^:;?>]+)/i.exec(uri.trim().replace(/^<|>$/g, ''));
  return m ? m[1].replace(/^\[|\]$/g, '') : '';
}

const NOT_FOUND = new Set(['ENOTFOUND', 'ENODATA', 'ENONAME', 'NXDOMAIN']);

/**
 * Whether Asterisk can resolve `host` the way PJSIP does for a URI without a port: an A/AAAA record or a
 * `_sip._udp`/`_sip._tcp`/`_sips._tcp` SRV record. `null` for an IP address (nothing to resolve) and
 * when the resolver fails otherwise (timeout, no DNS server): only "no such name" is a finding.
 */
export async function hostResolves(host: string): Promise<boolean | null> {
  if (!host || isIP(host) !== 0) return null;
  const attempts: Array<() => Promise<unknown>> = [
    () => dns.lookup(host),
    ...['_sip._udp', '_sip._tcp', '_sips._tcp'].map((p) => () => dns.resolveSrv(`${p}.${host}`)),
  ];
  let unknown = false;
  for (const attempt of attempts) {
    try {
      await withTimeout(attempt());
      return true;
    } catch (err) {
      if (!NOT_FOUND.has((err as NodeJS.ErrnoException).code ?? '')) unknown = true;
    }
  }
  return unknown ? null : false;
}

async function withTimeout<T>(p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('DNS timeout')), LOOKUP_TIMEOUT_MS);
        timer.unref();
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
