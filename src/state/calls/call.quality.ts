import type { RtcpReportBlock, RtcpReported, RtcpSenderInfo } from '../../events/pbx-events';

/**
 * Per-channel media quality from RTCP (AMI `RTCPSent` / `RTCPReceived`).
 *
 * Directions are named as Asterisk sees the channel's RTP stream: `inbound` is what the channel's
 * endpoint sends to Asterisk (Asterisk's own reports measure it), `outbound` what Asterisk sends to the
 * endpoint (the endpoint's reports measure it, when it sends RTCP at all).
 *
 * RTCP comes every few seconds for every stream of every call, so a report costs O(1): the accumulator
 * below is updated in place (the call store owns it and is its only writer), and views are built from
 * it. It is dropped when the call ends; the ended call keeps its views only.
 */

/** A fraction lost (0–255) at or above this is "≈ 100 %": the stream is not getting through. */
export const NEAR_TOTAL_LOSS = 250;

/** Clock rates an audio RTP stream uses (G.711/G.729/G.722: 8 kHz, wideband, Opus: 48 kHz, video 90 kHz). */
const CLOCK_RATES = [8000, 16000, 24000, 32000, 44100, 48000, 90000] as const;

/** One way of a channel's RTP stream, as the REST API and `/ws` show it. */
export interface StreamQualityView {
  /** RTP packets the sending side said it has sent (its last sender report); null without one. */
  packets: number | null;
  /** Packets the receiving side counted as lost since the stream started (its last report). */
  lostPackets: number | null;
  /** Fraction of the packets lost over the last report interval, 0–1. */
  lossFraction: number | null;
  /** Mean of the reported fractions over the call so far, 0–1. */
  lossAvgFraction: number | null;
  /** Interarrival jitter of the last report, ms (null until the stream's clock rate is known). */
  jitterMs: number | null;
  jitterAvgMs: number | null;
  jitterMaxMs: number | null;
  /** Reception reports received for this way. */
  reports: number;
  /** Asterisk's media experience score (0–100) for this way, when it reports one. */
  mes: number | null;
}

/** A channel's RTCP quality. `mos` is the estimate of `estimateMos` for the worse way. */
export interface ChannelQualityView {
  /** Endpoint → Asterisk. */
  inbound: StreamQualityView;
  /** Asterisk → endpoint (only known when the endpoint sends RTCP). */
  outbound: StreamQualityView;
  /** Round-trip time Asterisk measured from the endpoint's reports, ms. */
  rttMs: number | null;
  rttAvgMs: number | null;
  rttMaxMs: number | null;
  /** Estimated MOS (1–4.5) of the worse way with data; null before the first reception report. */
  mos: number | null;
  /** ISO time of the last report. */
  updatedAt: string;
}

/** A call's quality: its worst channel and way. Null figures when no channel had data for them. */
export interface CallQualitySummary {
  mos: number | null;
  /** The highest mean jitter of any way of any channel, ms. */
  jitterMs: number | null;
  /** The highest mean fraction lost of any way of any channel, 0–1. */
  lossFraction: number | null;
  /** The highest mean round-trip time of any channel, ms. */
  rttMs: number | null;
}

/**
 * When each way last showed media, for the one-way-audio detector. Epoch ms, null = never seen.
 */
export interface MediaFlow {
  /** Asterisk's sender report showed its packet count growing: Asterisk sends RTP to the endpoint. */
  outboundSentAt: number | null;
  /** The endpoint's report showed Asterisk's stream arriving (sequence advanced, loss below ≈ 100 %). */
  outboundReceivedAt: number | null;
  /** The endpoint's sender report showed its packet count growing: it says it sends RTP. */
  inboundSentAt: number | null;
  /** Asterisk's report showed the endpoint's stream arriving (sequence advanced, loss below ≈ 100 %). */
  inboundReceivedAt: number | null;
  /** Last RTCP report from the endpoint. */
  peerReportAt: number | null;
  /** First report of the channel (either way). */
  firstReportAt: number;
}

interface StreamAcc {
  packets: number | null;
  lostPackets: number | null;
  fractionLost: number | null;
  lossSum: number;
  lossReports: number;
  jitterUnits: number | null;
  jitterMs: number | null;
  jitterSum: number;
  jitterReports: number;
  jitterMax: number | null;
  mes: number | null;
  /** Receiver side: the source and highest sequence of the last block, to see whether it advanced. */
  sourceSsrc: number | null;
  highestSeq: number | null;
  /** Sender side: the previous (NTP, RTP) pair, for the clock rate. */
  lastSenderNtp: number | null;
  lastSenderRtp: number | null;
  clockRate: number | null;
}

/** The mutable accumulator of one channel (owned by the call store). */
export interface ChannelQualityAcc {
  readonly inbound: StreamAcc;
  readonly outbound: StreamAcc;
  rttMs: number | null;
  rttSum: number;
  rttReports: number;
  rttMax: number | null;
  updatedAt: number;
  readonly flow: MediaFlow;
}

function emptyStream(): StreamAcc {
  return {
    packets: null,
    lostPackets: null,
    fractionLost: null,
    lossSum: 0,
    lossReports: 0,
    jitterUnits: null,
    jitterMs: null,
    jitterSum: 0,
    jitterReports: 0,
    jitterMax: null,
    mes: null,
    sourceSsrc: null,
    highestSeq: null,
    lastSenderNtp: null,
    lastSenderRtp: null,
    clockRate: null,
  };
}

export function newQualityAcc(ts: number): ChannelQualityAcc {
  return {
    inbound: emptyStream(),
    outbound: emptyStream(),
    rttMs: null,
    rttSum: 0,
    rttReports: 0,
    rttMax: null,
    updatedAt: ts,
    flow: {
      outboundSentAt: null,
      outboundReceivedAt: null,
      inboundSentAt: null,
      inboundReceivedAt: null,
      peerReportAt: null,
      firstReportAt: ts,
    },
  };
}

/**
 * Apply one report to the accumulator, in place. A sent report tells what Asterisk received
 * (`inbound`, its block) and sent (`outbound`, its SR); a received report the reverse.
 */
export function applyRtcpReport(acc: ChannelQualityAcc, e: RtcpReported): void {
  const sent = e.direction === 'sent';
  const sender = sent ? acc.outbound : acc.inbound;
  const receiver = sent ? acc.inbound : acc.outbound;
  const flow = acc.flow;
  acc.updatedAt = e.ts;
  if (!sent) flow.peerReportAt = e.ts;
  if (e.sender) {
    if (senderAdvanced(sender, e.sender)) {
      if (sent) flow.outboundSentAt = e.ts;
      else flow.inboundSentAt = e.ts;
    }
    learnClockRate(sender, e.sender);
    sender.packets = e.sender.packets;
  }
  if (e.block) {
    if (applyBlock(receiver, e.block, sent ? acc.outbound.clockRate : acc.inbound.clockRate)) {
      if (sent) flow.inboundReceivedAt = e.ts;
      else flow.outboundReceivedAt = e.ts;
    }
  }
  if (e.mes !== undefined) receiver.mes = e.mes;
  if (!sent && e.rttSeconds !== undefined && e.rttSeconds > 0) {
    const ms = e.rttSeconds * 1000;
    acc.rttMs = ms;
    acc.rttSum += ms;
    acc.rttReports += 1;
    acc.rttMax = acc.rttMax === null ? ms : Math.max(acc.rttMax, ms);
  }
}

/** The sender's packet count grew since its previous SR (the first SR counts when it sent anything). */
function senderAdvanced(s: StreamAcc, info: RtcpSenderInfo): boolean {
  return s.packets === null ? info.packets > 0 : info.packets !== s.packets;
}

/**
 * RTP timestamps advance at the stream's clock rate: two sender reports give it as ΔRTP / ΔNTP, snapped
 * to the rates audio uses. AMI does not name the codec, and jitter is reported in timestamp units.
 */
function learnClockRate(s: StreamAcc, info: RtcpSenderInfo): void {
  if (s.lastSenderNtp !== null && s.lastSenderRtp !== null) {
    const dt = info.ntpSeconds - s.lastSenderNtp;
    // RTP timestamps are 32-bit and wrap.
    const dRtp = (info.rtpTimestamp - s.lastSenderRtp + 0x1_0000_0000) % 0x1_0000_0000;
    if (dt >= 0.5 && dt < 120) {
      const rate = snapClockRate(dRtp / dt);
      if (rate !== null) s.clockRate = rate;
    }
  }
  s.lastSenderNtp = info.ntpSeconds;
  s.lastSenderRtp = info.rtpTimestamp;
}

/** The nearest known rate, when within 10 % of `measured`; else null (silence gaps, a timestamp jump). */
export function snapClockRate(measured: number): number | null {
  let best: number | null = null;
  for (const rate of CLOCK_RATES) {
    const off = Math.abs(measured - rate) / rate;
    if (off <= 0.1 && (best === null || off < Math.abs(measured - best) / best)) best = rate;
  }
  return best;
}

/** Returns whether the stream got through since the previous block. */
function applyBlock(r: StreamAcc, b: RtcpReportBlock, otherWayRate: number | null): boolean {
  const advanced =
    (r.sourceSsrc !== b.sourceSsrc || r.highestSeq !== b.highestSeq) && b.fractionLost < NEAR_TOTAL_LOSS;
  r.sourceSsrc = b.sourceSsrc;
  r.highestSeq = b.highestSeq;
  r.lostPackets = Math.max(0, b.cumulativeLost);
  r.fractionLost = b.fractionLost / 256;
  r.lossSum += r.fractionLost;
  r.lossReports += 1;
  r.jitterUnits = b.jitter;
  // Jitter is in the measured stream's clock; before two SRs of its sender, the other way's rate (the
  // same codec, in practice) will do.
  const rate = r.clockRate ?? otherWayRate;
  r.jitterMs = rate === null ? null : (b.jitter / rate) * 1000;
  if (r.jitterMs !== null) {
    r.jitterSum += r.jitterMs;
    r.jitterReports += 1;
    r.jitterMax = r.jitterMax === null ? r.jitterMs : Math.max(r.jitterMax, r.jitterMs);
  }
  return advanced;
}

// ------------------------------------------------------------------------------------------ MOS

/** Inputs of the E-model estimate of one way of a call. */
export interface MosInput {
  /** Packet loss, 0–1. */
  loss: number;
  jitterMs: number;
  /** Round trip; a one-way delay of half of it is assumed. */
  rttMs: number;
}

/**
 * Packet-loss robustness of the codec (ITU-T G.113 Appendix I: G.711 with packet-loss concealment).
 * One value for every codec: AMI does not say which one the call uses.
 */
export const BPL = 25.1;

/**
 * An estimated MOS (1–4.5) from ITU-T G.107's E-model, simplified (every parameter at its default but
 * delay and loss, a G.711-like codec with PLC: Ie = 0, Bpl = 25.1, random loss):
 *
 *     d      = rtt / 2 + 2 × jitter + 10 ms          (one-way delay + jitter buffer + packetisation)
 *     Id     = 0.024 d + 0.11 (d − 177.3) H(d − 177.3)
 *     Ie,eff = 95 × Ppl / (Ppl + Bpl)                (Ppl = loss in %)
 *     R      = 93.2 − Id − Ie,eff
 *     MOS    = 1 + 0.035 R + 7·10⁻⁶ R (R − 60)(100 − R), clamped to [1, 4.5]
 *
 * Limits: no codec impairment (Opus, G.729 … are scored as G.711), bursty loss scored as random, the
 * jitter buffer guessed, and the figures are RTCP interval averages.
 */
export function estimateMos(input: MosInput): number {
  const d = Math.max(0, input.rttMs) / 2 + 2 * Math.max(0, input.jitterMs) + 10;
  const id = 0.024 * d + (d > 177.3 ? 0.11 * (d - 177.3) : 0);
  const ppl = Math.min(100, Math.max(0, input.loss * 100));
  const ie = (95 * ppl) / (ppl + BPL);
  const r = 93.2 - id - ie;
  if (r <= 0) return 1;
  if (r >= 100) return 4.5;
  const mos = 1 + 0.035 * r + 7e-6 * r * (r - 60) * (100 - r);
  return Math.min(4.5, Math.max(1, mos));
}

// ------------------------------------------------------------------------------------------ views

const round = (v: number | null, digits: number): number | null =>
  v === null ? null : Math.round(v * 10 ** digits) / 10 ** digits;

const mean = (sum: number, n: number): number | null => (n === 0 ? null : sum / n);

function streamView(s: StreamAcc): StreamQualityView {
  return {
    packets: s.packets,
    lostPackets: s.lostPackets,
    lossFraction: round(s.fractionLost, 4),
    lossAvgFraction: round(mean(s.lossSum, s.lossReports), 4),
    jitterMs: round(s.jitterMs, 2),
    jitterAvgMs: round(mean(s.jitterSum, s.jitterReports), 2),
    jitterMaxMs: round(s.jitterMax, 2),
    reports: s.lossReports,
    mes: s.mes,
  };
}

function streamMos(s: StreamAcc, rttMs: number | null): number | null {
  if (s.lossReports === 0) return null;
  return estimateMos({
    loss: s.lossSum / s.lossReports,
    jitterMs: mean(s.jitterSum, s.jitterReports) ?? 0,
    rttMs: rttMs ?? 0,
  });
}

export function channelQualityView(acc: ChannelQualityAcc): ChannelQualityView {
  const rttAvg = mean(acc.rttSum, acc.rttReports);
  const scores = [streamMos(acc.inbound, rttAvg), streamMos(acc.outbound, rttAvg)].filter(
    (m): m is number => m !== null,
  );
  return {
    inbound: streamView(acc.inbound),
    outbound: streamView(acc.outbound),
    rttMs: round(acc.rttMs, 2),
    rttAvgMs: round(rttAvg, 2),
    rttMaxMs: round(acc.rttMax, 2),
    mos: scores.length === 0 ? null : round(Math.min(...scores), 2),
    updatedAt: new Date(acc.updatedAt).toISOString(),
  };
}

/** The worst of the channels' figures; null when no channel has RTCP data. */
export function callQualitySummary(channels: Iterable<ChannelQualityView | null>): CallQualitySummary | null {
  let any = false;
  const worst: CallQualitySummary = { mos: null, jitterMs: null, lossFraction: null, rttMs: null };
  const max = (a: number | null, b: number | null) => (b === null ? a : a === null ? b : Math.max(a, b));
  for (const q of channels) {
    if (q === null) continue;
    any = true;
    if (q.mos !== null) worst.mos = worst.mos === null ? q.mos : Math.min(worst.mos, q.mos);
    worst.jitterMs = max(worst.jitterMs, max(q.inbound.jitterAvgMs, q.outbound.jitterAvgMs));
    worst.lossFraction = max(worst.lossFraction, max(q.inbound.lossAvgFraction, q.outbound.lossAvgFraction));
    worst.rttMs = max(worst.rttMs, q.rttAvgMs);
  }
  return any ? worst : null;
}
