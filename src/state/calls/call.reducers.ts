import type { ListedChannel } from '../../common/pbx.records';
import type { ChannelEvent, ChannelSnapshot, ChannelState } from '../../events/pbx-events';
import {
  CAUSE_REQUESTED_CHAN_UNAVAIL,
  classifyHangup,
  isRtpTimeoutSignature,
  type HangupClassification,
} from './call.classification';

export type { ListedChannel } from '../../common/pbx.records';

/**
 * Pure reducers of one node's channel and call state. Both links (AMI and ARI) publish the same
 * channel events; every reducer is keyed by the channel's uniqueid and idempotent, so an event seen
 * on both links changes state (and derives deltas) once: a reducer that changes nothing returns the
 * very same state object and no delta. No I/O, no clock: times come from the events.
 *
 * Calls group channels by linkedid. ARI (Asterisk 20–22) carries no linkedid, so a channel known only
 * from ARI is grouped under the uniqueid of the channel that dialed it (ARI `Dial` names the caller),
 * else under its own uniqueid; when AMI later supplies the linkedid, the channel moves into that call
 * (`supersedes` on the delta names the call key that disappeared).
 */

/** How a channel's end was learnt: a hangup event, or its absence from a resync listing. */
export type EndedBy = 'hangup' | 'resync';

/** One channel, as pbxpulse knows it. Times are epoch milliseconds. */
export interface ChannelRecord {
  readonly uniqueid: string;
  /** AMI `Linkedid`; null while only ARI has spoken. */
  readonly linkedid: string | null;
  readonly name: string;
  /** `PJSIP/2001-00000003` → `2001`; null for other channel drivers. */
  readonly endpoint: string | null;
  readonly state: ChannelState;
  readonly callerNum: string | null;
  readonly callerName: string | null;
  readonly connectedNum: string | null;
  readonly connectedName: string | null;
  readonly context: string | null;
  readonly exten: string | null;
  /** When pbxpulse first saw the channel (or Asterisk's creation time, from a resync listing). */
  readonly createdAt: number;
  /** First time pbxpulse saw the channel Up. */
  readonly answeredAt: number | null;
  readonly endedAt: number | null;
  readonly bridgeId: string | null;
  /** The bridge the channel last left: a late "entered" for it from the slower link is ignored. */
  readonly leftBridgeId: string | null;
  /** Uniqueid of the channel that dialed this one (`channel.dialed`), for grouping without a linkedid. */
  readonly dialedBy: string | null;
  /** Last non-empty `DialStatus` reported with this channel as the peer. */
  readonly dialStatus: string | null;
  /** OR of the soft-hangup flags requested (`SoftHangupRequest Cause`). */
  readonly softHangupFlags: number;
  /** Q.850 cause of the last hard hangup request that carried one. */
  readonly hangupRequestCause: number | null;
  readonly cause: number | null;
  readonly causeText: string | null;
  readonly classification: HangupClassification | null;
  readonly endedBy: EndedBy | null;
  /** Key of the call the channel belongs to (see `callKeyOf`). */
  readonly callKey: string;
}

/** One call: channels that share a linkedid (or the fallback key). */
export interface CallRecord {
  /** The linkedid, or the fallback key (see the module comment). */
  readonly key: string;
  readonly startedAt: number;
  /** Channels in the order they joined. */
  readonly channelIds: readonly string[];
  /** Channels in the order they ended. */
  readonly endedIds: readonly string[];
  /**
   * Counted as a started call. A call whose only channels are Down outbound legs without a linkedid
   * (an ARI `ChannelCreated` that raced AMI's `Newchannel`, or a Dial peer before ARI's `Dial` names
   * its caller) is provisional: it is counted once it shows a linkedid or a state other than Down,
   * or when it ends — so that a leg that then moves into its real call is not counted twice.
   */
  readonly counted: boolean;
  /** Uniqueid of the first channel of the call that matched the RTP-timeout signature. */
  readonly rtpTimeoutCulprit: string | null;
}

export interface CallsState {
  readonly node: string;
  /** Live channels, and ended channels of calls that still have a live channel. */
  readonly channels: ReadonlyMap<string, ChannelRecord>;
  readonly calls: ReadonlyMap<string, CallRecord>;
  /**
   * Uniqueids of channels whose call ended (bounded, oldest dropped first). A late duplicate from the
   * slower link must not bring an ended channel back.
   */
  readonly gone: ReadonlySet<string>;
}

export interface CallSnapshot {
  readonly call: CallRecord;
  readonly channels: readonly ChannelRecord[];
}

export interface EndedCall extends CallSnapshot {
  readonly endedAt: number;
  readonly classification: HangupClassification;
  /** Cause of the channel that decided the classification (the culprit, or the first to hang up). */
  readonly cause: number | null;
  readonly causeText: string | null;
  /** `resync` when at least one channel's end was only learnt from a resync listing. */
  readonly endedBy: EndedBy;
  /** Endpoint of the channel that timed out, for an `rtp_timeout` call. */
  readonly rtpTimeoutEndpoint: string | null;
}

/** What a reducer derived, in order. The store turns these into views and notifications. */
export type CallDelta =
  | { readonly kind: 'call_started'; readonly key: string; readonly ts: number }
  | {
      readonly kind: 'call_updated';
      readonly call: CallSnapshot;
      /** Key of a call that no longer exists because its channel moved into this one. */
      readonly supersedes: string | null;
      readonly ts: number;
    }
  | {
      readonly kind: 'channel_ended';
      readonly key: string;
      readonly channel: ChannelRecord;
      /** This channel is the one that timed out (the metric counts only these). */
      readonly rtpTimeoutCulprit: boolean;
      readonly ts: number;
    }
  | { readonly kind: 'call_ended'; readonly call: EndedCall; readonly ts: number };

export interface Transition {
  readonly state: CallsState;
  readonly deltas: readonly CallDelta[];
}

/** A channel listed by a resync (`CoreShowChannel`, ARI `GET /channels`). */
/** How many ended channel ids are remembered against late duplicates. */
export const GONE_LIMIT = 4096;

export function emptyCallsState(node: string): CallsState {
  return { node, channels: new Map(), calls: new Map(), gone: new Set() };
}

/** `PJSIP/2001-00000003` → `2001` (the suffix is Asterisk's hex channel sequence); else null. */
export function endpointOfChannel(name: string): string | null {
  const m = /^PJSIP\/(.+)-[0-9a-f]{8,}$/.exec(name);
  return m ? m[1] : null;
}

/** Apply one channel event. */
export function reduceChannelEvent(state: CallsState, e: ChannelEvent): Transition {
  switch (e.type) {
    case 'channel.created':
      return upsert(state, e.channel, e.ts, { bridgeId: e.bridgeId });
    case 'channel.updated':
      return upsert(state, e.channel, e.ts, {});
    case 'channel.dialed':
      return upsert(state, e.peer, e.ts, {
        dialedBy: e.callerId,
        dialStatus: e.dialStatus === '' ? undefined : e.dialStatus,
      });
    case 'channel.bridged':
      return patch(state, e.uniqueid, e.ts, (rec) => {
        if (e.entered) {
          if (rec.bridgeId === e.bridgeId || rec.leftBridgeId === e.bridgeId) return rec;
          return { ...rec, bridgeId: e.bridgeId };
        }
        if (rec.bridgeId !== e.bridgeId) {
          return rec.leftBridgeId === e.bridgeId ? rec : { ...rec, leftBridgeId: e.bridgeId };
        }
        return { ...rec, bridgeId: null, leftBridgeId: e.bridgeId };
      });
    case 'channel.hangup_requested':
      return patch(state, e.uniqueid, e.ts, (rec) => {
        if (e.soft) {
          const flags = rec.softHangupFlags | (e.cause ?? 0);
          return flags === rec.softHangupFlags ? rec : { ...rec, softHangupFlags: flags };
        }
        if (e.cause === undefined || e.cause === rec.hangupRequestCause) return rec;
        return { ...rec, hangupRequestCause: e.cause };
      });
    case 'channel.hung_up':
      return hungUp(state, e.channel, e.cause, e.causeText, e.ts);
    default: {
      const never: never = e;
      return never;
    }
  }
}

/**
 * Reconcile with a listing of every channel Asterisk has (after a (re)connect). Listed channels are
 * (re)created; live channels that are not listed and were first seen before the listing was requested
 * (`requestedAt`) are ended with classification `unknown` and `endedBy: 'resync'`. Channels first seen
 * after `requestedAt` are kept: the listing may predate them.
 */
export function reduceResync(
  state: CallsState,
  listed: readonly ListedChannel[],
  opts: { requestedAt: number; ts: number },
): Transition {
  let t: Transition = { state, deltas: [] };
  const present = new Set<string>();
  for (const item of listed) {
    present.add(item.channel.uniqueid);
    t = chain(
      t,
      upsert(t.state, item.channel, opts.ts, {
        bridgeId: item.bridgeId,
        createdAt: item.createdAt,
      }),
    );
  }
  for (const rec of [...t.state.channels.values()]) {
    if (rec.endedAt !== null || present.has(rec.uniqueid) || rec.createdAt >= opts.requestedAt) continue;
    t = chain(
      t,
      endChannel(t.state, rec, opts.ts, {
        cause: null,
        causeText: null,
        classification: 'unknown',
        endedBy: 'resync',
        culprit: false,
      }),
    );
  }
  return t;
}

// ------------------------------------------------------------------------------------------ internals

const STATE_RANK: Record<ChannelState, number> = {
  unknown: -1,
  down: 0,
  rsrvd: 1,
  offhook: 1,
  dialing: 1,
  dialing_offhook: 1,
  pre_ring: 1,
  ring: 1,
  ringing: 1,
  busy: 1,
  up: 2,
};

/**
 * Fields a client sees change (what makes a `call.updated`). Not `linkedid`: learning it from AMI after
 * ARI's snapshot is no change to the client (the call key only changes by a move, which is visible).
 */
const VISIBLE_FIELDS = [
  'name',
  'state',
  'callerNum',
  'callerName',
  'connectedNum',
  'connectedName',
  'answeredAt',
  'endedAt',
  'bridgeId',
] as const satisfies ReadonlyArray<keyof ChannelRecord>;

function visiblyDifferent(a: ChannelRecord, b: ChannelRecord): boolean {
  return VISIBLE_FIELDS.some((k) => a[k] !== b[k]);
}

function sameRecord(a: ChannelRecord, b: ChannelRecord): boolean {
  for (const k of Object.keys(a) as Array<keyof ChannelRecord>) if (a[k] !== b[k]) return false;
  return true;
}

function chain(a: Transition, b: Transition): Transition {
  if (b.deltas.length === 0) return { state: b.state, deltas: a.deltas };
  return { state: b.state, deltas: [...a.deltas, ...b.deltas] };
}

const unchanged = (state: CallsState): Transition => ({ state, deltas: [] });

interface UpsertExtra {
  bridgeId?: string | null;
  dialedBy?: string;
  dialStatus?: string;
  createdAt?: number;
}

/**
 * Merge a snapshot into the channel (creating it if unknown). A snapshot never erases what is known:
 * absent fields keep their value (ARI has no linkedid; a lagging link may send an older snapshot), and
 * the state never moves back in rank (Down < Ring/Ringing/… < Up), so a late duplicate from the slower
 * link cannot make an answered channel look ringing again.
 */
function merge(prev: ChannelRecord, snap: ChannelSnapshot, ts: number, extra: UpsertExtra): ChannelRecord {
  const state = STATE_RANK[snap.state] >= STATE_RANK[prev.state] ? snap.state : prev.state;
  const next: ChannelRecord = {
    ...prev,
    linkedid: snap.linkedid ?? prev.linkedid,
    name: snap.name,
    endpoint: endpointOfChannel(snap.name),
    state,
    callerNum: snap.callerNum ?? prev.callerNum,
    callerName: snap.callerName ?? prev.callerName,
    connectedNum: snap.connectedNum ?? prev.connectedNum,
    connectedName: snap.connectedName ?? prev.connectedName,
    context: snap.context ?? prev.context,
    exten: snap.exten ?? prev.exten,
    answeredAt: prev.answeredAt ?? (state === 'up' ? ts : null),
    bridgeId: extra.bridgeId === undefined ? prev.bridgeId : extra.bridgeId,
    dialedBy: prev.dialedBy ?? extra.dialedBy ?? null,
    dialStatus: extra.dialStatus ?? prev.dialStatus,
  };
  return sameRecord(prev, next) ? prev : next;
}

function create(snap: ChannelSnapshot, ts: number, extra: UpsertExtra): ChannelRecord {
  const createdAt = extra.createdAt !== undefined && extra.createdAt <= ts ? extra.createdAt : ts;
  return {
    uniqueid: snap.uniqueid,
    linkedid: snap.linkedid ?? null,
    name: snap.name,
    endpoint: endpointOfChannel(snap.name),
    state: snap.state,
    callerNum: snap.callerNum ?? null,
    callerName: snap.callerName ?? null,
    connectedNum: snap.connectedNum ?? null,
    connectedName: snap.connectedName ?? null,
    context: snap.context ?? null,
    exten: snap.exten ?? null,
    createdAt,
    answeredAt: snap.state === 'up' ? ts : null,
    endedAt: null,
    bridgeId: extra.bridgeId ?? null,
    leftBridgeId: null,
    dialedBy: extra.dialedBy ?? null,
    dialStatus: extra.dialStatus ?? null,
    softHangupFlags: 0,
    hangupRequestCause: null,
    cause: null,
    causeText: null,
    classification: null,
    endedBy: null,
    callKey: '',
  };
}

/** The call a channel belongs to: its linkedid, else its dialer's call, else its own uniqueid. */
function callKeyOf(state: CallsState, rec: ChannelRecord): string {
  if (rec.linkedid !== null) return rec.linkedid;
  if (rec.dialedBy !== null && rec.dialedBy !== rec.uniqueid) {
    const dialer = state.channels.get(rec.dialedBy);
    if (dialer) return dialer.callKey;
  }
  return rec.uniqueid;
}

function upsert(state: CallsState, snap: ChannelSnapshot, ts: number, extra: UpsertExtra): Transition {
  const id = snap.uniqueid;
  if (state.gone.has(id)) return unchanged(state);
  const prev = state.channels.get(id);
  if (prev?.endedAt != null) return unchanged(state);
  const merged = prev ? merge(prev, snap, ts, extra) : create(snap, ts, extra);
  const key = callKeyOf(state, merged);
  if (prev && merged === prev && prev.callKey === key) return unchanged(state);
  const next = merged.callKey === key ? merged : { ...merged, callKey: key };
  return place(state, prev, next, ts);
}

/** Change an existing, live channel; unknown or ended channels are left alone. */
function patch(
  state: CallsState,
  id: string,
  ts: number,
  fn: (rec: ChannelRecord) => ChannelRecord,
): Transition {
  const prev = state.channels.get(id);
  if (!prev || prev.endedAt !== null) return unchanged(state);
  const next = fn(prev);
  return next === prev ? unchanged(state) : place(state, prev, next, ts);
}

/**
 * Store `next` (whose `callKey` is final), moving it between calls if its key changed, and derive
 * `call_started` / `call_updated`.
 */
function place(
  state: CallsState,
  prev: ChannelRecord | undefined,
  next: ChannelRecord,
  ts: number,
): Transition {
  const channels = new Map(state.channels).set(next.uniqueid, next);
  const calls = new Map(state.calls);
  const deltas: CallDelta[] = [];
  const moved = prev !== undefined && prev.callKey !== next.callKey;
  let supersedes: string | null = null;
  // A call that disappears because its only channel moved was the same call: its count carries over.
  let inheritCounted = false;

  if (moved) {
    const old = calls.get(prev.callKey);
    if (old) {
      const rest = old.channelIds.filter((id) => id !== next.uniqueid);
      if (rest.length === 0) {
        calls.delete(old.key);
        supersedes = old.key;
        inheritCounted = old.counted;
      } else {
        calls.set(old.key, {
          ...old,
          channelIds: rest,
          endedIds: old.endedIds.filter((id) => id !== next.uniqueid),
        });
      }
    }
  }

  let call = calls.get(next.callKey);
  if (!call) {
    call = {
      key: next.callKey,
      startedAt: next.createdAt,
      channelIds: [next.uniqueid],
      endedIds: [],
      counted: inheritCounted,
      rtpTimeoutCulprit: null,
    };
  } else if (!call.channelIds.includes(next.uniqueid)) {
    call = {
      ...call,
      startedAt: Math.min(call.startedAt, next.createdAt),
      channelIds: [...call.channelIds, next.uniqueid],
      counted: call.counted || inheritCounted,
    };
  }
  if (!call.counted && confirmed(call, channels)) {
    call = { ...call, counted: true };
    deltas.push({ kind: 'call_started', key: call.key, ts });
  }
  calls.set(call.key, call);

  const after: CallsState = { ...state, channels, calls };
  if (moved && calls.has(prev.callKey)) {
    deltas.push({ kind: 'call_updated', call: snapshotOf(after, prev.callKey), supersedes: null, ts });
  }
  if (prev === undefined || moved || visiblyDifferent(prev, next)) {
    deltas.push({ kind: 'call_updated', call: snapshotOf(after, call.key), supersedes, ts });
  }
  return { state: after, deltas };
}

function confirmed(call: CallRecord, channels: ReadonlyMap<string, ChannelRecord>): boolean {
  return call.channelIds.some((id) => {
    const c = channels.get(id);
    return c !== undefined && (c.linkedid !== null || (c.state !== 'down' && c.state !== 'unknown'));
  });
}

function snapshotOf(state: CallsState, key: string): CallSnapshot {
  const call = state.calls.get(key);
  if (!call) throw new Error(`call ${key} vanished`);
  return { call, channels: membersOf(state, call) };
}

function membersOf(state: CallsState, call: CallRecord): ChannelRecord[] {
  return call.channelIds.flatMap((id) => {
    const c = state.channels.get(id);
    return c ? [c] : [];
  });
}

function hungUp(
  state: CallsState,
  snap: ChannelSnapshot,
  cause: number,
  causeText: string,
  ts: number,
): Transition {
  const id = snap.uniqueid;
  const known = state.channels.get(id);
  if (state.gone.has(id) || !known || known.endedAt !== null) return unchanged(state);
  // The final snapshot may still teach us something (AMI's linkedid after an ARI-only start).
  let t = upsert(state, snap, ts, {});
  const rec = t.state.channels.get(id);
  if (!rec) return t;
  const facts = {
    cause,
    answered: rec.answeredAt !== null || snap.state === 'up',
    softHangupFlags: rec.softHangupFlags,
    hangupRequestCause: rec.hangupRequestCause,
    dialStatus: rec.dialStatus,
    pjsip: rec.endpoint !== null,
  };
  const callBefore = t.state.calls.get(rec.callKey);
  const culpritBefore = callBefore?.rtpTimeoutCulprit ?? null;
  const culprit = culpritBefore === null && isRtpTimeoutSignature(facts);
  let classification = classifyHangup(facts);
  // The bridged peer of a timed-out channel typically ends with 44 as well: the call died of the
  // timeout, but only the first channel is the culprit (and counted in the metric).
  if (!culprit && culpritBefore !== null && cause === CAUSE_REQUESTED_CHAN_UNAVAIL) {
    classification = 'rtp_timeout';
  }
  t = chain(
    t,
    endChannel(t.state, rec, ts, {
      cause,
      causeText: causeText === '' ? null : causeText,
      classification,
      endedBy: 'hangup',
      culprit,
    }),
  );
  return t;
}

interface EndFacts {
  cause: number | null;
  causeText: string | null;
  classification: HangupClassification;
  endedBy: EndedBy;
  culprit: boolean;
}

/** Mark `rec` ended; when it was the last live channel of its call, the call ends and is removed. */
function endChannel(state: CallsState, rec: ChannelRecord, ts: number, end: EndFacts): Transition {
  const ended: ChannelRecord = {
    ...rec,
    endedAt: ts,
    cause: end.cause,
    causeText: end.causeText,
    classification: end.classification,
    endedBy: end.endedBy,
    bridgeId: null,
  };
  const channels = new Map(state.channels).set(rec.uniqueid, ended);
  const calls = new Map(state.calls);
  const before = calls.get(rec.callKey);
  const deltas: CallDelta[] = [
    { kind: 'channel_ended', key: rec.callKey, channel: ended, rtpTimeoutCulprit: end.culprit, ts },
  ];
  if (!before) return { state: { ...state, channels }, deltas };
  let call: CallRecord = {
    ...before,
    endedIds: [...before.endedIds, rec.uniqueid],
    rtpTimeoutCulprit: end.culprit ? rec.uniqueid : before.rtpTimeoutCulprit,
  };
  const members = call.channelIds.map((id) => channels.get(id)).filter((c) => c !== undefined);
  if (members.some((c) => c.endedAt === null)) {
    calls.set(call.key, call);
    const after = { ...state, channels, calls };
    deltas.push({ kind: 'call_updated', call: snapshotOf(after, call.key), supersedes: null, ts });
    return { state: after, deltas };
  }

  // The call is over: count it if it never was (a provisional call that ended), report, forget.
  if (!call.counted) {
    call = { ...call, counted: true };
    deltas.unshift({ kind: 'call_started', key: call.key, ts });
  }
  deltas.push({ kind: 'call_ended', call: endedCall(call, members, ts), ts });
  calls.delete(call.key);
  const gone = new Set(state.gone);
  for (const c of members) {
    channels.delete(c.uniqueid);
    gone.add(c.uniqueid);
  }
  for (const id of gone) {
    if (gone.size <= GONE_LIMIT) break;
    gone.delete(id);
  }
  return { state: { ...state, channels, calls, gone }, deltas };
}

function endedCall(call: CallRecord, members: readonly ChannelRecord[], ts: number): EndedCall {
  const byId = new Map(members.map((c) => [c.uniqueid, c]));
  const culprit = call.rtpTimeoutCulprit === null ? undefined : byId.get(call.rtpTimeoutCulprit);
  const firstHangup = call.endedIds.map((id) => byId.get(id)).find((c) => c?.endedBy === 'hangup');
  const deciding = culprit ?? firstHangup;
  return {
    call,
    channels: members,
    endedAt: ts,
    classification: culprit ? 'rtp_timeout' : (deciding?.classification ?? 'unknown'),
    cause: deciding?.cause ?? null,
    causeText: deciding?.causeText ?? null,
    endedBy: members.some((c) => c.endedBy === 'resync') ? 'resync' : 'hangup',
    rtpTimeoutEndpoint: culprit?.endpoint ?? null,
  };
}
