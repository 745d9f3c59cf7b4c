import type { RtcpReported } from '../../events/pbx-events';
import {
  applyRtcpReport,
  callQualitySummary,
  channelQualityView,
  estimateMos,
  newQualityAcc,
  snapClockRate,
} from './call.quality';

const base = { type: 'rtcp.reported', node: 'pbx1', source: 'ami', uniqueid: '1.1' } as const;

/** Asterisk's SR at `t` seconds: `packets` sent so far, 8 kHz timestamps; optional block about the peer. */
function sent(t: number, packets: number, block?: Partial<RtcpReported['block']>): RtcpReported {
  return {
    ...base,
    ts: t * 1000,
    direction: 'sent',
    ssrc: 0xa,
    sender: { packets, octets: packets * 160, ntpSeconds: 1000 + t, rtpTimestamp: 5000 + t * 8000 },
    ...(block
      ? {
          block: { sourceSsrc: 0xb, fractionLost: 0, cumulativeLost: 0, highestSeq: 0, jitter: 0, ...block },
        }
      : {}),
  };
}

describe('estimateMos (simplified ITU-T G.107 E-model)', () => {
  it('scores a perfect G.711 call 4.40 (R = 93.2 less 10 ms of packetisation)', () => {
    expect(estimateMos({ loss: 0, jitterMs: 0, rttMs: 0 })).toBeCloseTo(4.4, 2);
  });

  it('falls with loss (Bpl 25.1: 1 % → 4.32, 5 % → 3.91) and with delay past 177 ms one way', () => {
    expect(estimateMos({ loss: 0.01, jitterMs: 0, rttMs: 0 })).toBeCloseTo(4.32, 2);
    expect(estimateMos({ loss: 0.05, jitterMs: 0, rttMs: 0 })).toBeCloseTo(3.91, 2);
    const short = estimateMos({ loss: 0, jitterMs: 0, rttMs: 300 });
    const long = estimateMos({ loss: 0, jitterMs: 0, rttMs: 600 });
    expect(long).toBeLessThan(short);
    expect(short - long).toBeGreaterThan(0.3);
    // 2 × jitter counts as delay: 100 ms of jitter ≈ 200 ms of one-way delay.
    expect(estimateMos({ loss: 0, jitterMs: 100, rttMs: 0 })).toBeCloseTo(
      estimateMos({ loss: 0, jitterMs: 0, rttMs: 400 }),
      5,
    );
  });

  it('stays within [1, 4.5] whatever the input', () => {
    expect(estimateMos({ loss: 1, jitterMs: 5000, rttMs: 10_000 })).toBe(1);
    expect(estimateMos({ loss: -1, jitterMs: -5, rttMs: -5 })).toBeCloseTo(4.4, 2);
  });
});

describe('snapClockRate', () => {
  it('snaps to the rates audio uses and refuses the rest', () => {
    expect(snapClockRate(8003)).toBe(8000);
    expect(snapClockRate(47_100)).toBe(48_000);
    expect(snapClockRate(12_000)).toBeNull();
  });
});

describe('RTCP accumulation of one channel', () => {
  it("reads Asterisk's reports: SR packets out, the block about the peer in, jitter once the rate is known", () => {
    const acc = newQualityAcc(1000);
    applyRtcpReport(acc, sent(1, 50, { highestSeq: 100, jitter: 80 }));
    // One SR: no clock rate yet, so no jitter in ms.
    expect(channelQualityView(acc).inbound).toMatchObject({ reports: 1, jitterMs: null, lossFraction: 0 });
    applyRtcpReport(acc, sent(2, 100, { highestSeq: 150, jitter: 80, fractionLost: 64, cumulativeLost: 12 }));
    const q = channelQualityView(acc);
    // 8000 timestamp units a second between the two SRs: 80 units = 10 ms.
    expect(q.inbound).toMatchObject({
      packets: null,
      lostPackets: 12,
      lossFraction: 0.25,
      lossAvgFraction: 0.125,
      jitterMs: 10,
      jitterAvgMs: 10,
      reports: 2,
    });
    expect(q.outbound).toMatchObject({ packets: 100, reports: 0 });
    expect(q.mos).toBeCloseTo(estimateMos({ loss: 0.125, jitterMs: 10, rttMs: 0 }), 2);
    expect(acc.flow).toMatchObject({ outboundSentAt: 2000, inboundReceivedAt: 2000, peerReportAt: null });
  });

  it("reads the peer's reports: its block about Asterisk's stream, its SR, the RTT", () => {
    const acc = newQualityAcc(0);
    applyRtcpReport(acc, {
      ...base,
      ts: 3000,
      direction: 'received',
      ssrc: 0xb,
      sender: { packets: 140, octets: 0, ntpSeconds: 50, rtpTimestamp: 0 },
      block: { sourceSsrc: 0xa, fractionLost: 0, cumulativeLost: 0, highestSeq: 70, jitter: 480 },
      rttSeconds: 0.02,
    });
    const q = channelQualityView(acc);
    expect(q.outbound).toMatchObject({ reports: 1, lossFraction: 0, jitterMs: null });
    expect(q.inbound.packets).toBe(140);
    expect(q.rttMs).toBe(20);
    expect(acc.flow).toMatchObject({ peerReportAt: 3000, outboundReceivedAt: 3000, inboundSentAt: 3000 });
  });

  it('does not count a block as media when the sequence stands still or the loss is ≈ 100 %', () => {
    const acc = newQualityAcc(0);
    applyRtcpReport(acc, sent(1, 50, { highestSeq: 100 }));
    applyRtcpReport(acc, sent(2, 100, { highestSeq: 100 }));
    expect(acc.flow.inboundReceivedAt).toBe(1000);
    applyRtcpReport(acc, sent(3, 150, { highestSeq: 120, fractionLost: 255 }));
    expect(acc.flow.inboundReceivedAt).toBe(1000);
    // An RR (Asterisk sent nothing since its last report) leaves the outbound flow alone.
    applyRtcpReport(acc, { ...base, ts: 4000, direction: 'sent', ssrc: 0xa });
    expect(acc.flow.outboundSentAt).toBe(3000);
  });

  it('summarises a call by its worst channel and way; null without any report', () => {
    const good = newQualityAcc(0);
    applyRtcpReport(good, sent(1, 50, { highestSeq: 1 }));
    const bad = newQualityAcc(0);
    applyRtcpReport(bad, sent(1, 50, { highestSeq: 1, fractionLost: 128 }));
    const s = callQualitySummary([channelQualityView(good), null, channelQualityView(bad)]);
    expect(s).toMatchObject({ lossFraction: 0.5, mos: channelQualityView(bad).mos });
    expect(callQualitySummary([null, null])).toBeNull();
  });
});
