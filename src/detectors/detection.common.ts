import type { SipAddress } from '../events/pbx-events';
import type { RegistrationReader } from '../state/registrations/registration.views';

/** Milliseconds since the epoch. Injected so unit tests drive time. */
export type Clock = () => number;

/** Injection token of the detectors' clock (`Date.now` in the daemon). */
export const DETECTION_CLOCK = Symbol('DETECTION_CLOCK');

/** `AccountID` when no endpoint matched, and the metric label of anything that is not a configured endpoint. */
export const UNKNOWN_ENDPOINT = '<unknown>';

/**
 * The `endpoint` label value for an account: the account itself only when it is a configured endpoint
 * (so label values stay bounded by the configuration), else `<unknown>`.
 */
export function endpointLabel(reader: RegistrationReader, node: string, account: string): string {
  if (account === '' || account === UNKNOWN_ENDPOINT) return UNKNOWN_ENDPOINT;
  return reader.isKnownEndpoint(node, account) ? account : UNKNOWN_ENDPOINT;
}

/** An account that names an endpoint (Asterisk's `AccountID` of an identified request). */
export function namesEndpoint(account: string): boolean {
  return account !== '' && account !== UNKNOWN_ENDPOINT;
}

/** IP of a security event's remote address; `<unknown>` when Asterisk gave none we could parse. */
export function remoteIp(remote: SipAddress | undefined): string {
  return remote?.address || UNKNOWN_ENDPOINT;
}

/** `203.0.113.5:5060`, `[2001:db8::1]:5060` or a bare address → the IP. */
export function ipOfHostPort(hostPort: string): string {
  const v = hostPort.trim();
  if (v.startsWith('[')) {
    const end = v.indexOf(']');
    return end > 0 ? v.slice(1, end) : v;
  }
  const first = v.indexOf(':');
  // More than one colon without brackets: a bare IPv6 address.
  if (first < 0 || first !== v.lastIndexOf(':')) return v;
  return v.slice(0, first);
}

/** For log lines: no control characters, bounded length. Names come from Asterisk, but stay careful. */
export function printable(value: string, max = 64): string {
  // eslint-disable-next-line no-control-regex -- the point is to strip control characters
  const clean = value.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

/** "12 s", "0.4 s", "3 min". */
export function formatDuration(ms: number): string {
  const s = Math.max(0, ms) / 1000;
  if (s < 10) return `${Math.round(s * 10) / 10} s`;
  if (s < 120) return `${Math.round(s)} s`;
  return `${Math.round(s / 60)} min`;
}

/**
 * A reader that knows nothing, for a daemon started without the registration store: every account
 * is then `<unknown>` for metrics, and AOR explanations say the configuration is not known.
 */
export const EMPTY_REGISTRATION_READER: RegistrationReader = {
  endpoints: () => [],
  endpoint: () => undefined,
  aors: () => [],
  aor: () => undefined,
  contacts: () => [],
  isKnownEndpoint: () => false,
};
