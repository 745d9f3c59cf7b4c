import { timingSafeEqual, createHash } from 'node:crypto';
import type { AuthConfig } from '../config/config.types';

export type Role = 'admin' | 'viewer';

/** Which role a bearer token grants, or `undefined`. Constant-time comparison; tokens are never logged. */
export function roleOf(auth: AuthConfig, token: string | undefined): Role | undefined {
  if (!token) return undefined;
  if (auth.adminToken && sameSecret(token, auth.adminToken)) return 'admin';
  if (auth.viewerToken && sameSecret(token, auth.viewerToken)) return 'viewer';
  return undefined;
}

/** `Authorization: Bearer <token>` or, for browsers and WebSockets, `?token=`. */
export function tokenFrom(authorization: string | undefined, queryToken: unknown): string | undefined {
  const m = /^Bearer\s+(.+)$/i.exec(authorization ?? '');
  if (m) return m[1].trim();
  return typeof queryToken === 'string' && queryToken.length > 0 ? queryToken : undefined;
}

function sameSecret(a: string, b: string): boolean {
  // Hash first so lengths match and the comparison time does not reveal the token length.
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}
