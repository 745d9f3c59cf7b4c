import { EventBus } from '../events/event-bus';
import type { AlertCleared, AlertRaised, CallQualityUpdated } from '../events/pbx-events';
import type { ChannelQualityView, MediaFlow } from '../state/calls/call.quality';
import type { ChannelView } from '../state/calls/call.views';
import { AlertsService } from './alerts.service';
import { OneWayAudioDetector, oneWayAudio } from './one-way-audio.detector';
import { FakeClock, FakeRegistrationReader } from './testing/fake-registration-reader';

const T = 10_000;
const ANSWER = 100_000;

/** Media flow facts: by default, both ways flowing at `now`. */
function flow(now: number, over: Partial<MediaFlow> = {}): MediaFlow {
  return {
    outboundSentAt: now,
    outboundReceivedAt: null,
    inboundSentAt: null,
    inboundReceivedAt: now,
    peerReportAt: null,
    firstReportAt: ANSWER + 1000,
    ...over,
  };
}

describe('oneWayAudio (pure)', () => {
  const at = ANSWER + 15_000;

  it('is quiet while both ways carry RTP, before the threshold, and before the answer', () => {
    expect(oneWayAudio(flow(at), ANSWER, at, T)).toBeNull();
    expect(oneWayAudio(flow(at, { inboundReceivedAt: null }), ANSWER, ANSWER + 5000, T)).toBeNull();
    expect(oneWayAudio(flow(at, { inboundReceivedAt: null }), null, at, T)).toBeNull();
  });

  it('endpoint → Asterisk missing: Asterisk sends, nothing arrives since the answer', () => {
    expect(oneWayAudio(flow(at, { inboundReceivedAt: null }), ANSWER, at, T)).toEqual({
      direction: 'inbound',
      since: ANSWER,
    });
    // It arrived once, then stopped for longer than the threshold.
    expect(oneWayAudio(flow(at, { inboundReceivedAt: ANSWER + 2000 }), ANSWER, at, T)).toEqual({
      direction: 'inbound',
      since: ANSWER + 2000,
    });
  });

  it('not when Asterisk sends nothing either (no audio at all is not one-way)', () => {
    expect(
      oneWayAudio(flow(at, { inboundReceivedAt: null, outboundSentAt: ANSWER }), ANSWER, at, T),
    ).toBeNull();
  });

  it('silence suppression: the endpoint’s RTCP arrives and says it sent nothing → no alert', () => {
    const silent = flow(at, {
      inboundReceivedAt: ANSWER + 2000,
      peerReportAt: at,
      inboundSentAt: ANSWER + 2000,
    });
    expect(oneWayAudio(silent, ANSWER, at, T)).toBeNull();
    // …but an endpoint whose SR says it keeps sending what never arrives is a broken path.
    const lost = { ...silent, inboundSentAt: at };
    expect(oneWayAudio(lost, ANSWER, at, T)).toMatchObject({ direction: 'inbound' });
  });

  it('Asterisk → endpoint missing: the endpoint reports (so it is alive) but never got our packets', () => {
    const f = flow(at, { peerReportAt: at, outboundReceivedAt: null });
    expect(oneWayAudio(f, ANSWER, at, T)).toEqual({ direction: 'outbound', since: ANSWER });
    expect(oneWayAudio({ ...f, outboundReceivedAt: at - 1000 }, ANSWER, at, T)).toBeNull();
    // Without RTCP from the endpoint, that way is unknown.
    expect(oneWayAudio({ ...f, peerReportAt: null }, ANSWER, at, T)).toBeNull();
  });
});

const quality: ChannelQualityView = {
  inbound: {
    packets: null,
    lostPackets: null,
    lossFraction: null,
    lossAvgFraction: null,
    jitterMs: null,
    jitterAvgMs: null,
    jitterMaxMs: null,
    reports: 0,
    mes: null,
  },
  outbound: {
    packets: 750,
    lostPackets: null,
    lossFraction: null,
    lossAvgFraction: null,
    jitterMs: null,
    jitterAvgMs: null,
    jitterMaxMs: null,
    reports: 0,
    mes: null,
  },
  rttMs: null,
  rttAvgMs: null,
  rttMaxMs: null,
  mos: null,
  updatedAt: '2026-12-06T00:00:00.000Z',
};

function update(ts: number, f: MediaFlow, endpoint = '2002', uniqueid = '17.1'): CallQualityUpdated {
  return {
    type: 'call.quality_updated',
    node: 'pbx1',
    ts,
    source: 'daemon',
    linkedid: '17.0',
    uniqueid,
    channel: `PJSIP/${endpoint}-00000001`,
    endpoint,
    answeredAt: ANSWER,
    quality,
    callQuality: null,
    flow: f,
  };
}

function setup() {
  const bus = new EventBus();
  const clock = new FakeClock();
  const alerts = new AlertsService(bus, clock.now);
  const reader = new FakeRegistrationReader().addEndpoint('pbx1', { name: '2002' });
  const detector = new OneWayAudioDetector({ thresholdMs: T }, reader, alerts);
  const raised: AlertRaised[] = [];
  const cleared: AlertCleared[] = [];
  bus.on('alert.raised', (e) => raised.push(e));
  bus.on('alert.cleared', (e) => cleared.push(e));
  return { detector, alerts, raised, cleared };
}

describe('OneWayAudioDetector', () => {
  it('raises one alert per channel naming the call, the endpoint and the way; counts it once', () => {
    const { detector, alerts, raised } = setup();
    for (let t = ANSWER + 1000; t <= ANSWER + 20_000; t += 1000) {
      detector.onQualityUpdated(update(t, flow(t, { inboundReceivedAt: null })));
    }
    expect(raised).toHaveLength(1);
    expect(raised[0].alert).toMatchObject({
      id: 'one_way_audio:pbx1:2002:17.1',
      type: 'one_way_audio',
      endpoint: '2002',
      details: { linkedid: '17.0', direction: 'inbound', from: '2002', to: 'asterisk', otherWayPackets: 750 },
    });
    expect(raised[0].alert.message).toBe(
      'One-way audio on call 17.0 (channel PJSIP/2002-00000001): no audio from 2002 to Asterisk for 10 s ' +
        'while the other way carries RTP.',
    );
    expect(raised[0].alert.remedy).toMatch(/rtp_symmetric=yes.*direct_media=no.*ICE/s);
    // Updated in place while it lasts.
    expect(alerts.get('one_way_audio:pbx1:2002:17.1')?.details.silentForMs).toBe(20_000);
    expect(detector.endpointCounts('pbx1')).toEqual(new Map([['2002', 1]]));
    expect(detector.directionCounts('pbx1')).toEqual({ inbound: 1, outbound: 0 });
  });

  it('clears when both ways flow again, and when the channel ends (rtp_timeout named as such)', () => {
    const { detector, cleared } = setup();
    const t = ANSWER + 12_000;
    detector.onQualityUpdated(update(t, flow(t, { inboundReceivedAt: null })));
    detector.onQualityUpdated(update(t + 1000, flow(t + 1000)));
    expect(cleared.map((e) => e.reason)).toEqual(['media_flowing']);
    detector.onQualityUpdated(update(t + 20_000, flow(t + 20_000, { inboundReceivedAt: t + 1000 })));
    const channel = { uniqueid: '17.1' } as ChannelView;
    detector.onChannelEnded({
      type: 'call.channel_ended',
      node: 'pbx1',
      ts: t + 21_000,
      source: 'daemon',
      linkedid: '17.0',
      channel,
      rtpTimeoutCulprit: true,
    });
    expect(cleared.map((e) => e.reason)).toEqual(['media_flowing', 'rtp_timeout']);
    expect(detector.activeCount).toBe(0);
    expect(detector.directionCounts('pbx1').inbound).toBe(2);
  });

  it('counts an endpoint that is not configured as <unknown> (bounded labels)', () => {
    const { detector } = setup();
    const t = ANSWER + 12_000;
    detector.onQualityUpdated(update(t, flow(t, { inboundReceivedAt: null }), 'trunk-x', '18.1'));
    expect(detector.endpointCounts('pbx1')).toEqual(new Map([['<unknown>', 1]]));
  });
});
