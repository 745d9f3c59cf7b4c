import { Logger } from '@nestjs/common';
import { EventBus } from '../../events/event-bus';
import type {
  CallChannelEnded,
  CallEnded,
  CallUpdated,
  ChannelEvent,
  ChannelSnapshot,
} from '../../events/pbx-events';
import { CallStore } from './call.store';
import {
  amiChannelEvents,
  ariCallMessages,
  ariChannelEvents,
  FIXTURE_CALLS,
  FIXTURE_CONFIG,
  fixtureBytes,
  NODE,
  parseFrames,
} from './testing/call-events.fixtures';

function setup(recentCalls?: number) {
  const bus = new EventBus();
  const store = new CallStore(FIXTURE_CONFIG, bus, recentCalls === undefined ? undefined : { recentCalls });
  const seen = {
    updated: [] as CallUpdated[],
    channelEnded: [] as CallChannelEnded[],
    ended: [] as CallEnded[],
  };
  bus.on('call.updated', (e) => seen.updated.push(e));
  bus.on('call.channel_ended', (e) => seen.channelEnded.push(e));
  bus.on('call.ended', (e) => seen.ended.push(e));
  return { bus, store, seen };
}

const amiEvents = amiChannelEvents(parseFrames([fixtureBytes()]));
const { normal, rtpTimeout } = FIXTURE_CALLS;
const ofCall = (uniqueid: string, events: readonly ChannelEvent[]) =>
  events.filter((e) => JSON.stringify(e).includes(`"${uniqueid}"`));

describe('CallStore', () => {
  it('replays the recorded calls: active while up, then recent (newest first) with classification', () => {
    const { bus, store, seen } = setup();
    const normalEvents = ofCall(normal.uniqueid, amiEvents);
    normalEvents.slice(0, 2).forEach((e) => bus.publish(e));
    expect(store.activeCalls(NODE)).toEqual([
      expect.objectContaining({
        linkedid: normal.uniqueid,
        node: NODE,
        state: 'up',
        channels: [expect.objectContaining({ endpoint: '2002', state: 'up', name: normal.name })],
      }),
    ]);
    expect(store.channels(NODE)).toHaveLength(1);
    amiEvents.slice(2).forEach((e) => bus.publish(e));
    expect(store.activeCalls(NODE)).toEqual([]);
    expect(store.recentCalls(NODE)?.map((c) => [c.linkedid, c.classification, c.cause, c.endedBy])).toEqual([
      [rtpTimeout.uniqueid, 'rtp_timeout', 44, 'hangup'],
      [normal.uniqueid, 'normal', 0, 'hangup'],
    ]);
    const [last] = store.recentCalls(NODE, 1) ?? [];
    expect(last.durationMs).toBeGreaterThan(0);
    expect(last.rtpTimeoutEndpoint).toBe('2001');
    expect(Date.parse(last.endedAt)).toBeGreaterThan(Date.parse(last.startedAt));
    expect(seen.ended.map((e) => e.call.classification)).toEqual(['normal', 'rtp_timeout']);
    expect(seen.channelEnded.map((e) => [e.channel.uniqueid, e.rtpTimeoutCulprit])).toEqual([
      [normal.uniqueid, false],
      [rtpTimeout.uniqueid, true],
    ]);
    expect(seen.updated.every((e) => e.type === 'call.updated' && e.source === 'daemon')).toBe(true);
    expect(store.counters(NODE)).toEqual({
      callsStarted: 2,
      hangups: { normal: 1, busy: 0, no_answer: 0, rejected: 0, failed: 0, rtp_timeout: 1, unknown: 0 },
      rtpTimeouts: new Map([['2001', 1]]),
      endpointCalls: new Map([
        ['2002', 1],
        ['2001', 1],
      ]),
    });
  });

  it('derives once when both links report the same calls', () => {
    const single = setup();
    amiEvents.forEach((e) => single.bus.publish(e));
    const both = setup();
    const ari = [
      ...ariChannelEvents(ariCallMessages(normal, 'normal')),
      ...ariChannelEvents(ariCallMessages(rtpTimeout, 'rtp_timeout')),
    ];
    // ARI slightly ahead on the first call, AMI ahead on the second.
    const ariNormal = ofCall(normal.uniqueid, ari);
    const ariRtp = ofCall(rtpTimeout.uniqueid, ari);
    const amiNormal = ofCall(normal.uniqueid, amiEvents);
    const amiRtp = ofCall(rtpTimeout.uniqueid, amiEvents);
    [...zip(ariNormal, amiNormal), ...zip(amiRtp, ariRtp)].forEach((e) => both.bus.publish(e));
    const count = (s: typeof single) => [
      s.seen.updated.length,
      s.seen.channelEnded.length,
      s.seen.ended.length,
    ];
    expect(count(both)).toEqual(count(single));
    expect(both.store.counters(NODE)).toEqual(single.store.counters(NODE));
    expect(both.store.recentCalls(NODE)?.map((c) => c.classification)).toEqual(['rtp_timeout', 'normal']);
  });

  it('keeps state flowing from ARI alone (no linkedid: keyed by the uniqueid)', () => {
    const { bus, store } = setup();
    const ari = ariChannelEvents(ariCallMessages(normal, 'normal'));
    ari.slice(0, 2).forEach((e) => bus.publish(e));
    expect(store.activeCalls(NODE)?.[0]).toMatchObject({
      linkedid: normal.uniqueid,
      state: 'up',
      channels: [{ linkedid: null, endpoint: '2002' }],
    });
    ari.slice(2).forEach((e) => bus.publish(e));
    expect(store.recentCalls(NODE)?.[0]).toMatchObject({ classification: 'normal', cause: 0 });
  });

  it('keeps at most N ended calls', () => {
    const { bus, store } = setup(3);
    for (let i = 0; i < 5; i++) {
      const channel: ChannelSnapshot = {
        uniqueid: `9.${i}`,
        linkedid: `9.${i}`,
        name: `PJSIP/2002-0000000${i}`,
        state: 'up',
      };
      bus.publish({ type: 'channel.created', node: NODE, ts: i * 100, source: 'ami', channel });
      bus.publish({
        type: 'channel.hung_up',
        node: NODE,
        ts: i * 100 + 50,
        source: 'ami',
        channel,
        cause: 16,
        causeText: '',
      });
    }
    expect(store.recentCalls(NODE)?.map((c) => c.linkedid)).toEqual(['9.4', '9.3', '9.2']);
    expect(store.recentCalls(NODE, 2)).toHaveLength(2);
    expect(store.recentCapacity).toBe(3);
    expect(store.counters(NODE)?.hangups.normal).toBe(5);
  });

  it('a resync ends ghosts with endedBy resync and classification unknown', () => {
    const { bus, store, seen } = setup();
    ofCall(normal.uniqueid, amiEvents)
      .slice(0, 2)
      .forEach((e) => bus.publish(e));
    const counts = store.applyResync(NODE, 'ami', [], Date.now() + 1);
    expect(counts).toEqual({ channels: 0, ghostChannels: 1 });
    expect(store.activeCalls(NODE)).toEqual([]);
    expect(store.recentCalls(NODE)?.[0]).toMatchObject({
      linkedid: normal.uniqueid,
      classification: 'unknown',
      endedBy: 'resync',
      cause: null,
    });
    expect(seen.ended).toHaveLength(1);
    // The real Hangup arriving late derives nothing more.
    ofCall(normal.uniqueid, amiEvents)
      .slice(2)
      .forEach((e) => bus.publish(e));
    expect(seen.ended).toHaveLength(1);
    expect(store.counters(NODE)?.hangups.unknown).toBe(1);
  });

  it('a throwing subscriber breaks neither the store nor the other subscribers; unsubscribe works', () => {
    const { bus, store, seen } = setup();
    const errors = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const off = bus.on('call.ended', () => {
      throw new Error('boom');
    });
    amiEvents.forEach((e) => bus.publish(e));
    expect(seen.ended).toHaveLength(2);
    // The bus isolates it (the store keeps no listeners of its own): counted and logged, once per call.
    expect(bus.consumerFailures).toBe(2);
    expect(errors.mock.calls.map(([m]) => String(m))).toEqual([
      expect.stringContaining('consumer failed on call.ended'),
      expect.stringContaining('consumer failed on call.ended'),
    ]);
    expect(store.recentCalls(NODE)).toHaveLength(2);
    off();
    const other = bus.on('call.updated', () => undefined);
    other();
    errors.mockRestore();
  });

  it('publishes what it derives on the bus after the channel event reached every consumer', () => {
    const { bus, store } = setup();
    const order: string[] = [];
    let activeWhenUpdated: number | undefined;
    bus.subscribe((e) => {
      order.push(e.type);
      if (e.type === 'call.updated') activeWhenUpdated = store.activeCalls(NODE)?.length;
    });
    bus.publish(ofCall(normal.uniqueid, amiEvents)[0]);
    expect(order).toEqual(['channel.created', 'call.updated']);
    expect(activeWhenUpdated).toBe(1);
  });

  it('ignores events of unknown nodes and answers undefined for them', () => {
    const { bus, store } = setup();
    bus.publish({ ...amiEvents[0], node: 'elsewhere' });
    expect(store.activeCalls(NODE)).toEqual([]);
    expect(store.activeCalls('elsewhere')).toBeUndefined();
    expect(store.recentCalls('elsewhere')).toBeUndefined();
    expect(store.counters('elsewhere')).toBeUndefined();
  });
});

function zip<T>(a: readonly T[], b: readonly T[]): T[] {
  const out: T[] = [];
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (i < a.length) out.push(a[i]);
    if (i < b.length) out.push(b[i]);
  }
  return out;
}
