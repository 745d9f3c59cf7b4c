import type { EndpointDetailRecord } from '../../common/pbx.records';
import type { PbxpulseConfig } from '../../config/config.types';
import { EventBus } from '../../events/event-bus';
import type { ContactStatusChanged } from '../../events/pbx-events';
import { buildRegistrations } from '../registrations/registration.snapshot';
import type { NodeRegistrations } from '../registrations/registration.state';
import { type TrunkAmiLink, TrunkStore } from './trunk.store';

const URI = 'sip:prov@203.0.113.5:5060';
const BACKUP = 'sip:prov@198.51.100.7:5060';

function registrations(qualifyFrequency = 1, uris = [URI]): NodeRegistrations {
  return buildRegistrations({
    endpoints: [
      { name: 'prov', aors: ['prov'], auths: [], transport: 'transport-udp', deviceState: 'NOT_INUSE' },
      { name: '1001', aors: ['1001'], auths: ['1001'], transport: null, deviceState: 'NOT_INUSE' },
    ],
    aors: [
      { name: 'prov', maxContacts: 0, removeExisting: false, qualifyFrequency, contacts: uris },
      // A phone's registered contact: AorList names it, and so does the registration list.
      {
        name: '1001',
        maxContacts: 1,
        removeExisting: true,
        qualifyFrequency: 30,
        contacts: ['sip:1001@10.0.0.9'],
      },
    ],
    contacts: [
      {
        aor: '1001',
        uri: 'sip:1001@10.0.0.9',
        endpoint: '1001',
        status: 'reachable',
        rttUsec: 800,
        userAgent: null,
        expiresAt: null,
        viaAddress: null,
        callId: null,
      },
    ],
  });
}

function detail(
  status: 'reachable' | 'unreachable',
  rttUsec: number | null,
  uri = URI,
): EndpointDetailRecord {
  return {
    context: 'internal',
    transportProtocol: 'udp',
    contacts: [
      {
        aor: 'prov',
        uri,
        endpoint: 'prov',
        status,
        rttUsec,
        userAgent: null,
        expiresAt: null,
        viaAddress: null,
        callId: null,
      },
    ],
  };
}

function setup(reg: NodeRegistrations) {
  const config = {
    state: { reconcileIntervalMs: 60_000 },
    nodes: [{ name: 'pbx1' }],
  } as unknown as PbxpulseConfig;
  const bus = new EventBus();
  const calls: string[] = [];
  let answer: EndpointDetailRecord = detail('reachable', 12_345);
  const link: TrunkAmiLink = {
    isUp: true,
    endpointDetail: (name: string) => {
      calls.push(name);
      return Promise.resolve(answer);
    },
  };
  const source = { reg, state: () => source.reg };
  const store = new TrunkStore(config, bus, source, { pjsip: () => link });
  return {
    store,
    bus,
    calls,
    source,
    answer: (a: EndpointDetailRecord) => (answer = a),
  };
}

function event(over: Partial<ContactStatusChanged>): ContactStatusChanged {
  return {
    type: 'contact.status_changed',
    node: 'pbx1',
    ts: Date.now(),
    source: 'ami',
    endpoint: 'prov',
    aor: 'prov',
    uri: URI,
    status: 'unreachable',
    ...over,
  };
}

describe('TrunkStore', () => {
  afterEach(() => jest.useRealTimers());

  it('finds the trunks (permanent contacts and qualify_frequency) and reads one PJSIPShowEndpoint each', async () => {
    const t = setup(registrations());
    expect(await t.store.read('pbx1')).toBe(1);
    expect(t.calls).toEqual(['prov']);
    expect(t.store.trunks('pbx1')).toEqual([
      {
        endpoint: 'prov',
        reachability: 'reachable',
        rttMs: 12.35,
        since: expect.any(String),
        qualifyFrequency: 1,
        contacts: [{ aor: 'prov', uri: URI, status: 'reachable', rttMs: 12.35 }],
      },
    ]);
    t.store.onModuleDestroy();
  });

  it('an AOR with permanent contacts but no qualify_frequency is no trunk (nothing tells its reachability)', async () => {
    const t = setup(registrations(0));
    expect(await t.store.read('pbx1')).toBe(0);
    expect(t.calls).toEqual([]);
    expect(t.store.trunks('pbx1')).toEqual([]);
    t.store.onModuleDestroy();
  });

  it('follows ContactStatus events of its contacts; since moves only when the reachability changes', async () => {
    const t = setup(registrations());
    await t.store.read('pbx1');
    const since = t.store.trunks('pbx1')[0].since;
    t.bus.publish(event({ status: 'reachable', rttUsec: 5000, ts: Date.now() + 10_000 }));
    expect(t.store.trunks('pbx1')[0]).toMatchObject({ reachability: 'reachable', rttMs: 5, since });
    const at = Date.now() + 20_000;
    t.bus.publish(event({ status: 'unreachable', ts: at }));
    expect(t.store.trunks('pbx1')[0]).toMatchObject({
      reachability: 'unreachable',
      rttMs: null,
      since: new Date(at).toISOString(),
      contacts: [{ status: 'unreachable', rttMs: null }],
    });
    // Events of other contacts (a phone's) change nothing.
    t.bus.publish(event({ endpoint: '1001', aor: '1001', uri: 'sip:1001@10.0.0.9', status: 'reachable' }));
    expect(t.store.trunks('pbx1')[0].reachability).toBe('unreachable');
    t.store.onModuleDestroy();
  });

  it('reachable while one of its contacts answers; unknown until all are qualified', async () => {
    const t = setup(registrations(1, [URI, BACKUP]));
    t.answer(detail('unreachable', null));
    await t.store.read('pbx1');
    // The backup was not in the answer (not qualified yet): unknown, not unreachable.
    expect(t.store.trunks('pbx1')[0].reachability).toBe('unknown');
    t.bus.publish(event({ uri: BACKUP, status: 'reachable', rttUsec: 2000 }));
    expect(t.store.trunks('pbx1')[0]).toMatchObject({ reachability: 'reachable', rttMs: 2 });
    t.bus.publish(event({ uri: BACKUP, status: 'unreachable' }));
    expect(t.store.trunks('pbx1')[0].reachability).toBe('unreachable');
    t.store.onModuleDestroy();
  });

  it('reads after an AMI resync and again at the reconciliation interval; a trunk removed from the config goes', async () => {
    jest.useFakeTimers();
    const t = setup(registrations());
    t.bus.publish({
      type: 'state.resynced',
      node: 'pbx1',
      link: 'ami',
      counts: {},
      ts: Date.now(),
      source: 'ami',
    });
    await jest.advanceTimersByTimeAsync(0);
    expect(t.calls).toEqual(['prov']);
    t.source.reg = registrations(0);
    await jest.advanceTimersByTimeAsync(60_000);
    expect(t.calls).toEqual(['prov']);
    expect(t.store.trunks('pbx1')).toEqual([]);
    t.store.onModuleDestroy();
  });
});
