import type { AsteriskRegistrationStatus, OutboundRejectionReason } from '../../events/pbx-events';

/**
 * pbxpulse's state of an outbound registration. Asterisk says `Rejected` both for a rejection it will
 * retry and for one it gave up on; the CLI's next-attempt time tells them apart:
 * - `registered`: the last REGISTER got a 2xx;
 * - `unregistered`: not (yet) registered: before the first attempt (Asterisk waits up to
 *   `max_random_initial_delay`, 10 s), while the first REGISTER awaits an answer, or after an unregister;
 * - `failed`: rejected or unanswered, and Asterisk will try again (`nextAttemptAt`);
 * - `rejected`: rejected and Asterisk stopped trying until the configuration is reloaded;
 * - `stopped`: Asterisk is tearing the registration down.
 */
export type OutboundRegistrationState = 'registered' | 'unregistered' | 'failed' | 'rejected' | 'stopped';

export const OUTBOUND_REGISTRATION_STATES: readonly OutboundRegistrationState[] = [
  'registered',
  'unregistered',
  'failed',
  'rejected',
  'stopped',
];

/** One outbound registration (`type=registration` section) with its live state. */
export interface OutboundRegistrationView {
  /** The section name: the `registration` label of the metrics. */
  name: string;
  serverUri: string;
  clientUri: string;
  /** `outbound_auth=` as configured (names only). */
  outboundAuths: string[];
  transport: string | null;
  /** `endpoint=`: where calls that come in over this registration go. */
  endpoint: string | null;
  state: OutboundRegistrationState;
  /** Asterisk's own word (`Registered`, `Unregistered`, `Rejected`, `Stopped`); `null` before it said. */
  asteriskStatus: AsteriskRegistrationStatus | null;
  /** ISO time `state` last changed (or pbxpulse first saw the registration). */
  since: string;
  /** ISO time of the last `Registry` event for it (every final REGISTER answer, refreshes included). */
  lastReportAt: string | null;
  /** ISO time of the last `Registry` event that said `Rejected`. */
  lastRejectedAt: string | null;
  /** ISO time of Asterisk's next REGISTER (a refresh or a retry); `null` when none is scheduled or unknown. */
  nextAttemptAt: string | null;
  /** Why it is `failed` or `rejected`; `null` otherwise. */
  reason: OutboundRejectionReason | null;
  /** Rejections in a row since the last success that pbxpulse saw (at least 1 while failed/rejected). */
  consecutiveFailures: number;
  expirationSec: number;
  retryIntervalSec: number;
  maxRetries: number;
}

/** What readers (API, metrics, detectors) see of the outbound registration store. */
export interface OutboundRegistrationReader {
  /** The node's registrations by name; empty for an unknown node. */
  registrations(node: string): OutboundRegistrationView[];
  registration(node: string, name: string): OutboundRegistrationView | undefined;
}
