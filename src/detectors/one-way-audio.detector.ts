import type { Alert, PbxEventOf } from '../events/pbx-events';
import type { MediaFlow } from '../state/calls/call.quality';
import type { RegistrationReader } from '../state/registrations/registration.views';
import type { AlertSink } from './alerts.service';
import { UNKNOWN_ENDPOINT, formatDuration, isoTime, printable } from './detection.common';

/** `inbound`: endpoint → Asterisk is missing; `outbound`: Asterisk → endpoint is missing. */
export type OneWayDirection = 'inbound' | 'outbound';

export interface OneWayVerdict {
  /** The way that carries no audio. */
  direction: OneWayDirection;
  /** Since when it carries none (epoch ms). */
  since: number;
}

/**
 * Whether a channel's RTP is one-way at `now`, from what its RTCP showed (`MediaFlow`). Pure.
 *
 * - **Endpoint → Asterisk missing** (`inbound`): Asterisk has been sending (its SR count grew within
 *   `thresholdMs`) while its own reports showed nothing (or ≈ 100 % loss) from the endpoint since the
 *   answer or the last packet, for `thresholdMs`. Not when the endpoint's RTCP keeps arriving and says
 *   it sent nothing either: that is silence suppression, mute or hold on the endpoint, not a broken
 *   path (an endpoint whose RTCP claims packets Asterisk never got is a broken path).
 * - **Asterisk → endpoint missing** (`outbound`): Asterisk has been sending and the endpoint's stream
 *   has been arriving, but the endpoint's own reports (so it sends RTCP) showed none of Asterisk's
 *   packets (or ≈ 100 % loss) for `thresholdMs`. Without RTCP from the endpoint this way is unknown.
 * - Only while the channel is up (`answeredAt`). A call the far end stops sending into is cut by
 *   `rtp_timeout` (a hangup classification, not this); a one-way call goes on, which is why it hurts.
 */
export function oneWayAudio(
  flow: MediaFlow,
  answeredAt: number | null,
  now: number,
  thresholdMs: number,
): OneWayVerdict | null {
  if (answeredAt === null || now - answeredAt < thresholdMs) return null;
  const recent = (t: number | null): boolean => t !== null && now - t <= thresholdMs;
  if (!recent(flow.outboundSentAt)) return null;

  const inboundSince = Math.max(flow.inboundReceivedAt ?? answeredAt, answeredAt);
  if (now - inboundSince >= thresholdMs) {
    const endpointSaysSilent =
      recent(flow.peerReportAt) && (flow.inboundSentAt === null || flow.inboundSentAt <= inboundSince);
    return endpointSaysSilent ? null : { direction: 'inbound', since: inboundSince };
  }
  const outboundSince = Math.max(flow.outboundReceivedAt ?? answeredAt, answeredAt);
  if (recent(flow.peerReportAt) && recent(flow.inboundReceivedAt) && now - outboundSince >= thresholdMs) {
    return { direction: 'outbound', since: outboundSince };
  }
  return null;
}

const REMEDY: Record<OneWayDirection, string> = {
  inbound:
    "The endpoint's RTP does not reach Asterisk. Usual causes: NAT (the endpoint announces a private " +
    'address: set rtp_symmetric=yes, force_rport=yes and rewrite_contact=yes on the endpoint), a ' +
    "firewall dropping UDP to Asterisk's RTP range (rtp.conf rtpstart–rtpend), direct_media=yes letting " +
    'the endpoint send its media elsewhere (set direct_media=no), or, for WebRTC, ICE candidates with ' +
    'no reachable address (ice_support, STUN/TURN, external_media_address). Not silence suppression: an ' +
    'endpoint whose own RTCP says it sends nothing (muted, VAD) is not flagged.',
  outbound:
    "Asterisk's RTP does not reach the endpoint (its RTCP reports receiving none). Usual causes: NAT " +
    '(Asterisk sends to the private address of the SDP: set rtp_symmetric=yes, force_rport=yes and ' +
    'rewrite_contact=yes; an Asterisk behind NAT needs external_media_address and local_net on its ' +
    "transport), a firewall on the endpoint's side, direct_media=yes (set direct_media=no), or, for " +
    'WebRTC, ICE candidates with no reachable address.',
};

const WHAT: Record<OneWayDirection, (endpoint: string) => string> = {
  inbound: (endpoint) => `no audio from ${endpoint} to Asterisk`,
  outbound: (endpoint) => `no audio from Asterisk to ${endpoint}`,
};

export interface OneWayAudioOptions {
  thresholdMs: number;
}

interface ActiveOneWay {
  alertId: string;
  direction: OneWayDirection;
}

/**
 * Raises a `one_way_audio` alert when a live channel's RTP goes one way (see `oneWayAudio`), clears it
 * when both ways carry RTP again or the channel ends, and counts detections per endpoint (configured
 * endpoints only, else `<unknown>`) for `pbxpulse_one_way_audio_total`. Evaluated on every RTCP-driven
 * quality update of the channel: O(1), no timers (a one-way call keeps producing reports from the way
 * that works).
 */
export class OneWayAudioDetector {
  /** Per node: channel uniqueid → its active alert. Bounded by the live channels with a one-way way. */
  private readonly active = new Map<string, Map<string, ActiveOneWay>>();
  /** node → endpoint label → detections. */
  private readonly counts = new Map<string, Map<string, number>>();
  /** node → direction → detections. */
  private readonly byDirection = new Map<string, Record<OneWayDirection, number>>();

  constructor(
    private readonly options: OneWayAudioOptions,
    private readonly reader: RegistrationReader,
    private readonly alerts: AlertSink,
  ) {}

  onQualityUpdated(e: PbxEventOf<'call.quality_updated'>): void {
    const verdict = oneWayAudio(e.flow, e.answeredAt, e.ts, this.options.thresholdMs);
    const byChannel = this.active.get(e.node);
    const current = byChannel?.get(e.uniqueid);
    if (current && current.direction !== verdict?.direction) {
      this.alerts.clear(current.alertId, verdict ? 'direction_changed' : 'media_flowing');
      byChannel?.delete(e.uniqueid);
    }
    if (!verdict) return;
    const endpoint = e.endpoint ?? e.channel;
    const alert = this.alertOf(e, endpoint, verdict);
    const raised = this.alerts.upsert(alert);
    if (!raised && current?.direction === verdict.direction) return;
    let channels = byChannel;
    if (!channels) this.active.set(e.node, (channels = new Map<string, ActiveOneWay>()));
    channels.set(e.uniqueid, { alertId: alert.id, direction: verdict.direction });
    if (raised) this.count(e.node, endpoint, verdict.direction);
  }

  /**
   * The channel ended: its alert clears. `rtp_timeout` when Asterisk cut it for lack of RTP (the
   * existing hangup classification says so too), else `call_ended`.
   */
  onChannelEnded(e: PbxEventOf<'call.channel_ended'>): void {
    const byChannel = this.active.get(e.node);
    const current = byChannel?.get(e.channel.uniqueid);
    if (!current) return;
    byChannel?.delete(e.channel.uniqueid);
    this.alerts.clear(current.alertId, e.rtpTimeoutCulprit ? 'rtp_timeout' : 'call_ended');
  }

  /** Detections per endpoint label of the node (for the metric). */
  endpointCounts(node: string): ReadonlyMap<string, number> {
    return this.counts.get(node) ?? NONE;
  }

  directionCounts(node: string): Readonly<Record<OneWayDirection, number>> {
    return this.byDirection.get(node) ?? { inbound: 0, outbound: 0 };
  }

  /** Channels with an active one-way alert (all nodes). */
  get activeCount(): number {
    let n = 0;
    for (const m of this.active.values()) n += m.size;
    return n;
  }

  private count(node: string, endpoint: string, direction: OneWayDirection): void {
    const label = this.reader.isKnownEndpoint(node, endpoint) ? endpoint : UNKNOWN_ENDPOINT;
    let counts = this.counts.get(node);
    if (!counts) this.counts.set(node, (counts = new Map<string, number>()));
    counts.set(label, (counts.get(label) ?? 0) + 1);
    let dirs = this.byDirection.get(node);
    if (!dirs) this.byDirection.set(node, (dirs = { inbound: 0, outbound: 0 }));
    dirs[direction] += 1;
  }

  private alertOf(e: PbxEventOf<'call.quality_updated'>, endpoint: string, v: OneWayVerdict): Alert {
    const silentMs = e.ts - v.since;
    const other = v.direction === 'inbound' ? e.quality.outbound : e.quality.inbound;
    return {
      id: `one_way_audio:${e.node}:${endpoint}:${e.uniqueid}`,
      type: 'one_way_audio',
      node: e.node,
      endpoint,
      since: isoTime(v.since),
      lastSeen: isoTime(e.ts),
      count: 1,
      message:
        `One-way audio on call ${printable(e.linkedid)} (channel ${printable(e.channel)}): ` +
        `${WHAT[v.direction](printable(endpoint))} for ${formatDuration(silentMs)} while the other way ` +
        'carries RTP.',
      remedy: REMEDY[v.direction],
      details: {
        linkedid: e.linkedid,
        uniqueid: e.uniqueid,
        channel: e.channel,
        direction: v.direction,
        from: v.direction === 'inbound' ? endpoint : 'asterisk',
        to: v.direction === 'inbound' ? 'asterisk' : endpoint,
        silentForMs: silentMs,
        thresholdMs: this.options.thresholdMs,
        // Packets the sender of the way that works reported (null when it sends no RTCP).
        otherWayPackets: other.packets,
      },
    };
  }
}

const NONE: ReadonlyMap<string, number> = new Map();
