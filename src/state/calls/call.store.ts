import { Inject, Injectable, Logger, type OnModuleDestroy, Optional } from '@nestjs/common';
import { PBXPULSE_CONFIG } from '../../config/config.module';
import type { PbxpulseConfig } from '../../config/config.types';
import { EventBus } from '../../events/event-bus';
import type { ChannelEvent, LinkKind, RtcpReported } from '../../events/pbx-events';
import { HANGUP_CLASSIFICATIONS, type HangupClassification } from './call.classification';
import {
  applyRtcpReport,
  callQualitySummary,
  channelQualityView,
  newQualityAcc,
  type ChannelQualityAcc,
} from './call.quality';
import {
  emptyCallsState,
  reduceChannelEvent,
  reduceResync,
  type CallDelta,
  type CallsState,
  type ListedChannel,
  type Transition,
} from './call.reducers';
import {
  callView,
  channelView,
  endedCallView,
  type CallView,
  type ChannelView,
  type EndedCallView,
  type QualityLookup,
} from './call.views';

/** Tuning of the call store (`CALL_STORE_OPTIONS`, optional). */
export interface CallStoreOptions {
  /** Ended calls kept per node for `/calls/recent`. Default 200. */
  recentCalls?: number;
}

export const CALL_STORE_OPTIONS = Symbol('CALL_STORE_OPTIONS');

export const DEFAULT_RECENT_CALLS = 200;

/** Per-node counters, read at scrape time by the metrics. */
export interface CallCounters {
  /** Calls started (see `CallRecord.counted` for when a call counts). */
  callsStarted: number;
  /** Ended calls by classification (every classification present). */
  hangups: Record<HangupClassification, number>;
  /** RTP timeouts by the endpoint of the channel that timed out. */
  rtpTimeouts: ReadonlyMap<string, number>;
  /** Calls by PJSIP endpoint: each call counts once for every endpoint one of its channels belongs to. */
  endpointCalls: ReadonlyMap<string, number>;
}

interface NodeCalls {
  state: CallsState;
  /** Newest first, at most `recentLimit`. */
  recent: EndedCallView[];
  callsStarted: number;
  hangups: Record<HangupClassification, number>;
  rtpTimeouts: Map<string, number>;
  endpointCalls: Map<string, number>;
  /** Endpoints already counted in `endpointCalls`, per live call key (dropped when the call ends). */
  callEndpoints: Map<string, Set<string>>;
  /**
   * RTCP quality per channel uniqueid, for the channels of live calls only (dropped when the call ends;
   * the ended call keeps its views). Mutated in place: a report must cost O(1).
   */
  quality: Map<string, ChannelQualityAcc>;
  lookup: QualityLookup;
}

const CHANNEL_EVENT_TYPES = [
  'channel.created',
  'channel.updated',
  'channel.dialed',
  'channel.bridged',
  'channel.hangup_requested',
  'channel.hung_up',
] as const;

/**
 * Channel and call state per node: the only writer of it. Applies the channel events both adapters
 * publish through the pure reducers (`call.reducers.ts`), keeps the last N ended calls, counts, and
 * publishes the derived `call.updated` / `call.channel_ended` / `call.ended` on the bus once,
 * whichever link(s) reported the change.
 */
@Injectable()
export class CallStore implements OnModuleDestroy {
  private readonly logger = new Logger(CallStore.name);
  private readonly nodes = new Map<string, NodeCalls>();
  private readonly recentLimit: number;
  private readonly unsubscribe: () => void;

  constructor(
    @Inject(PBXPULSE_CONFIG) config: PbxpulseConfig,
    private readonly bus: EventBus,
    @Optional() @Inject(CALL_STORE_OPTIONS) options?: CallStoreOptions,
  ) {
    const limit = options?.recentCalls ?? DEFAULT_RECENT_CALLS;
    this.recentLimit = Number.isInteger(limit) && limit > 0 ? limit : DEFAULT_RECENT_CALLS;
    for (const n of config.nodes) {
      const quality = new Map<string, ChannelQualityAcc>();
      this.nodes.set(n.name, {
        state: emptyCallsState(n.name),
        recent: [],
        callsStarted: 0,
        hangups: zeroHangups(),
        rtpTimeouts: new Map(),
        endpointCalls: new Map(),
        callEndpoints: new Map(),
        quality,
        lookup: (uniqueid) => {
          const acc = quality.get(uniqueid);
          return acc ? channelQualityView(acc) : null;
        },
      });
    }
    const offChannels = bus.on(CHANNEL_EVENT_TYPES, (e) => this.apply(e), { phase: 'state' });
    const offRtcp = bus.on('rtcp.reported', (e) => this.applyRtcp(e), { phase: 'state' });
    this.unsubscribe = () => {
      offChannels();
      offRtcp();
    };
  }

  onModuleDestroy(): void {
    this.unsubscribe();
  }

  // ------------------------------------------------------------------------------------------ views

  /** Configured node names. */
  nodeNames(): string[] {
    return [...this.nodes.keys()];
  }

  /** Active calls of the node, oldest first; `undefined` for an unknown node. */
  activeCalls(node: string): CallView[] | undefined {
    const n = this.nodes.get(node);
    if (!n) return undefined;
    return [...n.state.calls.values()]
      .sort((a, b) => a.startedAt - b.startedAt)
      .map((call) => callView(node, { call, channels: members(n.state, call.channelIds) }, n.lookup));
  }

  /** One active call by its key (linkedid or fallback). */
  activeCall(node: string, linkedid: string): CallView | undefined {
    const n = this.nodes.get(node);
    const call = n?.state.calls.get(linkedid);
    return n && call && callView(node, { call, channels: members(n.state, call.channelIds) }, n.lookup);
  }

  /** Ended calls of the node, newest first (at most `limit`, at most the configured buffer). */
  recentCalls(node: string, limit?: number): EndedCallView[] | undefined {
    const n = this.nodes.get(node);
    if (!n) return undefined;
    return n.recent.slice(0, limit ?? n.recent.length).map((c) => structuredClone(c));
  }

  /** Live (not yet ended) channels of the node. */
  channels(node: string): ChannelView[] | undefined {
    const n = this.nodes.get(node);
    if (!n) return undefined;
    return [...n.state.channels.values()]
      .filter((c) => c.endedAt === null)
      .map((c) => channelView(node, c, n.lookup));
  }

  /** Counters for the metrics; `undefined` for an unknown node. */
  counters(node: string): CallCounters | undefined {
    const n = this.nodes.get(node);
    if (!n) return undefined;
    return {
      callsStarted: n.callsStarted,
      hangups: { ...n.hangups },
      rtpTimeouts: new Map(n.rtpTimeouts),
      endpointCalls: new Map(n.endpointCalls),
    };
  }

  /** Channels whose RTCP quality is tracked (live calls only: the memory bound, checked by tests). */
  trackedQuality(node: string): number {
    return this.nodes.get(node)?.quality.size ?? 0;
  }

  /** How many ended calls `/calls/recent` can return at most. */
  get recentCapacity(): number {
    return this.recentLimit;
  }

  // ------------------------------------------------------------------------------------------ writes

  /**
   * Reconcile the node with a full listing of Asterisk's channels, taken by `link` (see
   * `reduceResync`). `requestedAt`: when the listing was requested. Returns counts for the resync log.
   */
  applyResync(
    node: string,
    link: LinkKind,
    listed: readonly ListedChannel[],
    requestedAt: number,
  ): { channels: number; ghostChannels: number } {
    const n = this.nodes.get(node);
    if (!n) return { channels: 0, ghostChannels: 0 };
    const t = reduceResync(n.state, listed, { requestedAt, ts: Date.now() });
    const ghosts = t.deltas.filter((d) => d.kind === 'channel_ended').length;
    if (ghosts > 0) this.logger.log(`${node}: ${link} resync ended ${ghosts} channel(s) gone from Asterisk`);
    this.commit(node, n, t);
    return { channels: listed.length, ghostChannels: ghosts };
  }

  /**
   * One RTCP report of a live channel: O(1) (a map lookup, a few sums, one small view). Reports of
   * channels the store does not know (yet, or any more) are dropped.
   */
  private applyRtcp(e: RtcpReported): void {
    const n = this.nodes.get(e.node);
    const rec = n?.state.channels.get(e.uniqueid);
    if (!n || !rec || rec.endedAt !== null) return;
    let acc = n.quality.get(rec.uniqueid);
    if (!acc) n.quality.set(rec.uniqueid, (acc = newQualityAcc(e.ts)));
    applyRtcpReport(acc, e);
    const call = n.state.calls.get(rec.callKey);
    const quality = channelQualityView(acc);
    this.bus.publish({
      type: 'call.quality_updated',
      node: e.node,
      ts: e.ts,
      source: 'daemon',
      linkedid: rec.callKey,
      uniqueid: rec.uniqueid,
      channel: rec.name,
      endpoint: rec.endpoint,
      answeredAt: rec.state === 'up' ? rec.answeredAt : null,
      quality,
      callQuality: callQualitySummary(
        (call?.channelIds ?? []).map((id) => (id === rec.uniqueid ? quality : n.lookup(id))),
      ),
      flow: { ...acc.flow },
    });
  }

  private apply(e: ChannelEvent): void {
    const n = this.nodes.get(e.node);
    if (!n) return;
    this.commit(e.node, n, reduceChannelEvent(n.state, e));
  }

  private commit(node: string, n: NodeCalls, t: Transition): void {
    n.state = t.state;
    for (const d of t.deltas) this.deliver(node, n, d);
  }

  private deliver(node: string, n: NodeCalls, d: CallDelta): void {
    switch (d.kind) {
      case 'call_started':
        n.callsStarted += 1;
        return;
      case 'call_updated':
        if (d.supersedes !== null) {
          // The channel moved from a call that no longer exists: what it counted stays counted.
          const moved = n.callEndpoints.get(d.supersedes);
          n.callEndpoints.delete(d.supersedes);
          for (const endpoint of moved ?? []) countEndpoint(n, d.call.call.key, endpoint);
        }
        // A provisional call (see `CallRecord.counted`) counts nothing until it counts as a call.
        if (d.call.call.counted) {
          for (const c of d.call.channels) {
            if (c.endpoint !== null) countEndpoint(n, d.call.call.key, c.endpoint);
          }
        }
        this.bus.publish({
          type: 'call.updated',
          node,
          ts: d.ts,
          source: 'daemon',
          call: callView(node, d.call, n.lookup),
          ...(d.supersedes === null ? {} : { supersedes: d.supersedes }),
        });
        return;
      case 'channel_ended':
        if (d.rtpTimeoutCulprit && d.channel.endpoint !== null) {
          n.rtpTimeouts.set(d.channel.endpoint, (n.rtpTimeouts.get(d.channel.endpoint) ?? 0) + 1);
        }
        this.bus.publish({
          type: 'call.channel_ended',
          node,
          ts: d.ts,
          source: 'daemon',
          linkedid: d.key,
          channel: channelView(node, d.channel, n.lookup),
          rtpTimeoutCulprit: d.rtpTimeoutCulprit,
        });
        return;
      case 'call_ended': {
        const view = endedCallView(node, d.call, n.lookup);
        for (const c of d.call.channels) n.quality.delete(c.uniqueid);
        n.hangups[view.classification] += 1;
        for (const c of d.call.channels) {
          if (c.endpoint !== null) countEndpoint(n, d.call.call.key, c.endpoint);
        }
        n.callEndpoints.delete(d.call.call.key);
        n.recent.unshift(view);
        if (n.recent.length > this.recentLimit) n.recent.length = this.recentLimit;
        this.logger.debug(`${node}: call ${view.linkedid} ended: ${view.classification}`);
        this.bus.publish({ type: 'call.ended', node, ts: d.ts, source: 'daemon', call: view });
        return;
      }
      default: {
        const never: never = d;
        return never;
      }
    }
  }
}

/** Count the call `key` for `endpoint`, once per call. */
function countEndpoint(n: NodeCalls, key: string, endpoint: string): void {
  let counted = n.callEndpoints.get(key);
  if (!counted) n.callEndpoints.set(key, (counted = new Set()));
  if (counted.has(endpoint)) return;
  counted.add(endpoint);
  n.endpointCalls.set(endpoint, (n.endpointCalls.get(endpoint) ?? 0) + 1);
}

function zeroHangups(): Record<HangupClassification, number> {
  return Object.fromEntries(HANGUP_CLASSIFICATIONS.map((c) => [c, 0])) as Record<
    HangupClassification,
    number
  >;
}

function members(state: CallsState, ids: readonly string[]) {
  return ids.flatMap((id) => {
    const c = state.channels.get(id);
    return c ? [c] : [];
  });
}
