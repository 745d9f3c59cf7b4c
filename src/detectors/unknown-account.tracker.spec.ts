import { UnknownAccountTracker } from './unknown-account.tracker';
import { securityEvent } from './testing/security-events.factory';

const T0 = Date.parse('2026-11-23T12:00:00.000Z');

describe('UnknownAccountTracker', () => {
  it('counts attempts, distinct usernames and samples per IP', () => {
    const t = new UnknownAccountTracker();
    const names = ['admin', 'admin', '100', 'test', 'x'.repeat(300), 'scan-1', 'scan-2', 'scan-2'];
    names.forEach((account, i) =>
      t.add(securityEvent('auth.account_unknown', { account, ts: T0 + i * 1000, from: '198.51.100.9:5060' })),
    );
    t.add(securityEvent('auth.account_unknown', { account: 'root', ts: T0, from: '192.0.2.1:5060' }));
    expect(t.top('pbx1')).toEqual([
      {
        address: '198.51.100.9',
        attempts: 8,
        distinctUsernames: 6,
        sampleUsernames: ['admin', '100', 'test', 'x'.repeat(64), 'scan-1'],
        firstSeen: '2026-11-23T12:00:00.000Z',
        lastSeen: '2026-11-23T12:00:07.000Z',
      },
      {
        address: '192.0.2.1',
        attempts: 1,
        distinctUsernames: 1,
        sampleUsernames: ['root'],
        firstSeen: '2026-11-23T12:00:00.000Z',
        lastSeen: '2026-11-23T12:00:00.000Z',
      },
    ]);
    expect(t.top('pbx2')).toEqual([]);
  });

  it('stops counting distinct usernames at 100', () => {
    const t = new UnknownAccountTracker();
    for (let i = 0; i < 1000; i++) t.add(securityEvent('auth.account_unknown', { account: `u${i}` }));
    const [o] = t.top('pbx1');
    expect(o).toMatchObject({ attempts: 1000, distinctUsernames: 100 });
    expect(o.sampleUsernames).toHaveLength(5);
  });

  it('keeps at most 1000 IPs, evicting the least recently seen', () => {
    const t = new UnknownAccountTracker();
    t.add(securityEvent('auth.account_unknown', { from: '192.0.2.1:5060' }));
    for (let i = 0; i < 5000; i++) {
      const ip = `${10 + Math.floor(Math.random() * 200)}.${i >> 16}.${(i >> 8) & 255}.${i & 255}`;
      t.add(securityEvent('auth.account_unknown', { account: `scan-${Math.random()}`, from: `${ip}:5060` }));
      if (i % 100 === 0) t.add(securityEvent('auth.account_unknown', { from: '192.0.2.1:5060' })); // stays recent
      expect(t.size('pbx1')).toBeLessThanOrEqual(1000);
    }
    expect(t.size('pbx1')).toBe(1000);
    expect(t.top('pbx1', 1)[0]).toMatchObject({ address: '192.0.2.1', attempts: 51 });
    expect(t.top('pbx1')).toHaveLength(20);
  });

  it('never splits a character when cutting a sample', () => {
    const t = new UnknownAccountTracker();
    t.add(securityEvent('auth.account_unknown', { account: '😀'.repeat(100) }));
    const [sample] = t.top('pbx1')[0].sampleUsernames;
    expect(Array.from(sample)).toHaveLength(64);
    expect(sample).toBe('😀'.repeat(64));
  });
});
