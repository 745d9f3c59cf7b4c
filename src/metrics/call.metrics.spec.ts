import { Registry } from 'prom-client';
import type { PbxpulseConfig, PerEndpointMetricsConfig } from '../config/config.types';
import { EventBus } from '../events/event-bus';
import type { ChannelEvent, ChannelSnapshot } from '../events/pbx-events';
import { CallStore } from '../state/calls/call.store';
import {
  amiChannelEvents,
  FIXTURE_CONFIG,
  fixtureBytes,
  NODE,
  parseFrames,
} from '../state/calls/testing/call-events.fixtures';
import type { EndpointView, RegistrationReader } from '../state/registrations/registration.views';
import { CallMetrics } from './call.metrics';

/** Configured endpoints of NODE, as the registration store lists them. */
const CONFIGURED = ['1002', '2001', '2002'];

function setup(perEndpoint: PerEndpointMetricsConfig = { mode: 'active', maxEndpoints: 1000 }) {
  const registry = new Registry();
  const bus = new EventBus();
  const store = new CallStore(FIXTURE_CONFIG, bus);
  const reader = {
    endpoints: (node: string) =>
      node === NODE ? CONFIGURED.map((name) => ({ name, registered: false }) as EndpointView) : [],
  } as unknown as RegistrationReader;
  new CallMetrics(registry, store, reader, { metrics: { perEndpoint } } as PbxpulseConfig);
  const scrape = async (): Promise<Record<string, number>> => {
    const metric = await registry.getSingleMetric('pbxpulse_endpoint_calls_total')!.get();
    return Object.fromEntries(metric.values.map((v) => [`${v.labels.node}/${v.labels.endpoint}`, v.value]));
  };
  /** The counts: a series' first scrape writes it at 0 (so increase() has a base), the next its count. */
  const endpointCalls = async (): Promise<Record<string, number>> => {
    await scrape();
    return scrape();
  };
  return { bus, endpointCalls, scrape };
}

let ts = 1000;
const channel = (uniqueid: string, endpoint: string, linkedid: string, state: ChannelSnapshot['state']) => ({
  uniqueid,
  linkedid,
  name: `PJSIP/${endpoint}-${uniqueid.replace('.', '')}`,
  state,
});
const created = (c: ChannelSnapshot): ChannelEvent => ({
  type: 'channel.created',
  node: NODE,
  ts: (ts += 10),
  source: 'ami',
  channel: c,
});
const updated = (c: ChannelSnapshot): ChannelEvent => ({
  type: 'channel.updated',
  node: NODE,
  ts: (ts += 10),
  source: 'ami',
  channel: c,
});
const hungUp = (c: ChannelSnapshot): ChannelEvent => ({
  type: 'channel.hung_up',
  node: NODE,
  ts: (ts += 10),
  source: 'ami',
  channel: c,
  cause: 16,
  causeText: 'Normal Clearing',
});

describe('CallMetrics: pbxpulse_endpoint_calls_total', () => {
  it('has no series before any call (mode active), one per configured endpoint at 0 in mode all', async () => {
    expect(await setup().endpointCalls()).toEqual({});
    const { endpointCalls } = setup({ mode: 'all', maxEndpoints: 1000 });
    expect(await endpointCalls()).toEqual({ 'pbx1/1002': 0, 'pbx1/2001': 0, 'pbx1/2002': 0 });
  });

  it('writes a series at 0 on the scrape that creates it, its count from the next', async () => {
    const { bus, scrape } = setup();
    expect(await scrape()).toEqual({});
    bus.publish(created(channel('1700000000.1', '2001', '1700000000.1', 'up')));
    expect(await scrape()).toEqual({ 'pbx1/2001': 0 });
    expect(await scrape()).toEqual({ 'pbx1/2001': 1 });
    bus.publish(created(channel('1700000000.2', '2001', '1700000000.2', 'up')));
    expect(await scrape()).toEqual({ 'pbx1/2001': 2 });
  });

  it('sums the endpoints past maxEndpoints into <other>, which keeps them', async () => {
    const { bus, endpointCalls } = setup({ mode: 'active', maxEndpoints: 1 });
    bus.publish(created(channel('1700000000.1', '2001', '1700000000.1', 'up')));
    bus.publish(created(channel('1700000000.2', '2002', '1700000000.2', 'up')));
    bus.publish(created(channel('1700000000.3', '1002', '1700000000.3', 'up')));
    expect(await endpointCalls()).toEqual({ 'pbx1/2001': 1, 'pbx1/<other>': 2 });
    bus.publish(created(channel('1700000000.4', '2002', '1700000000.4', 'up')));
    expect(await endpointCalls()).toEqual({ 'pbx1/2001': 1, 'pbx1/<other>': 3 });
  });

  it('counts a call once per endpoint that took part, from its start, whatever the channel updates', async () => {
    const { bus, endpointCalls } = setup();
    // 2001 calls 2002: two channels, one linkedid.
    const caller = channel('1700000000.1', '2001', '1700000000.1', 'ring');
    const callee = channel('1700000000.2', '2002', '1700000000.1', 'down');
    bus.publish(created(caller));
    bus.publish(created(callee));
    bus.publish(updated({ ...callee, state: 'ringing' }));
    bus.publish(updated({ ...callee, state: 'up' }));
    bus.publish(updated({ ...caller, state: 'up' }));
    expect(await endpointCalls()).toEqual({ 'pbx1/2001': 1, 'pbx1/2002': 1 });

    // 2002 calls 2002 (a second channel of the same endpoint in one call): still one call for 2002.
    const out = channel('1700000000.3', '2002', '1700000000.3', 'ring');
    const back = channel('1700000000.4', '2002', '1700000000.3', 'ring');
    bus.publish(created(out));
    bus.publish(created(back));
    bus.publish(hungUp({ ...caller, state: 'up' }));
    bus.publish(hungUp({ ...callee, state: 'up' }));
    bus.publish(hungUp(back));
    bus.publish(hungUp(out));
    expect(await endpointCalls()).toEqual({ 'pbx1/2001': 1, 'pbx1/2002': 2 });
  });

  it('counts the recorded Echo call of 2002 and RTP-timeout call of 2001', async () => {
    const { bus, endpointCalls } = setup();
    for (const e of amiChannelEvents(parseFrames([fixtureBytes()]))) bus.publish(e);
    expect(await endpointCalls()).toEqual({ 'pbx1/2001': 1, 'pbx1/2002': 1 });
  });
});
