import type { SecurityEvent } from '../events/pbx-events';
import { classifyFailure } from './failure-classifier';
import { securityEvent } from './testing/security-events.factory';

const known = (a: string): boolean => a === '2001' || a === '1002';

describe('classifyFailure', () => {
  const cases: Array<[string, SecurityEvent, ReturnType<typeof classifyFailure>]> = [
    ['challenge sent', securityEvent('auth.challenge_sent'), undefined],
    ['auth succeeded', securityEvent('auth.succeeded'), undefined],
    [
      'digest failure of a known endpoint',
      securityEvent('auth.challenge_failed', { account: '2001' }),
      { endpoint: '2001', reason: 'auth_failed' },
    ],
    [
      'digest failure of an endpoint the reader does not know',
      securityEvent('auth.challenge_failed', { account: '7777' }),
      { endpoint: '<unknown>', reason: 'auth_failed' },
    ],
    [
      'digest failure with account <unknown> (counted by its InvalidAccountID)',
      securityEvent('auth.challenge_failed', { account: '<unknown>' }),
      undefined,
    ],
    [
      'digest failure with an empty account',
      securityEvent('auth.challenge_failed', { account: '' }),
      undefined,
    ],
    [
      'unknown account',
      securityEvent('auth.account_unknown', { account: 'scan-123' }),
      { endpoint: '<unknown>', reason: 'unknown_account' },
    ],
    [
      'unknown account named like a configured endpoint is still <unknown>',
      securityEvent('auth.account_unknown', { account: '2001' }),
      { endpoint: '<unknown>', reason: 'unknown_account' },
    ],
    [
      'endpoint ACL',
      securityEvent('auth.acl_denied', { account: '2001', aclName: 'not_match_endpoint_acl' }),
      { endpoint: '2001', reason: 'acl_denied' },
    ],
    [
      'contact ACL',
      securityEvent('auth.acl_denied', { account: '2001', aclName: 'not_match_endpoint_contact_acl' }),
      { endpoint: '2001', reason: 'acl_denied' },
    ],
    [
      'registrar refusal reported as FailedACL (max contacts)',
      securityEvent('auth.acl_denied', {
        account: '2001',
        aclName: 'registrar_attempt_exceeds_maximum_configured_contacts',
      }),
      { endpoint: '2001', reason: 'other' },
    ],
    [
      'registrar refusal reported as FailedACL (no aors)',
      securityEvent('auth.acl_denied', {
        account: '1002',
        aclName: 'registrar_attempt_without_configured_aors',
      }),
      { endpoint: '1002', reason: 'other' },
    ],
    [
      'AOR not found',
      securityEvent('registrar.request_rejected', { account: '1002' }),
      { endpoint: '1002', reason: 'aor_not_found' },
    ],
    [
      'AOR not found for an endpoint the reader does not know',
      securityEvent('registrar.request_rejected', { account: '9000' }),
      { endpoint: '<unknown>', reason: 'aor_not_found' },
    ],
    [
      'other request types',
      securityEvent('registrar.request_rejected', {
        account: '2001',
        requestType: 'registrar_attempt_without_registration_permitted',
      }),
      { endpoint: '2001', reason: 'other' },
    ],
  ];

  it.each(cases)('%s', (_name, event, expected) => {
    expect(classifyFailure(event, known)).toEqual(expected);
  });

  it('never throws on missing fields', () => {
    const broken = {
      type: 'auth.acl_denied',
      node: 'pbx1',
      ts: 0,
      source: 'ami',
    } as unknown as SecurityEvent;
    expect(classifyFailure(broken, known)).toEqual({ endpoint: '<unknown>', reason: 'acl_denied' });
    const noAccount = { type: 'auth.challenge_failed', node: 'pbx1', ts: 0 } as unknown as SecurityEvent;
    expect(classifyFailure(noAccount, known)).toBeUndefined();
  });
});
