import { EventBus } from '../events/event-bus';
import type { Alert, PbxEvent } from '../events/pbx-events';
import { AlertsService } from './alerts.service';
import { FakeClock } from './testing/fake-registration-reader';

function alert(id: string, since: string, extra: Partial<Alert> = {}): Alert {
  return {
    id,
    type: 'auth_loop',
    node: 'pbx1',
    endpoint: '2001',
    since,
    lastSeen: since,
    count: 3,
    message: 'm',
    remedy: 'r',
    details: {},
    ...extra,
  };
}

describe('AlertsService', () => {
  let bus: EventBus;
  let events: PbxEvent[];
  let alerts: AlertsService;

  beforeEach(() => {
    bus = new EventBus();
    events = [];
    bus.subscribe((e) => events.push(e));
    alerts = new AlertsService(bus, new FakeClock().now);
  });

  it('publishes alert.raised once and updates in place afterwards', () => {
    expect(alerts.upsert(alert('a', '2026-11-23T12:00:00.000Z'))).toBe(true);
    expect(
      alerts.upsert(
        alert('a', '2026-11-23T12:00:09.000Z', { count: 7, lastSeen: '2026-11-23T12:00:10.000Z' }),
      ),
    ).toBe(false);
    expect(events.map((e) => e.type)).toEqual(['alert.raised']);
    const [stored] = alerts.list();
    expect(stored).toMatchObject({
      count: 7,
      since: '2026-11-23T12:00:00.000Z',
      lastSeen: '2026-11-23T12:00:10.000Z',
    });
  });

  it('publishes alert.cleared with the reason, once', () => {
    alerts.upsert(alert('a', '2026-11-23T12:00:00.000Z'));
    expect(alerts.clear('a', 'success')).toBe(true);
    expect(alerts.clear('a', 'success')).toBe(false);
    expect(events.map((e) => e.type)).toEqual(['alert.raised', 'alert.cleared']);
    expect(events[1]).toMatchObject({
      type: 'alert.cleared',
      reason: 'success',
      source: 'daemon',
      alert: { id: 'a' },
    });
    expect(alerts.list()).toEqual([]);
  });

  it('lists oldest first, filtered by node and type, as copies', () => {
    alerts.upsert(alert('b', '2026-11-23T12:00:05.000Z'));
    alerts.upsert(alert('a', '2026-11-23T12:00:01.000Z', { type: 'aor_not_found' }));
    alerts.upsert(alert('c', '2026-11-23T12:00:03.000Z', { node: 'pbx2' }));
    expect(alerts.list().map((a) => a.id)).toEqual(['a', 'c', 'b']);
    expect(alerts.list({ node: 'pbx1' }).map((a) => a.id)).toEqual(['a', 'b']);
    expect(alerts.list({ type: 'auth_loop' }).map((a) => a.id)).toEqual(['c', 'b']);
    alerts.list()[0].count = 999;
    expect(alerts.get('a')?.count).toBe(3);
  });
});
