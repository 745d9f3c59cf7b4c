import { parseConfig } from '../config/config.loader';
import { EventBus } from '../events/event-bus';
import type { ContactStatus, PbxEvent } from '../events/pbx-events';
import type { ChannelQualityView, MediaFlow } from '../state/calls/call.quality';
import type { CallView, ChannelView, EndedCallView } from '../state/calls/call.views';
import { NodeStateStore } from '../state/node-state.store';
import type {
  AorView,
  ContactView,
  EndpointView,
  RegistrationReader,
} from '../state/registrations/registration.views';
import { CALL_QUALITY_INTERVAL_MS } from './call-quality-updates';
import { ENDPOINT_UPDATE_INTERVAL_MS } from './endpoint-updates';
import { GatewayBridge } from './gateway.bridge';
import { GatewayHub } from './gateway.hub';
import type { Delta, DeltaOf } from './gateway.protocol';

const NODE = 'pbx1';
const config = parseConfig(
  [
    'nodes:',
    `  - name: ${NODE}`,
    '    ami: { host: 127.0.0.1, port: 1, username: u, secret: s }',
    '    ari: { url: "http://127.0.0.1:1", username: u, password: p }',
  ].join('\n'),
  { source: '<test>', env: {} },
);

/**
 * A registration store in miniature: applies contact, reachability and device events in the bus's
 * `state` phase, as the real one is the only writer of registration state.
 */
class MiniRegistrationStore implements RegistrationReader {
  private readonly eps = new Map<string, EndpointView>();
  private readonly aorMap = new Map<string, string[]>();
  private readonly contactMap = new Map<string, ContactView>();

  constructor(bus: EventBus) {
    bus.on(
      ['contact.status_changed', 'endpoint.reachability_changed', 'device.state_changed'],
      (e) => {
        if (e.type === 'contact.status_changed') this.putContact(e.aor, e.uri, e.status, e.rttUsec);
        else if (e.type === 'device.state_changed')
          this.patch(e.device.replace(/^PJSIP\//, ''), { deviceState: e.state });
        else this.patch(e.endpoint, { reachable: e.reachable });
      },
      { phase: 'state' },
    );
  }

  addEndpoint(name: string, aors = [name]): this {
    this.eps.set(name, {
      name,
      aors,
      auths: [],
      authUsernames: [],
      transport: null,
      context: 'internal',
      deviceState: 'NOT_INUSE',
      reachable: null,
      registered: false,
      contacts: 0,
    });
    for (const a of aors) this.aorMap.set(a, [...(this.aorMap.get(a) ?? []), name]);
    return this;
  }

  endpoints(node: string): EndpointView[] {
    return node === NODE ? [...this.eps.keys()].map((n) => this.endpoint(node, n)!) : [];
  }
  endpoint(node: string, name: string): EndpointView | undefined {
    const ep = node === NODE ? this.eps.get(name) : undefined;
    if (!ep) return undefined;
    const contacts = this.contacts(node, name).length;
    return { ...ep, contacts, registered: contacts > 0 };
  }
  aors(node: string): AorView[] {
    return [...this.aorMap.keys()].map((a) => this.aor(node, a)!);
  }
  aor(node: string, name: string): AorView | undefined {
    const endpoints = node === NODE ? this.aorMap.get(name) : undefined;
    return (
      endpoints && {
        name,
        maxContacts: 1,
        removeExisting: true,
        qualifyFrequency: 30,
        contacts: [...this.contactMap.values()].filter((c) => c.aor === name).length,
        endpoints,
      }
    );
  }
  contacts(node: string, endpoint?: string): ContactView[] {
    const all = node === NODE ? [...this.contactMap.values()] : [];
    if (endpoint === undefined) return all;
    const aors = this.eps.get(endpoint)?.aors ?? [];
    return all.filter((c) => aors.includes(c.aor)).map((c) => ({ ...c }));
  }
  isKnownEndpoint(node: string, name: string): boolean {
    return node === NODE && this.eps.has(name);
  }

  private putContact(aor: string, uri: string, status: ContactStatus, rttUsec?: number): void {
    const key = `${aor} ${uri}`;
    if (status === 'removed') {
      this.contactMap.delete(key);
      return;
    }
    this.contactMap.set(key, {
      aor,
      endpoint: this.aorMap.get(aor)?.[0] ?? '',
      uri,
      status,
      rttUsec: status === 'reachable' ? (rttUsec ?? null) : null,
      userAgent: null,
      expiresAt: null,
      viaAddress: null,
      transport: 'udp',
      callId: null,
    });
  }
  private patch(name: string, p: Partial<EndpointView>): void {
    const ep = this.eps.get(name);
    if (ep) this.eps.set(name, { ...ep, ...p });
  }
}

function setup() {
  const bus = new EventBus();
  const hub = new GatewayHub(config);
  const nodes = new NodeStateStore(config, bus);
  const store = new MiniRegistrationStore(bus);
  const bridge = new GatewayBridge(bus, hub, nodes, store);
  store
    .addEndpoint('2001')
    .addEndpoint('2002')
    .addEndpoint('desk', ['shared'])
    .addEndpoint('soft', ['shared']);
  const deltas: Delta[] = [];
  hub.listen((d) => deltas.push(d));
  const endpointUpdates = () =>
    deltas.filter((d): d is DeltaOf<'endpoint.updated'> => d.type === 'endpoint.updated');
  return { bus, hub, bridge, store, deltas, endpointUpdates };
}

const at = { node: NODE, ts: Date.parse('2026-11-23T12:00:00Z') } as const;
const contactEvent = (aor: string, status: ContactStatus, rttUsec?: number, endpoint = aor): PbxEvent => ({
  ...at,
  source: 'ami',
  type: 'contact.status_changed',
  endpoint,
  aor,
  uri: `sip:${aor}@192.0.2.7:5060`,
  status,
  ...(rttUsec === undefined ? {} : { rttUsec }),
});

describe('GatewayBridge: endpoint.updated', () => {
  let ctx: ReturnType<typeof setup>;
  beforeEach(() => {
    jest.useFakeTimers();
    ctx = setup();
  });
  afterEach(() => {
    ctx.bridge.onModuleDestroy();
    jest.useRealTimers();
  });

  it('100 RTT events of one endpoint in one interval: one delta, with the view read after the last', () => {
    ctx.bus.publish(contactEvent('2001', 'reachable', 1000));
    for (let i = 1; i <= 100; i++) ctx.bus.publish(contactEvent('2001', 'reachable', 1000 + i));
    expect(ctx.endpointUpdates()).toEqual([]);
    jest.advanceTimersByTime(ENDPOINT_UPDATE_INTERVAL_MS);
    expect(ctx.endpointUpdates()).toHaveLength(1);
    const [delta] = ctx.endpointUpdates();
    expect(delta).toMatchObject({
      node: NODE,
      data: { endpoint: '2001', changed: ['contacts', 'rtt', 'reachability'] },
    });
    expect(delta.data.view).toEqual(ctx.store.endpoint(NODE, '2001'));
    expect(delta.data.view).toMatchObject({ name: '2001', registered: true, contacts: 1 });
    expect(delta.data.contactList).toEqual([
      expect.objectContaining({ aor: '2001', status: 'reachable', rttUsec: 1100 }),
    ]);
    jest.advanceTimersByTime(10 * ENDPOINT_UPDATE_INTERVAL_MS);
    expect(ctx.endpointUpdates()).toHaveLength(1);
  });

  it('one delta per endpoint per flush with the union of its tags; the next change starts a new interval', () => {
    ctx.bus.publish({
      ...at,
      source: 'ami',
      type: 'device.state_changed',
      device: 'PJSIP/2001',
      state: 'INUSE',
    });
    ctx.bus.publish({
      ...at,
      source: 'ari',
      type: 'endpoint.reachability_changed',
      endpoint: '2001',
      reachable: true,
    });
    ctx.bus.publish(contactEvent('2002', 'nonqualified'));
    jest.advanceTimersByTime(ENDPOINT_UPDATE_INTERVAL_MS);
    expect(ctx.endpointUpdates().map((d) => [d.data.endpoint, d.data.changed])).toEqual([
      ['2001', ['device_state', 'reachability']],
      ['2002', ['contacts']],
    ]);
    expect(ctx.endpointUpdates()[0].data.view).toMatchObject({ deviceState: 'INUSE', reachable: true });
    ctx.bus.publish(contactEvent('2002', 'removed'));
    jest.advanceTimersByTime(ENDPOINT_UPDATE_INTERVAL_MS);
    expect(ctx.endpointUpdates()).toHaveLength(3);
    expect(ctx.endpointUpdates()[2].data).toEqual({
      endpoint: '2002',
      view: expect.objectContaining({ registered: false, contacts: 0 }),
      contactList: [],
      changed: ['contacts'],
    });
  });

  it('a contact of a shared AOR updates every endpoint listing it; unknown endpoints get nothing', () => {
    ctx.bus.publish(contactEvent('shared', 'unreachable', undefined, 'desk'));
    ctx.bus.publish({
      ...at,
      source: 'ami',
      type: 'device.state_changed',
      device: 'PJSIP/ghost',
      state: 'INUSE',
    });
    ctx.bus.publish(contactEvent('nobody', 'reachable', 5, ''));
    jest.advanceTimersByTime(ENDPOINT_UPDATE_INTERVAL_MS);
    expect(ctx.endpointUpdates().map((d) => [d.data.endpoint, d.data.contactList.length])).toEqual([
      ['desk', 1],
      ['soft', 1],
    ]);
  });

  it('a registration.changed marks its endpoint too, and still goes out at once as before', () => {
    ctx.bus.publish(contactEvent('2001', 'nonqualified'));
    ctx.bus.publish({
      ...at,
      source: 'daemon',
      type: 'registration.changed',
      endpoint: '2001',
      registered: true,
      contacts: 1,
    });
    expect(ctx.deltas.map((d) => d.type)).toEqual(['registration.changed']);
    jest.advanceTimersByTime(ENDPOINT_UPDATE_INTERVAL_MS);
    expect(ctx.deltas.map((d) => d.type)).toEqual(['registration.changed', 'endpoint.updated']);
  });

  it('onModuleDestroy cancels the pending flush', () => {
    ctx.bus.publish(contactEvent('2001', 'reachable', 900));
    expect(jest.getTimerCount()).toBe(1);
    ctx.bridge.onModuleDestroy();
    expect(jest.getTimerCount()).toBe(0);
    ctx.bus.publish(contactEvent('2001', 'reachable', 901));
    jest.advanceTimersByTime(ENDPOINT_UPDATE_INTERVAL_MS);
    expect(ctx.endpointUpdates()).toEqual([]);
    expect(jest.getTimerCount()).toBe(0);
  });
});

describe('GatewayBridge: order', () => {
  it('reads a store after it applied the event, even when the store subscribed after the bridge', () => {
    const bus = new EventBus();
    const hub = new GatewayHub(config);
    // The node store subscribes only once the bridge has: subscription order alone would put it last.
    let subscribeNodes = (): void => undefined;
    const late = {
      subscribe: (...args: Parameters<EventBus['subscribe']>) => {
        subscribeNodes = () => void bus.subscribe(...args);
        return () => undefined;
      },
    } as unknown as EventBus;
    const nodes = new NodeStateStore(config, late);
    const bridge = new GatewayBridge(bus, hub, nodes);
    subscribeNodes();
    const deltas: Delta[] = [];
    hub.listen((d) => deltas.push(d));
    bus.publish({ ...at, source: 'ari', type: 'node.info_updated', version: '22.1.0' });
    expect(deltas).toEqual([
      expect.objectContaining({
        type: 'node.status',
        data: expect.objectContaining({ asterisk: expect.objectContaining({ version: '22.1.0' }) }),
      }),
    ]);
    bridge.onModuleDestroy();
  });
});

describe('GatewayBridge: call deltas come from the bus', () => {
  it('call.updated (with supersedes) and call.ended become deltas; call.channel_ended does not', () => {
    const { bus, bridge, deltas } = setup();
    const call: CallView = {
      linkedid: '1.5',
      node: NODE,
      startedAt: '2026-11-23T12:00:00.000Z',
      answeredAt: null,
      state: 'ring',
      channels: [],
      quality: null,
    };
    const ended: EndedCallView = {
      ...call,
      endedAt: '2026-11-23T12:00:05.000Z',
      classification: 'normal',
      cause: 16,
      causeText: 'Normal Clearing',
      durationMs: 5000,
      endedBy: 'hangup',
      rtpTimeoutEndpoint: null,
    };
    bus.publish({ ...at, source: 'daemon', type: 'call.updated', call, supersedes: '1.4' });
    bus.publish({ ...at, source: 'daemon', type: 'call.ended', call: ended });
    expect(deltas.map((d) => [d.type, d.node])).toEqual([
      ['call.updated', NODE],
      ['call.ended', NODE],
    ]);
    expect(deltas[0].data).toEqual({ ...call, supersedes: '1.4' });
    expect(deltas[1].data).toEqual(ended);
    bridge.onModuleDestroy();
  });

  it('call.quality_updated is coalesced: the latest per channel, at most once a second; dropped at call end', () => {
    jest.useFakeTimers();
    try {
      const { bus, bridge, deltas } = setup();
      const update = (uniqueid: string, mos: number) =>
        bus.publish({
          ...at,
          source: 'daemon',
          type: 'call.quality_updated',
          linkedid: '1.5',
          uniqueid,
          channel: `PJSIP/2002-${uniqueid}`,
          endpoint: '2002',
          answeredAt: 1,
          quality: { mos } as ChannelQualityView,
          callQuality: null,
          flow: {} as MediaFlow,
        });
      update('1.5', 4.1);
      update('1.5', 4.3);
      update('1.6', 3.9);
      expect(deltas).toEqual([]);
      jest.advanceTimersByTime(CALL_QUALITY_INTERVAL_MS);
      expect(deltas.map((d) => [d.type, (d as DeltaOf<'call.quality'>).data.uniqueid])).toEqual([
        ['call.quality', '1.5'],
        ['call.quality', '1.6'],
      ]);
      expect((deltas[0] as DeltaOf<'call.quality'>).data.quality.mos).toBe(4.3);
      // A pending update of a call that then ends is not sent after its call.ended.
      update('1.5', 4.0);
      const channel = { uniqueid: '1.5' } as ChannelView;
      bus.publish({
        ...at,
        source: 'daemon',
        type: 'call.ended',
        call: { channels: [channel] } as EndedCallView,
      });
      jest.advanceTimersByTime(CALL_QUALITY_INTERVAL_MS);
      expect(deltas.map((d) => d.type)).toEqual(['call.quality', 'call.quality', 'call.ended']);
      bridge.onModuleDestroy();
    } finally {
      jest.useRealTimers();
    }
  });

  it('the hub refuses a payload of the wrong type at compile time', () => {
    const hub = new GatewayHub(config);
    const wrong = () =>
      // @ts-expect-error: a node.status delta carries a NodeView.
      hub.publish('node.status', NODE, { endpoint: '2001' });
    expect(typeof wrong).toBe('function');
  });
});
