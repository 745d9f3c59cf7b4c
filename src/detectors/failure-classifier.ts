import type { RegistrationFailureReason, SecurityEvent } from '../events/pbx-events';
import { UNKNOWN_ENDPOINT, namesEndpoint } from './detection.common';

/** `RequestType` of `RequestNotSupported` when the registrar found no AOR for the To user. */
export const AOR_NOT_FOUND_REQUEST_TYPE = 'registrar_requested_aor_not_found';

/** Every `reason` label value, in the order the metrics list them. */
export const FAILURE_REASONS: readonly RegistrationFailureReason[] = [
  'auth_failed',
  'aor_not_found',
  'unknown_account',
  'acl_denied',
  'other',
];

export interface ClassifiedFailure {
  /** A configured endpoint name, or `<unknown>`. */
  endpoint: string;
  reason: RegistrationFailureReason;
}

/**
 * Which refusal a security event is, if any. Security events carry no SIP method, so this counts every
 * refused request, not only REGISTER: an INVITE refused for a bad digest is an `auth_failed` too.
 *
 * - `auth.challenge_failed`: `auth_failed`; with account `<unknown>` it is skipped, because the
 *   `auth.account_unknown` Asterisk emitted for the same request is the one that counts.
 * - `auth.account_unknown`: `unknown_account`, always with endpoint `<unknown>` (the account is the
 *   username the client sent: attacker-controlled, never a label).
 * - `auth.acl_denied`: `acl_denied` for real ACLs (`not_match_endpoint_acl`,
 *   `not_match_endpoint_contact_acl`); the registrar reuses FailedACL for policy refusals whose
 *   `ACLName` starts with `registrar_` (no aors, non-SIP To URI, invalid Contact, max_contacts
 *   exceeded): those are `other`, so that `acl_denied` only ever means "check the ACLs".
 * - `registrar.request_rejected`: `aor_not_found` for `registrar_requested_aor_not_found`, else `other`.
 * - `auth.challenge_sent`, `auth.succeeded`: not refusals.
 *
 * `isKnownEndpoint` decides whether the account may be the `endpoint` label.
 */
export function classifyFailure(
  event: SecurityEvent,
  isKnownEndpoint: (account: string) => boolean,
): ClassifiedFailure | undefined {
  const account = typeof event.account === 'string' ? event.account : '';
  const endpoint = namesEndpoint(account) && isKnownEndpoint(account) ? account : UNKNOWN_ENDPOINT;
  switch (event.type) {
    case 'auth.challenge_sent':
    case 'auth.succeeded':
      return undefined;
    case 'auth.challenge_failed':
      return namesEndpoint(account) ? { endpoint, reason: 'auth_failed' } : undefined;
    case 'auth.account_unknown':
      return { endpoint: UNKNOWN_ENDPOINT, reason: 'unknown_account' };
    case 'auth.acl_denied':
      return { endpoint, reason: isRegistrarPolicy(event.aclName) ? 'other' : 'acl_denied' };
    case 'registrar.request_rejected':
      return {
        endpoint,
        reason: event.requestType === AOR_NOT_FOUND_REQUEST_TYPE ? 'aor_not_found' : 'other',
      };
    default: {
      const never: never = event;
      return never;
    }
  }
}

function isRegistrarPolicy(aclName: unknown): boolean {
  return typeof aclName === 'string' && aclName.startsWith('registrar_');
}
