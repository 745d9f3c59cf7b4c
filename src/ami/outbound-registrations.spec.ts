import type { AmiMessage } from './ami.message';
import { AMI_USED_EVENTS, normaliseAmiEvent } from './ami.normaliser';
import { parseRegistrationRows } from './ami.pjsip-parse';
import { outboundRegistrationRecords } from './ami.pjsip-records';

const m = (fields: Record<string, string>): AmiMessage => ({ fields });

/** `PJSIPShowRegistrationsOutbound` items as the lab Asterisk 22.10 sent them (trimmed to what matters). */
const detail = (name: string, auth: string, status: string): AmiMessage =>
  m({
    Event: 'OutboundRegistrationDetail',
    ActionID: '1',
    ObjectType: 'registration',
    ObjectName: name,
    MaxRetries: '10',
    ClientUri: 'sip:trunk-in@127.0.0.1:25060',
    AuthRejectionPermanent: 'true',
    ServerUri: 'sip:127.0.0.1:25060',
    RetryInterval: '60',
    Expiration: '3600',
    Transport: '',
    Endpoint: '',
    ForbiddenRetryInterval: '0',
    OutboundAuth: auth,
    Status: status,
    NextReg: '0',
  });
const authDetail = (name: string): AmiMessage =>
  m({
    Event: 'AuthDetail',
    ObjectType: 'auth',
    ObjectName: name,
    Username: 'trunk-in',
    Password: 'secret-pw',
  });

describe('outbound registration records', () => {
  it('reads each registration, and tells an outbound_auth that names no auth by the missing AuthDetail', () => {
    const recs = outboundRegistrationRecords([
      detail('itsp', 'itsp-auth', 'Registered'),
      authDetail('itsp-auth'),
      detail('noauth', 'nosuch-auth', 'Rejected'),
      detail('open', '', 'Unregistered'),
      m({ Event: 'OutboundRegistrationDetailComplete', EventList: 'Complete', Registered: '1' }),
    ]);
    expect(recs).toEqual([
      expect.objectContaining({
        name: 'itsp',
        serverUri: 'sip:127.0.0.1:25060',
        clientUri: 'sip:trunk-in@127.0.0.1:25060',
        outboundAuths: ['itsp-auth'],
        missingAuths: [],
        transport: null,
        endpoint: null,
        expirationSec: 3600,
        retryIntervalSec: 60,
        maxRetries: 10,
        authRejectionPermanent: true,
        status: 'Registered',
      }),
      expect.objectContaining({
        name: 'noauth',
        outboundAuths: ['nosuch-auth'],
        missingAuths: ['nosuch-auth'],
      }),
      expect.objectContaining({ name: 'open', outboundAuths: [], missingAuths: [], status: 'Unregistered' }),
    ]);
    expect(JSON.stringify(recs)).not.toContain('secret-pw');
  });

  it('reads status and next attempt of `pjsip show registrations` (Asterisk 22), past times negative', () => {
    const out = [
      ' <Registration/ServerURI..............................>  <Auth....................>  <Status.......>',
      '==========================================================================================',
      ' badpw/sip:127.0.0.1:25060                               badpw-auth                  Rejected          (exp. 17s ago)',
      ' itsp/sip:127.0.0.1:25060                                itsp-auth                   Registered        (exp. 28s)',
      ' nodns/sip:nonexistent.invalid                           n/a                         Rejected          (exp. 39s)',
      ' old/sip:127.0.0.1:25060                                 n/a                         Unregistered',
      'Objects found: 4',
    ];
    expect(parseRegistrationRows(out)).toEqual([
      { name: 'badpw', status: 'Rejected', nextAttemptSec: -17 },
      { name: 'itsp', status: 'Registered', nextAttemptSec: 28 },
      { name: 'nodns', status: 'Rejected', nextAttemptSec: 39 },
      { name: 'old', status: 'Unregistered', nextAttemptSec: null },
    ]);
    expect(parseRegistrationRows(['No objects found.'])).toEqual([]);
  });
});

describe('Registry events', () => {
  it('are asked for, and normalised with the URIs that name the registration', () => {
    expect(AMI_USED_EVENTS).toContain('Registry');
    const e = normaliseAmiEvent(
      'pbx1',
      m({
        Event: 'Registry',
        Privilege: 'system,all',
        ChannelType: 'PJSIP',
        Username: 'sip:trunk-in@127.0.0.1:25060',
        Domain: 'sip:127.0.0.1:25060',
        Status: 'Rejected',
      }),
      42,
    );
    expect(e).toEqual({
      type: 'outbound_registration.reported',
      node: 'pbx1',
      ts: 42,
      source: 'ami',
      clientUri: 'sip:trunk-in@127.0.0.1:25060',
      serverUri: 'sip:127.0.0.1:25060',
      status: 'Rejected',
    });
  });

  it('ignore other channel types and unknown statuses', () => {
    const base = { Event: 'Registry', Username: 'u', Domain: 'd' };
    expect(
      normaliseAmiEvent('n', m({ ...base, ChannelType: 'IAX2', Status: 'Registered' }), 1),
    ).toBeUndefined();
    expect(normaliseAmiEvent('n', m({ ...base, ChannelType: 'PJSIP', Status: 'Lagged' }), 1)).toBeUndefined();
  });
});
