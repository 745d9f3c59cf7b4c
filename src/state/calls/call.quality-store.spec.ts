import { normaliseAmiEvent } from '../../ami/ami.normaliser';
import { EventBus } from '../../events/event-bus';
import type { CallQualityUpdated, PbxEvent } from '../../events/pbx-events';
import { CallStore } from './call.store';
import { FIXTURE_CONFIG, NODE, fixtureBytes, parseFrames } from './testing/call-events.fixtures';

/**
 * The call store with real RTCP (test/fixtures/rtcp-calls.ami): an Echo call with RTP both ways
 * (1796598467.0), then a tone call whose phone sent nothing (1796598471.1). Events are stamped one
 * second apart, like the sandbox's reports.
 */
const ECHO = '1796598467.0';
const TONE = '1796598471.1';

function recordedEvents(): PbxEvent[] {
  return parseFrames([fixtureBytes('rtcp-calls.ami')])
    .filter((m) => m.fields.Event !== undefined)
    .map((m, i) => normaliseAmiEvent(NODE, m, 1_000_000 + i * 1000))
    .filter((e): e is PbxEvent => e !== undefined);
}

function setup() {
  const bus = new EventBus();
  const store = new CallStore(FIXTURE_CONFIG, bus);
  const updates: CallQualityUpdated[] = [];
  bus.on('call.quality_updated', (e) => updates.push(e));
  return { bus, store, updates };
}

describe('CallStore: RTCP quality', () => {
  it('keeps each live channel’s quality on its call and publishes call.quality_updated per report', () => {
    const { bus, store, updates } = setup();
    const events = recordedEvents();
    const firstHangup = events.findIndex((e) => e.type === 'channel.hung_up');
    events.slice(0, firstHangup).forEach((e) => bus.publish(e));

    expect(updates.map((u) => u.uniqueid)).toEqual([ECHO, ECHO, ECHO, ECHO]);
    const last = updates.at(-1)!;
    expect(last).toMatchObject({ linkedid: ECHO, endpoint: '2002', channel: 'PJSIP/2002-00000000' });
    expect(last.answeredAt).toEqual(expect.any(Number));
    expect(last.flow.inboundReceivedAt).toBe(last.ts);
    const [call] = store.activeCalls(NODE) ?? [];
    const q = call.channels[0].quality;
    // 4 reports from Asterisk: 196 packets sent, 4 blocks about the phone's stream; 8 kHz from the SRs.
    expect(q).toMatchObject({
      inbound: { reports: 4, lossFraction: 0, lostPackets: 0, jitterMs: 0.75 },
      outbound: { packets: 196, reports: 0 },
      rttMs: null,
    });
    expect(q?.mos).toBeGreaterThan(4.3);
    expect(call.quality).toEqual({
      mos: q?.mos,
      jitterMs: q?.inbound.jitterAvgMs,
      lossFraction: 0,
      rttMs: null,
    });
    expect(store.trackedQuality(NODE)).toBe(1);
  });

  it('hands the quality to the ended call and forgets the channel (memory stays bounded)', () => {
    const { bus, store } = setup();
    recordedEvents().forEach((e) => bus.publish(e));
    const recent = store.recentCalls(NODE) ?? [];
    expect(recent.map((c) => c.linkedid)).toEqual([TONE, ECHO]);
    const [tone, echo] = recent;
    expect(echo.channels[0].quality?.inbound.reports).toBe(4);
    expect(echo.quality?.mos).toBeGreaterThan(4.3);
    // The tone call: Asterisk sent 150 packets and never received one; no block, so no MOS.
    expect(tone.channels[0].quality).toMatchObject({
      inbound: { reports: 0, lossFraction: null },
      outbound: { packets: 150 },
      mos: null,
    });
    expect(tone.quality).toEqual({ mos: null, jitterMs: null, lossFraction: null, rttMs: null });
    expect(store.trackedQuality(NODE)).toBe(0);
  });

  it('ignores reports of channels it does not know or that ended', () => {
    const { bus, store, updates } = setup();
    const rtcp = recordedEvents().filter((e) => e.type === 'rtcp.reported');
    rtcp.forEach((e) => bus.publish(e));
    expect(updates).toEqual([]);
    expect(store.trackedQuality(NODE)).toBe(0);
  });
});
