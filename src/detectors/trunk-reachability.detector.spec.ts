import type { Alert } from '../events/pbx-events';
import type { TrunkView } from '../state/trunks/trunk.views';
import type { AlertSink } from './alerts.service';
import { TrunkReachabilityDetector } from './trunk-reachability.detector';

const T0 = Date.parse('2026-12-07T00:00:00Z');

function trunk(over: Partial<TrunkView>): TrunkView {
  return {
    endpoint: 'prov',
    reachability: 'unreachable',
    rttMs: null,
    since: new Date(T0).toISOString(),
    qualifyFrequency: 1,
    contacts: [{ aor: 'prov', uri: 'sip:prov@203.0.113.5', status: 'unreachable', rttMs: null }],
    ...over,
  };
}

function setup() {
  let now = T0;
  let trunks: TrunkView[] = [trunk({})];
  const active = new Map<string, Alert>();
  const cleared: string[] = [];
  const sink: AlertSink = {
    upsert: (a) => {
      const fresh = !active.has(a.id);
      active.set(a.id, a);
      return fresh;
    },
    clear: (id, reason) => {
      if (!active.delete(id)) return false;
      cleared.push(`${id} ${reason}`);
      return true;
    },
  };
  const detector = new TrunkReachabilityDetector(
    { unreachableMs: 60_000 },
    { trunks: () => trunks },
    sink,
    () => now,
  );
  return {
    detector,
    active,
    cleared,
    at: (ms: number) => (now = T0 + ms),
    set: (t: TrunkView[]) => (trunks = t),
  };
}

describe('TrunkReachabilityDetector', () => {
  it('raises after the threshold of unreachability, not before, naming the trunk and its contacts', () => {
    const t = setup();
    t.at(59_999);
    t.detector.evaluate('pbx1');
    expect(t.active.size).toBe(0);
    t.at(60_000);
    t.detector.evaluate('pbx1');
    expect([...t.active.values()]).toEqual([
      expect.objectContaining({
        id: 'trunk_unreachable:pbx1:prov',
        type: 'trunk_unreachable',
        node: 'pbx1',
        endpoint: 'prov',
        since: '2026-12-07T00:00:00.000Z',
        details: {
          contacts: [{ aor: 'prov', uri: 'sip:prov@203.0.113.5', status: 'unreachable' }],
          qualifyFrequency: 1,
        },
      }),
    ]);
    expect(t.active.get('trunk_unreachable:pbx1:prov')?.message).toContain('for 60 s');
  });

  it('clears when the trunk is reachable again, or no longer configured; unknown neither raises nor clears', () => {
    const t = setup();
    t.at(61_000);
    t.detector.evaluate('pbx1');
    t.set([trunk({ reachability: 'unknown' })]);
    t.detector.evaluate('pbx1');
    expect(t.active.size).toBe(1);
    t.set([trunk({ reachability: 'reachable', rttMs: 3 })]);
    t.detector.evaluate('pbx1');
    expect(t.cleared).toEqual(['trunk_unreachable:pbx1:prov reachable']);
    t.set([trunk({ since: new Date(T0 + 61_000).toISOString() })]);
    t.at(200_000);
    t.detector.evaluate('pbx1');
    expect(t.active.size).toBe(1);
    t.set([]);
    t.detector.evaluate('pbx1');
    expect(t.cleared).toEqual([
      'trunk_unreachable:pbx1:prov reachable',
      'trunk_unreachable:pbx1:prov removed',
    ]);
  });
});
