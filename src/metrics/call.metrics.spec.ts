import { Registry } from 'prom-client';
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

function setup() {
  const registry = new Registry();
  const bus = new EventBus();
  const store = new CallStore(FIXTURE_CONFIG, bus);
  const reader = {
    endpoints: (node: string) =>
      node === NODE ? CONFIGURED.map((name) => ({ name, registered: false }) as EndpointView) : [],
  } as unknown as RegistrationReader;
  new CallMetrics(registry, store, reader);
  const endpointCalls = async (): Promise<Record<string, number>> => {
    const metric = await registry.getSingleMetric('pbxpulse_endpoint_calls_total')!.get();
    return Object.fromEntries(metric.values.map((v) => [`${v.labels.node}/${v.labels.endpoint}`, v.value]));
  };
  return { bus, endpointCalls };
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
  it('is zero for every configured endpoint before any call', async () => {
    const { endpointCalls } = setup();
    expect(await endpointCalls()).toEqual({ 'pbx1/1002': 0, 'pbx1/2001': 0, 'pbx1/2002': 0 });
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
    expect(await endpointCalls()).toEqual({ 'pbx1/1002': 0, 'pbx1/2001': 1, 'pbx1/2002': 1 });

    // 2002 calls 2002 (a second channel of the same endpoint in one call): still one call for 2002.
    const out = channel('1700000000.3', '2002', '1700000000.3', 'ring');
    const back = channel('1700000000.4', '2002', '1700000000.3', 'ring');
    bus.publish(created(out));
    bus.publish(created(back));
    bus.publish(hungUp({ ...caller, state: 'up' }));
    bus.publish(hungUp({ ...callee, state: 'up' }));
    bus.publish(hungUp(back));
    bus.publish(hungUp(out));
    expect(await endpointCalls()).toEqual({ 'pbx1/1002': 0, 'pbx1/2001': 1, 'pbx1/2002': 2 });
  });

  it('counts the recorded Echo call of 2002 and RTP-timeout call of 2001', async () => {
    const { bus, endpointCalls } = setup();
    for (const e of amiChannelEvents(parseFrames([fixtureBytes()]))) bus.publish(e);
    expect(await endpointCalls()).toEqual({ 'pbx1/1002': 0, 'pbx1/2001': 1, 'pbx1/2002': 1 });
  });
});
