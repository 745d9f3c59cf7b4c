import { SecurityEventLog } from './security-event.log';
import { securityEvent } from './testing/security-events.factory';

const T0 = Date.parse('2026-11-23T12:00:00.000Z');

describe('SecurityEventLog', () => {
  it('keeps only the last N events per node, newest first', () => {
    const log = new SecurityEventLog(10);
    for (let i = 0; i < 25; i++) {
      log.add(securityEvent('auth.challenge_failed', { ts: T0 + i * 1000, sessionId: `s${i}` }));
    }
    log.add(securityEvent('auth.succeeded', { node: 'pbx2', ts: T0 }));
    expect(log.size('pbx1')).toBe(10);
    const all = log.query('pbx1', { limit: 1000 });
    expect(all.map((e) => e.sessionId)).toEqual([
      's24',
      's23',
      's22',
      's21',
      's20',
      's19',
      's18',
      's17',
      's16',
      's15',
    ]);
    expect(log.query('pbx2', { limit: 1000 })).toHaveLength(1);
    expect(log.query('nope', { limit: 1000 })).toEqual([]);
  });

  it('normalises events for the API', () => {
    const log = new SecurityEventLog(10);
    log.add(
      securityEvent('auth.acl_denied', {
        ts: T0,
        aclName: 'not_match_endpoint_acl',
        from: '203.0.113.5:5061',
        transport: 'tls',
      }),
    );
    log.add(securityEvent('registrar.request_rejected', { ts: T0 + 1, account: '1002' }));
    log.add(securityEvent('auth.challenge_sent', { ts: T0 + 2, from: null }));
    expect(log.query('pbx1', { limit: 10 })).toEqual([
      {
        time: '2026-11-23T12:00:00.002Z',
        type: 'auth.challenge_sent',
        account: '2001',
        remote: null,
        sessionId: 'call-1@test',
      },
      {
        time: '2026-11-23T12:00:00.001Z',
        type: 'registrar.request_rejected',
        account: '1002',
        remote: { transport: 'udp', address: '203.0.113.5', port: 5060 },
        sessionId: 'call-1@test',
        reason: 'registrar_requested_aor_not_found',
      },
      {
        time: '2026-11-23T12:00:00.000Z',
        type: 'auth.acl_denied',
        account: '2001',
        remote: { transport: 'tls', address: '203.0.113.5', port: 5061 },
        sessionId: 'call-1@test',
        reason: 'not_match_endpoint_acl',
      },
    ]);
  });

  it('filters by since, type, account and limit', () => {
    const log = new SecurityEventLog(100);
    const types = ['auth.challenge_sent', 'auth.challenge_failed', 'auth.account_unknown'] as const;
    for (let i = 0; i < 30; i++) {
      log.add(securityEvent(types[i % 3], { ts: T0 + i * 1000, account: i % 2 ? '2001' : '2002' }));
    }
    const since = log.query('pbx1', { since: T0 + 20_000, limit: 100 });
    expect(since).toHaveLength(10);
    expect(since.every((e) => Date.parse(e.time) >= T0 + 20_000)).toBe(true);
    const failed = log.query('pbx1', { types: new Set(['auth.challenge_failed'] as const), limit: 100 });
    expect(failed).toHaveLength(10);
    expect(failed.every((e) => e.type === 'auth.challenge_failed')).toBe(true);
    const both = log.query('pbx1', {
      since: T0 + 20_000,
      types: new Set(['auth.challenge_failed', 'auth.account_unknown'] as const),
      limit: 3,
    });
    expect(both.map((e) => e.time)).toEqual([
      '2026-11-23T12:00:29.000Z',
      '2026-11-23T12:00:28.000Z',
      '2026-11-23T12:00:26.000Z',
    ]);
    expect(log.query('pbx1', { account: '2001', limit: 100 })).toHaveLength(15);
  });

  it('returns copies', () => {
    const log = new SecurityEventLog(3);
    log.add(securityEvent('auth.succeeded'));
    log.query('pbx1', { limit: 1 })[0].account = 'changed';
    expect(log.query('pbx1', { limit: 1 })[0].account).toBe('2001');
  });
});
