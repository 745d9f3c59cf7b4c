import type { ChannelState } from '../../events/pbx-events';
import type { HangupClassification } from './call.classification';
import { callQualitySummary, type CallQualitySummary, type ChannelQualityView } from './call.quality';
import type { CallSnapshot, ChannelRecord, EndedBy, EndedCall } from './call.reducers';

/** The RTCP quality of a channel by its uniqueid, null when it had no report (see `CallStore`). */
export type QualityLookup = (uniqueid: string) => ChannelQualityView | null;

const NO_QUALITY: QualityLookup = () => null;

/** One channel as the REST API and the gateway show it. Times are ISO-8601. */
export interface ChannelView {
  uniqueid: string;
  /** AMI `Linkedid`; null while the channel is known from ARI only. */
  linkedid: string | null;
  /** `PJSIP/2001-00000003` */
  name: string;
  node: string;
  /** The PJSIP endpoint from the channel name (`2001`); null for other drivers. */
  endpoint: string | null;
  state: ChannelState;
  callerNum: string | null;
  callerName: string | null;
  connectedNum: string | null;
  connectedName: string | null;
  context: string | null;
  exten: string | null;
  createdAt: string;
  /** First time pbxpulse saw the channel Up (for a channel found Up by a resync: the resync time). */
  answeredAt: string | null;
  endedAt: string | null;
  bridgeId: string | null;
  /** Q.850 hangup cause (0 on a BYE without Reason). */
  cause: number | null;
  causeText: string | null;
  classification: HangupClassification | null;
  /** `resync`: the channel was gone from a resync listing; its real cause is unknown. */
  endedBy: EndedBy | null;
  /** Media quality from RTCP (AMI `RTCPSent`/`RTCPReceived`); null before the first report. */
  quality: ChannelQualityView | null;
}

/**
 * One call: the channels sharing a linkedid. `linkedid` is the AMI linkedid, or — for channels known
 * from ARI only, which carries no linkedid — the uniqueid of the channel that started the call.
 */
export interface CallView {
  linkedid: string;
  node: string;
  startedAt: string;
  /** First time any channel of the call was Up. */
  answeredAt: string | null;
  /** The most advanced state among the live channels (Up > Ringing/Ring/… > Down). */
  state: ChannelState;
  /** In the order they joined; channels that already hung up stay listed with `endedAt`. */
  channels: ChannelView[];
  /** The worst RTCP figures of its channels; null when no channel had a report. */
  quality: CallQualitySummary | null;
}

export interface EndedCallView extends CallView {
  endedAt: string;
  classification: HangupClassification;
  /** Cause of the channel that decided the classification (the one that timed out, else the first to hang up). */
  cause: number | null;
  causeText: string | null;
  /** From the first channel's creation to the last channel's end. */
  durationMs: number;
  /** `resync` when the end of at least one channel was only learnt from a resync listing. */
  endedBy: EndedBy;
  /** The endpoint whose channel timed out, for `rtp_timeout`. */
  rtpTimeoutEndpoint: string | null;
}

const iso = (ms: number): string => new Date(ms).toISOString();
const isoOrNull = (ms: number | null): string | null => (ms === null ? null : iso(ms));

const RANK: Record<ChannelState, number> = {
  unknown: 0,
  down: 1,
  rsrvd: 2,
  offhook: 2,
  dialing_offhook: 2,
  pre_ring: 2,
  dialing: 3,
  busy: 3,
  ring: 4,
  ringing: 5,
  up: 6,
};

export function channelView(
  node: string,
  c: ChannelRecord,
  quality: QualityLookup = NO_QUALITY,
): ChannelView {
  return {
    uniqueid: c.uniqueid,
    linkedid: c.linkedid,
    name: c.name,
    node,
    endpoint: c.endpoint,
    state: c.state,
    callerNum: c.callerNum,
    callerName: c.callerName,
    connectedNum: c.connectedNum,
    connectedName: c.connectedName,
    context: c.context,
    exten: c.exten,
    createdAt: iso(c.createdAt),
    answeredAt: isoOrNull(c.answeredAt),
    endedAt: isoOrNull(c.endedAt),
    bridgeId: c.bridgeId,
    cause: c.cause,
    causeText: c.causeText,
    classification: c.classification,
    endedBy: c.endedBy,
    quality: quality(c.uniqueid),
  };
}

function callState(channels: readonly ChannelRecord[]): ChannelState {
  const live = channels.filter((c) => c.endedAt === null);
  let best: ChannelState = 'unknown';
  for (const c of live.length > 0 ? live : channels) if (RANK[c.state] > RANK[best]) best = c.state;
  return best;
}

function firstAnswer(channels: readonly ChannelRecord[]): number | null {
  const times = channels.map((c) => c.answeredAt).filter((t) => t !== null);
  return times.length === 0 ? null : Math.min(...times);
}

export function callView(node: string, s: CallSnapshot, quality: QualityLookup = NO_QUALITY): CallView {
  const channels = s.channels.map((c) => channelView(node, c, quality));
  return {
    linkedid: s.call.key,
    node,
    startedAt: iso(s.call.startedAt),
    answeredAt: isoOrNull(firstAnswer(s.channels)),
    state: callState(s.channels),
    channels,
    quality: callQualitySummary(channels.map((c) => c.quality)),
  };
}

export function endedCallView(
  node: string,
  e: EndedCall,
  quality: QualityLookup = NO_QUALITY,
): EndedCallView {
  return {
    ...callView(node, e, quality),
    endedAt: iso(e.endedAt),
    classification: e.classification,
    cause: e.cause,
    causeText: e.causeText,
    durationMs: Math.max(0, e.endedAt - e.call.startedAt),
    endedBy: e.endedBy,
    rtpTimeoutEndpoint: e.rtpTimeoutEndpoint,
  };
}
