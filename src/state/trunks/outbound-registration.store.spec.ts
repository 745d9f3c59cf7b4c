import type { OutboundRegistrationRecord, RegistrationCliRow } from '../../common/pbx.records';
import type { PbxpulseConfig } from '../../config/config.types';
import { EventBus } from '../../events/event-bus';
import type { PbxEvent } from '../../events/pbx-events';
import { ResyncCoordinator } from '../resync.coordinator';
import { OutboundRegistrationStore } from './outbound-registration.store';

const record = (status: OutboundRegistrationRecord['status']): OutboundRegistrationRecord => ({
  name: 'itsp',
  serverUri: 'sip:sip.example.com',
  clientUri: 'sip:123@sip.example.com',
  outboundAuths: ['itsp-auth'],
  missingAuths: [],
  transport: null,
  endpoint: null,
  expirationSec: 3600,
  retryIntervalSec: 60,
  forbiddenRetryIntervalSec: 0,
  maxRetries: 10,
  authRejectionPermanent: true,
  status,
});

/** An AMI link whose answers the test sets, counting reads. */
class FakeLink {
  isUp = true;
  reads = 0;
  records: OutboundRegistrationRecord[] = [record('Registered')];
  rows: () => RegistrationCliRow[] = () => [{ name: 'itsp', status: 'Registered', nextAttemptSec: 3500 }];
  outboundRegistrations(): Promise<OutboundRegistrationRecord[]> {
    this.reads += 1;
    return Promise.resolve(this.records);
  }
  registrationSchedule(): Promise<RegistrationCliRow[]> {
    return Promise.resolve(this.rows());
  }
}

function setup() {
  const config = {
    state: { reconcileIntervalMs: 60_000 },
    nodes: [{ name: 'pbx1' }],
  } as unknown as PbxpulseConfig;
  const bus = new EventBus();
  const published: PbxEvent[] = [];
  bus.subscribe((e) => published.push(e));
  const link = new FakeLink();
  const store = new OutboundRegistrationStore(config, bus, new ResyncCoordinator(bus), { pjsip: () => link });
  const changes = () => published.flatMap((e) => (e.type === 'outbound_registration.changed' ? [e] : []));
  const report = (status: 'Registered' | 'Rejected') =>
    bus.publish({
      type: 'outbound_registration.reported',
      node: 'pbx1',
      ts: Date.now(),
      source: 'ami',
      clientUri: 'sip:123@sip.example.com',
      serverUri: 'sip:sip.example.com',
      status,
    });
  return { bus, store, link, changes, report };
}

describe('OutboundRegistrationStore', () => {
  beforeEach(() => jest.useFakeTimers({ now: Date.parse('2026-12-06T23:00:00Z') }));
  afterEach(() => jest.useRealTimers());

  it('is built by the AMI resync and answers [] for an unknown node', async () => {
    const t = setup();
    await expect(t.store.read('pbx1')).resolves.toBe(1);
    expect(t.store.registrations('pbx1').map((r) => [r.name, r.state])).toEqual([['itsp', 'registered']]);
    expect(t.store.registrations('nope')).toEqual([]);
    expect(t.changes()).toEqual([expect.objectContaining({ name: 'itsp', previous: null })]);
    t.store.onModuleDestroy();
  });

  it('a Rejected Registry fails it at once, and the read 1.5 s later tells Asterisk gave up', async () => {
    const t = setup();
    await t.store.read('pbx1');
    const reads = t.link.reads;
    // Asterisk: nothing scheduled after the rejection; the CLI time is that of the rejected attempt.
    const rejectedAt = Date.now();
    t.link.records = [record('Rejected')];
    t.link.rows = () => [
      { name: 'itsp', status: 'Rejected', nextAttemptSec: -Math.round((Date.now() - rejectedAt) / 1000) - 1 },
    ];
    t.report('Rejected');
    expect(t.store.registration('pbx1', 'itsp')).toMatchObject({ state: 'failed', consecutiveFailures: 1 });
    await jest.advanceTimersByTimeAsync(1400);
    expect(t.link.reads).toBe(reads);
    await jest.advanceTimersByTimeAsync(200);
    expect(t.link.reads).toBe(reads + 1);
    expect(t.store.registration('pbx1', 'itsp')).toMatchObject({
      state: 'rejected',
      reason: 'fatal_response',
    });
    expect(t.changes().at(-1)).toMatchObject({
      previous: 'failed',
      rejections: [{ reason: 'fatal_response', count: 1 }],
    });
    t.store.onModuleDestroy();
  });

  it('a successful refresh (Registered again) costs no read; the poll reads every reconcile interval', async () => {
    const t = setup();
    await t.store.read('pbx1');
    const reads = t.link.reads;
    t.report('Registered');
    await jest.advanceTimersByTimeAsync(5000);
    expect(t.link.reads).toBe(reads);
    await jest.advanceTimersByTimeAsync(60_000);
    expect(t.link.reads).toBe(reads + 1);
    t.store.onModuleDestroy();
  });

  it('a report for URIs it does not know (a registration added by a reload) triggers a read', async () => {
    const t = setup();
    t.link.records = [];
    await t.store.read('pbx1');
    t.link.records = [record('Registered')];
    t.report('Registered');
    await jest.advanceTimersByTimeAsync(1600);
    expect(t.store.registrations('pbx1').map((r) => r.name)).toEqual(['itsp']);
    t.store.onModuleDestroy();
  });
});
